"""Feedback pushed rather than fetched: one item with its first message (the API, the widget,
a CSV row), and the team's tags, created on first use.

A push names its item by ``external_id``: the same external id again is the item already
stored (``(item, False)``), or the item it was merged into since, so a client that retries
stores nothing twice.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from feedback.inbox.choices import team_choices_changed
from feedback.mail.results import EARLIEST_SENT_AT
from feedback.models import (
    MAX_ADDRESS_LENGTH,
    Channel,
    Direction,
    FeedbackItem,
    ItemStatus,
    Lane,
    MergedItem,
    Message,
    Tag,
    ThreadReason,
)
from feedback.services.customers import customer_for_sender
from feedback.services.search_document import search_document_of
from feedback.services.sentiment import sentiment_queue
from portal import access, events
from portal.actors import SystemActor
from portal.fields import normalised_key
from portal.models import Role, Team
from portal.services import normalize_email
from portal.validation import one_line, reject_nul

Actor = AbstractBaseUser | SystemActor

MAX_TEXT_LENGTH = 100_000
MAX_TAGS = 20

TEXT_REQUIRED = "Feedback needs a subject or a text."
TEXT_TOO_LONG = f"The text may have at most {MAX_TEXT_LENGTH} characters."
SUBJECT_TOO_LONG = "The subject may have at most {limit} characters."
EXTERNAL_ID_TOO_LONG = "The external id may have at most {limit} characters."
TAG_EMPTY = "A tag needs a name."
TAG_TOO_LONG = "A tag's name may have at most {limit} characters."
TOO_MANY_TAGS = f"An item may have at most {MAX_TAGS} tags."
RECEIVED_IN_FUTURE = "received_at may not be in the future."
RECEIVED_TOO_EARLY = f"received_at may not be before {EARLIEST_SENT_AT:%Y-%m-%d}."
CHANNEL_OF_OTHER_TEAM = "The channel belongs to another team."
ADDRESS_TOO_LONG = "An e-mail address may have at most {limit} characters."

_SUBJECT_MAX = FeedbackItem._meta.get_field("subject").max_length
_EXTERNAL_ID_MAX = FeedbackItem._meta.get_field("external_id").max_length
_TAG_MAX = Tag._meta.get_field("name").max_length
_SENDER_NAME_MAX = Message._meta.get_field("sender_name").max_length


def _tag_names(names: Iterable[str]) -> list[str]:
    cleaned: dict[str, str] = {}
    for raw in names or ():
        name = one_line(str(raw or ""))
        reject_nul(name)
        if not name:
            raise ValidationError({"tags": TAG_EMPTY})
        if len(name) > _TAG_MAX:
            raise ValidationError({"tags": TAG_TOO_LONG.format(limit=_TAG_MAX)})
        cleaned.setdefault(normalised_key(name), name)
    if len(cleaned) > MAX_TAGS:
        raise ValidationError({"tags": TOO_MANY_TAGS})
    return list(cleaned.values())


def tags_ensure(*, team: Team, names: Iterable[str]) -> list[Tag]:
    """The team's tags of these names (compared case- and space-insensitively), each created
    on first use; in the order given, each once. Callers check who may tag."""
    wanted = _tag_names(names)
    tags = []
    for name in wanted:
        key = normalised_key(name)
        tag = Tag.objects.filter(team=team, name_key=key).first()
        if tag is None:
            try:
                with transaction.atomic():
                    tag = Tag.objects.create(team=team, name=name)
                team_choices_changed(team.pk)
            except IntegrityError:
                # Created by a concurrent writer between the look-up and the insert.
                tag = Tag.objects.get(team=team, name_key=key)
        tags.append(tag)
    return tags


@dataclass(frozen=True)
class PushedItem:
    """Pushed feedback checked as ``item_ingest`` checks it: trimmed, the address normalised,
    the tag names cleaned (each once)."""

    subject: str
    text: str
    external_id: str
    email: str
    customer_name: str
    received_at: datetime | None
    tag_names: tuple[str, ...]

    @property
    def sender_name(self) -> str:
        return one_line(self.customer_name)[:_SENDER_NAME_MAX]


def item_push_clean(
    *,
    team: Team,
    customer_email: str,
    subject: str = "",
    text: str = "",
    customer_name: str = "",
    external_id: str = "",
    received_at: datetime | None = None,
    tags: Iterable[str] = (),
    channel: Channel | None = None,
    now: datetime,
) -> PushedItem:
    """The checks of a push, without writing anything: one place for ``item_ingest`` and the
    set-based CSV import (``feedback.services.bulk``). Raises ValidationError per field."""
    subject = one_line(subject)
    text = (text or "").strip()
    external_id = (external_id or "").strip()
    for value in (subject, text, external_id, customer_name or ""):
        reject_nul(value)
    if not subject and not text:
        raise ValidationError({"text": TEXT_REQUIRED})
    if len(subject) > _SUBJECT_MAX:
        raise ValidationError({"subject": SUBJECT_TOO_LONG.format(limit=_SUBJECT_MAX)})
    if len(text) > MAX_TEXT_LENGTH:
        raise ValidationError({"text": TEXT_TOO_LONG})
    if len(external_id) > _EXTERNAL_ID_MAX:
        raise ValidationError({"external_id": EXTERNAL_ID_TOO_LONG.format(limit=_EXTERNAL_ID_MAX)})
    try:
        email = normalize_email(customer_email)
    except ValidationError as error:
        raise ValidationError({"customer_email": error.messages}) from error
    # The validator lets addresses of up to 320 characters pass; the sender column holds 254
    # (RFC 5321's limit for a path), and PostgreSQL refuses more with an error, not a message.
    if len(email) > MAX_ADDRESS_LENGTH:
        raise ValidationError({"customer_email": ADDRESS_TOO_LONG.format(limit=MAX_ADDRESS_LENGTH)})
    if received_at is not None and received_at > now:
        raise ValidationError({"received_at": RECEIVED_IN_FUTURE})
    if received_at is not None and received_at < EARLIEST_SENT_AT:
        raise ValidationError({"received_at": RECEIVED_TOO_EARLY})
    if channel is not None and channel.team_id != team.pk:
        raise ValidationError({"channel": CHANNEL_OF_OTHER_TEAM})
    return PushedItem(
        subject=subject,
        text=text,
        external_id=external_id,
        email=email,
        customer_name=customer_name or "",
        received_at=received_at,
        tag_names=tuple(_tag_names(tags)),
    )


def push_identity(item_pk: int, text: str) -> str:
    """The identity hash of a pushed item's first message."""
    # Pushed text has no Message-ID; the item (new with every push) makes the identity unique.
    return hashlib.sha256(f"push:{item_pk}:{text}".encode()).hexdigest()


def _item_of_external_id(team: Team, external_id: str) -> FeedbackItem | None:
    """The team's item pushed with ``external_id``, or the item it was merged into since."""
    item = FeedbackItem.objects.filter(team=team, external_id=external_id).first()
    if item is not None:
        return item
    merged = (
        MergedItem.objects.filter(into__team=team, external_id=external_id)
        .select_related("into")
        .first()
    )
    return merged.into if merged is not None else None


@transaction.atomic
def item_ingest(
    *,
    actor: Actor,
    team: Team,
    customer_email: str,
    subject: str = "",
    text: str = "",
    customer_name: str = "",
    external_id: str = "",
    received_at: datetime | None = None,
    tags: Iterable[str] = (),
    channel: Channel | None = None,
    now: datetime | None = None,
) -> tuple[FeedbackItem, bool]:
    """Store pushed feedback as a new item with its first message, as ``(item, created)``.
    Agents of the team (the widget and other push channels act as the system)."""
    access.require_team_role(actor, team, Role.AGENT)
    now = now or timezone.now()
    pushed = item_push_clean(
        team=team,
        customer_email=customer_email,
        subject=subject,
        text=text,
        customer_name=customer_name,
        external_id=external_id,
        received_at=received_at,
        tags=tags,
        channel=channel,
        now=now,
    )
    subject, text, external_id, email = (
        pushed.subject,
        pushed.text,
        pushed.external_id,
        pushed.email,
    )
    tag_names = list(pushed.tag_names)
    if external_id:
        existing = _item_of_external_id(team, external_id)
        if existing is not None:
            return existing, False
    sent_at = received_at or now
    try:
        with transaction.atomic():
            item = FeedbackItem.objects.create(
                team=team,
                subject=subject,
                customer=customer_for_sender(address=email, name=customer_name),
                channel=channel,
                status=ItemStatus.NEW,
                external_id=external_id,
                first_message_at=sent_at,
                last_message_at=sent_at,
                search_document=search_document_of(subject, [text]),
            )
    except IntegrityError:
        # A concurrent push of the same external id won.
        return FeedbackItem.objects.get(team=team, external_id=external_id), False
    message = Message.objects.create(
        team=team,
        item=item,
        channel=channel,
        direction=Direction.IN,
        lane=Lane.CUSTOMER,
        identity_hash=push_identity(item.pk, text),
        sender_name=pushed.sender_name,
        sender=email,
        reply_to=email,
        subject=subject,
        text=text,
        sent_at=sent_at,
        received_at=sent_at,
        thread_reason=ThreadReason.NEW,
    )
    if tag_names:
        item.tags.add(*tags_ensure(team=team, names=tag_names))
    events.emit("feedback.item_created", item_id=item.pk)
    events.emit("feedback.message_received", message_id=message.pk, item_id=item.pk)
    # Scored after the commit, as parsed mail is (``feedback.services.sentiment``).
    sentiment_queue([message.pk])
    return item, True
