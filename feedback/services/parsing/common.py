"""What both parsing paths share: the outcome, the chunk's state, text cleaning, quarantine,
and reading a payload's bytes into a parsed mail with its attachments stored."""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.db import transaction

# The storage read and the parser are called through the package (``package.blob_read``,
# ``package.parse_message``): its names are where they are replaced to simulate a lost file or
# a parser bug, as they were when parsing was one module.
import feedback.services.parsing as package
from feedback.channels import CONNECTORS
from feedback.mail import ParsedMessage, UnparseableMessage
from feedback.mail.results import EARLIEST_SENT_AT
from feedback.models import (
    Attachment,
    FeedbackItem,
    Message,
    PayloadStatus,
    Quarantine,
    QuarantineStatus,
    RawPayload,
)
from feedback.services.conversations import ThreadIndex
from feedback.services.customers import ChunkSenders
from feedback.services.storage import ATTACHMENT_PREFIX, blob_store
from portal import events

logger = logging.getLogger("feedback.services.parsing")

PARSER_FAILED = "the parser failed: {error}"
STORE_FAILED = "the parsed message could not be stored: {error}"
PAYLOAD_FILE_MISSING = "the raw payload's file {name} is missing from storage"
NOTE_TOO_EARLY = "its date ({value}) is before 1970; the arrival time is used"
MAX_ERROR_LENGTH = 2000


@dataclass(frozen=True)
class ParseOutcome:
    payload: RawPayload
    # The message the payload is (new or stored before); None when quarantined.
    message: Message | None
    created: bool
    quarantine: Quarantine | None = None
    # True when the payload was a newer version of a revisable message, which it revised.
    revised: bool = False


@dataclass
class _Chunk:
    """What the payloads of one chunk (one transaction) share: their rows, locked in one
    statement; the senders, found and created as a set; and the payloads marked parsed,
    written in one UPDATE before the commit."""

    locked: dict[int, RawPayload] = field(default_factory=dict)
    # Message ids by identity (team id, Message-ID, content hash): the chunk's mails already
    # stored, read in one query.
    identities: dict[tuple[int, str, str], int] = field(default_factory=dict)
    # The messages the chunk stores, by identity, as it stores them: a second copy of a mail
    # later in the chunk is then the same message.
    stored: dict[tuple[int, str, str], Message] = field(default_factory=dict)
    senders: ChunkSenders = field(default_factory=ChunkSenders)
    marked: list[RawPayload] = field(default_factory=list)
    # The items of every Message-ID the chunk's mails name, read in one query, and of the
    # messages the chunk stores: threading needs no read a mail, nor the chunk's messages
    # inserted before a reply to one of them is threaded.
    threads: ThreadIndex = field(default_factory=ThreadIndex)
    # Items, messages and attachments not inserted yet (one INSERT each, ``store._flush``),
    # and what to announce once they have their ids.
    items: list[FeedbackItem] = field(default_factory=list)
    unsaved: list[Message] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    announcements: list[Callable[[], None]] = field(default_factory=list)
    # The stored items the chunk's customer mails answer, with the earliest and the latest
    # of those mails' times: moved and reopened at once (``reopen._reopen_chunk``).
    reopen: dict[int, tuple[datetime, datetime]] = field(default_factory=dict)
    # Stored items a copy of our own mail answered, with the earliest such mail's time: their
    # first response, written with the reopened items (``reopen._reopen_chunk``).
    answered: dict[int, datetime] = field(default_factory=dict)
    # Messages whose sentiment is scored after the commit, in one task for the chunk.
    to_score: list[Message] = field(default_factory=list)


def _clean(value: str, limit: int | None = None) -> str:
    """Text for the database: no NUL (PostgreSQL refuses it), cut to the column's size."""
    value = (value or "").replace("\x00", "\ufffd")
    return value[:limit] if limit else value


def _clean_list(values: list[str], limit: int) -> list[str]:
    return [_clean(value, limit) for value in values]


def _limit(field: str) -> int:
    return Message._meta.get_field(field).max_length


def _outcome_of(payload: RawPayload) -> ParseOutcome:
    quarantine = Quarantine.objects.filter(payload=payload).first()
    if payload.status == PayloadStatus.QUARANTINED:
        return ParseOutcome(payload, None, False, quarantine)
    return ParseOutcome(payload, payload.message, False, None)


def _quarantine(payload_id: int, error: str, now: datetime) -> ParseOutcome:
    error = _clean(error, MAX_ERROR_LENGTH)
    with transaction.atomic():
        payload = RawPayload.objects.select_for_update().get(pk=payload_id)
        if payload.status == PayloadStatus.PARSED:
            return _outcome_of(payload)
        payload.status = PayloadStatus.QUARANTINED
        payload.parsed_at = None
        payload.save(update_fields=["status", "parsed_at"])
        quarantine, created = Quarantine.objects.get_or_create(
            payload=payload, defaults={"error": error}
        )
        if not created:
            quarantine.error = error
            quarantine.status = QuarantineStatus.OPEN
            quarantine.closed_at = None
            quarantine.save(update_fields=["error", "status", "closed_at", "updated_at"])
        else:
            events.emit("feedback.payload_quarantined", quarantine_id=quarantine.pk)
    logger.info("payload %s quarantined: %s", payload_id, error[:200])
    return ParseOutcome(payload, None, False, quarantine)


@dataclass(frozen=True)
class _Read:
    parsed: ParsedMessage
    # The stored attachments' file names, in the order of ``parsed.attachments``.
    names: list[str]


def _read(payload: RawPayload, now: datetime) -> _Read | ParseOutcome:
    """The payload's mail parsed and its attachments stored; its outcome instead when it is
    not pending or ends in quarantine."""
    if payload.status != PayloadStatus.PENDING:
        return _outcome_of(payload)
    try:
        raw = package.blob_read(payload.file.name)
    except FileNotFoundError:
        return _quarantine(payload.pk, PAYLOAD_FILE_MISSING.format(name=payload.file.name), now)
    try:
        connector = CONNECTORS.get(payload.channel.kind)
        if connector is None or connector.mail:
            parsed = package.parse_message(raw, received_at=payload.received_at)
        else:
            parsed = connector.parse(
                raw, received_at=payload.received_at, metadata=payload.metadata
            )
    except UnparseableMessage as refused:
        return _quarantine(payload.pk, refused.reason, now)
    except Exception as error:  # noqa: BLE001
        # The parser promises UnparseableMessage for bad input; anything else is a parser bug
        # meeting a mail nobody tested, and one mail must not stop the batch.
        return _quarantine(payload.pk, PARSER_FAILED.format(error=_describe(error)), now)
    del raw
    if parsed.sent_at < EARLIEST_SENT_AT:
        note = NOTE_TOO_EARLY.format(value=f"{parsed.sent_at:%Y-%m-%d}")
        parsed = replace(parsed, sent_at=payload.received_at, defects=[*parsed.defects, note])
    names = [
        blob_store(ATTACHMENT_PREFIX, attachment.content, sha256=attachment.sha256)
        for attachment in parsed.attachments
    ]
    return _Read(parsed, names)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:300]
