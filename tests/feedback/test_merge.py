"""Merging one feedback item into another (feedback.services.merging): every message kept,
once, payloads still pointing at their messages; tags, times, status and sentiment of the
merged item; same team only; agents only; audited; an event after the commit."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from feedback.models import (
    Direction,
    FeedbackItem,
    ItemPriority,
    ItemStatus,
    LikelyDuplicate,
    Message,
    RawPayload,
    Sentiment,
    SlaPolicy,
)
from feedback.services import payload_receive
from feedback.services.merging import MERGE_ACROSS_TEAMS, MERGE_INTO_ITSELF, item_merge
from feedback.services.triage import item_update, items_bulk_merge
from portal import events
from portal.models import AuditEntry
from tests.factories import CustomerFactory
from tests.feedback.factories import (
    ChannelFactory,
    FeedbackItemFactory,
    MessageFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def item_with_messages(team, channel, times, **fields) -> FeedbackItem:
    item = FeedbackItemFactory(
        team=team, channel=channel, first_message_at=times[0], last_message_at=times[-1], **fields
    )
    for at in times:
        MessageFactory(item=item, channel=channel, sent_at=at, text=f"at {at:%H:%M}")
    return item


@pytest.fixture
def pair(world):
    team = world.team_a
    customer = CustomerFactory()
    mail, forum = ChannelFactory(team=team), ChannelFactory(team=team, kind="discourse")
    into = item_with_messages(
        team, mail, [T0, T0 + timedelta(hours=1)], customer=customer, subject="Export fails"
    )
    source = item_with_messages(
        team,
        forum,
        [T0 - timedelta(hours=2), T0 + timedelta(hours=5), T0 + timedelta(hours=6)],
        customer=customer,
        external_id="forum-topic-7",
    )
    return source, into


def test_merging_keeps_every_message_once_and_payloads_point_at_them(world, pair):
    source, into = pair
    message = source.messages.first()
    payload, _ = payload_receive(channel=source.channel, raw=b"raw bytes", queue_parse=False)
    RawPayload.objects.filter(pk=payload.pk).update(message=message)
    expected = set(Message.objects.filter(item__in=[source, into]).values_list("pk", flat=True))

    merged = item_merge(actor=world.agent_a, source=source, into=into)

    assert merged.pk == into.pk
    assert not FeedbackItem.objects.filter(pk=source.pk).exists()
    kept = list(Message.objects.filter(item=into).values_list("pk", flat=True))
    assert len(kept) == 5 == len(expected)
    assert set(kept) == expected
    assert Message.objects.count() == 5
    payload.refresh_from_db()
    assert payload.message_id == message.pk
    assert Message.objects.get(pk=message.pk).item_id == into.pk


def test_the_merged_item_spans_both_and_unites_their_tags(world, pair):
    source, into = pair
    shared, own, theirs = (TagFactory(team=world.team_a) for _ in range(3))
    into.tags.add(shared, own)
    source.tags.add(shared, theirs)

    merged = item_merge(actor=world.agent_a, source=source, into=into)

    assert set(merged.tags.all()) == {shared, own, theirs}
    assert merged.first_message_at == T0 - timedelta(hours=2)
    assert merged.last_message_at == T0 + timedelta(hours=6)
    # The target keeps its subject; it takes the source's external id, which it had none of.
    assert (merged.subject, merged.external_id) == ("Export fails", "forum-topic-7")


def test_the_merged_item_takes_the_sentiment_of_its_latest_inbound_message(world, pair):
    source, into = pair
    Message.objects.filter(item=into).update(sentiment=Sentiment.POSITIVE, sentiment_score=0.6)
    latest = source.messages.order_by("-sent_at").first()
    Message.objects.filter(item=source).update(sentiment=Sentiment.NEUTRAL, sentiment_score=0.0)
    Message.objects.filter(pk=latest.pk).update(sentiment=Sentiment.NEGATIVE, sentiment_score=-0.7)
    # Our own answer, later still, does not count.
    MessageFactory(
        item=into,
        direction=Direction.OUT,
        sent_at=T0 + timedelta(hours=9),
        sentiment=Sentiment.POSITIVE,
        sentiment_score=0.9,
    )

    merged = item_merge(actor=world.agent_a, source=source, into=into)

    assert (merged.sentiment, merged.sentiment_score) == (Sentiment.NEGATIVE, -0.7)


@pytest.mark.parametrize(
    ("into_status", "source_status", "expected"),
    [
        (ItemStatus.RESOLVED, ItemStatus.OPEN, ItemStatus.OPEN),
        (ItemStatus.RESOLVED, ItemStatus.NEW, ItemStatus.OPEN),
        (ItemStatus.RESOLVED, ItemStatus.RESOLVED, ItemStatus.RESOLVED),
        (ItemStatus.RESOLVED, ItemStatus.WAITING, ItemStatus.RESOLVED),
        (ItemStatus.WAITING, ItemStatus.OPEN, ItemStatus.OPEN),
        (ItemStatus.WAITING, ItemStatus.NEW, ItemStatus.OPEN),
        (ItemStatus.WAITING, ItemStatus.WAITING, ItemStatus.WAITING),
        (ItemStatus.WAITING, ItemStatus.RESOLVED, ItemStatus.WAITING),
        (ItemStatus.NEW, ItemStatus.RESOLVED, ItemStatus.NEW),
    ],
)
def test_the_merged_item_keeps_its_status_unless_the_source_still_waits_for_an_answer(
    world, pair, into_status, source_status, expected
):
    source, into = pair
    FeedbackItem.objects.filter(pk=into.pk).update(status=into_status)
    FeedbackItem.objects.filter(pk=source.pk).update(status=source_status)

    merged = item_merge(actor=world.agent_a, source=source, into=into)

    assert merged.status == expected


def test_a_new_request_merged_into_a_snoozed_waiting_item_brings_it_back_to_the_inbox(world):
    """The customer's older item waits for them and is snoozed for three days; their new item
    is merged into it (a bulk merge keeps the oldest): the new message is not hidden."""
    customer, channel = CustomerFactory(), ChannelFactory(team=world.team_a)
    older = item_with_messages(
        world.team_a,
        channel,
        [T0],
        customer=customer,
        status=ItemStatus.WAITING,
        snoozed_until=T0 + timedelta(days=3),
    )
    newer = item_with_messages(world.team_a, channel, [T0 + timedelta(hours=2)], customer=customer)

    results = items_bulk_merge(actor=world.agent_a, items=[older, newer])

    assert [result.ok for result in results] == [True, True]
    older.refresh_from_db()
    assert (older.status, older.snoozed_until) == (ItemStatus.OPEN, None)
    entry = AuditEntry.objects.get(action="feedback_item.merged")
    assert entry.changes["status"] == {"before": "waiting", "after": "open"}
    assert entry.changes["snoozed_until"]["after"] is None


def test_a_snoozed_source_wakes_no_waiting_target(world, pair):
    source, into = pair
    later = T0 + timedelta(days=1)
    FeedbackItem.objects.filter(pk=into.pk).update(status=ItemStatus.WAITING, snoozed_until=later)
    FeedbackItem.objects.filter(pk=source.pk).update(status=ItemStatus.OPEN, snoozed_until=later)

    merged = item_merge(actor=world.agent_a, source=source, into=into, now=T0)

    assert (merged.status, merged.snoozed_until) == (ItemStatus.WAITING, later)


def test_a_resolved_target_that_opens_again_is_announced_as_reopened(
    world, pair, django_capture_on_commit_callbacks
):
    source, into = pair
    FeedbackItem.objects.filter(pk=into.pk).update(status=ItemStatus.RESOLVED, resolved_at=T0)
    heard = []
    events.register("feedback.item_reopened", heard.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            item_merge(actor=world.agent_a, source=source, into=into)
    finally:
        events.unregister("feedback.item_reopened", heard.append)

    assert heard == [{"item_id": into.pk}]


def test_an_unassigned_target_takes_the_assignee_and_the_higher_priority_set_by_hand(world, pair):
    source, into = pair
    SlaPolicy.objects.create(
        team=world.team_a, priority=ItemPriority.URGENT, first_response_hours=1, resolution_hours=8
    )
    item_update(actor=world.lead_a, item=source, assignee=world.agent_a, priority="urgent")
    source.refresh_from_db()

    merged = item_merge(actor=world.agent_a, source=source, into=into)

    assert merged.assignee == world.agent_a
    assert (merged.priority, merged.priority_reason, merged.priority_manual) == (
        ItemPriority.URGENT,
        source.priority_reason,
        True,
    )
    # The urgent policy's due times, from the merged conversation's first message.
    assert merged.first_response_due_at == merged.first_message_at + timedelta(hours=1)
    assert merged.resolution_due_at == merged.first_message_at + timedelta(hours=8)
    changes = AuditEntry.objects.get(action="feedback_item.merged").changes
    assert changes["assignee_id"] == {"before": None, "after": world.agent_a.pk}
    assert changes["priority"] == {"before": "normal", "after": "urgent"}


def test_the_target_keeps_its_own_assignee_and_higher_priority(world, pair):
    source, into = pair
    item_update(actor=world.lead_a, item=source, assignee=world.agent_a, priority="high")
    item_update(actor=world.lead_a, item=into, assignee=world.lead_a, priority="urgent")

    merged = item_merge(actor=world.agent_a, source=source, into=into)

    assert (merged.assignee, merged.priority) == (world.lead_a, ItemPriority.URGENT)


def test_an_assignee_who_no_longer_works_on_the_teams_items_is_not_taken_over(world, pair):
    source, into = pair
    FeedbackItem.objects.filter(pk=source.pk).update(assignee=world.viewer_a)

    merged = item_merge(actor=world.agent_a, source=source, into=into)

    assert merged.assignee is None


def test_the_source_likely_duplicate_pairs_go_with_it(world, pair):
    source, into = pair
    low, high = sorted((source.pk, into.pk))
    LikelyDuplicate.objects.create(team=world.team_a, item_id=low, other_id=high, score=0.8)

    item_merge(actor=world.agent_a, source=source, into=into)

    assert not LikelyDuplicate.objects.exists()


def test_merging_is_audited_and_announced_after_the_commit(
    world, pair, django_capture_on_commit_callbacks
):
    source, into = pair
    heard = []
    events.register("feedback.items_merged", heard.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            item_merge(actor=world.agent_a, source=source, into=into)
    finally:
        events.unregister("feedback.items_merged", heard.append)

    assert heard == [{"source_id": source.pk, "target_id": into.pk}]
    entry = AuditEntry.objects.get(action="feedback_item.merged")
    assert (entry.actor, entry.team, entry.target_id) == (world.agent_a, world.team_a, into.pk)
    assert entry.changes["messages_moved"] == {"before": 0, "after": 3}


def test_an_item_is_not_merged_into_itself_nor_into_another_team(world, pair):
    source, _into = pair
    elsewhere = FeedbackItemFactory(team=world.team_b)

    with pytest.raises(ValidationError) as itself:
        item_merge(actor=world.agent_a, source=source, into=source)
    with pytest.raises(ValidationError) as across:
        item_merge(actor=world.superuser, source=source, into=elsewhere)

    assert itself.value.message_dict == {"into": [MERGE_INTO_ITSELF]}
    assert across.value.message_dict == {"into": [MERGE_ACROSS_TEAMS.format(team=world.team_a)]}
    assert Message.objects.filter(item=source).count() == 3


def test_viewers_and_other_teams_may_not_merge(world, pair):
    source, into = pair

    for refused in (world.viewer_a, world.member_b, world.outsider):
        with pytest.raises(PermissionDenied):
            item_merge(actor=refused, source=source, into=into)

    assert FeedbackItem.objects.filter(pk=source.pk).exists()
