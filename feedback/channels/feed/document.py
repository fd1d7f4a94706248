"""Fetching a feed and reading it into payloads: one conditional GET, feedparser, and each
entry as deterministic JSON, so an unchanged entry is the same bytes at every poll. What
identifies the entry's message (its id as written, the feed that qualifies it, and what keys
it apart from another entry of the document with the same key) goes in the payload's metadata,
which the bytes' digest does not cover (see ``parse.entry_message_id``)."""

from __future__ import annotations

import base64
import email.utils
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from feedback.channels import http
from feedback.channels.base import ConnectorError, FetchedItem
from feedback.channels.feed.config import FeedSettings, feed_qualifier, feed_source
from feedback.channels.feed.parse import (
    PAYLOAD_KIND,
    REPEAT,
    earlier_keying,
    entry_key,
    entry_message_id,
    keyed_apart,
    sha256_hex,
)

SOURCE_ID_MAX = 255
# Hex digits of the digest that keys an entry apart from another one with its key.
REPEAT_DIGEST_LENGTH = 16


# What a fetch or check found.
FEED_NOT_FOUND = "no feed at {url} (HTTP 404): check the address"
FEED_LOCKED = (
    "{host} asks for a username and password (HTTP {status}): set them in the channel's settings"
)
FEED_REFUSED_LOGIN = (
    "{host} refused the username and password (HTTP {status}): check them in the channel's settings"
)
NOT_A_FEED = "{url} is not an RSS or Atom feed: use the address of the feed itself"
NOT_A_FEED_HTML = (
    "{url} is a web page, not a feed (HTML page?): use the address of its RSS or Atom feed"
)
FEED_LINKED = "; the page names a feed at {feed}"


_FEED_LINK = re.compile(
    rb"<link\b[^>]*\btype=[\"']application/(?:rss|atom)\+xml[\"'][^>]*>", re.IGNORECASE
)
_HREF = re.compile(rb"\bhref=[\"']([^\"']+)[\"']", re.IGNORECASE)
_HTML_START = re.compile(
    rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.IGNORECASE | re.S
)

_XML_START = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<")
# "Priya Raman (priya@haddad.company)": the name first, the address in parentheses, which
# RFC 5322 reads the other way round (the parentheses are a comment).
_NAME_THEN_ADDRESS = re.compile(r"(?P<name>[^()@]*?)\s*\((?P<address>[^()\s]+@[^()\s]+)\)")
# The directory's own check (``portal.services.common``), without its "localhost" exception.
_valid_address = EmailValidator(allowlist=[])


@dataclass(frozen=True)
class Document:
    """One fetched feed document, read: its entries as payloads, oldest first."""

    digest: str
    etag: str
    modified: str
    title: str
    items: tuple[FetchedItem, ...]
    # The XML error when the document is not well-formed ("" when it is).
    error: str = ""
    # Source ids of the entries whose message id differs from the one an earlier version of
    # the connector gave them (``FeedConnector.fetch`` keeps those of a feed polled before).
    renamed: frozenset[str] = frozenset()
    # For each key that several entries of the document share, or that was shared before and
    # is still in it: the content digest of the entry that keeps the key (``_keep_apart``),
    # by the key's source id. The cursor keeps it for the next document.
    repeats: Mapping[str, str] = field(default_factory=dict)


def download(settings: FeedSettings, *, etag: str = "", modified: str = "") -> http.Response:
    headers = {
        "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.8"
    }
    if settings.username:
        token = f"{settings.username}:{settings.password}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(token).decode("ascii")
    if etag:
        headers["If-None-Match"] = etag
    if modified:
        headers["If-Modified-Since"] = modified
    answer = http.get(
        settings.url,
        headers=headers,
        timeout=settings.timeout,
        ok=(200, 304, 401, 403, 404),
    )
    host = urlsplit(settings.url).hostname
    if answer.status == 404:
        raise ConnectorError(FEED_NOT_FOUND.format(url=settings.url), retryable=False)
    if answer.status in (401, 403):
        message = FEED_REFUSED_LOGIN if settings.username else FEED_LOCKED
        raise ConnectorError(message.format(host=host, status=answer.status), retryable=False)
    return answer


def header(answer: http.Response, name: str) -> str:
    for key, value in answer.headers.items():
        if key.lower() == name.lower():
            return value
    return ""


def _looks_like_html(answer: http.Response) -> bool:
    return "html" in header(answer, "Content-Type").lower() or bool(
        _HTML_START.match(answer.body[:2048])
    )


def _linked_feed(answer: http.Response) -> str:
    """The feed an HTML page names in ``<link rel="alternate" type="application/rss+xml">``."""
    tag = _FEED_LINK.search(answer.body[: 256 * 1024])
    href = _HREF.search(tag.group(0)) if tag else None
    return urljoin(answer.url, href.group(1).decode("utf-8", "replace")) if href else ""


def _not_a_feed(answer: http.Response, url: str) -> ConnectorError:
    if not _looks_like_html(answer):
        return ConnectorError(NOT_A_FEED.format(url=url), retryable=False)
    linked = _linked_feed(answer)
    message = NOT_A_FEED_HTML.format(url=url) + (FEED_LINKED.format(feed=linked) if linked else "")
    return ConnectorError(message, retryable=False)


def _iso(parsed: Any) -> str:
    if not parsed:
        return ""
    try:
        return datetime(*parsed[:6], tzinfo=UTC).isoformat()
    except (TypeError, ValueError):
        return ""


def _detail(detail: Any) -> dict[str, str] | None:
    if not detail or not detail.get("value"):
        return None
    return {"type": str(detail.get("type") or "text/plain"), "value": str(detail["value"])}


def _is_address(value: str) -> bool:
    """An address as Django's validator has it, with letters beyond ASCII allowed before the
    @ as the mail parser allows them (RFC 6531: ``zoë.silva@icloud.com``)."""
    local, at, domain = value.rpartition("@")
    plain_local = "".join(c if c.isascii() else "a" for c in local)
    try:
        _valid_address(f"{plain_local}{at}{domain}")
    except ValidationError:
        return False
    return True


def read_author(text: str) -> tuple[str, str]:
    """``(name, address)`` of an author as RSS writes it: ``address (Name)``,
    ``Name <address>``, ``Name (address)`` or a bare address. An address that is not valid
    (``buyer@store``) is dropped and the name kept; a text with no address or several is all
    name."""
    text = text.strip()
    written = _NAME_THEN_ADDRESS.fullmatch(text)
    if written:
        name, address = written["name"].strip(), written["address"]
    else:
        found = [pair for pair in email.utils.getaddresses([text]) if "@" in pair[1]]
        if len(found) != 1:
            return text, ""
        name, address = " ".join(found[0][0].split()), found[0][1]
    return (name, address) if _is_address(address) else (name or text, "")


def _author(entry: Any) -> tuple[str, str]:
    """``(name, address)`` of the entry's author; without a name, the text as written.

    feedparser splits an RSS ``<author>`` or ``<dc:creator>`` with a pattern that knows
    top-level domains of two to four letters only (``buyer@store.online (Buyer Name)``
    became ``buyer@store.onli`` and the name ``ne (Buyer Name``), so a text with an address
    in it is read here (``read_author``). Its split is kept where it found an address and
    loses nothing (an Atom author's ``<name>`` and ``<email>``, which feedparser then writes
    as "name (email)"), for a text without an address, and for an entry with several
    authors, of which feedparser keeps the text of the last alone."""
    detail = entry.get("author_detail") or {}
    name = str(detail.get("name") or "").strip()
    address = str(detail.get("email") or "").strip()
    written = str(entry.get("author") or "").strip()
    composed = f"{name} ({address})" if name and address else name or address
    faithful = bool(address) and written == composed
    if "@" in written and not faithful and len(entry.get("authors") or []) <= 1:
        name, address = read_author(written)
    return name or written, address


def entry_payload(entry: Any, feed: dict[str, str]) -> dict[str, Any]:
    """What the portal keeps of a feedparser entry. The publication time is ``published``,
    else ``updated``: an entry whose ``updated`` alone moved shows nothing new, so it is not
    stored again. The id is the one feedparser read (resolved against the feed's address when
    it is no URI): payloads keep the bytes they had, and the id as written goes beside them
    (``read_document``)."""
    author, author_email = _author(entry)
    return {
        "kind": PAYLOAD_KIND,
        "feed": feed,
        "id": str(entry.get("id") or "").strip(),
        "link": str(entry.get("link") or "").strip(),
        "title": _detail(entry.get("title_detail")),
        "author": author,
        "author_email": author_email,
        "published": _iso(entry.get("published_parsed") or entry.get("updated_parsed")),
        "summary": _detail(entry.get("summary_detail")),
        "content": [c for c in map(_detail, entry.get("content") or []) if c is not None],
    }


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _source_id(key: str) -> str:
    return f"sha256:{sha256_hex(key)}" if len(key) > SOURCE_ID_MAX else key


def content_digest(data: dict[str, Any]) -> str:
    """What the entry says (all of it but the feed's own title and link), as a short digest:
    the same entry gives the same digest at every poll."""
    own = {name: value for name, value in data.items() if name != "feed"}
    return sha256_hex(_json(own))[:REPEAT_DIGEST_LENGTH]


def _keep_apart(
    entries: list[tuple[dict[str, Any], dict[str, str]]], remembered: Mapping[str, str]
) -> dict[str, str]:
    """Give every entry whose key another entry of the document shares a key of its own.

    Two entries of one document are two entries even under one key (two reviews with the
    same guid, or with the app's page as their only link and no date): one of them keeps the
    key, each other one is keyed apart by a digest of what it says (``REPEAT`` in its
    metadata, ``parse.keyed_apart``), so that neither revises the other's message and a poll
    of the same document again keys each one as before. The entry that keeps the key is the
    oldest (by publication time when they all have one, else the first read, the document
    being read from its end), which in a feed polled before is the one that had the key to
    itself. The cursor remembers it (``remembered``, the returned mapping) for as long as the
    key is in the feed: once that entry has left the feed or changed, the key stays taken and
    the entries that share it keep their own keys, so none of them takes the key over and
    revises its message."""
    shared: dict[str, list[int]] = {}
    for position, (data, _) in enumerate(entries):
        key = entry_key(data)
        if key:
            shared.setdefault(_source_id(key), []).append(position)
    repeats = {}
    for name, positions in shared.items():
        keeper = remembered.get(name)
        if keeper is None:
            if len(positions) == 1:
                continue
            keeper = content_digest(entries[_oldest(entries, positions)][0])
        repeats[name] = keeper
        for position in positions:
            data, identity = entries[position]
            digest = content_digest(data)
            if digest != keeper:
                identity[REPEAT] = digest
    return repeats


def _oldest(entries: list[tuple[dict[str, Any], dict[str, str]]], positions: list[int]) -> int:
    published = [entries[position][0].get("published") or "" for position in positions]
    if not all(published):
        return positions[0]
    return min(zip(published, positions, strict=True))[1]


def _entry_item(data: dict[str, Any], identity: dict[str, str]) -> FetchedItem:
    raw = _json(data)
    key = entry_key(data)
    source_id = _source_id(keyed_apart(key, identity)) if key else f"entry:{sha256_hex(raw)}"
    return FetchedItem(source_id=source_id, raw=raw, received_at=None, metadata=identity)


def _parse(answer: http.Response, *, base: str) -> Any:
    """feedparser's reading; with a ``base`` address, relative links (and ids) are made
    absolute against it."""
    headers = {"content-type": header(answer, "Content-Type") or "application/xml"}
    if base:
        headers["content-location"] = base
    return feedparser.parse(
        io.BytesIO(answer.body),
        response_headers=headers,
        resolve_relative_uris=bool(base),
        # Kept as the feed sent it: ``parse`` sanitises with the portal's own sanitiser.
        sanitize_html=False,
    )


def _ids_as_written(answer: http.Response) -> list[str]:
    """The entries' ids as the document writes them, in feedparser's order. feedparser
    resolves an id against the document's address as if it were a link (``<guid>qa-1</guid>``
    at ``https://host/feeds/a.rss`` reads as ``https://host/feeds/qa-1``, the same for every
    feed in that folder) and has no switch for it; read without an address, the document
    gives its ids as written (an ``xml:base`` inside it still applies)."""
    parsed = _parse(answer, base="")
    return [str(entry.get("id") or "").strip() for entry in parsed.entries]


def read_document(
    answer: http.Response, url: str, *, repeats: Mapping[str, str] | None = None
) -> Document:
    """The answer as a feed; ConnectorError when it is no feed at all (an HTML page).
    ``repeats``: the keys the cursor remembers as shared, and which entry keeps each
    (``Document.repeats`` of the document read before)."""
    parsed = _parse(answer, base=answer.url)
    error = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if isinstance(error, feedparser.ThingsNobodyCaresAboutButMe):
        error = None  # an encoding or content type the parser overrode: the feed reads well
    # Nothing of a feed in it: an HTML page, JSON, a document of another kind, which is an
    # address to fix. Broken XML instead is a feed gone wrong, kept in quarantine.
    nothing_read = not parsed.get("version") and not parsed.entries
    if nothing_read and (
        error is None or _looks_like_html(answer) or not _XML_START.match(answer.body)
    ):
        raise _not_a_feed(answer, url)
    digest = sha256_hex(answer.body)
    feed = {
        "title": str(parsed.feed.get("title") or "").strip(),
        "link": str(parsed.feed.get("link") or "").strip(),
        "source": feed_source(url),
    }
    qualifier = feed_qualifier(url)
    entries = [
        (entry_payload(entry, feed), {"id": written, "feed": qualifier})
        for entry, written in zip(
            reversed(parsed.entries), reversed(_ids_as_written(answer)), strict=True
        )
    ]
    shared = _keep_apart(entries, repeats or {})
    items, renamed = [], set()
    for data, identity in entries:
        items.append(_entry_item(data, identity))
        earlier = entry_message_id(data, earlier_keying(identity))
        if entry_key(data) and entry_message_id(data, identity) != earlier:
            renamed.add(items[-1].source_id)
    if error is not None:
        # What the loose parser recovered from a broken document goes on only when it can be
        # told apart; the document itself is kept, whole, in quarantine.
        items = [item for item in items if not item.source_id.startswith("entry:")]
        items.insert(
            0,
            FetchedItem(
                source_id=f"document:{digest}",
                raw=answer.body,
                received_at=None,
                metadata={"document": True, "error": str(error)[:500]},
            ),
        )
    return Document(
        digest=digest,
        etag=header(answer, "ETag"),
        modified=header(answer, "Last-Modified"),
        title=feed["title"],
        items=tuple(items),
        error=str(error or ""),
        renamed=frozenset(renamed),
        repeats=shared,
    )
