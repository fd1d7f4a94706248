"""The one interface every channel connector implements.

A connector fetches and parses; it never persists. The ingestion service stores the items
of a ``FetchResult`` together with its ``cursor`` in one transaction, so the cursor moves
only when the items are durably stored, and calls ``after_store`` once they are. Connectors
import no Django models, no Celery, and read no settings at import time.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from feedback.mail import ParsedMessage


@dataclass(frozen=True)
class FetchedItem:
    """One payload exactly as the remote delivered it."""

    # Stable id within the channel, e.g. "<uidvalidity>:<uid>" for IMAP.
    source_id: str
    # The payload exactly as fetched, never decoded: parsing runs later from these bytes.
    raw: bytes
    # The arrival time the remote reports (IMAP INTERNALDATE), aware and in UTC.
    received_at: datetime | None
    # Small JSON-able extras (folder, flags, size).
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FetchResult:
    items: list[FetchedItem]
    # JSON-able cursor AFTER these items; store it with them in the same transaction.
    cursor: dict[str, Any]
    # True when the remote has more after this batch: fetch again with ``cursor``.
    more: bool
    # Config keys the connector itself changed (an OAuth provider's rotated refresh token):
    # merged into the channel's stored config, encrypted, in the batch's transaction; None
    # when nothing changed. A config an admin changed since the poll read it wins.
    config_updates: dict[str, Any] | None = None


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    # Words a person can act on ("authentication failed", ...).
    message: str
    # As ``FetchResult.config_updates``: a check that refreshed an OAuth token may have been
    # handed a rotated refresh token, which the check service stores.
    config_updates: dict[str, Any] | None = None


class ConnectorError(Exception):
    """A failure a person can act on; ``retryable`` says whether backoff + retry may help."""

    def __init__(
        self, message: str, *, retryable: bool = True, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        # Seconds the remote asked us to wait (HTTP 429/503 ``Retry-After``): the poll backs
        # off at least this long.
        self.retry_after = retry_after
        # Settings the connector changed before it failed (a provider's rotated refresh
        # token): the poll stores them on its way out, so a failed poll loses none.
        self.config_updates: dict[str, Any] | None = None


class ConfigError(ConnectorError):
    """A configuration that can never work; ``field`` names the offending config key."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, retryable=False)
        self.field = field


UNKNOWN_SETTINGS = "unknown {service} settings: {fields}; the settings are {known}"


def unknown_settings_message(service: str, unknown: Iterable[str], known: Iterable[str]) -> str:
    """What a config with keys that are no setting of ``service`` is told: those keys, and the
    settings there are (a key misspelt, ``username`` for ``api_username``, finds its name)."""
    return UNKNOWN_SETTINGS.format(
        service=service, fields=", ".join(sorted(unknown)), known=", ".join(sorted(known))
    )


def unknown_settings_check(config: Mapping[str, Any], known: Collection[str], service: str) -> None:
    """ConfigError naming the first key of ``config`` that is not among ``known``, if any."""
    unknown = sorted(set(config) - set(known))
    if unknown:
        message = unknown_settings_message(service, unknown, known)
        raise ConfigError(message, field=unknown[0])


class Connector(Protocol):
    kind: str
    # Config keys that are write-only secrets: never returned, shown or logged.
    secret_fields: frozenset[str]
    # True when the remote posts to the portal (the inbound e-mail webhook): such a channel
    # is never polled, and ``fetch`` has nothing to return.
    push: bool = False
    # How an agent's answer reaches the customer: "email" (to the message's Reply-To or
    # sender address) or "" when the channel takes no replies (a feed of reviews).
    reply_by: str = "email"
    # True for connectors whose payloads are raw MIME mail, parsed by
    # ``feedback.mail.parse_message``; the others parse their own payloads (``parse``).
    mail: bool = True

    def validate_config(
        self, config: dict[str, Any], *, allow_plaintext: bool = False
    ) -> dict[str, Any]:
        """Return the cleaned config (defaults filled in) or raise ConfigError naming the
        field."""
        ...

    def check(self, config: dict[str, Any], *, url: str | None = None) -> CheckResult:
        """Try the connection and say in words a person can act on what failed. ``url`` is
        where a push channel's remote posts to, for the check to name it."""
        ...

    def fetch(
        self,
        config: dict[str, Any],
        cursor: dict[str, Any] | None,
        *,
        limit: int = 100,
        max_bytes: int = 20 * 1024 * 1024,
    ) -> FetchResult:
        """Return at most ``limit`` items after ``cursor`` (``None``: from the start), their
        payloads together under ``max_bytes`` unless a single item alone is larger.
        Raises ConnectorError; a failed fetch returns nothing, never part of a batch."""
        ...

    def parse(
        self, raw: bytes, *, received_at: datetime, metadata: dict[str, Any]
    ) -> ParsedMessage:
        """Pure: one stored payload (``FetchedItem.raw`` and ``metadata``) as a message.
        Raises ``feedback.mail.UnparseableMessage`` with a reason for bad input (malformed
        JSON or XML, a required field missing), which quarantines the payload. Only
        connectors with ``mail = False`` are asked; mail is parsed by the MIME parser."""
        ...

    def after_store(self, config: dict[str, Any], items: list[FetchedItem]) -> None:
        """Follow-up once ``items`` are durably stored (IMAP: move them to ``move_to``).
        Connectors without one keep this default, which does nothing."""
        return None
