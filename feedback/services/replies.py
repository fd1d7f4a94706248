"""Replies to customers and internal notes.

``reply_send`` stores the agent's answer as an outbound message of the item, ``queued``, and
after the commit queues ``feedback.tasks.send_reply``, which sends it through Django's e-mail
backend (SMTP in production) with ``reply_deliver``. The mail is threaded as the customer's
client expects: a Message-ID of our own (``<uuid@portal host>``), In-Reply-To naming the
customer's latest mail and References its chain; its Reply-To is the item's signed reply
address (``feedback.tokens.reply_address`` on the channel's public address), so the answer
threads back even from a client that drops those headers. It goes to the Reply-To of the
customer's latest mail, else its sender.

Delivery is **at most once**. ``reply_deliver`` moves the message ``queued -> sending`` under a
row lock and commits before it talks to the mail server, then records ``sent`` or ``failed``
(with the error and the attempt count). A task delivered twice, or run again after ``sent``,
finds the message no longer ``queued`` and does nothing. A worker that dies between handing
the mail over and recording it leaves the message ``sending``: it is not sent again by itself,
because sending twice is worse for a customer than an agent seeing a reply that did not go
out. After ``SENDING_STALLED`` (far longer than the send task's time limit) such a reply counts
as stalled: the item says that the customer may or may not have it, and an agent may retry it.
A failed send is shown on the item and sent again only by ``reply_retry``, with the same
Message-ID, so that a mail that did go out after all is recognisable as the same one (the
customer's client and our own ingest, which stores a copy of the mail once by its identity).

Channels whose connector has ``reply_by == ""`` (feeds of reviews, forums, Mastodon) take no
replies; a widget item is answered by e-mail to the address its sender gave.
"""

import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, formataddr
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from feedback.channels import ConfigError, get_connector, kind_label
from feedback.inbox.counts import inbox_counts_changed
from feedback.mail import parse_message
from feedback.models import (
    CLOSED_STATUSES,
    MAX_ADDRESS_LENGTH,
    MAX_MESSAGE_ID_LENGTH,
    Channel,
    DeliveryStatus,
    Direction,
    FeedbackItem,
    ItemStatus,
    Lane,
    Message,
    ThreadReason,
)
from feedback.services import item_search_document_refresh
from feedback.services.items import MAX_TEXT_LENGTH
from feedback.templating import template_context, template_render
from feedback.tokens import reply_address
from portal import access, events
from portal.actors import is_system, person_name, person_or_none
from portal.fields import normalised_key
from portal.models import Customer, Role
from portal.services import audit
from portal.validation import one_line

REPLY_TEXT_REQUIRED = "Write the reply before sending it."
NOTE_TEXT_REQUIRED = "Write the note before adding it."
TEXT_TOO_LONG = f"Keep the text within {MAX_TEXT_LENGTH} characters."
CHANNEL_TAKES_NO_REPLIES = (
    "This channel takes no replies: the customer wrote through {channel} ({kind}), which the "
    "portal cannot answer. Answer them where they wrote (the message links to it)."
)
NO_ADDRESS = (
    "There is no e-mail address to reply to: the customer's messages name none and their "
    "record has none. Add their address to the customer's record and reply again."
)
ADDRESS_INVALID = "{address!r} is not an e-mail address a reply can go to: correct it."
ADDRESS_NOT_ASCII = (
    "{address!r} has letters beyond ASCII before the @, which the portal's mail server cannot "
    "send to: answer this customer from a mail program that can, or at another address of theirs."
)
RETRY_NOT_FAILED = (
    "Only a reply whose sending failed or stalled can be sent again; this one is {status}."
)
NOT_A_REPLY = "This message is not a reply the portal sends."
SEND_FAILED = "Sending failed: {error}. Retry once the mail server is reachable again."
MAX_REFERENCES = 20
MAX_ERROR_LENGTH = 1000
# A reply ``sending`` for longer than this was left by a worker that stopped mid-send (the send
# task's hard time limit is 90 seconds).
SENDING_STALLED = timedelta(minutes=15)
RE_PREFIX = "Re: "

ACTION_REPLIED = "feedback_item.replied"
ACTION_NOTE = "feedback_item.note_added"
ACTION_RETRIED = "feedback_item.reply_retried"


# The placeholders -------------------------------------------------------------------------------


def _first_word(name: str) -> str:
    words = (name or "").split()
    return words[0] if words else ""


def _agent_name(agent: Any) -> str:
    if agent is None or is_system(agent):
        return ""
    return person_name(agent).strip()


def _addressee(item: FeedbackItem) -> Customer | None:
    """The customer a reply to ``item`` is written to: whoever wrote last, when the directory
    knows their address as another customer's (after a merge of two customers' items, or a
    colleague who answered); else the item's customer."""
    latest = _latest_inbound(item)
    customer = item.customer
    sender = normalised_key(latest.sender) if latest is not None and latest.sender else ""
    if not sender or (customer is not None and customer.email_key == sender):
        return customer
    other = Customer.objects.select_related("account").filter(email_key=sender).first()
    return other or customer


def reply_context(item: FeedbackItem, agent: Any) -> dict[str, str]:
    """The value of every placeholder (``feedback.templating``) for a reply to ``item`` written
    by ``agent``: the built-in names, then those later capabilities registered. The customer's
    placeholders are the addressee's (``_addressee``), so that a greeting names who reads it."""
    customer = _addressee(item)
    account = customer.account if customer is not None else None
    name = customer.name if customer is not None else ""
    agent_name = _agent_name(agent)
    first_name = getattr(agent, "first_name", "") if agent is not None else ""
    context = {
        "customer.first_name": _first_word(name),
        "customer.name": name,
        "customer.email": customer.email if customer is not None else "",
        "account.name": account.name if account is not None else "",
        "account.plan": account.plan if account is not None else "",
        "item.subject": item.subject,
        "item.id": str(item.pk),
        "agent.name": agent_name,
        "agent.first_name": first_name or _first_word(agent_name),
        "team.name": item.team.name,
    }
    return {**context, **template_context(item, agent)}


def reply_render(*, item: FeedbackItem, agent: Any, body: str) -> str:
    """A template's text personalised for ``item``, for the agent to edit before sending."""
    return template_render(body, reply_context(item, agent))


# Where a reply goes -----------------------------------------------------------------------------


def _latest_inbound(item: FeedbackItem) -> Message | None:
    return (
        Message.objects.filter(item=item, direction=Direction.IN, lane=Lane.CUSTOMER, is_note=False)
        .select_related("channel")
        .order_by("-sent_at", "-pk")
        .first()
    )


def _reply_by(channel: Channel | None) -> str:
    if channel is None:
        # Pushed through the API or imported: the customer is answered by e-mail.
        return "email"
    try:
        return get_connector(channel.kind).reply_by
    except ConfigError:
        return ""


def _is_mail_channel(channel: Channel | None) -> bool:
    if channel is None or not channel.address:
        return False
    try:
        return get_connector(channel.kind).mail
    except ConfigError:
        return False


def _mail_channel(item: FeedbackItem, latest: Message | None) -> Channel | None:
    """The mailbox the reply is sent from and answered to: the one the customer wrote to, else
    the item's, else the team's first mailbox with an address (a widget item's answer comes
    back by mail); None when the team has none."""
    for channel in (latest.channel if latest else None, item.channel):
        if _is_mail_channel(channel):
            return channel
    for channel in Channel.objects.filter(team_id=item.team_id).exclude(address="").order_by("pk"):
        if _is_mail_channel(channel):
            return channel
    return None


def _recipient(item: FeedbackItem, latest: Message | None, to: str | None) -> str:
    address = (to or "").strip()
    if not address and latest is not None:
        address = latest.reply_to or latest.sender
    if not address and item.customer is not None:
        address = item.customer.email
    if not address:
        raise ValidationError({"to": NO_ADDRESS})
    try:
        validate_email(address)
    except ValidationError:
        local = address.rpartition("@")[0]
        refused = ADDRESS_NOT_ASCII if local and not local.isascii() else ADDRESS_INVALID
        raise ValidationError({"to": refused.format(address=address)}) from None
    if len(address) > MAX_ADDRESS_LENGTH:
        raise ValidationError({"to": ADDRESS_INVALID.format(address=address)})
    return address.lower()


def new_message_id() -> str:
    """A Message-ID of our own, without angle brackets: unique, and naming the portal's host."""
    host = urlsplit(settings.PORTAL_BASE_URL).hostname or "localhost"
    return f"{uuid.uuid4().hex}@{host}"


def _references(latest: Message | None) -> list[str]:
    if latest is None or not latest.external_id:
        return []
    chain = [ref for ref in latest.references if ref and ref != latest.external_id]
    return [*chain, latest.external_id][-MAX_REFERENCES:]


def _subject(item: FeedbackItem, latest: Message | None) -> str:
    # One line even for what was stored before subjects were (a header cannot hold a break).
    subject = one_line((latest.subject if latest is not None else "") or item.subject)
    limit = Message._meta.get_field("subject").max_length
    if subject[:3].lower() == "re:":
        return subject[:limit]
    return f"{RE_PREFIX}{subject}"[:limit]


def _text(text: str, required: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": required})
    if len(text) > MAX_TEXT_LENGTH:
        raise ValidationError({"text": TEXT_TOO_LONG})
    return text


def reply_mail(message: Message) -> EmailMessage:
    """The mail of a stored reply, built from the message alone: the same bytes each time
    (the Date is the time it was written), so a retry sends the same mail."""
    headers = {
        "Message-ID": f"<{message.external_id}>",
        "Date": format_datetime(message.sent_at.astimezone(UTC)),
    }
    if message.in_reply_to:
        headers["In-Reply-To"] = f"<{message.in_reply_to}>"
    if message.references:
        headers["References"] = " ".join(f"<{ref}>" for ref in message.references)
    reply_to = [message.reply_to] if message.reply_to and message.reply_to != message.sender else []
    return EmailMessage(
        subject=message.subject,
        body=message.text,
        from_email=formataddr((message.sender_name, message.sender)),
        to=message.to,
        reply_to=reply_to,
        headers=headers,
    )


def _identity_hash(message: Message) -> str:
    """The identity the parser gives the mail we send, so that a copy of it read back from a
    mailbox (a Bcc, a Sent folder) is this message, not a second one."""
    raw = reply_mail(message).message().as_bytes()
    return parse_message(raw, received_at=message.sent_at).identity_hash


def _check_channel(item: FeedbackItem, latest: Message | None) -> None:
    answered = latest.channel if latest is not None and latest.channel else item.channel
    if _reply_by(answered) != "email":
        raise ValidationError(
            {
                "item": CHANNEL_TAKES_NO_REPLIES.format(
                    channel=answered, kind=kind_label(answered.kind)
                )
            }
        )


def reply_recipient(item: FeedbackItem) -> tuple[str, str]:
    """Where a reply to ``item`` would go, for the composer to say before the agent writes:
    ``(address, "")``, or ``("", why not)`` when the item cannot be answered."""
    latest = _latest_inbound(item)
    try:
        _check_channel(item, latest)
        return _recipient(item, latest, None), ""
    except ValidationError as error:
        return "", " ".join(error.messages)


# Writes -----------------------------------------------------------------------------------------


@transaction.atomic
def reply_send(
    *,
    actor: Any,
    item: FeedbackItem,
    text: str,
    to: str | None = None,
    now: datetime | None = None,
) -> Message:
    """Store the reply as a queued outbound message and send it after the commit. Agents of the
    item's team. The item waits for the customer (``waiting``) and has its first response."""
    access.require_team_role(actor, item.team, Role.AGENT)
    text = _text(text, REPLY_TEXT_REQUIRED)
    now = now or timezone.now()
    item = (
        FeedbackItem.objects.select_for_update(of=("self",))
        .select_related("team", "channel")
        .get(pk=item.pk)
    )
    latest = _latest_inbound(item)
    _check_channel(item, latest)
    recipient = _recipient(item, latest, to)
    mailbox = _mail_channel(item, latest)
    sender = mailbox.address if mailbox is not None else settings.DEFAULT_FROM_EMAIL
    message = Message(
        team=item.team,
        item=item,
        channel=mailbox,
        direction=Direction.OUT,
        lane=Lane.CUSTOMER,
        external_id=new_message_id()[:MAX_MESSAGE_ID_LENGTH],
        in_reply_to=latest.external_id if latest is not None else "",
        references=_references(latest),
        sender_name=f"{_agent_name(actor) or item.team.name} ({item.team.name})"[:200],
        sender=sender,
        # Where the customer's answer goes: the item's signed address (``reply_mail``).
        reply_to=reply_address(mailbox.address, item.pk) if mailbox is not None else sender,
        to=[recipient],
        subject=_subject(item, latest),
        text=text,
        author=person_or_none(actor),
        delivery=DeliveryStatus.QUEUED,
        sent_at=now,
        received_at=now,
        thread_reason=ThreadReason.IN_REPLY_TO if latest is not None else ThreadReason.NEW,
    )
    message.identity_hash = _identity_hash(message)
    message.save(force_insert=True)

    before = {"status": item.status, "first_responded_at": item.first_responded_at}
    # A reply to a resolved (or spam) item reopens it: its resolution is due again from now.
    reopened = item.status in CLOSED_STATUSES
    item.status = ItemStatus.WAITING
    item.resolved_at = None
    item.first_responded_at = item.first_responded_at or now
    item.last_message_at = max(item.last_message_at, now)
    item.save(
        update_fields=[
            "status",
            "resolved_at",
            "first_responded_at",
            "last_message_at",
            "updated_at",
        ]
    )
    if reopened:
        events.emit("feedback.item_reopened", item_id=item.pk)
    inbox_counts_changed(item.team_id)
    item_search_document_refresh([item.pk])
    audit(
        actor=actor,
        action=ACTION_REPLIED,
        target=item,
        team=item.team,
        changes={
            "reply": {"before": None, "after": message.pk},
            **{
                field: {"before": _plain(value), "after": _plain(getattr(item, field))}
                for field, value in before.items()
                if value != getattr(item, field)
            },
        },
    )
    _queue_send(message.pk)
    return message


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _queue_send(message_id: int) -> None:
    def queue() -> None:
        from feedback.tasks import send_reply

        send_reply.delay(message_id)

    transaction.on_commit(queue)


def reply_deliver(*, message_id: int, now: datetime | None = None) -> str:
    """Send a queued reply (the task's work); the delivery state it leaves. Anything but a
    ``queued`` reply is left alone, so running this twice sends one mail."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(pk=message_id, direction=Direction.OUT, is_note=False)
            .first()
        )
        if message is None:
            return ""
        if message.delivery != DeliveryStatus.QUEUED:
            return message.delivery
        message.delivery = DeliveryStatus.SENDING
        message.delivery_attempts += 1
        message.delivery_error = ""
        message.delivery_started_at = now or timezone.now()
        message.save(
            update_fields=["delivery", "delivery_attempts", "delivery_error", "delivery_started_at"]
        )
    # Committed as ``sending`` before the mail server is asked: see the module's docstring.
    try:
        reply_mail(message).send(fail_silently=False)
    except Exception as error:  # noqa: BLE001 - any backend's failure is recorded, not raised.
        reason = f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH]
        _finish(message_id, DeliveryStatus.FAILED, error=SEND_FAILED.format(error=reason))
        return DeliveryStatus.FAILED
    _finish(message_id, DeliveryStatus.SENT, delivered_at=now or timezone.now())
    return DeliveryStatus.SENT


def _finish(message_id: int, status: str, *, error: str = "", delivered_at=None) -> None:
    Message.objects.filter(pk=message_id, delivery=DeliveryStatus.SENDING).update(
        delivery=status, delivery_error=error, delivered_at=delivered_at
    )


def delivery_stalled(message: Message, now: datetime | None = None) -> bool:
    """True for a reply left ``sending`` for longer than ``SENDING_STALLED``."""
    started = message.delivery_started_at
    return (
        message.delivery == DeliveryStatus.SENDING
        and started is not None
        and started < (now or timezone.now()) - SENDING_STALLED
    )


@transaction.atomic
def reply_retry(*, actor: Any, message: Message, now: datetime | None = None) -> Message:
    """Queue a failed or stalled reply again (the same mail, the same Message-ID). Agents of
    its team."""
    access.require_team_role(actor, message.team, Role.AGENT)
    message = (
        Message.objects.select_for_update(of=("self",))
        .select_related("item", "team")
        .get(pk=message.pk)
    )
    if message.direction != Direction.OUT or message.is_note or not message.delivery:
        raise ValidationError(NOT_A_REPLY)
    if message.delivery != DeliveryStatus.FAILED and not delivery_stalled(message, now):
        status = DeliveryStatus(message.delivery).label.lower()
        raise ValidationError(RETRY_NOT_FAILED.format(status=status))
    before = message.delivery
    message.delivery = DeliveryStatus.QUEUED
    message.delivery_error = ""
    message.save(update_fields=["delivery", "delivery_error"])
    if message.item is not None:
        audit(
            actor=actor,
            action=ACTION_RETRIED,
            target=message.item,
            team=message.team,
            changes={"reply": {"before": before, "after": message.pk}},
        )
    _queue_send(message.pk)
    return message


@transaction.atomic
def note_add(*, actor: Any, item: FeedbackItem, text: str, now: datetime | None = None) -> Message:
    """An internal note on the item: shown to the team, never sent, not searched by customers'
    words (the search document leaves notes out, so it needs no refresh). Agents."""
    access.require_team_role(actor, item.team, Role.AGENT)
    text = _text(text, NOTE_TEXT_REQUIRED)
    now = now or timezone.now()
    note = Message.objects.create(
        team=item.team,
        item=item,
        direction=Direction.OUT,
        lane=Lane.CUSTOMER,
        # Notes have no Message-ID; a random identity keeps each one its own row.
        identity_hash=uuid.uuid4().hex,
        is_note=True,
        author=person_or_none(actor),
        sender_name=_agent_name(actor)[:200],
        text=text,
        sent_at=now,
        received_at=now,
        thread_reason=ThreadReason.NEW,
    )
    audit(
        actor=actor,
        action=ACTION_NOTE,
        target=item,
        team=item.team,
        changes={"note": {"before": None, "after": note.pk}},
    )
    return note
