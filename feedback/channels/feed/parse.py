"""A stored feed entry as a message (pure: no ORM, no settings, no network).

The payload is the entry's data as JSON with sorted keys (``feedback.channels.feed.document``
writes it); the message it becomes is revisable under the entry's id, so a changed entry
revises its message. The id as the feed wrote it, the feed that qualifies a bare id and, for an
entry that shares its key with another entry of its document, what keys it apart come beside
the payload, in its metadata (``entry_message_id``)."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from feedback.mail.html import html_to_text, sanitize_html
from feedback.mail.lanes import LANE_CUSTOMER
from feedback.mail.results import ParsedMessage, UnparseableMessage
from portal.validation import json_loads

MESSAGE_ID_MAX = 500

PAYLOAD_KIND = "feed-entry"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})

# Why ``parse`` refuses a payload (it is then quarantined with its bytes).
DOCUMENT_UNREADABLE = (
    "the feed document is not well-formed XML ({error}); the whole document is kept here"
)
PAYLOAD_NOT_AN_ENTRY = "not a stored feed entry: {error}"
ENTRY_WITHOUT_ID = "the entry has neither an id (guid) nor a link, so it cannot be told apart"
ENTRY_EMPTY = "the entry has no title and no text"

# The metadata of an entry that shares its key with another entry of its document, which keeps
# the key (``document._keep_apart``): a digest of what it says, which keys it apart.
REPEAT = "repeat"

_SPACES = re.compile(r"\s+")
# A URI starts with its scheme (RFC 3986): "https:", "urn:", "tag:"; "12:30" is no URI.
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S")


def sha256_hex(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def entry_key(data: dict[str, Any]) -> str:
    """The entry's identity within its feed: its id, else its link and publication time."""
    return data.get("id") or _link_key(data)


def keyed_apart(key: str, metadata: dict[str, Any]) -> str:
    """``key`` as the entry's own: with ``#entry-<digest>`` when another entry of its document
    keeps the key (``metadata["repeat"]``), else unchanged."""
    digest = metadata.get(REPEAT)
    return f"{key}#entry-{digest}" if isinstance(digest, str) and digest else key


def earlier_keying(metadata: dict[str, Any]) -> dict[str, Any]:
    """The metadata an entry is given to keep the message id an earlier version gave it (see
    ``entry_message_id``): without the id as written, but still keyed apart from an entry of
    its document with the same key."""
    return {name: value for name, value in metadata.items() if name == REPEAT}


def _link_key(data: dict[str, Any]) -> str:
    if data.get("link"):
        return f"{data['link']}#{data['published']}" if data.get("published") else data["link"]
    return ""


def _as_text(detail: dict[str, str] | None) -> tuple[str, str]:
    """``(text, sanitised html)`` of a title, summary or content; html "" for plain text."""
    if not detail:
        return "", ""
    if detail.get("type", "").lower() in HTML_TYPES:
        html = sanitize_html(detail["value"])
        return html_to_text(html), html
    return detail["value"].strip(), ""


def _qualified(key: str, feed: str, *, is_uri: bool) -> str:
    # A URI (a link, tag:, urn:) is unique by itself; a bare id ("review-88127", "4411")
    # only within its feed, so it is qualified by the feed.
    message_id = key if is_uri else f"{key}@{feed}"
    if len(message_id) > MESSAGE_ID_MAX:
        message_id = f"sha256-{sha256_hex(key)}@{feed}"[:MESSAGE_ID_MAX]
    return message_id


def entry_message_id(data: dict[str, Any], metadata: dict[str, Any]) -> str:
    """The entry's message id: its id as the feed wrote it (``metadata["id"]``) when that is
    a URI, else that id qualified by the feed (``metadata["feed"]``: host, path and a digest
    of the query string); without an id, its link and publication time. An entry whose key
    another entry of its document keeps (two reviews under one guid, or under the app's page as
    their only link) has ``#entry-<digest of what it says>`` added (``keyed_apart``), so it is
    a message of its own instead of a revision of the other.

    Payloads stored without that metadata (before it existed, or for an entry of a feed
    polled before, see ``FeedConnector.fetch``) keep the id they were given then, so that a
    changed entry still revises its message: the id as feedparser read it, which resolved a
    bare guid against the feed's address (``qa-1`` read as ``https://host/qa-1``, a "URI"
    that the other feeds of that folder share), qualified by host and path alone."""
    feed = metadata.get("feed")
    if not isinstance(feed, str):
        key = entry_key(data)
        return _qualified(
            keyed_apart(key, metadata),
            (data.get("feed") or {}).get("source", ""),
            is_uri=":" in key,
        )
    key = str(metadata.get("id") or "") or _link_key(data)
    return _qualified(keyed_apart(key, metadata), feed, is_uri=bool(_URI.match(key)))


def _sent_at(published: str, received_at: datetime) -> datetime:
    try:
        sent_at = datetime.fromisoformat(published)
    except (TypeError, ValueError):
        return received_at
    return received_at if sent_at.tzinfo is None or sent_at > received_at else sent_at


def _address(value: str) -> str:
    local, _, domain = value.rpartition("@")
    if not local or "." not in domain or any(c.isspace() or c in "<>,;" for c in value):
        return ""
    return value.lower()


def _url_or_empty(value: str) -> str:
    return value if urlsplit(value).scheme in ("http", "https") else ""


def parse_entry(raw: bytes, *, received_at: datetime, metadata: dict[str, Any]) -> ParsedMessage:
    """Pure: a stored entry as a message, revisable under its id."""
    if metadata.get("document"):
        raise UnparseableMessage(DOCUMENT_UNREADABLE.format(error=metadata.get("error", "")))
    try:
        data = json_loads(raw)
    except (UnicodeDecodeError, ValueError) as error:
        raise UnparseableMessage(PAYLOAD_NOT_AN_ENTRY.format(error=error)) from None
    if not isinstance(data, dict) or data.get("kind") != PAYLOAD_KIND:
        raise UnparseableMessage(PAYLOAD_NOT_AN_ENTRY.format(error="unknown payload"))
    if not entry_key(data):
        raise UnparseableMessage(ENTRY_WITHOUT_ID)
    subject, _ = _as_text(data.get("title"))
    subject = _SPACES.sub(" ", subject).strip()
    body = next(iter(data.get("content") or []), None) or data.get("summary")
    text, html = _as_text(body)
    if not subject and not text:
        raise UnparseableMessage(ENTRY_EMPTY)
    message_id = entry_message_id(data, metadata)
    return ParsedMessage(
        message_id=message_id,
        in_reply_to="",
        references=[],
        subject=subject or _SPACES.sub(" ", text)[:120],
        from_name=data.get("author", ""),
        from_address=_address(data.get("author_email", "")),
        reply_to="",
        to=[],
        cc=[],
        recipient_addresses=[],
        sent_at=_sent_at(data.get("published", ""), received_at),
        lane=LANE_CUSTOMER,
        lane_reason="",
        text=text,
        quoted_text="",
        signature="",
        html=html,
        attachments=[],
        # Revisable: the identity is the id alone, so a changed entry revises its message.
        identity_hash=sha256_hex(message_id),
        original_message_id="",
        url=_url_or_empty(data.get("link", "")),
        revisable=True,
    )
