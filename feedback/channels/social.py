"""What the forum and social-media connectors (Discourse, Mastodon) share: cleaning their
settings, reading a JSON page, cutting it into one payload per post, and building the parsed
message from a post's fields; ``SocialConnector`` holds what their connectors have in common.

Both remotes answer a page of posts as JSON; each post is stored on its own, re-serialised
with sorted keys so the same post answered twice is the same bytes (stored once) and an
edited post is new bytes with the same ``source_id`` (which revises the message). Everything
here is pure except the network calls (``get_json``, ``ApiReader``, ``probe``), all through
``feedback.channels.http``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from feedback.channels import http
from feedback.channels.base import (
    CheckResult,
    ConfigError,
    Connector,
    ConnectorError,
    FetchedItem,
    unknown_settings_check,
)
from feedback.mail import LANE_CUSTOMER, ParsedMessage, UnparseableMessage, sanitize_html
from feedback.mail.html import html_to_text
from portal.validation import json_loads

MAX_TIMEOUT = 300

# Config errors: each names the field it is about.
FIELD_REQUIRED = "{field} is required"
FIELD_NOT_TEXT = "{field} must be text"
TIMEOUT_INVALID = "timeout must be a number of seconds greater than 0 and at most {maximum}"

# Answers a person reads on the channel page or the health page.
PAGE_UNREADABLE = "{host} answered {path} with something other than the expected JSON: {error}"
CHECK_REFUSED = (
    "the API key / token was refused by {service} at {url} ({error}): check that it is "
    "current and belongs to the user it is set up with"
)
CHECK_NOT_THERE = "no {service} at {url} ({error}): check the address"
CHECK_FAILED = "{service} at {url} could not be read: {error}"

# Parse refusals (the payload is quarantined with this reason).
ITEM_NOT_JSON = "the {what} is not valid JSON: {error}"
ITEM_NOT_OBJECT = "the {what} is not a JSON object"
ITEM_FIELD_MISSING = "the {what} has no {field}"
ITEM_TIME_INVALID = "the {what}'s {field} is not a date and time: {value!r}"


def config_text(config: Mapping[str, Any], key: str, *, required: bool) -> str:
    """A text setting, stripped; ConfigError naming ``key`` when missing or not text."""
    value = config.get(key)
    if value is None or value == "":
        if required:
            raise ConfigError(FIELD_REQUIRED.format(field=key), field=key)
        return ""
    if not isinstance(value, str):
        raise ConfigError(FIELD_NOT_TEXT.format(field=key), field=key)
    cleaned = value.strip()
    if required and not cleaned:
        raise ConfigError(FIELD_REQUIRED.format(field=key), field=key)
    return cleaned


def config_timeout(config: Mapping[str, Any]) -> float:
    value = config.get("timeout")
    if value is None or value == "":
        return float(http.DEFAULT_TIMEOUT)
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ConfigError(
                TIMEOUT_INVALID.format(maximum=MAX_TIMEOUT), field="timeout"
            ) from None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 < value <= MAX_TIMEOUT
    ):
        raise ConfigError(TIMEOUT_INVALID.format(maximum=MAX_TIMEOUT), field="timeout")
    return float(value)


def config_start(
    config: Any, *, fields: frozenset[str], service: str, first: str
) -> Mapping[str, Any]:
    """``config`` when it is an object with only ``fields``; ConfigError otherwise (naming
    ``first`` when it is no object at all)."""
    if not isinstance(config, Mapping):
        raise ConfigError(FIELD_REQUIRED.format(field=first), field=first)
    unknown_settings_check(config, fields, service)
    return config


def host_of(base_url: str) -> str:
    """The instance's host as handles and message ids name it (``forum.example.com``; the port
    kept when there is one, so two local test servers stay apart)."""
    return urlsplit(base_url).netloc.casefold()


def get_json(
    url: str, *, headers: dict[str, str], timeout: float, params: dict[str, Any] | None = None
) -> tuple[Any, int]:
    """GET ``url`` and read its JSON; ``(data, size in bytes)``. An answer that is not JSON is
    a retryable ConnectorError: the page as a whole is unreadable, nothing of it is stored."""
    answer = http.get(url, params=params, headers=headers, timeout=timeout)
    return read_json(answer), len(answer.body)


class ApiReader:
    """One fetch's requests to a JSON API at ``base`` with the same headers each time."""

    def __init__(self, config: Mapping[str, Any], headers: dict[str, str]) -> None:
        self.base = config["base_url"]
        self.headers = {"Accept": "application/json", **headers}
        self.timeout = config["timeout"]

    def get(self, path: str, **params: Any) -> Any:
        data, _ = get_json(
            self.base + path, headers=self.headers, timeout=self.timeout, params=params or None
        )
        return data


def read_json(answer: http.Response) -> Any:
    try:
        return json_loads(answer.body)
    except (UnicodeDecodeError, ValueError) as error:
        parts = urlsplit(answer.url)
        raise ConnectorError(
            PAGE_UNREADABLE.format(host=parts.hostname, path=parts.path, error=str(error)[:200])
        ) from None


class Batch:
    """The payloads one fetch hands over: at most ``limit`` of them, together at most
    ``max_bytes`` unless the first alone is larger."""

    def __init__(self, *, limit: int, max_bytes: int) -> None:
        self.limit = limit
        self.max_bytes = max_bytes
        self.items: list[FetchedItem] = []
        self.size = 0

    def fits(self, raw: bytes) -> bool:
        """Whether a payload of ``raw`` still fits (the first always does)."""
        return not self.items or (
            len(self.items) < self.limit and self.size + len(raw) <= self.max_bytes
        )

    def offer(self, item: FetchedItem) -> bool:
        """Add ``item`` when it still fits; False (and nothing added) when the batch is full."""
        if not self.fits(item.raw):
            return False
        self.items.append(item)
        self.size += len(item.raw)
        return True


def item_bytes(item: Any) -> bytes:
    """One post cut out of a page as stored: the same post is always the same bytes."""
    return json.dumps(item, sort_keys=True, ensure_ascii=False).encode("utf-8")


def load_item(raw: bytes, *, what: str) -> dict[str, Any]:
    """A stored post back as a dict; UnparseableMessage (quarantine) for anything else."""
    try:
        item = json_loads(raw)
    except (UnicodeDecodeError, ValueError) as error:
        raise UnparseableMessage(ITEM_NOT_JSON.format(what=what, error=error)) from None
    if not isinstance(item, dict):
        raise UnparseableMessage(ITEM_NOT_OBJECT.format(what=what))
    return item


def required(item: Mapping[str, Any], field: str, *, what: str) -> Any:
    value = item.get(field)
    if value is None or value == "":
        raise UnparseableMessage(ITEM_FIELD_MISSING.format(what=what, field=field))
    return value


def item_id(item: Any) -> int | None:
    """A post's numeric id (Mastodon's are numeric strings), None when it has none."""
    value = item.get("id") if isinstance(item, Mapping) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def timestamp(item: Mapping[str, Any], field: str, *, what: str) -> datetime:
    """An ISO 8601 time of the post, aware and in UTC."""
    value = required(item, field, what=what)
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise UnparseableMessage(
            ITEM_TIME_INVALID.format(what=what, field=field, value=value)
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def html_and_text(html: str, fallback_text: str = "") -> tuple[str, str]:
    """The post's HTML sanitised for display and its plain text (``fallback_text``, the
    author's own source, when the HTML renders to nothing)."""
    clean = sanitize_html(html or "")
    return clean, html_to_text(clean) or fallback_text.strip()


def social_message(
    *,
    message_id: str,
    thread: list[str],
    subject: str,
    html: str,
    text: str,
    from_name: str,
    handle_kind: str,
    handle: str,
    url: str,
    sent_at: datetime,
) -> ParsedMessage:
    """A post as a customer message. ``thread`` names the messages it answers, root first,
    parent last (the In-Reply-To / References machinery joins it to their item). Posts are
    revisable: the identity is the message id alone, so an edited post revises the message."""
    return ParsedMessage(
        message_id=message_id,
        in_reply_to=thread[-1] if thread else "",
        references=list(thread),
        subject=subject,
        from_name=from_name,
        from_address="",
        reply_to="",
        to=[],
        cc=[],
        recipient_addresses=[],
        sent_at=sent_at,
        lane=LANE_CUSTOMER,
        lane_reason="",
        text=text,
        quoted_text="",
        signature="",
        html=html,
        attachments=[],
        identity_hash=hashlib.sha256(message_id.encode("utf-8")).hexdigest(),
        original_message_id="",
        sender_handle_kind=handle_kind,
        sender_handle=handle,
        url=url,
        revisable=True,
    )


def check_failure(*, service: str, url: str, status: int, detail: str) -> CheckResult:
    """A failed check in words: the key refused, nothing of ``service`` there, or why not."""
    if status in (401, 403):
        message = CHECK_REFUSED.format(service=service, url=url, error=detail)
    elif status == 404:
        message = CHECK_NOT_THERE.format(service=service, url=url, error=detail)
    else:
        message = CHECK_FAILED.format(service=service, url=url, error=detail)
    return CheckResult(ok=False, message=message)


def probe(url: str, *, headers: dict[str, str], timeout: float) -> tuple[Any, int, str]:
    """The check's first request: ``(data, 200, "")``, or ``(None, status, what went
    wrong)`` with the HTTP status that decided it (0 when none came back; 404 for an answer
    that is no JSON at all: another web site lives at that address)."""
    try:
        answer = http.get(url, headers=headers, timeout=timeout, ok=(200, 401, 403, 404))
    except ConnectorError as error:
        return None, 0, error.message
    if answer.status != 200:
        return None, answer.status, f"HTTP {answer.status} for {urlsplit(url).path}"
    try:
        return read_json(answer), 200, ""
    except ConnectorError as error:
        return None, 404, error.message


class SocialConnector(Connector):
    """The part of a forum or social-media connector that is the same for each: polled, no
    mail, no replies from the portal yet (an agent answers on the remote itself), and a
    config of a ``base_url``, the kind's own settings (``clean_settings``) and a ``timeout``."""

    push = False
    reply_by = ""
    mail = False
    service: str
    config_fields: frozenset[str]

    def validate_config(
        self, config: dict[str, Any], *, allow_plaintext: bool = False
    ) -> dict[str, Any]:
        config = config_start(
            config, fields=self.config_fields, service=self.service, first="base_url"
        )
        return {
            "base_url": http.clean_base_url(config.get("base_url"), field="base_url"),
            **self.clean_settings(config),
            "timeout": config_timeout(config),
        }

    def clean_settings(self, config: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def check(self, config: dict[str, Any], *, url: str | None = None) -> CheckResult:
        """The stored settings checked against the remote (``check_settings``); settings the
        connector refuses are said in words too, never raised at the page."""
        try:
            cleaned = self.validate_config(config)
        except ConfigError as error:
            return CheckResult(ok=False, message=error.message)
        return self.check_settings(cleaned)

    def check_settings(self, config: dict[str, Any]) -> CheckResult:
        raise NotImplementedError

    def after_store(self, config: dict[str, Any], items: list[FetchedItem]) -> None:
        return None
