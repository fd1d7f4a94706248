"""Inbound e-mail webhook connector: a mail provider POSTs each mail it receives, raw MIME,
to the channel's own URL (``feedback.webhooks``), signed with the channel's secret.

The channel is push-only (``push = True``): the dispatcher never claims it and ``fetch``
returns nothing, so a poll started by hand (``poll_channels --channel``) stores nothing and
only parses what a lost parse left pending. What arrives enters through the same ingestion
service as polled mail (``payload_receive``) and the same parser.

The signature is HMAC-SHA256 under the channel's secret over ``timestamp + "." + body``
(the timestamp in whole Unix seconds, the body byte for byte), sent as
``X-Portal-Signature: sha256=<hex>`` with ``X-Portal-Timestamp: <timestamp>``. A timestamp
more than ``MAX_SKEW`` away from the portal's clock is refused, so a request captured on the
way cannot be replayed later; within the window a replay stores nothing new, because the
payload is identified by its content. This module holds the protocol as pure functions (no
ORM, no settings), so the view stays thin and the rules are tested without HTTP.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from feedback.channels.base import (
    CheckResult,
    ConfigError,
    Connector,
    FetchResult,
    unknown_settings_check,
)

KIND = "webhook"
TIMESTAMP_HEADER = "X-Portal-Timestamp"
SIGNATURE_HEADER = "X-Portal-Signature"
SIGNATURE_SCHEME = "sha256"
# How far the signing time may be from the portal's clock, either way.
MAX_SKEW = timedelta(minutes=5)
MIN_SECRET_LENGTH = 16
MAX_SECRET_LENGTH = 512
# secrets.token_urlsafe(32): 43 characters, 256 random bits.
GENERATED_SECRET_BYTES = 32
# A Unix time in seconds has 10 digits until the year 2286; more is no timestamp.
MAX_TIMESTAMP_DIGITS = 12
CONFIG_FIELDS = frozenset({"address", "secret"})

# Config errors: each names the field it is about.
FIELD_NOT_TEXT = "{field} must be text"
ADDRESS_INVALID = "address must be an e-mail address such as support@example.com"
SECRET_TOO_SHORT = (
    f"secret must have at least {MIN_SECRET_LENGTH} characters; leave it out and the portal "
    "makes a random one"
)
SECRET_TOO_LONG = f"secret may have at most {MAX_SECRET_LENGTH} characters"
SECRET_NOT_PRINTABLE = "secret must be printable ASCII characters without spaces"

CHECK_READY = (
    "Ready: the provider posts each mail, raw, to {url}, signed with the channel's secret "
    f"({SIGNATURE_HEADER}: {SIGNATURE_SCHEME}=<hex HMAC-SHA256 of {TIMESTAMP_HEADER} + '.' + "
    "body>)."
)
THIS_CHANNELS_URL = "this channel's webhook URL"
CHECK_NO_SECRET = (
    "The channel has no signing secret, so every post is refused: set secret in its settings."
)

# Refusals of a request, each with its HTTP status (401: not signed, 403: signed wrongly).
SIGNATURE_MISSING = (
    f"The request is not signed: send {TIMESTAMP_HEADER} (the time in whole Unix seconds) and "
    f"{SIGNATURE_HEADER} ({SIGNATURE_SCHEME}=<hex HMAC-SHA256 of the timestamp + '.' + the "
    "raw body under the channel's secret>)."
)
TIMESTAMP_INVALID = f"{TIMESTAMP_HEADER} must be the signing time in whole Unix seconds."
TIMESTAMP_STALE = (
    "The signature is more than 5 minutes old; sign the request again with the current time "
    "(an old request replayed is refused)."
)
TIMESTAMP_FUTURE = (
    f"{TIMESTAMP_HEADER} is more than 5 minutes ahead of the portal's clock; check the "
    "sender's clock."
)
SIGNATURE_MALFORMED = (
    f"{SIGNATURE_HEADER} must be {SIGNATURE_SCHEME}= followed by 64 hexadecimal digits."
)
SIGNATURE_WRONG = (
    "The signature does not match: sign the timestamp + '.' + the raw body, byte for byte, "
    "with the channel's secret."
)
NO_SECRET = "The channel has no signing secret; an admin of its team must set one."


class SignatureRefused(Exception):
    """A request the webhook refuses: ``status`` 401 when it is not signed, 403 otherwise."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def generate_secret() -> str:
    return secrets.token_urlsafe(GENERATED_SECRET_BYTES)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``timestamp + "." + body`` under ``secret``."""
    message = timestamp.encode("ascii") + b"." + bytes(body)
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Portal-Signature`` value a sender puts on ``body`` signed at ``timestamp``."""
    return f"{SIGNATURE_SCHEME}={signature(secret, timestamp, body)}"


def signed_headers(secret: str, body: bytes, *, now: datetime) -> dict[str, str]:
    """Both headers for ``body`` signed at ``now``: what a sender (or a test) sends."""
    timestamp = str(int(now.timestamp()))
    return {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature_header(secret, timestamp, body),
    }


def _signing_time(timestamp: str) -> int:
    timestamp = timestamp.strip()
    if (
        not timestamp
        or len(timestamp) > MAX_TIMESTAMP_DIGITS
        or not (timestamp.isascii() and timestamp.isdigit())
    ):
        raise SignatureRefused(TIMESTAMP_INVALID, status=403)
    return int(timestamp)


def _given_digest(header: str) -> str:
    scheme, _, digest = header.strip().partition("=")
    digest = digest.strip().lower()
    if (
        scheme.strip().lower() != SIGNATURE_SCHEME
        or len(digest) != 64
        or not all(character in "0123456789abcdef" for character in digest)
    ):
        raise SignatureRefused(SIGNATURE_MALFORMED, status=403)
    return digest


def verify(
    *, secret: str, timestamp: str | None, signature_value: str | None, body: bytes, now: datetime
) -> None:
    """Raise SignatureRefused unless ``body`` carries a good signature made within
    ``MAX_SKEW`` of ``now``. The digests are compared in constant time."""
    if not timestamp or not signature_value:
        raise SignatureRefused(SIGNATURE_MISSING, status=401)
    signed_at = _signing_time(timestamp)
    given = _given_digest(signature_value)
    age = now.timestamp() - signed_at
    if age > MAX_SKEW.total_seconds():
        raise SignatureRefused(TIMESTAMP_STALE, status=403)
    if -age > MAX_SKEW.total_seconds():
        raise SignatureRefused(TIMESTAMP_FUTURE, status=403)
    if not secret:
        raise SignatureRefused(NO_SECRET, status=403)
    expected = signature(secret, timestamp.strip(), body)
    if not hmac.compare_digest(expected, given):
        raise SignatureRefused(SIGNATURE_WRONG, status=403)


def _text(config: dict[str, Any], key: str) -> str:
    value = config.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ConfigError(FIELD_NOT_TEXT.format(field=key), field=key)
    return value.strip()


def _address(config: dict[str, Any]) -> str:
    address = _text(config, "address")
    if not address:
        return ""
    local, _, domain = address.rpartition("@")
    if not local or "." not in domain or any(character.isspace() for character in address):
        raise ConfigError(ADDRESS_INVALID, field="address")
    return address


def _secret(config: dict[str, Any]) -> str:
    secret = _text(config, "secret")
    if not secret:
        # Never an empty key: a channel nobody gave a secret refuses every post until an admin
        # sets the one the provider signs with (the generated one is write-only like any).
        return generate_secret()
    if not all("!" <= character <= "~" for character in secret):
        raise ConfigError(SECRET_NOT_PRINTABLE, field="secret")
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(SECRET_TOO_SHORT, field="secret")
    if len(secret) > MAX_SECRET_LENGTH:
        raise ConfigError(SECRET_TOO_LONG, field="secret")
    return secret


class WebhookConnector(Connector):
    kind = KIND
    secret_fields = frozenset({"secret"})
    # Mail is pushed to the portal: nothing to poll, the dispatcher leaves the channel alone.
    push = True

    def validate_config(
        self, config: dict[str, Any], *, allow_plaintext: bool = False
    ) -> dict[str, Any]:
        unknown_settings_check(config, CONFIG_FIELDS, "webhook")
        return {"address": _address(config), "secret": _secret(config)}

    def check(self, config: dict[str, Any], *, url: str | None = None) -> CheckResult:
        """Nothing to connect to: ready when the channel has a secret. ``url`` is the
        channel's webhook address when the caller knows it (``feedback.webhooks.webhook_url``)."""
        if not config.get("secret"):
            return CheckResult(ok=False, message=CHECK_NO_SECRET)
        return CheckResult(ok=True, message=CHECK_READY.format(url=url or THIS_CHANNELS_URL))

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
