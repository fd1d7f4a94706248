"""Merging one feedback item into another: a likely duplicate, or one request that came in two
conversations. Every message of the source moves to the target, once (one UPDATE of their
item, so payloads, attachments and replies keep pointing at the same message rows); the source
item is deleted, and with it its likely-duplicate pairs.

What the target becomes: the union of both items' tags; the earliest first and latest last
message time of the two (each item's times already span its messages, so the union spans the
merged conversation, including an item whose messages were all erased); the sentiment of its
latest inbound customer message (``items_sentiment_update``); its own status, except that a
resolved target takes in a source that is still new or open by becoming open, so that the
open request is not hidden as resolved. A target without a customer or subject takes the
source's; a target without an external id takes the source's, so that pushing the source's
``external_id`` again still finds the conversation.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from feedback.models import FeedbackItem, ItemStatus, Message
from feedback.services.search_document import item_search_document_refresh
from feedback.services.sentiment import items_sentiment_update
from portal import access, events
from portal.actors import SystemActor
from portal.models import Role
from portal.services import audit

Actor = AbstractBaseUser | SystemActor

MERGE_INTO_ITSELF = "An item cannot be merged into itself: pick another item."
MERGE_ACROSS_TEAMS = "Both items must belong to the same team: pick an item of {team}."

# The target's status when the source still waits for an answer and the target was resolved.
_STILL_OPEN = {ItemStatus.NEW, ItemStatus.OPEN}


@transaction.atomic
def item_merge(*, actor: Actor, source: FeedbackItem, into: FeedbackItem) -> FeedbackItem:
    """Move everything of ``source`` into ``into`` and delete ``source``; the merged item.
    Agents of the team. Emits ``feedback.items_merged`` after the commit."""
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
        "first_message_at": into.first_message_at.isoformat(),
        "last_message_at": into.last_message_at.isoformat(),
    }

    moved = Message.objects.filter(item_id=source.pk).update(item_id=into.pk)
    into.tags.add(*source.tags.all())
    into.first_message_at = min(into.first_message_at, source.first_message_at)
    into.last_message_at = max(into.last_message_at, source.last_message_at)
    if into.status == ItemStatus.RESOLVED and source.status in _STILL_OPEN:
        into.status = ItemStatus.OPEN
        into.resolved_at = None
    into.customer_id = into.customer_id or source.customer_id
    into.subject = into.subject or source.subject
    source_external_id = source.external_id
    source_label, source_pk = str(source), source.pk
    source.delete()
    # The source's external id is free only once the source row is gone (it is unique).
    into.external_id = into.external_id or source_external_id
    into.save(
        update_fields=[
            "first_message_at",
            "last_message_at",
            "status",
            "resolved_at",
            "customer",
            "subject",
            "external_id",
            "updated_at",
        ]
    )
    items_sentiment_update(item_ids=[into.pk])
    item_search_document_refresh([into.pk])
    into.refresh_from_db()

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
    return into


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value
