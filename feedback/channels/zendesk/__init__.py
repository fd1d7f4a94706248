"""Zendesk connector: a help desk's ticket queue, read through the incremental ticket export.

A ticket is one feedback item and its public comments by customers are its messages. The
export (``/api/v2/incremental/tickets/cursor.json``, admins only) names every ticket changed
since the last request; for each, its comments are read with their authors sideloaded
(``/api/v2/tickets/{id}/comments.json?include=users``). Each public comment by an end user is
one payload: the comment as Zendesk sent it plus the few ticket and author fields ``parse``
needs, serialised with sorted keys, so a ticket exported again re-sends the same bytes
(stored once) and only its new comments are new payloads.

What is left out, on purpose: private comments (internal notes), deleted tickets, and
comments by agents and admins, which are the help desk's own answers rather than what a
customer said (``ParsedMessage`` has no direction, and storing them as customer messages
would count and score them as feedback). Attachments stay in Zendesk; their names are noted
on the message. Comments cannot be edited in Zendesk, so messages are not revisable.

The cursor is the export's ``after_cursor`` plus the tickets of the current export page not
finished yet (``pending``) and the last comment taken from the first of them (``after``): a
batch cut by ``limit`` resumes exactly where it stopped, so nothing is skipped and nothing is
fetched twice into two messages. Replies go by e-mail to the comment's author when Zendesk
gives their address (it does for e-mail and web tickets); they are not posted back to the
ticket.
"""

from feedback.channels.zendesk.config import KIND, ZendeskSettings, clean_config
from feedback.channels.zendesk.connector import ZendeskConnector
from feedback.channels.zendesk.payloads import parse_comment, ticket_items

__all__ = [
    "KIND",
    "ZendeskConnector",
    "ZendeskSettings",
    "clean_config",
    "parse_comment",
    "ticket_items",
]
