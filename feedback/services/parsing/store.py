"""Storing one parsed mail: its identity checked, threaded (a new item, or the item it
answers, reopened when a customer writes again: ``parsing.reopen``), the message and its
attachments written and the payload marked parsed, alone or as part of a chunk."""

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from feedback.mail import LANE_CUSTOMER, ParsedMessage
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
    ThreadReason,
)
from feedback.services.conversations import is_own_address, thread_for
from feedback.services.customers import (
    ChunkSenders,
    customer_for_sender,
    customer_id_for_handle,
)
from feedback.services.parsing.common import (
    ParseOutcome,
    _Chunk,
    _clean,
    _clean_list,
    _limit,
    _outcome_of,
)
from feedback.services.parsing.reopen import _answered, _reopen, _reopen_chunk
from feedback.services.search_document import item_search_document_refresh
from feedback.services.sentiment import scored_kind, sentiment_queue
from portal import events
from portal.models import Team
from portal.services.deletion import ERASED_VALUE
from portal.validation import one_line

MARKED_FIELDS = ["status", "message", "parsed_at"]

# What a newer version of a revisable message replaces (``_revise``).
REVISED_FIELDS = ("subject", "text", "quoted_text", "signature", "html", "external_url")


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


_ITEM_SUBJECT_MAX = FeedbackItem._meta.get_field("subject").max_length


def _new_item(
    payload: RawPayload, parsed: ParsedMessage, chunk: _Chunk | None = None
) -> FeedbackItem:
    """The item a customer's mail opens: inserted now, or with the chunk's next flush."""
    senders: ChunkSenders | None = chunk.senders if chunk is not None else None
    if senders is not None:
        customer_id = senders.customer_id(
            parsed.from_address, parsed.from_name, parsed.sender_handle_kind, parsed.sender_handle
        )
    elif parsed.sender_handle:
        customer_id = customer_id_for_handle(
            kind=parsed.sender_handle_kind,
            handle=parsed.sender_handle,
            name=parsed.from_name,
            address=parsed.from_address,
        )
    else:
        customer = customer_for_sender(address=parsed.from_address, name=parsed.from_name)
        customer_id = customer.pk if customer is not None else None
    item = FeedbackItem(
        team=payload.channel.team,
        subject=_clean(one_line(parsed.subject), _ITEM_SUBJECT_MAX),
        customer_id=customer_id,
        channel=payload.channel,
        status=ItemStatus.NEW,
        first_message_at=parsed.sent_at,
        last_message_at=parsed.sent_at,
    )
    if chunk is None:
        item.save(force_insert=True)
    else:
        chunk.items.append(item)
    if senders is not None and customer_id is None:
        # A new sender: the customer is created with the chunk's others, before its commit.
        senders.wait(item, parsed.from_address, parsed.sender_handle_kind, parsed.sender_handle)
    return item


def _participant_known(parsed: ParsedMessage, chunk: _Chunk | None = None) -> None:
    """Someone known by a handle whose message joins an item (a reply on a forum topic, a
    status in a thread) is a person of the directory all the same: their customer is found
    or created as an opener's is (with the chunk's others, in a chunk), though the item stays
    its opener's. A message has no customer of its own: the handle it names
    (``sender_handle``) leads to them. Mail that joins an item is left as it was: its sender
    is the item's customer, or someone they copied in, found by address when they write."""
    if not parsed.sender_handle:
        return
    if chunk is not None:
        chunk.senders.customer_id(
            parsed.from_address, parsed.from_name, parsed.sender_handle_kind, parsed.sender_handle
        )
        return
    customer_id_for_handle(
        kind=parsed.sender_handle_kind,
        handle=parsed.sender_handle,
        name=parsed.from_name,
        address=parsed.from_address,
    )


def _external_url(url: str) -> str:
    """Where the original can be seen, when it is an http(s) URL that fits the column: it is
    shown as a link, so a ``javascript:`` URL from a remote must never be stored, and a cut
    URL would lead somewhere else."""
    url = _clean(url).strip()
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return ""
    if len(url) > _limit("external_url") or scheme not in ("http", "https"):
        return ""
    return url


def _message_fields(parsed: ParsedMessage) -> dict[str, Any]:
    return {
        "lane": parsed.lane,
        "lane_reason": _clean(parsed.lane_reason, _limit("lane_reason")),
        "external_id": _clean(parsed.message_id, _limit("external_id")),
        "identity_hash": parsed.identity_hash,
        "in_reply_to": _clean(parsed.in_reply_to, _limit("in_reply_to")),
        "references": _clean_list(parsed.references, _limit("in_reply_to")),
        "original_message_id": _clean(parsed.original_message_id, _limit("original_message_id")),
        "sender_name": _clean(one_line(parsed.from_name), _limit("sender_name")),
        "sender": _clean(parsed.from_address, MAX_ADDRESS_LENGTH),
        "sender_handle": _clean(parsed.sender_handle, _limit("sender_handle")),
        "external_url": _external_url(parsed.url),
        "reply_to": _clean(parsed.reply_to or parsed.from_address, MAX_ADDRESS_LENGTH),
        "to": _clean_list(parsed.to, MAX_ADDRESS_LENGTH),
        "cc": _clean_list(parsed.cc, MAX_ADDRESS_LENGTH),
        "subject": _clean(one_line(parsed.subject), _limit("subject")),
        "text": _clean(parsed.text),
        "quoted_text": _clean(parsed.quoted_text),
        "signature": _clean(parsed.signature),
        "html": _clean(parsed.html),
        "defects": _clean_list(parsed.defects, 500),
        "sent_at": parsed.sent_at,
    }


def _attachments(
    message: Message, parsed: ParsedMessage, names: list[str], chunk: _Chunk | None = None
) -> None:
    """The message's attachments, inserted now, or with the chunk's next flush."""
    attachments = [
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
    if chunk is None:
        Attachment.objects.bulk_create(attachments)
    else:
        chunk.attachments += attachments


def _score_later(message: Message, chunk: _Chunk | None) -> None:
    """Queue the message's sentiment after the commit (the chunk's together, after its
    flush): scoring costs too much to run inside the parse's transaction."""
    if not scored_kind(message):
        return
    if chunk is None:
        sentiment_queue([message.pk])
    else:
        chunk.to_score.append(message)


def _revise(message: Message, fields: dict[str, Any], now: datetime, chunk: _Chunk | None) -> bool:
    """A newer version of a revisable message (an edited post, a changed feed entry) replaces
    what it says; True when anything changed. Its identity, sender, times and item stay; its
    sentiment is scored again after the commit; its item's subject follows when it opened the
    item. A message erased for its customer stays erased."""
    if message.subject == ERASED_VALUE and message.text == ERASED_VALUE:
        return False
    changed = [name for name in REVISED_FIELDS if getattr(message, name) != fields[name]]
    if not changed:
        return False
    old_subject = message.subject
    for name in changed:
        setattr(message, name, fields[name])
    message.sentiment, message.sentiment_score = "", None
    if message.pk is not None:
        message.save(update_fields=[*changed, "sentiment", "sentiment_score"])
    # else: a message this chunk stores, not inserted yet (``_flush`` inserts it as it is now).
    if "subject" in changed:
        _item_subject_follows(message, old_subject, now)
    _score_later(message, chunk)
    return True


def _item_subject_follows(message: Message, old_subject: str, now: datetime) -> None:
    """The item's subject becomes the revised message's when that message is the item's first
    and the item still has the subject it got from it (staff may have renamed it, erasure
    blanked it)."""
    limit = FeedbackItem._meta.get_field("subject").max_length
    old, new = _clean(old_subject, limit), _clean(message.subject, limit)
    if message.pk is None:
        # Stored by this chunk: it is its item's first when it opened it (inserted with it).
        item = message.item
        if item is not None and message.thread_reason == ThreadReason.NEW and item.subject == old:
            item.subject = new
        return
    if message.item_id is None:
        return
    first = (
        Message.objects.filter(item_id=message.item_id)
        .order_by("sent_at", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    if first == message.pk:
        FeedbackItem.objects.filter(pk=message.item_id, subject=old).update(
            subject=new, updated_at=now
        )


def _flush(chunk: _Chunk) -> None:
    """Insert the chunk's new items, then its unsaved messages, then their attachments (one
    INSERT each), and announce them now that they have their ids, in the order they were
    stored."""
    if chunk.items:
        # Ids in the order the chunk opened them, as one INSERT each gave; each message's item
        # id is taken from its item below.
        FeedbackItem.objects.bulk_create(chunk.items)
    if chunk.unsaved:
        Message.objects.bulk_create(chunk.unsaved)
    if chunk.attachments:
        # Each attachment's message id is taken from its message, saved just above.
        Attachment.objects.bulk_create(chunk.attachments)
    _reopen_chunk(chunk, timezone.now())
    for announce in chunk.announcements:
        announce()
    chunk.items, chunk.unsaved, chunk.attachments, chunk.announcements = [], [], [], []


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
            existing = chunk.stored.get(identity)
            found = chunk.identities.get(identity)
            if existing is None and found is not None:
                existing = Message.objects.get(pk=found)
        if existing is not None:
            revised = parsed.revisable and _revise(existing, fields, now, chunk)
            if revised and chunk is None:
                # A chunk refreshes its items' search documents at once (``_parse_chunk``).
                item_search_document_refresh([existing.item_id])
            _mark_parsed(payload, existing, now, chunk)
            return ParseOutcome(payload, existing, False, revised=revised)

        machine = parsed.lane != LANE_CUSTOMER
        own = is_own_address(channel, parsed.from_address)
        thread = thread_for(
            team=team,
            channel=channel,
            parsed=parsed,
            machine=machine or own,
            index=chunk.threads if chunk is not None else None,
        )
        item, created_item, reopened = thread.item, False, False
        # Machine mail and copies of our own mail leave items as they are: they never open,
        # reopen or reorder a conversation.
        if not (machine or own):
            if item is None:
                item, created_item = _new_item(payload, parsed, chunk), True
            else:
                reopened = _reopen(item, parsed.sent_at, chunk)
                _participant_known(parsed, chunk)
        elif own and not machine and item is not None:
            _answered(item, parsed.sent_at, chunk)
        # A concurrent worker storing the same mail makes this insert fail: the whole attempt
        # (this transaction, or the chunk's) is rolled back and tried again, and then finds that
        # message. No savepoint of its own, which would cost two more round trips per message.
        message = Message(
            team=team,
            item=item,
            channel=channel,
            direction=Direction.OUT if own else Direction.IN,
            received_at=payload.received_at,
            thread_reason=thread.reason,
            **fields,
        )
        if chunk is None:
            message.save(force_insert=True)
            if item is not None and not machine:
                item_search_document_refresh([item.pk])
        else:
            # Inserted with the chunk's others (``_flush``); a second copy of this mail later in
            # the chunk is then this message.
            chunk.unsaved.append(message)
            if item is not None:
                # A later mail of the chunk answering this one threads to its item (a message
                # without an item, or without a Message-ID, is never threaded to).
                chunk.threads.add(team.pk, message.external_id, message.sent_at, item)
            chunk.stored[identity] = message
        _attachments(message, parsed, names, chunk)
        _mark_parsed(payload, message, now, chunk)
        _score_later(message, chunk)

        def announce() -> None:
            if created_item:
                events.emit("feedback.item_created", item_id=item.pk)
            if reopened:
                events.emit("feedback.item_reopened", item_id=item.pk)
            if machine:
                events.emit(
                    "feedback.machine_mail_received", message_id=message.pk, lane=message.lane
                )
            elif not own:
                events.emit("feedback.message_received", message_id=message.pk, item_id=item.pk)

        if chunk is None:
            announce()
        else:
            chunk.announcements.append(announce)
        return ParseOutcome(payload, message, True)
