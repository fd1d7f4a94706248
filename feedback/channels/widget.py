"""Web widget connector: customers send feedback from the product itself, without logging in,
through an embeddable script or a no-JS form at the team's public URL (``feedback.views.widget``
and ``feedback.api.widget``, docs/widget.md).

The channel is push-only like the inbound e-mail webhook: each submission is stored raw first
(``payload_receive``) as deterministic JSON bytes (``submission_payload``), then parsed by
``WidgetConnector.parse`` into a message in the same pipeline as mail. A reply goes by e-mail to
the address the customer gave.

This module holds the rules as pure functions (no ORM, no settings): the channel's config
(``allowed_origins``, the team's reply ``address``), which browser origins may post, the
screenshot's re-encoding (any PNG, JPEG, GIF or WebP in, a metadata-free PNG out, never more
than ``MAX_PIXELS``), the payload's bytes and their parse.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import ipaddress
import json
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import idna

from feedback.channels.base import (
    CheckResult,
    ConfigError,
    Connector,
    FetchResult,
    unknown_settings_check,
)
from feedback.mail import LANE_CUSTOMER, ParsedAttachment, ParsedMessage, UnparseableMessage
from portal.validation import json_loads

KIND = "widget"
# secrets.token_urlsafe(16): 22 characters, 128 random bits; the key is public (it sits in
# every page that embeds the widget), it only has to be unguessable enough not to be listed.
PUBLIC_KEY_BYTES = 16
CONFIG_FIELDS = frozenset({"allowed_origins", "address"})
MAX_ORIGINS = 50
PAYLOAD_VERSION = 1

# What a customer may send.
MAX_MESSAGE_CHARS = 5000
MAX_NAME_CHARS = 200
MAX_EMAIL_CHARS = 254
MAX_PAGE_URL_CHARS = 2000
MAX_USER_AGENT_CHARS = 500
# A whole request (form fields and the screenshot together): a larger one is refused from its
# Content-Length before a byte of it is read.
MAX_REQUEST_BYTES = 6 * 1024 * 1024
# The screenshot as uploaded, and the picture in it: a 4096 x 4096 screen at most, so that a
# small file that unpacks into a huge bitmap (a decompression bomb) is refused before decoding.
MAX_SCREENSHOT_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 4096 * 4096
# The stored copy is scaled down to fit this box, which keeps a screenshot readable and its PNG
# small; the re-encoded file may still be at most MAX_STORED_SCREENSHOT_BYTES.
MAX_STORED_SIDE = 2560
# A photo whose PNG passes the stored cap is scaled down, to this side at the least.
MIN_STORED_SIDE = 1024
MAX_STORED_SCREENSHOT_BYTES = 8 * 1024 * 1024
IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "WEBP")
SCREENSHOT_FILENAME = "screenshot.png"
SCREENSHOT_TYPE = "image/png"
SUBJECT_CHARS = 80

# Config errors: each names the field it is about.
ORIGINS_NOT_LIST = "allowed_origins must be a list of origins such as https://www.example.com"
TOO_MANY_ORIGINS = f"allowed_origins may hold at most {MAX_ORIGINS} origins"
ORIGIN_INVALID = (
    "{origin!r} is not an origin: write the scheme and host (and port) of the site that embeds "
    "the widget, nothing after them, e.g. https://www.example.com"
)
ORIGIN_PORT_INVALID = (
    "{origin!r} has no valid port: a port is a number from 1 to 65535, left out when it is the "
    "default (443 for https)"
)
ORIGIN_HOST_INVALID = (
    "{origin!r} has a host that is no valid domain name: write it as the site's address shows "
    "it, e.g. https://bücher.example or https://xn--bcher-kva.example"
)
ORIGIN_TRAILING_DOT = (
    "{origin!r} ends its host with a dot, which browsers send only when the site is opened with "
    "one: write the host without it, e.g. https://www.example.com"
)
ORIGIN_NOT_HTTPS = (
    "{origin!r} must use https; plain http is accepted only for this machine (localhost, 127.0.0.1)"
)
ADDRESS_NOT_TEXT = "address must be text"
ADDRESS_INVALID = "address must be an e-mail address such as support@example.com"

CHECK_READY = "Ready: customers send feedback through {url}; {origins} may embed the widget script."
CHECK_NO_ORIGINS = (
    "Ready for the no-JS form at {url}; no site may embed the script yet: add the sites' "
    "origins (https://www.example.com) to allowed origins."
)
THIS_CHANNELS_URL = "this channel's public form"

# Refusals of a submission, shown to the customer.
SCREENSHOT_NOT_IMAGE = "The screenshot must be a PNG, JPEG, GIF or WebP image."
SCREENSHOT_TOO_LARGE = (
    "The screenshot is larger than {limit} MB; send a smaller one or leave it out."
)
SCREENSHOT_TOO_MANY_PIXELS = (
    "The screenshot has more pixels than 4096 x 4096 (16.7 million); send a smaller one or "
    "leave it out."
)

# Reasons a stored payload is quarantined.
NOT_JSON = "the widget payload is not JSON: {error}"
NOT_OBJECT = "the widget payload is not a JSON object"
FIELD_MISSING = "the widget payload has no {field}"
BAD_TIME = "the widget payload's submitted_at is not an ISO 8601 time: {value!r}"
BAD_SCREENSHOT = "the widget payload's screenshot is not base64 PNG data"


class ScreenshotRefused(ValueError):
    """A screenshot the widget does not take; ``message`` tells the customer why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def generate_public_key() -> str:
    return secrets.token_urlsafe(PUBLIC_KEY_BYTES)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _NotAnOrigin(ValueError):
    """Why a value can never match a browser's ``Origin``: one of the ORIGIN_* messages."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _origin(value: str) -> str:
    """``scheme://host[:port]`` as a browser sends it in ``Origin``: in lower case, without the
    default port, an internationalised host in its IDNA (punycode) form. Raises _NotAnOrigin
    for what is no http(s) origin (a path, a query, credentials, a wildcard or no host), a port
    outside 1 to 65535 and a host that has no IDNA form."""
    value = value.strip()
    # A browser sends one exact origin, never a pattern: "https://*.example.com" would be
    # stored as a host that no page has.
    if "*" in value or any(character.isspace() for character in value):
        raise _NotAnOrigin(ORIGIN_INVALID)
    try:
        parts = urlsplit(value)
    except ValueError:
        raise _NotAnOrigin(ORIGIN_INVALID) from None
    try:
        port = parts.port
    except ValueError:
        # urlsplit refuses digits above 65535 and anything that is no number alike.
        digits = parts.netloc.rpartition(":")[2]
        raise _NotAnOrigin(
            ORIGIN_PORT_INVALID if digits.isascii() and digits.isdigit() else ORIGIN_INVALID
        ) from None
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise _NotAnOrigin(ORIGIN_INVALID)
    if port == 0:
        raise _NotAnOrigin(ORIGIN_PORT_INVALID)
    scheme, host = parts.scheme.lower(), parts.hostname.lower()
    if not host.isascii():
        # Browsers send an internationalised host in its ASCII form (UTS 46 as the URL
        # standard does, non-transitional: "ß" stays a letter of its own, not "ss").
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError:
            raise _NotAnOrigin(ORIGIN_HOST_INVALID) from None
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[scheme]
    return f"{scheme}://{host}" if port in (None, default) else f"{scheme}://{host}:{port}"


def normalise_origin(value: str) -> str | None:
    """The origin as a browser sends it in ``Origin`` (``_origin``); None when ``value`` can
    never be one."""
    try:
        return _origin(value)
    except _NotAnOrigin:
        return None


def _origins(config: dict[str, Any]) -> list[str]:
    given = config.get("allowed_origins")
    if given is None or given == "":
        return []
    if isinstance(given, str):
        # The settings form sends one origin a line.
        given = given.split()
    if not isinstance(given, list):
        raise ConfigError(ORIGINS_NOT_LIST, field="allowed_origins")
    origins: list[str] = []
    for value in given:
        if not isinstance(value, str):
            raise ConfigError(ORIGINS_NOT_LIST, field="allowed_origins")
        if not value.strip():
            continue
        try:
            origin = _origin(value)
        except _NotAnOrigin as refused:
            raise ConfigError(
                refused.message.format(origin=value), field="allowed_origins"
            ) from None
        host = urlsplit(origin).hostname or ""
        # A browser sends the dot only when the page was opened with it (https://x.example./),
        # which no site links to: the dot is a slip, and the origin would never match.
        if host.endswith("."):
            raise ConfigError(ORIGIN_TRAILING_DOT.format(origin=value), field="allowed_origins")
        if origin.startswith("http:") and not _is_loopback(host):
            raise ConfigError(ORIGIN_NOT_HTTPS.format(origin=value), field="allowed_origins")
        if origin not in origins:
            origins.append(origin)
    if len(origins) > MAX_ORIGINS:
        raise ConfigError(TOO_MANY_ORIGINS, field="allowed_origins")
    return origins


def _address(config: dict[str, Any]) -> str:
    address = config.get("address")
    if address is None:
        return ""
    if not isinstance(address, str):
        raise ConfigError(ADDRESS_NOT_TEXT, field="address")
    address = address.strip()
    if not address:
        return ""
    local, _, domain = address.rpartition("@")
    if not local or "." not in domain or any(character.isspace() for character in address):
        raise ConfigError(ADDRESS_INVALID, field="address")
    return address


def origin_allowed(config: dict[str, Any], origin: str) -> bool:
    """Whether a browser page at ``origin`` (the ``Origin`` header) may post to the channel.
    Both sides are compared normalised: origins saved before their hosts were stored in
    punycode (https://bücher.example) match what browsers send too."""
    normalised = normalise_origin(origin)
    if normalised is None:
        return False
    allowed = config.get("allowed_origins") or []
    return any(
        isinstance(entry, str) and normalise_origin(entry) == normalised for entry in allowed
    )


def reencode_screenshot(data: bytes) -> bytes:
    """The screenshot as a fresh PNG: decoded from PNG, JPEG, GIF or WebP (nothing else is
    even tried), turned upright by its EXIF orientation, scaled into ``MAX_STORED_SIDE`` and
    written anew, so that metadata (EXIF, GPS, comments) and anything hidden in the original
    file (a polyglot) is left behind. Raises ScreenshotRefused with the customer's words."""
    from PIL import Image, ImageOps

    if len(data) > MAX_SCREENSHOT_BYTES:
        raise ScreenshotRefused(
            SCREENSHOT_TOO_LARGE.format(limit=MAX_SCREENSHOT_BYTES // (1024 * 1024))
        )
    try:
        # Opening reads the header only: the size is known before any pixel is decoded.
        with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as image:
            if image.width * image.height > MAX_PIXELS:
                raise ScreenshotRefused(SCREENSHOT_TOO_MANY_PIXELS)
            image.verify()
        with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
            if upright.mode not in ("RGB", "RGBA", "L", "LA"):
                upright = upright.convert("RGBA")
            return _png_within_cap(upright)
    except ScreenshotRefused:
        raise
    except Image.DecompressionBombError as error:
        # Pillow's own guard, at twice its pixel limit, fires while the header is read.
        raise ScreenshotRefused(SCREENSHOT_TOO_MANY_PIXELS) from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ScreenshotRefused(SCREENSHOT_NOT_IMAGE) from error


def _png_within_cap(image: Any) -> bytes:
    """``image`` as PNG, scaled into ``MAX_STORED_SIDE``, and smaller again while the PNG
    passes ``MAX_STORED_SCREENSHOT_BYTES``: a photo of 5 MB as JPEG can be three times that as
    PNG, and is kept smaller rather than refused."""
    side = MAX_STORED_SIDE
    while True:
        image.thumbnail((side, side))
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=False)
        if out.tell() <= MAX_STORED_SCREENSHOT_BYTES or side <= MIN_STORED_SIDE:
            break
        side = max(MIN_STORED_SIDE, side * 3 // 4)
    if out.tell() > MAX_STORED_SCREENSHOT_BYTES:
        raise ScreenshotRefused(
            SCREENSHOT_TOO_LARGE.format(limit=MAX_SCREENSHOT_BYTES // (1024 * 1024))
        )
    return out.getvalue()


def message_text(text: str) -> str:
    """A message as the customer typed it: line breaks as one "\\n" each (a browser's form
    posts "\\r\\n"), so that its length is the one the form counted."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def visible(text: str) -> bool:
    """Whether ``text`` shows anything: not only spaces, controls and invisible format
    characters (zero-width spaces and joiners, direction marks)."""
    return any(
        not char.isspace() and unicodedata.category(char) not in ("Cc", "Cf") for char in text
    )


def page_url_or_blank(value: str) -> str:
    """``value`` when it is an http(s) address with a host, within the cap and without spaces
    or controls, else "". The page address is context the customer cannot correct (the script
    sends the page's own address), so a strange one is left out, never a reason to refuse."""
    value = (value or "").strip()
    if not value or len(value) > MAX_PAGE_URL_CHARS or not value.isprintable() or " " in value:
        return ""
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    return value


@dataclass(frozen=True)
class Submission:
    """What a customer sent, as cleaned by the form or the API; the screenshot re-encoded."""

    message: str
    email: str
    name: str = ""
    page_url: str = ""
    user_agent: str = ""
    screenshot_png: bytes | None = None


def submission_payload(
    submission: Submission, *, submission_id: str, submitted_at: datetime, portal_host: str
) -> bytes:
    """The bytes stored for one submission: JSON with sorted keys, so the same submission
    always gives the same bytes."""
    screenshot = None
    if submission.screenshot_png is not None:
        screenshot = {
            "content_type": SCREENSHOT_TYPE,
            "filename": SCREENSHOT_FILENAME,
            "base64": base64.b64encode(submission.screenshot_png).decode("ascii"),
        }
    document = {
        "version": PAYLOAD_VERSION,
        "submission_id": submission_id,
        "submitted_at": submitted_at.astimezone(UTC).isoformat(),
        "portal_host": portal_host,
        "message": submission.message,
        "email": submission.email,
        "name": submission.name,
        "page_url": submission.page_url,
        "user_agent": submission.user_agent[:MAX_USER_AGENT_CHARS],
        "screenshot": screenshot,
    }
    return json.dumps(document, sort_keys=True, ensure_ascii=False).encode("utf-8")


def _text(document: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = document.get(key)
    if value is None or value == "":
        if required:
            raise UnparseableMessage(FIELD_MISSING.format(field=key))
        return ""
    if not isinstance(value, str):
        raise UnparseableMessage(FIELD_MISSING.format(field=key))
    return value.replace("\x00", "")


def _sent_at(value: str, received_at: datetime) -> datetime:
    try:
        sent_at = datetime.fromisoformat(value)
    except ValueError:
        raise UnparseableMessage(BAD_TIME.format(value=value)) from None
    if sent_at.tzinfo is None:
        raise UnparseableMessage(BAD_TIME.format(value=value))
    sent_at = sent_at.astimezone(UTC)
    # As for mail: a time in the future is not believed.
    return min(sent_at, received_at.astimezone(UTC))


def _subject(message: str) -> str:
    first_line = " ".join(message.strip().splitlines()[0].split()) if message.strip() else ""
    if len(first_line) <= SUBJECT_CHARS:
        return first_line
    return first_line[: SUBJECT_CHARS - 1].rstrip() + "…"


def _attachments(document: dict[str, Any]) -> list[ParsedAttachment]:
    screenshot = document.get("screenshot")
    if screenshot is None:
        return []
    if not isinstance(screenshot, dict) or not isinstance(screenshot.get("base64"), str):
        raise UnparseableMessage(BAD_SCREENSHOT)
    try:
        content = base64.b64decode(screenshot["base64"], validate=True)
    except (binascii.Error, ValueError):
        raise UnparseableMessage(BAD_SCREENSHOT) from None
    return [
        ParsedAttachment(
            filename=SCREENSHOT_FILENAME,
            content_type=SCREENSHOT_TYPE,
            content=content,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            content_id="",
            inline=False,
        )
    ]


def parse_submission(raw: bytes, *, received_at: datetime) -> ParsedMessage:
    """Pure: a stored submission as a ``ParsedMessage`` from the e-mail address the customer
    gave, with the page they were on as its ``url`` and the screenshot as its attachment."""
    try:
        document = json_loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise UnparseableMessage(NOT_JSON.format(error=error)) from None
    if not isinstance(document, dict):
        raise UnparseableMessage(NOT_OBJECT)
    submission_id = _text(document, "submission_id", required=True)
    message = _text(document, "message", required=True)
    email = _text(document, "email", required=True).strip().lower()
    host = _text(document, "portal_host") or "widget"
    return ParsedMessage(
        message_id=f"widget-{submission_id}@{host}",
        in_reply_to="",
        references=[],
        subject=_subject(message),
        from_name=" ".join(_text(document, "name").split()),
        from_address=email,
        reply_to="",
        to=[],
        cc=[],
        recipient_addresses=[],
        sent_at=_sent_at(_text(document, "submitted_at", required=True), received_at),
        lane=LANE_CUSTOMER,
        lane_reason="",
        text=message,
        quoted_text="",
        signature="",
        html="",
        attachments=_attachments(document),
        identity_hash=hashlib.sha256(raw).hexdigest(),
        original_message_id="",
        url=_text(document, "page_url"),
    )


class WidgetConnector(Connector):
    kind = KIND
    secret_fields: frozenset[str] = frozenset()
    # Customers post to the portal: nothing to poll.
    push = True
    reply_by = "email"
    mail = False

    def validate_config(
        self, config: dict[str, Any], *, allow_plaintext: bool = False
    ) -> dict[str, Any]:
        unknown_settings_check(config, CONFIG_FIELDS, "widget")
        return {"allowed_origins": _origins(config), "address": _address(config)}

    def check(self, config: dict[str, Any], *, url: str | None = None) -> CheckResult:
        """Nothing to connect to: the public form always works; the script needs origins."""
        url = url or THIS_CHANNELS_URL
        origins = config.get("allowed_origins") or []
        if not origins:
            return CheckResult(ok=True, message=CHECK_NO_ORIGINS.format(url=url))
        return CheckResult(ok=True, message=CHECK_READY.format(url=url, origins=", ".join(origins)))

    def fetch(
        self,
        config: dict[str, Any],
        cursor: dict[str, Any] | None,
        *,
        limit: int = 100,
        max_bytes: int = 20 * 1024 * 1024,
    ) -> FetchResult:
        """A push channel has nothing to fetch; the cursor stays as it is."""
        return FetchResult(items=[], cursor=cursor or {}, more=False)

    def parse(
        self, raw: bytes, *, received_at: datetime, metadata: dict[str, Any]
    ) -> ParsedMessage:
        return parse_submission(raw, received_at=received_at)

    def after_store(self, config: dict[str, Any], items: list[Any]) -> None:
        return None
