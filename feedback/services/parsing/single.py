"""Parsing one payload in its own transaction: ``payload_parse``, and the path a failed
chunk falls back to so that only its bad payload is quarantined."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError
from django.utils import timezone

from feedback.mail import ParsedMessage
from feedback.models import RawPayload
from feedback.services.parsing.common import (
    STORE_FAILED,
    ParseOutcome,
    _describe,
    _quarantine,
    _read,
)
from feedback.services.parsing.store import _store


def payload_parse(*, payload: RawPayload, now: datetime | None = None) -> ParseOutcome:
    """Parse a pending payload from its stored bytes (a parsed or quarantined one is left as
    it is). Bad input ends in quarantine, never in an exception; a database or storage that
    cannot be reached raises, and the payload stays pending for the next attempt."""
    now = now or timezone.now()
    payload = RawPayload.objects.select_related("channel__team", "message").get(pk=payload.pk)
    return _parse_loaded(payload, now)


def _parse_loaded(payload: RawPayload, now: datetime) -> ParseOutcome:
    """``payload_parse`` for a payload just read (with its channel, team and message)."""
    read = _read(payload, now)
    if isinstance(read, ParseOutcome):
        return read
    parsed, names = read.parsed, read.names
    try:
        return _attempt(payload.pk, parsed, names, now)
    except IntegrityError:
        # A concurrent worker stored the same mail (or created the same customer) between
        # our look-up and our insert; the second attempt finds what it stored.
        pass
    try:
        return _attempt(payload.pk, parsed, names, now)
    except IntegrityError as error:
        return _quarantine(payload.pk, STORE_FAILED.format(error=_describe(error)), now)


def _attempt(
    payload_id: int, parsed: ParsedMessage, names: list[str], now: datetime
) -> ParseOutcome:
    try:
        return _store(payload_id, parsed, names, now)
    except (DataError, ValidationError, ValueError, TypeError) as error:
        # Parsed, but not storable as it is (a value the database refuses): kept for a person.
        return _quarantine(payload_id, STORE_FAILED.format(error=_describe(error)), now)
