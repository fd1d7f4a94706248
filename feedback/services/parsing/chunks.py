"""Parsing payloads a chunk per transaction (``payloads_parse``): locks, identities and
senders read once per chunk, the payloads marked parsed in one UPDATE, and the chunk parsed
again one payload at a time when anything in it fails."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone

from feedback.mail import LANE_CUSTOMER
from feedback.models import Message, PayloadStatus, Quarantine, QuarantineStatus, RawPayload
from feedback.services.conversations import is_own_address
from feedback.services.parsing.common import (
    ParseOutcome,
    _Chunk,
    _clean,
    _describe,
    _limit,
    _Read,
    _read,
    logger,
)
from feedback.services.parsing.single import payload_parse
from feedback.services.parsing.store import _flush, _store
from feedback.services.search_document import item_search_document_refresh
from feedback.services.sentiment import sentiment_queue

# Payloads ``payloads_parse`` stores in one transaction: a commit per mail was a good part of
# each mail's time; more would hold the items they touch locked longer.
PARSE_CHUNK = 50


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
            # Every Message-ID the chunk's mails thread by, looked up in one query.
            chunk.threads.load(
                (payload.channel.team_id, message_id)
                for payload, read in zip(payloads, reads, strict=True)
                if isinstance(read, _Read)
                for message_id in (
                    read.parsed.original_message_id,
                    read.parsed.in_reply_to,
                    *read.parsed.references,
                )
            )
            # Every sender who may need a customer, looked up in one query for the addresses
            # and one for the handles (channels without e-mail).
            senders = [
                read.parsed
                for payload, read in zip(payloads, reads, strict=True)
                if isinstance(read, _Read)
                and read.parsed.lane == LANE_CUSTOMER
                and not is_own_address(payload.channel, read.parsed.from_address)
            ]
            chunk.senders.look_up(parsed.from_address for parsed in senders)
            chunk.senders.look_up_handles(
                (parsed.sender_handle_kind, parsed.sender_handle)
                for parsed in senders
                if parsed.sender_handle
            )
            outcomes = [
                _store(payload.pk, read.parsed, read.names, now, chunk)
                if isinstance(read, _Read)
                else read
                for payload, read in zip(payloads, reads, strict=True)
            ]
            # The messages first: the marks name them, and their events come before the new
            # customers' ones, as when each mail was inserted as it was stored.
            _flush(chunk)
            for payload in chunk.marked:
                # Given again: a message's id came with the flush, after its payload got it.
                payload.message = payload.message
            chunk.senders.create()
            # The search documents of the items the chunk wrote to, in one UPDATE.
            item_search_document_refresh(
                outcome.message.item_id
                for outcome in outcomes
                if outcome.message is not None and (outcome.created or outcome.revised)
            )
            # One scoring task for the chunk, after its commit (the messages have ids now).
            sentiment_queue(message.pk for message in chunk.to_score)
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
