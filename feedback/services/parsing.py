"""Parsing stored payloads into items and messages, from the stored bytes.

``payload_parse`` runs for a pending payload and ends with it parsed (a message, new or
already stored) or quarantined (its raw bytes kept, the error said). It may run twice, in two
workers at once, or again after a crash: the payload's status is the guard, and the message's
identity (team, Message-ID, content hash) is a unique constraint, so nothing is stored twice.

Identity: the same mail fetched twice, redelivered (other transport headers), or arriving
through two channels of one team is one message; two different mails sharing a Message-ID
are two. Machine mail (auto-replies, bounces, receipts, complaints, bulk) is stored in its
lane, joins the item it is about when there is one, and never opens or reopens an item nor
emits ``feedback.message_received``; without an item it is stored with ``item`` empty.
A customer's mail on a waiting or resolved item reopens it. Every write is the system's.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, DataError, IntegrityError, transaction
from django.db.models import Case, Exists, IntegerField, OuterRef, Value, When
from django.utils import timezone

from feedback.mail import LANE_CUSTOMER, ParsedMessage, UnparseableMessage, parse_message
from feedback.models import (
    MAX_ADDRESS_LENGTH,
    Attachment,
    Direction,
    FeedbackItem,
    ItemStatus,
    Message,
    PayloadStatus,
    Quarantine,
    QuarantineStatus,
    RawPayload,
)
from feedback.services.conversations import is_own_address, thread_for
from feedback.services.customers import ChunkSenders, customer_for_sender
from feedback.services.storage import ATTACHMENT_PREFIX, blob_read, blob_store
from portal import events
from portal.models import Team

logger = logging.getLogger(__name__)

PARSER_FAILED = "the parser failed: {error}"
STORE_FAILED = "the parsed message could not be stored: {error}"
PAYLOAD_FILE_MISSING = "the raw payload's file {name} is missing from storage"
MAX_ERROR_LENGTH = 2000

# Payloads ``payloads_parse`` stores in one transaction: a commit per mail was a good part of
# each mail's time; more would hold the items they touch locked longer.
PARSE_CHUNK = 50

MARKED_FIELDS = ["status", "message", "parsed_at"]

# A customer's new mail on an item in one of these states brings it back to the inbox.
REOPENED_FROM = (ItemStatus.WAITING, ItemStatus.RESOLVED)


@dataclass(frozen=True)
class ParseOutcome:
    payload: RawPayload
    # The message the payload is (new or stored before); None when quarantined.
    message: Message | None
    created: bool
    quarantine: Quarantine | None = None


@dataclass
class _Chunk:
    """What the payloads of one chunk (one transaction) share: their rows, locked in one
    statement; the senders, found and created as a set; and the payloads marked parsed,
    written in one UPDATE before the commit."""

    locked: dict[int, RawPayload] = field(default_factory=dict)
    # Message ids by identity (team id, Message-ID, content hash): the chunk's mails already
    # stored, read in one query, and the messages the chunk stores, as it stores them.
    identities: dict[tuple[int, str, str], int] = field(default_factory=dict)
    senders: ChunkSenders = field(default_factory=ChunkSenders)
    marked: list[RawPayload] = field(default_factory=list)


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


def _mark_parsed(
    payload: RawPayload, message: Message, now: datetime, chunk: _Chunk | None = None
) -> None:
    payload.status = PayloadStatus.PARSED
    payload.message = message
    payload.parsed_at = now
    if chunk is not None:
        # Written (and any quarantine closed) by ``_parse_chunk`` before its commit; nothing
        # reads them back before then.
        chunk.marked.append(payload)
        return
    payload.save(update_fields=MARKED_FIELDS)
    # A payload parsed on a retry (or by the sweeper after one) leaves quarantine. Whether it
    # was quarantined came with the locked payload (``_locked_payload``): most never were, and
    # an UPDATE that finds nothing is still a round trip per message.
    if getattr(payload, "in_quarantine", True):
        Quarantine.objects.filter(payload=payload, status=QuarantineStatus.OPEN).update(
            status=QuarantineStatus.RESOLVED, closed_at=now, updated_at=now
        )


def _reopen(item: FeedbackItem, sent_at: datetime) -> bool:
    """A customer's mail moves the item's message times and reopens a waiting or resolved
    item; True when it reopened it."""
    item = FeedbackItem.objects.select_for_update().get(pk=item.pk)
    changed = []
    if sent_at < item.first_message_at:
        item.first_message_at = sent_at
        changed.append("first_message_at")
    if sent_at > item.last_message_at:
        item.last_message_at = sent_at
        changed.append("last_message_at")
    reopened = item.status in REOPENED_FROM
    if reopened:
        item.status = ItemStatus.OPEN
        changed.append("status")
    if changed:
        item.save(update_fields=[*changed, "updated_at"])
    return reopened


def _new_item(
    payload: RawPayload, parsed: ParsedMessage, senders: ChunkSenders | None
) -> FeedbackItem:
    if senders is None:
        customer = customer_for_sender(address=parsed.from_address, name=parsed.from_name)
        customer_id = customer.pk if customer is not None else None
    else:
        customer_id = senders.customer_id(parsed.from_address, parsed.from_name)
    item = FeedbackItem.objects.create(
        team=payload.channel.team,
        subject=_clean(parsed.subject, FeedbackItem._meta.get_field("subject").max_length),
        customer_id=customer_id,
        channel=payload.channel,
        status=ItemStatus.NEW,
        first_message_at=parsed.sent_at,
        last_message_at=parsed.sent_at,
    )
    if senders is not None and customer_id is None:
        # A new sender: the customer is created with the chunk's others, before its commit.
        senders.wait(item, parsed.from_address)
    return item


def _message_fields(parsed: ParsedMessage) -> dict[str, Any]:
    return {
        "lane": parsed.lane,
        "lane_reason": _clean(parsed.lane_reason, _limit("lane_reason")),
        "external_id": _clean(parsed.message_id, _limit("external_id")),
        "identity_hash": parsed.identity_hash,
        "in_reply_to": _clean(parsed.in_reply_to, _limit("in_reply_to")),
        "references": _clean_list(parsed.references, _limit("in_reply_to")),
        "original_message_id": _clean(parsed.original_message_id, _limit("original_message_id")),
        "sender_name": _clean(parsed.from_name, _limit("sender_name")),
        "sender": _clean(parsed.from_address, MAX_ADDRESS_LENGTH),
        "reply_to": _clean(parsed.reply_to or parsed.from_address, MAX_ADDRESS_LENGTH),
        "to": _clean_list(parsed.to, MAX_ADDRESS_LENGTH),
        "cc": _clean_list(parsed.cc, MAX_ADDRESS_LENGTH),
        "subject": _clean(parsed.subject, _limit("subject")),
        "text": _clean(parsed.text),
        "quoted_text": _clean(parsed.quoted_text),
        "signature": _clean(parsed.signature),
        "html": _clean(parsed.html),
        "defects": _clean_list(parsed.defects, 500),
        "sent_at": parsed.sent_at,
    }


def _attachments(message: Message, parsed: ParsedMessage, names: list[str]) -> None:
    Attachment.objects.bulk_create(
        [
            Attachment(
                message=message,
                filename=_clean(attachment.filename, 255),
                content_type=_clean(attachment.content_type, 255),
                size=attachment.size,
                sha256=attachment.sha256,
                file=name,
                content_id=_clean(attachment.content_id, 255),
                inline=attachment.inline,
            )
            for attachment, name in zip(parsed.attachments, names, strict=True)
        ]
    )


def _locked_payload(payload_id: int, *, in_quarantine: bool = True) -> RawPayload:
    """The payload, locked (with its channel and team rows), and with ``in_quarantine``
    (whether an open quarantine row names it) unless a chunk closes them all at once."""
    payloads = RawPayload.objects.select_for_update().select_related("channel__team")
    if in_quarantine:
        open_quarantine = Quarantine.objects.filter(
            payload=OuterRef("pk"), status=QuarantineStatus.OPEN
        )
        payloads = payloads.annotate(in_quarantine=Exists(open_quarantine))
    return payloads.get(pk=payload_id)


def _stored_identity(team: Team, external_id: str, identity_hash: str) -> Message | None:
    # The key alone first (most mail is new): building and loading a whole Message costs
    # more Python than the round trip does.
    found = (
        Message.objects.filter(team=team, external_id=external_id, identity_hash=identity_hash)
        .values_list("pk", flat=True)
        .first()
    )
    return None if found is None else Message.objects.get(pk=found)


def _store(
    payload_id: int,
    parsed: ParsedMessage,
    names: list[str],
    now: datetime,
    chunk: _Chunk | None = None,
) -> ParseOutcome:
    # Inside a chunk no savepoint: any error rolls the whole chunk back, and ``_parse_chunk``
    # parses it again one payload at a time.
    with transaction.atomic(savepoint=chunk is None):
        payload = chunk.locked.get(payload_id) if chunk is not None else None
        if payload is None:
            payload = _locked_payload(payload_id, in_quarantine=chunk is None)
        if payload.status != PayloadStatus.PENDING:
            return _outcome_of(payload)
        channel, team = payload.channel, payload.channel.team
        fields = _message_fields(parsed)
        identity = (team.pk, fields["external_id"], parsed.identity_hash)
        if chunk is None:
            existing = _stored_identity(team, fields["external_id"], parsed.identity_hash)
        else:
            found = chunk.identities.get(identity)
            existing = None if found is None else Message.objects.get(pk=found)
        if existing is not None:
            _mark_parsed(payload, existing, now, chunk)
            return ParseOutcome(payload, existing, False)

        machine = parsed.lane != LANE_CUSTOMER
        own = is_own_address(channel, parsed.from_address)
        thread = thread_for(team=team, channel=channel, parsed=parsed, machine=machine or own)
        item, created_item, reopened = thread.item, False, False
        # Machine mail and copies of our own mail leave items as they are: they never open,
        # reopen or reorder a conversation.
        if not (machine or own):
            if item is None:
                senders = chunk.senders if chunk is not None else None
                item, created_item = _new_item(payload, parsed, senders), True
            else:
                reopened = _reopen(item, parsed.sent_at)
        # A concurrent worker storing the same mail makes this insert fail: the whole attempt
        # (this transaction) is rolled back and tried again, and then finds that message. No
        # savepoint of its own, which would cost two more round trips per message.
        message = Message.objects.create(
            team=team,
            item=item,
            channel=channel,
            direction=Direction.OUT if own else Direction.IN,
            received_at=payload.received_at,
            thread_reason=thread.reason,
            **fields,
        )
        _attachments(message, parsed, names)
        if chunk is not None:
            # A second copy of this mail later in the chunk is then this message.
            chunk.identities[identity] = message.pk
        _mark_parsed(payload, message, now, chunk)
        if created_item:
            events.emit("feedback.item_created", item_id=item.pk)
        if reopened:
            events.emit("feedback.item_reopened", item_id=item.pk)
        if machine:
            events.emit("feedback.machine_mail_received", message_id=message.pk, lane=message.lane)
        elif not own:
            events.emit("feedback.message_received", message_id=message.pk, item_id=item.pk)
        return ParseOutcome(payload, message, True)


def payload_parse(*, payload: RawPayload, now: datetime | None = None) -> ParseOutcome:
    """Parse a pending payload from its stored bytes (a parsed or quarantined one is left as
    it is). Bad input ends in quarantine, never in an exception; a database or storage that
    cannot be reached raises, and the payload stays pending for the next attempt."""
    now = now or timezone.now()
    payload = RawPayload.objects.select_related("channel__team", "message").get(pk=payload.pk)
    return _parse_loaded(payload, now)


@dataclass(frozen=True)
class _Read:
    parsed: ParsedMessage
    # The stored attachments' file names, in the order of ``parsed.attachments``.
    names: list[str]


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


def _read(payload: RawPayload, now: datetime) -> _Read | ParseOutcome:
    """The payload's mail parsed and its attachments stored; its outcome instead when it is
    not pending or ends in quarantine."""
    if payload.status != PayloadStatus.PENDING:
        return _outcome_of(payload)
    try:
        raw = blob_read(payload.file.name)
    except FileNotFoundError:
        return _quarantine(payload.pk, PAYLOAD_FILE_MISSING.format(name=payload.file.name), now)
    try:
        parsed = parse_message(raw, received_at=payload.received_at)
    except UnparseableMessage as refused:
        return _quarantine(payload.pk, refused.reason, now)
    except Exception as error:  # noqa: BLE001
        # The parser promises UnparseableMessage for bad input; anything else is a parser bug
        # meeting a mail nobody tested, and one mail must not stop the batch.
        return _quarantine(payload.pk, PARSER_FAILED.format(error=_describe(error)), now)
    del raw
    names = [
        blob_store(ATTACHMENT_PREFIX, attachment.content, sha256=attachment.sha256)
        for attachment in parsed.attachments
    ]
    return _Read(parsed, names)


def _attempt(
    payload_id: int, parsed: ParsedMessage, names: list[str], now: datetime
) -> ParseOutcome:
    try:
        return _store(payload_id, parsed, names, now)
    except (DataError, ValidationError, ValueError, TypeError) as error:
        # Parsed, but not storable as it is (a value the database refuses): kept for a person.
        return _quarantine(payload_id, STORE_FAILED.format(error=_describe(error)), now)


def payloads_parse(*, payload_ids: list[int], now: datetime | None = None) -> list[ParseOutcome]:
    """Parse each pending payload of ``payload_ids``; one bad payload never stops the rest.

    ``PARSE_CHUNK`` payloads at a time are stored in one transaction. When anything in it
    fails (a value the database refuses, a concurrent worker's insert, a deadlock), the chunk
    is rolled back whole and parsed again one payload per transaction, where the bad one is
    quarantined and the others are stored: the same outcome, paid for only by bad chunks."""
    now = now or timezone.now()
    wanted = sorted(set(payload_ids))
    outcomes: list[ParseOutcome] = []
    for start in range(0, len(wanted), PARSE_CHUNK):
        # Read a chunk just before parsing it: a payload another worker parsed meanwhile is
        # then seen as parsed.
        payloads = list(
            RawPayload.objects.filter(pk__in=wanted[start : start + PARSE_CHUNK])
            .select_related("channel__team", "message")
            .order_by("pk")
        )
        if payloads:
            outcomes += _parse_chunk(payloads, now)
    return outcomes


def _parse_chunk(payloads: list[RawPayload], now: datetime) -> list[ParseOutcome]:
    try:
        with transaction.atomic():
            chunk = _Chunk(locked=_locked_chunk(payloads))
            reads = [_read(payload, now) for payload in payloads]
            chunk.identities = _stored_identities(payloads, reads)
            # Every sender who may need a customer, looked up in one query.
            chunk.senders.look_up(
                read.parsed.from_address
                for payload, read in zip(payloads, reads, strict=True)
                if isinstance(read, _Read)
                and read.parsed.lane == LANE_CUSTOMER
                and not is_own_address(payload.channel, read.parsed.from_address)
            )
            outcomes = [
                _store(payload.pk, read.parsed, read.names, now, chunk)
                if isinstance(read, _Read)
                else read
                for payload, read in zip(payloads, reads, strict=True)
            ]
            chunk.senders.create()
            if chunk.marked:
                # One UPDATE; only the message differs between the rows (bulk_update would
                # build a CASE for each field, which costs more Python than the round trip).
                message_of = Case(
                    *(
                        When(pk=payload.pk, then=Value(payload.message_id))
                        for payload in chunk.marked
                    ),
                    output_field=IntegerField(),
                )
                RawPayload.objects.filter(pk__in=[payload.pk for payload in chunk.marked]).update(
                    status=PayloadStatus.PARSED, parsed_at=now, message_id=message_of
                )
                # Payloads parsed on a retry (or by the sweeper after one) leave quarantine.
                Quarantine.objects.filter(
                    payload__in=chunk.marked, status=QuarantineStatus.OPEN
                ).update(status=QuarantineStatus.RESOLVED, closed_at=now, updated_at=now)
            return outcomes
    except (DatabaseError, ValidationError, ValueError, TypeError) as error:
        logger.info(
            "payloads %s-%s: parsed one by one after %s",
            payloads[0].pk,
            payloads[-1].pk,
            _describe(error),
        )
    return [payload_parse(payload=payload, now=now) for payload in payloads]


def _stored_identities(
    payloads: list[RawPayload], reads: list["_Read | ParseOutcome"]
) -> dict[tuple[int, str, str], int]:
    """The ids of the messages already stored with the identity of one of the chunk's mails,
    in one query (a superset is read: each column's values matched on their own)."""
    wanted = {
        (
            payload.channel.team_id,
            _clean(read.parsed.message_id, _limit("external_id")),
            read.parsed.identity_hash,
        )
        for payload, read in zip(payloads, reads, strict=True)
        if isinstance(read, _Read)
    }
    if not wanted:
        return {}
    stored = Message.objects.filter(
        team_id__in={team for team, _, _ in wanted},
        external_id__in={external_id for _, external_id, _ in wanted},
        identity_hash__in={identity_hash for _, _, identity_hash in wanted},
    ).values_list("team_id", "external_id", "identity_hash", "pk")
    return {
        (team, ext, digest): pk for team, ext, digest, pk in stored if (team, ext, digest) in wanted
    }


def _locked_chunk(payloads: list[RawPayload]) -> dict[int, RawPayload]:
    """The chunk's pending payloads locked in one statement (with their channel and team rows,
    as ``_locked_payload`` locks one), in id order, as every worker locks them: a second
    worker on the same payloads waits here for the first one's commit, then finds them
    parsed."""
    pending = [payload.pk for payload in payloads if payload.status == PayloadStatus.PENDING]
    if not pending:
        return {}
    locked = (
        RawPayload.objects.select_for_update()
        .select_related("channel__team")
        .filter(pk__in=pending)
        .order_by("pk")
    )
    return {payload.pk: payload for payload in locked}


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:300]
