"""The feed connector: the conditional fetch, a large document handed out a batch at a time
from one read, and the check in words."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import replace
from datetime import datetime
from typing import Any

from feedback.channels.base import (
    CheckResult,
    Connector,
    ConnectorError,
    FetchedItem,
    FetchResult,
)
from feedback.channels.feed.config import FeedSettings, clean_config, feed_settings
from feedback.channels.feed.document import Document, download, header, read_document
from feedback.channels.feed.parse import earlier_keying, parse_entry, sha256_hex
from feedback.mail.results import ParsedMessage

KIND = "feed"
# Parsed documents kept between the batches of a poll (per connector, so per process).
CACHED_DOCUMENTS = 4
# The cursor's "keys": entries are keyed by their id as the feed wrote it
# (``parse.entry_message_id``). A cursor without it is that of a feed an earlier version
# polled, which keyed a bare guid by the address feedparser had resolved it to and qualified
# bare ids by host and path alone; its "legacy" lists the entries that keep that key.
KEYS_AS_WRITTEN = 2

FEED_MALFORMED = (
    "the feed at {url} is not well-formed XML ({error}): ask its publisher to fix it; until "
    "then each poll keeps the broken document in quarantine and stores the {entries} still "
    "readable"
)
CHECK_OK = "feed {title} with {entries}"
UNTITLED = "(untitled)"


def _batch(items: tuple[FetchedItem, ...], offset: int, limit: int, max_bytes: int) -> int:
    """The end of the batch that starts at ``offset``: at most ``limit`` items under
    ``max_bytes`` together, unless a single item alone is larger."""
    end, size = offset, 0
    while end < len(items) and end - offset < max(limit, 1):
        size += len(items[end].raw)
        if end > offset and size > max_bytes:
            break
        end += 1
    return end


def _settled(document: Document) -> dict[str, Any]:
    settled = {"etag": document.etag, "modified": document.modified, "digest": document.digest}
    if document.repeats:
        settled["repeats"] = dict(document.repeats)
    return settled


def _repeats(cursor: dict[str, Any]) -> dict[str, str]:
    """The keys the cursor remembers as shared by several entries, and which entry keeps each
    (``document._keep_apart``); the document being handed out keeps the cursor's until its
    last batch."""
    repeats = cursor.get("repeats")
    if not isinstance(repeats, dict):
        return {}
    return {name: kept for name, kept in repeats.items() if isinstance(kept, str)}


def _legacy(cursor: dict[str, Any], polled_before: bool, document: Document) -> frozenset[str]:
    """The entries of ``document`` that keep the message id an earlier version gave them.

    In a feed that version polled, an entry it stored has its message under that id, and a
    changed entry must revise that message, not open another item. Which entries it stored is
    not known here, so all those the feed holds when this version first reads it keep their
    id, for as long as they stay in the feed; the entries that come later are keyed as
    written. Unchanged entries are the same bytes as before and are not stored again."""
    if cursor.get("keys") == KEYS_AS_WRITTEN:
        return document.renamed & frozenset(cursor.get("legacy") or ())
    return document.renamed if polled_before else frozenset()


def _keyed(cursor: dict[str, Any], legacy: frozenset[str]) -> dict[str, Any]:
    keyed = {name: value for name, value in cursor.items() if name != "legacy"}
    keyed["keys"] = KEYS_AS_WRITTEN
    if legacy:
        keyed["legacy"] = sorted(legacy)
    return keyed


def _entries(count: int) -> str:
    return "1 entry" if count == 1 else f"{count} entries"


class FeedConnector(Connector):
    kind = KIND
    secret_fields = frozenset({"password"})
    push = False
    # A feed is read, never answered.
    reply_by = ""
    mail = False

    def __init__(self) -> None:
        self._documents: OrderedDict[tuple[str, str, str], Document] = OrderedDict()
        self._lock = threading.Lock()

    def validate_config(
        self, config: dict[str, Any], *, allow_plaintext: bool = False
    ) -> dict[str, Any]:
        return clean_config(config)

    def check(self, config: dict[str, Any], *, url: str | None = None) -> CheckResult:
        try:
            settings = feed_settings(config)
            document = read_document(download(settings), settings.url)
        except ConnectorError as error:
            return CheckResult(ok=False, message=error.message)
        if document.error:
            entries = _entries(len(document.items) - 1)
            message = FEED_MALFORMED.format(url=settings.url, error=document.error, entries=entries)
            return CheckResult(ok=False, message=message)
        title = repr(document.title) if document.title else UNTITLED
        return CheckResult(
            ok=True, message=CHECK_OK.format(title=title, entries=_entries(len(document.items)))
        )

    def fetch(
        self,
        config: dict[str, Any],
        cursor: dict[str, Any] | None,
        *,
        limit: int = 100,
        max_bytes: int = 20 * 1024 * 1024,
    ) -> FetchResult:
        settings = feed_settings(config)
        cursor = dict(cursor or {})
        pending = cursor.pop("pending", None)
        polled_before = bool(pending) or "digest" in cursor
        if pending:
            # The rest of a document a previous batch began: from memory, or fetched again
            # (another process, a restart); if it changed meanwhile, the new one from its start.
            document = self._cached(settings, pending.get("digest", ""))
            if document is None:
                document = read_document(download(settings), settings.url, repeats=_repeats(cursor))
            offset = pending.get("offset", 0) if document.digest == pending.get("digest") else 0
        else:
            answer = download(
                settings, etag=cursor.get("etag", ""), modified=cursor.get("modified", "")
            )
            if answer.status == 304:
                return FetchResult(items=[], cursor=cursor, more=False)
            if sha256_hex(answer.body) == cursor.get("digest"):
                # The same bytes again, from a server that does not answer 304.
                settled = {**cursor, "etag": header(answer, "ETag")}
                settled["modified"] = header(answer, "Last-Modified")
                return FetchResult(items=[], cursor=settled, more=False)
            document = read_document(answer, settings.url, repeats=_repeats(cursor))
            offset = 0
        end = _batch(document.items, offset, limit, max_bytes)
        legacy = _legacy(cursor, polled_before, document)
        # Without the id as written, ``parse`` gives the message id the earlier version gave.
        items = [
            replace(item, metadata=earlier_keying(item.metadata))
            if item.source_id in legacy
            else item
            for item in document.items[offset:end]
        ]
        if end >= len(document.items):
            self._forget(settings, document.digest)
            return FetchResult(items=items, cursor=_keyed(_settled(document), legacy), more=False)
        self._remember(settings, document)
        pending = {"digest": document.digest, "offset": end}
        cursor = _keyed({**cursor, "pending": pending}, legacy)
        return FetchResult(items=items, cursor=cursor, more=True)

    def _key(self, settings: FeedSettings, digest: str) -> tuple[str, str, str]:
        return (settings.url, settings.username, digest)

    def _cached(self, settings: FeedSettings, digest: str) -> Document | None:
        with self._lock:
            return self._documents.get(self._key(settings, digest))

    def _remember(self, settings: FeedSettings, document: Document) -> None:
        with self._lock:
            self._documents[self._key(settings, document.digest)] = document
            self._documents.move_to_end(self._key(settings, document.digest))
            while len(self._documents) > CACHED_DOCUMENTS:
                self._documents.popitem(last=False)

    def _forget(self, settings: FeedSettings, digest: str) -> None:
        with self._lock:
            self._documents.pop(self._key(settings, digest), None)

    def parse(
        self, raw: bytes, *, received_at: datetime, metadata: dict[str, Any]
    ) -> ParsedMessage:
        return parse_entry(raw, received_at=received_at, metadata=metadata)
