"""RSS / Atom feed connector: review sites, app-store review feeds, forums and accounts that
publish a feed. One entry is one message; a feed takes no replies.

A poll is a conditional GET (``If-None-Match`` / ``If-Modified-Since`` from the ETag and
Last-Modified kept in the cursor): a 304, or a 200 with the very bytes stored last time, is
nothing new. Otherwise feedparser reads the document and each entry becomes one payload: its
data as deterministic JSON (``entry_payload``), so an unchanged entry is byte for byte what
was stored before (and stored once), while a changed entry is a new payload under the same
source id which ``parse`` marks ``revisable``: it revises the stored message.

Entries are keyed by their id (RSS ``guid``, Atom ``id``), or by link and publication time
when they have none. A document that is not well-formed XML is stored whole, as one payload
(``document:<sha256>``) that ``parse`` refuses, so it is quarantined with its raw bytes and
its error; the entries feedparser still recovered from it that carry an id or link go on. An
entry without id and link is stored on its own and quarantined the same way. An HTML page
instead of a feed is a configuration error (the check names the feed the page links to).

A large document is fetched and read once per poll: ``fetch`` hands out its entries a batch
at a time, keeping the document in memory between batches and its position in the cursor
(``pending``), so another process resumes from the cursor after fetching the document again.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from feedback.channels import http
from feedback.channels.base import (
    CheckResult,
    ConfigError,
    Connector,
    ConnectorError,
    FetchedItem,
    FetchResult,
)
from feedback.channels.imap.config import is_loopback
from feedback.mail.html import html_to_text, sanitize_html
from feedback.mail.lanes import LANE_CUSTOMER
from feedback.mail.results import ParsedMessage, UnparseableMessage

KIND = "feed"
CONFIG_FIELDS = frozenset({"url", "username", "password", "timeout"})
MAX_URL_LENGTH = 2000
MAX_USERNAME_LENGTH = 320
MAX_PASSWORD_LENGTH = 1000
MAX_TIMEOUT = 300
SOURCE_ID_MAX = 255
MESSAGE_ID_MAX = 500
# Parsed documents kept between the batches of a poll (per connector, so per process).
CACHED_DOCUMENTS = 4
PAYLOAD_KIND = "feed-entry"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})

# Config errors: each names the field it is about.
UNKNOWN_FIELDS = "unknown feed settings: {fields}"
FIELD_NOT_TEXT = "{field} must be text"
FIELD_TOO_LONG = "{field} may have at most {limit} characters"
URL_REQUIRED = "url is required: the address of the RSS or Atom feed"
URL_INVALID = "url must be the feed's full address, such as https://example.com/feed.xml"
URL_PLAINTEXT = (
    "url must use https:// (plain http:// is allowed only for a loopback host such as 127.0.0.1)"
)
URL_HAS_CREDENTIALS = (
    "url must not carry a user name or password: put them in username and password, which "
    "are kept secret"
)
TIMEOUT_INVALID = f"timeout must be a number of seconds greater than 0 and at most {MAX_TIMEOUT}"

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
FEED_MALFORMED = (
    "the feed at {url} is not well-formed XML ({error}): ask its publisher to fix it; until "
    "then each poll keeps the broken document in quarantine and stores the {entries} still "
    "readable"
)
CHECK_OK = "feed {title} with {entries}"
UNTITLED = "(untitled)"

# Why ``parse`` refuses a payload (it is then quarantined with its bytes).
DOCUMENT_UNREADABLE = (
    "the feed document is not well-formed XML ({error}); the whole document is kept here"
)
PAYLOAD_NOT_AN_ENTRY = "not a stored feed entry: {error}"
ENTRY_WITHOUT_ID = "the entry has neither an id (guid) nor a link, so it cannot be told apart"
ENTRY_EMPTY = "the entry has no title and no text"

_FEED_LINK = re.compile(
    rb"<link\b[^>]*\btype=[\"']application/(?:rss|atom)\+xml[\"'][^>]*>", re.IGNORECASE
)
_HREF = re.compile(rb"\bhref=[\"']([^\"']+)[\"']", re.IGNORECASE)
_HTML_START = re.compile(
    rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.IGNORECASE | re.S
)
_SPACES = re.compile(r"\s+")
_XML_START = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<")


@dataclass(frozen=True)
class FeedSettings:
    url: str
    username: str
    password: str
    timeout: float


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


def _sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def _text(config: dict[str, Any], key: str, limit: int, *, strip: bool = True) -> str:
    value = config.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ConfigError(FIELD_NOT_TEXT.format(field=key), field=key)
    value = value.strip() if strip else value
    if len(value) > limit:
        raise ConfigError(FIELD_TOO_LONG.format(field=key, limit=limit), field=key)
    return value


def _url(config: dict[str, Any]) -> str:
    url = _text(config, "url", MAX_URL_LENGTH)
    if not url:
        raise ConfigError(URL_REQUIRED, field="url")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:  # an unclosed IPv6 bracket, say
        raise ConfigError(URL_INVALID, field="url") from None
    if parts.scheme not in ("http", "https") or not hostname or any(c.isspace() for c in url):
        raise ConfigError(URL_INVALID, field="url")
    if parts.username or parts.password:
        raise ConfigError(URL_HAS_CREDENTIALS, field="url")
    if parts.scheme == "http" and not is_loopback(hostname):
        raise ConfigError(URL_PLAINTEXT, field="url")
    return url


def _timeout(config: dict[str, Any]) -> float:
    value = config.get("timeout")
    if value is None or value == "":
        return float(http.DEFAULT_TIMEOUT)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 < value <= MAX_TIMEOUT
    ):
        raise ConfigError(TIMEOUT_INVALID, field="timeout")
    return float(value)


def clean_config(config: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(config) - CONFIG_FIELDS)
    if unknown:
        raise ConfigError(UNKNOWN_FIELDS.format(fields=", ".join(unknown)), field=unknown[0])
    username = _text(config, "username", MAX_USERNAME_LENGTH)
    password = _text(config, "password", MAX_PASSWORD_LENGTH, strip=False)
    # Without a username no credentials are sent, and a password alone means nothing: it is
    # dropped, which is also how a form clears the credentials (by emptying the username).
    return {
        "url": _url(config),
        "username": username,
        "password": password if username else "",
        "timeout": _timeout(config),
    }


def _settings(config: dict[str, Any]) -> FeedSettings:
    return FeedSettings(**clean_config(config))


def _source(url: str) -> str:
    """The feed's host and path, which qualify its entries' ids: never its query string,
    which may hold an access token."""
    parts = urlsplit(url)
    return f"{parts.hostname}{parts.path}"


# --- fetching ------------------------------------------------------------------------------


def _download(settings: FeedSettings, *, etag: str = "", modified: str = "") -> http.Response:
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


def _header(answer: http.Response, name: str) -> str:
    for key, value in answer.headers.items():
        if key.lower() == name.lower():
            return value
    return ""


def _looks_like_html(answer: http.Response) -> bool:
    return "html" in _header(answer, "Content-Type").lower() or bool(
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


def entry_payload(entry: Any, feed: dict[str, str]) -> dict[str, Any]:
    """What the portal keeps of a feedparser entry. The publication time is ``published``,
    else ``updated``: an entry whose ``updated`` alone moved shows nothing new, so it is not
    stored again."""
    author = entry.get("author_detail") or {}
    return {
        "kind": PAYLOAD_KIND,
        "feed": feed,
        "id": str(entry.get("id") or "").strip(),
        "link": str(entry.get("link") or "").strip(),
        "title": _detail(entry.get("title_detail")),
        "author": str(author.get("name") or entry.get("author") or "").strip(),
        "author_email": str(author.get("email") or "").strip(),
        "published": _iso(entry.get("published_parsed") or entry.get("updated_parsed")),
        "summary": _detail(entry.get("summary_detail")),
        "content": [c for c in map(_detail, entry.get("content") or []) if c is not None],
    }


def _entry_key(data: dict[str, Any]) -> str:
    """The entry's identity within its feed: its id, else its link and publication time."""
    if data.get("id"):
        return data["id"]
    if data.get("link"):
        return f"{data['link']}#{data['published']}" if data.get("published") else data["link"]
    return ""


def _entry_item(data: dict[str, Any]) -> FetchedItem:
    raw = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    key = _entry_key(data)
    if not key:
        source_id = f"entry:{_sha256(raw)}"
    elif len(key) > SOURCE_ID_MAX:
        source_id = f"sha256:{_sha256(key)}"
    else:
        source_id = key
    return FetchedItem(source_id=source_id, raw=raw, received_at=None, metadata={})


def read_document(answer: http.Response, url: str) -> Document:
    """The answer as a feed; ConnectorError when it is no feed at all (an HTML page)."""
    parsed = feedparser.parse(
        io.BytesIO(answer.body),
        response_headers={
            "content-location": answer.url,
            "content-type": _header(answer, "Content-Type") or "application/xml",
        },
        # Kept as the feed sent it: ``parse`` sanitises with the portal's own sanitiser.
        sanitize_html=False,
    )
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
    digest = _sha256(answer.body)
    feed = {
        "title": str(parsed.feed.get("title") or "").strip(),
        "link": str(parsed.feed.get("link") or "").strip(),
        "source": _source(url),
    }
    items = [_entry_item(entry_payload(entry, feed)) for entry in reversed(parsed.entries)]
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
        etag=_header(answer, "ETag"),
        modified=_header(answer, "Last-Modified"),
        title=feed["title"],
        items=tuple(items),
        error=str(error or ""),
    )


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
    return {"etag": document.etag, "modified": document.modified, "digest": document.digest}


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
            settings = _settings(config)
            document = read_document(_download(settings), settings.url)
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
        settings = _settings(config)
        cursor = dict(cursor or {})
        pending = cursor.pop("pending", None)
        if pending:
            # The rest of a document a previous batch began: from memory, or fetched again
            # (another process, a restart); if it changed meanwhile, the new one from its start.
            document = self._cached(settings, pending.get("digest", ""))
            if document is None:
                document = read_document(_download(settings), settings.url)
            offset = pending.get("offset", 0) if document.digest == pending.get("digest") else 0
        else:
            answer = _download(
                settings, etag=cursor.get("etag", ""), modified=cursor.get("modified", "")
            )
            if answer.status == 304:
                return FetchResult(items=[], cursor=cursor, more=False)
            if _sha256(answer.body) == cursor.get("digest"):
                # The same bytes again, from a server that does not answer 304.
                settled = {**cursor, "etag": _header(answer, "ETag")}
                settled["modified"] = _header(answer, "Last-Modified")
                return FetchResult(items=[], cursor=settled, more=False)
            document = read_document(answer, settings.url)
            offset = 0
        end = _batch(document.items, offset, limit, max_bytes)
        items = list(document.items[offset:end])
        if end >= len(document.items):
            self._forget(settings, document.digest)
            return FetchResult(items=items, cursor=_settled(document), more=False)
        self._remember(settings, document)
        pending = {"digest": document.digest, "offset": end}
        return FetchResult(items=items, cursor={**cursor, "pending": pending}, more=True)

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


# --- parsing -------------------------------------------------------------------------------


def _as_text(detail: dict[str, str] | None) -> tuple[str, str]:
    """``(text, sanitised html)`` of a title, summary or content; html "" for plain text."""
    if not detail:
        return "", ""
    if detail.get("type", "").lower() in HTML_TYPES:
        html = sanitize_html(detail["value"])
        return html_to_text(html), html
    return detail["value"].strip(), ""


def _message_id(data: dict[str, Any], source: str) -> str:
    key = _entry_key(data)
    # A URI (a link, tag:, urn:) is unique by itself; a bare id ("review-88127", "4411")
    # only within its feed, so it is qualified by the feed's address.
    message_id = key if ":" in key else f"{key}@{source}"
    if len(message_id) > MESSAGE_ID_MAX:
        message_id = f"sha256-{_sha256(key)}@{source}"[:MESSAGE_ID_MAX]
    return message_id


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
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as error:
        raise UnparseableMessage(PAYLOAD_NOT_AN_ENTRY.format(error=error)) from None
    if not isinstance(data, dict) or data.get("kind") != PAYLOAD_KIND:
        raise UnparseableMessage(PAYLOAD_NOT_AN_ENTRY.format(error="unknown payload"))
    if not _entry_key(data):
        raise UnparseableMessage(ENTRY_WITHOUT_ID)
    subject, _ = _as_text(data.get("title"))
    subject = _SPACES.sub(" ", subject).strip()
    body = next(iter(data.get("content") or []), None) or data.get("summary")
    text, html = _as_text(body)
    if not subject and not text:
        raise UnparseableMessage(ENTRY_EMPTY)
    message_id = _message_id(data, (data.get("feed") or {}).get("source", ""))
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
        identity_hash=_sha256(message_id),
        original_message_id="",
        url=_url_or_empty(data.get("link", "")),
        revisable=True,
    )
