"""Merging one feedback item into another: a likely duplicate, or one request that came in two
conversations. Every message of the source moves to the target, once (one UPDATE of their
item, so payloads, attachments and replies keep pointing at the same message rows); the source
item is deleted, and with it its likely-duplicate pairs; a ``MergedItem`` keeps where it went, so
that links to its page lead to the target.

What the target becomes: the union of both items' tags; the earliest first and latest last
message time of the two (each item's times already span its messages, so the union spans the
merged conversation, including an item whose messages were all erased); the sentiment of its
latest inbound customer message (``items_sentiment_update``); its own status, except that a
resolved target takes in a source that is still new or open by becoming open, so that the
open request is not hidden as resolved, and that a source that is new or open and not snoozed
(the customer waits for an answer now) makes a waiting target open and ends the target's snooze,
as the customer's new mail on the target would (``feedback.services.parsing.reopen``). An
unassigned target takes the source's assignee while they still work on the team's items; the
higher priority of the two is kept with its reason (as high, a person's over the rules'), and
the due times follow it. A target without a customer or subject takes the source's; a target
without an external id takes the source's; either way pushing the source's ``external_id`` again
finds the conversation (the ``MergedItem`` keeps it).

Splitting is the way back for one message (``message_split``): a message that was threaded into
the wrong conversation becomes an item of its own.
"""

from collections.abc import Sequence
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from feedback.inbox.counts import inbox_counts_changed
from feedback.models import (
    CLOSED_STATUSES,
    Direction,
    FeedbackItem,
    ItemStatus,
    LikelyDuplicate,
    MergedItem,
    Message,
)
from feedback.services import sla
from feedback.services.duplicates import likely_duplicate_dismiss
from feedback.services.search_document import item_search_document_refresh
from feedback.services.sentiment import items_sentiment_update
from portal import access, events
from portal.actors import SystemActor
from portal.models import Role
from portal.services import audit

Actor = AbstractBaseUser | SystemActor

MERGE_INTO_ITSELF = "An item cannot be merged into itself: pick another item."
MERGE_ACROSS_TEAMS = "Both items must belong to the same team: pick an item of {team}."
SPLIT_ONLY_MESSAGE = (
    "This is the item's only message: there is nothing to split it from. Merge or tag the item"
    " instead."
)
SPLIT_NOT_CUSTOMERS = (
    "Only a message from the customer can be split into an item of its own; our replies and"
    " internal notes stay with the conversation they belong to."
)
SPLIT_NO_ITEM = "This message belongs to no item any more; reload the page."

MERGE_CUSTOMERS_DIFFER = (
    "These are {count} customers' conversations ({names}). The merged item #{into} stays "
    "{kept}'s, and a reply goes to whoever wrote last: merge only if they are one request."
)

# The source's statuses that still wait for an answer from us.
_STILL_OPEN = {ItemStatus.NEW, ItemStatus.OPEN}


@transaction.atomic
def item_merge(
    *, actor: Actor, source: FeedbackItem, into: FeedbackItem, now: datetime | None = None
) -> FeedbackItem:
    """Move everything of ``source`` into ``into`` and delete ``source``; the merged item.
    Agents of the team. Emits ``feedback.items_merged`` after the commit, and
    ``feedback.item_reopened`` when a resolved target opens again."""
    now = now or timezone.now()
    if source.pk == into.pk:
        raise ValidationError({"into": MERGE_INTO_ITSELF})
    access.require_team_role(actor, source.team, Role.AGENT)
    if source.team_id != into.team_id:
        raise ValidationError({"into": MERGE_ACROSS_TEAMS.format(team=source.team)})
    # Both rows locked in id order, so that two merges of the same pair cannot deadlock.
    locked = {
        item.pk: item
        for item in FeedbackItem.objects.select_for_update()
        .filter(pk__in=[source.pk, into.pk])
        .order_by("pk")
    }
    if len(locked) != 2:
        # The other merge of the pair won the race and deleted one of them.
        raise FeedbackItem.DoesNotExist("The item was merged or deleted meanwhile.")
    source, into = locked[source.pk], locked[into.pk]
    before = {
        "status": into.status,
        "snoozed_until": _plain(into.snoozed_until),
        "assignee_id": into.assignee_id,
        "priority": into.priority,
        "first_message_at": into.first_message_at.isoformat(),
        "last_message_at": into.last_message_at.isoformat(),
    }

    moved = Message.objects.filter(item_id=source.pk).update(item_id=into.pk)
    into.tags.add(*source.tags.all())
    into.first_message_at = min(into.first_message_at, source.first_message_at)
    into.last_message_at = max(into.last_message_at, source.last_message_at)
    waits = source.status in _STILL_OPEN
    # Snoozed by an agent, the source's request is put off: it wakes no waiting target.
    waits_now = waits and (source.snoozed_until is None or source.snoozed_until <= now)
    if (into.status == ItemStatus.RESOLVED and waits) or (
        into.status == ItemStatus.WAITING and waits_now
    ):
        into.status = ItemStatus.OPEN
        into.resolved_at = None
    if waits_now:
        into.snoozed_until = None
    if into.assignee_id is None and access.works_on_items_of(source.assignee, into.team):
        into.assignee_id = source.assignee_id
    previous_priority = into.priority
    if _outranks(source, into):
        into.priority = source.priority
        into.priority_reason = source.priority_reason
        into.priority_manual = source.priority_manual
    # The due times follow the priority's SLA policy (its periods keep their start), as when a
    # person changes the priority.
    due_fields = (
        sla.item_sla_apply(into, now, previous_priority=previous_priority)
        if into.priority != previous_priority
        else []
    )
    into.customer_id = into.customer_id or source.customer_id
    into.subject = into.subject or source.subject
    source_external_id = source.external_id
    source_label, source_pk = str(source), source.pk
    # Links to the source, and to the items merged into it before, lead here from now on.
    MergedItem.objects.filter(into_id=source_pk).update(into=into)
    source.delete()
    MergedItem.objects.create(merged_id=source_pk, into=into, external_id=source_external_id)
    # The source's external id is free only once the source row is gone (it is unique).
    into.external_id = into.external_id or source_external_id
    into.save(
        update_fields=[
            "first_message_at",
            "last_message_at",
            "status",
            "resolved_at",
            "snoozed_until",
            "assignee",
            "priority",
            "priority_reason",
            "priority_manual",
            *due_fields,
            "customer",
            "subject",
            "external_id",
            "updated_at",
        ]
    )
    items_sentiment_update(item_ids=[into.pk])
    item_search_document_refresh([into.pk])
    into.refresh_from_db()
    inbox_counts_changed(into.team_id)

    audit(
        actor=actor,
        action="feedback_item.merged",
        target=into,
        team=into.team,
        changes={
            "merged_item": {"before": f"#{source_pk} {source_label}", "after": None},
            "messages_moved": {"before": 0, "after": moved},
            **{
                field: {"before": value, "after": _plain(getattr(into, field))}
                for field, value in before.items()
                if value != _plain(getattr(into, field))
            },
        },
    )
    events.emit("feedback.items_merged", source_id=source_pk, target_id=into.pk)
    if before["status"] in CLOSED_STATUSES and into.status not in CLOSED_STATUSES:
        events.emit("feedback.item_reopened", item_id=into.pk)
    return into


def merge_customers_notice(items: Sequence[FeedbackItem], into: FeedbackItem) -> str:
    """What a merge review says when the items are different customers' conversations (empty
    when they are one customer's): the kept item stays its customer's, and a reply goes to
    whoever wrote last, so the agent knows before merging."""
    customers = {item.customer_id: item.customer for item in items if item.customer_id}
    if len(customers) < 2:
        return ""
    kept = into.customer or next(item.customer for item in items if item.customer_id)
    names = ", ".join(
        f"#{item.pk} {_customer_name(item.customer)}" for item in items if item.customer_id
    )
    return MERGE_CUSTOMERS_DIFFER.format(
        count=len(customers), names=names, into=into.pk, kept=_customer_name(kept)
    )


def _outranks(source: FeedbackItem, into: FeedbackItem) -> bool:
    """The source's priority is the one to keep: higher than the target's, or as high and set
    by a person where the target's came from the rules."""
    if sla.RANK[source.priority] != sla.RANK[into.priority]:
        return sla.RANK[source.priority] > sla.RANK[into.priority]
    return source.priority_manual and not into.priority_manual


def _customer_name(customer) -> str:
    return customer.name or customer.email or f"customer #{customer.pk}"


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


@transaction.atomic
def message_split(*, actor: Actor, message: Message) -> FeedbackItem:
    """Move ``message`` out of its item into a new item of the same team and customer; the new
    item. Only a message from the customer can be split off, and only that message moves:
    replies threaded to it stay where they are, since the agent chose this one message. Agents
    of the team. Both items' message times, sentiment and search documents follow their
    messages; both are audited; the two are recorded as not the same (a dismissed likely
    duplicate), since the agent separated them; the new item is announced as created
    (``feedback.item_created``), so it gets its priority and SLA due times like any new item."""
    if message.item_id is None:
        raise ValidationError(SPLIT_NO_ITEM)
    access.require_team_role(actor, message.team, Role.AGENT)
    try:
        source = FeedbackItem.objects.select_for_update().get(pk=message.item_id)
    except FeedbackItem.DoesNotExist:
        raise ValidationError(SPLIT_NO_ITEM) from None
    message = Message.objects.select_for_update().get(pk=message.pk)
    if message.item_id != source.pk:
        raise ValidationError(SPLIT_NO_ITEM)
    if message.direction != Direction.IN or message.is_note:
        raise ValidationError(SPLIT_NOT_CUSTOMERS)
    if not Message.objects.filter(item_id=source.pk).exclude(pk=message.pk).exists():
        raise ValidationError(SPLIT_ONLY_MESSAGE)

    item = FeedbackItem.objects.create(
        team_id=source.team_id,
        customer_id=source.customer_id,
        channel_id=message.channel_id or source.channel_id,
        subject=message.subject or source.subject,
        status=ItemStatus.OPEN,
        first_message_at=message.sent_at,
        last_message_at=message.sent_at,
    )
    Message.objects.filter(pk=message.pk).update(item_id=item.pk)
    span = Message.objects.filter(item_id=source.pk).aggregate(
        first=Min("sent_at"), last=Max("sent_at")
    )
    source.first_message_at, source.last_message_at = span["first"], span["last"]
    source.save(update_fields=["first_message_at", "last_message_at", "updated_at"])
    items_sentiment_update(item_ids=[source.pk, item.pk])
    item_search_document_refresh([source.pk, item.pk])
    item.refresh_from_db()
    inbox_counts_changed(item.team_id)
    # The agent separated the two on purpose: the duplicate check that follows the new item's
    # creation finds the pair dismissed already and does not suggest merging them back. Its
    # score is 0, as the texts were never compared.
    low, high = sorted((source.pk, item.pk))
    likely_duplicate_dismiss(
        actor=actor,
        pair=LikelyDuplicate.objects.create(
            team_id=item.team_id, item_id=low, other_id=high, score=0.0
        ),
    )

    audit(
        actor=actor,
        action="feedback_item.message_split_off",
        target=source,
        team=source.team,
        changes={"message": {"before": f"#{source.pk}", "after": f"#{item.pk}"}},
    )
    audit(
        actor=actor,
        action="feedback_item.split_from",
        target=item,
        team=item.team,
        changes={"message": {"before": f"#{source.pk}", "after": f"#{item.pk}"}},
    )
    events.emit("feedback.item_created", item_id=item.pk)
    return item
