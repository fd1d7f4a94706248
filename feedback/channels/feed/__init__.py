"""RSS / Atom feed connector: review sites, app-store review feeds, forums and accounts that
publish a feed. One entry is one message; a feed takes no replies.

A poll is a conditional GET (``If-None-Match`` / ``If-Modified-Since`` from the ETag and
Last-Modified kept in the cursor): a 304, or a 200 with the very bytes stored last time, is
nothing new. Otherwise feedparser reads the document and each entry becomes one payload: its
data as deterministic JSON (``entry_payload``), so an unchanged entry is byte for byte what
was stored before (and stored once), while a changed entry is a new payload under the same
source id which ``parse`` marks ``revisable``: it revises the stored message.

Entries are keyed by their id (RSS ``guid``, Atom ``id``), or by link and publication time when
they have none; a message id is the id as the feed wrote it, qualified by the feed when it is
no URI (``parse.entry_message_id``), and a feed polled by an earlier version keeps the ids it
gave the entries the feed then held (``connector._legacy``). Entries of one document that share
a key are distinct entries: the oldest keeps the key, each other one gets a key of its own from
a digest of what it says, and the cursor remembers which one kept it (``document._keep_apart``).
A document that is not well-formed
XML is stored whole, as one payload (``document:<sha256>``) that ``parse`` refuses, so it is
quarantined with its raw bytes and its error; the entries feedparser still recovered from it
that carry an id or link go on. An entry without id and link is stored on its own and
quarantined the same way. An HTML page instead of a feed is a configuration error (the check
names the feed the page links to).

A large document is fetched and read once per poll: ``fetch`` hands out its entries a batch
at a time, keeping the document in memory between batches and its position in the cursor
(``pending``), so another process resumes from the cursor after fetching the document again.
"""

from feedback.channels.feed.connector import KIND, FeedConnector

__all__ = ["KIND", "FeedConnector"]
