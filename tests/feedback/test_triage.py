"""Triage writes (feedback.services.triage): status with resolved_at and the item_resolved
event, assignment within the team, tags of the team, a priority set by hand, snooze; every
change audited, nothing written when any value is refused; bulk updates and bulk merge."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from feedback.models import FeedbackItem, ItemPriority, ItemStatus, Message, SlaPolicy
from feedback.services import items_bulk_merge, items_bulk_update
from feedback.services.triage import (
    ACTION_ASSIGNEE,
    ACTION_PRIORITY,
    ACTION_SNOOZE,
    ACTION_STATUS,
    ACTION_TAGS,
    ASSIGNEE_NOT_AGENT,
    BULK_TOO_MANY,
    MAX_BULK_ITEMS,
    MERGE_NEEDS_TWO,
    MERGE_NOTHING_MERGED,
    MERGE_TARGET_NOT_SELECTED,
    PRIORITY_AUTOMATIC,
    SNOOZE_IN_PAST,
    SNOOZE_NAIVE,
    STATUS_UNKNOWN,
    TAG_ADDED_AND_REMOVED,
    TAG_OF_OTHER_TEAM,
    item_update,
)
from portal import events
from portal.models import AuditEntry, Tier
from tests.factories import CustomerFactory
from tests.feedback.factories import FeedbackItemFactory, MessageFactory, TagFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)


@pytest.fixture
def item(world):
    return FeedbackItemFactory(team=world.team_a, status=ItemStatus.OPEN)


@pytest.fixture
def resolved_heard():
    heard: list[dict] = []
    events.register("feedback.item_resolved", heard.append)
    yield heard
    events.unregister("feedback.item_resolved", heard.append)


def entries(item, action=None):
    found = AuditEntry.objects.filter(target_id=item.pk).order_by("pk")
    if action:
        found = found.filter(action=action)
    return list(found)


def test_resolving_stamps_resolved_at_audits_and_announces_once_after_the_commit(
    world, item, resolved_heard, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        updated = item_update(actor=world.agent_a, item=item, status="resolved", now=NOW)
        assert resolved_heard == []

    for callback in callbacks:
        callback()
    assert resolved_heard == [{"item_id": item.pk}]
    assert (updated.status, updated.resolved_at) == (ItemStatus.RESOLVED, NOW)
    stored = FeedbackItem.objects.get(pk=item.pk)
    assert (stored.status, stored.resolved_at) == (ItemStatus.RESOLVED, NOW)
    [entry] = entries(item, ACTION_STATUS)
    assert (entry.actor, entry.team) == (world.agent_a, world.team_a)
    assert entry.changes == {"status": {"before": "open", "after": "resolved"}}


def test_resolving_a_resolved_item_again_changes_and_announces_nothing(
    world, item, resolved_heard, django_capture_on_commit_callbacks
):
    item_update(actor=world.agent_a, item=item, status="resolved", now=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        item_update(actor=world.agent_a, item=item, status="resolved", now=NOW + timedelta(1))

    assert FeedbackItem.objects.get(pk=item.pk).resolved_at == NOW
    assert len(entries(item, ACTION_STATUS)) == 1
    assert resolved_heard == []


def test_opening_a_resolved_item_clears_resolved_at(world, item):
    item_update(actor=world.agent_a, item=item, status="resolved", now=NOW)

    item_update(actor=world.agent_a, item=item, status="open", now=NOW)

    stored = FeedbackItem.objects.get(pk=item.pk)
    assert (stored.status, stored.resolved_at) == (ItemStatus.OPEN, None)
    assert [entry.changes["status"]["after"] for entry in entries(item, ACTION_STATUS)] == [
        "resolved",
        "open",
    ]


def test_an_item_is_assigned_to_agents_and_above_of_its_team_and_unassigned(world, item):
    for person in (world.agent_a, world.lead_a, world.admin_a):
        item_update(actor=world.agent_a, item=item, assignee=person)
        assert FeedbackItem.objects.get(pk=item.pk).assignee == person

    item_update(actor=world.agent_a, item=item, assignee=None)

    assert FeedbackItem.objects.get(pk=item.pk).assignee is None
    changes = [entry.changes["assignee"] for entry in entries(item, ACTION_ASSIGNEE)]
    assert changes == [
        {"before": None, "after": "agent_a"},
        {"before": "agent_a", "after": "lead_a"},
        {"before": "lead_a", "after": "admin_a"},
        {"before": "admin_a", "after": None},
    ]


@pytest.mark.parametrize("persona", ["viewer_a", "member_b", "outsider"])
def test_viewers_and_people_outside_the_team_are_not_assignable(world, item, persona):
    person = getattr(world, persona)

    with pytest.raises(ValidationError) as refused:
        item_update(actor=world.agent_a, item=item, assignee=person)

    # A viewer of the team is named; someone outside it only by id (an agent could otherwise
    # learn the username behind any id: outside QA report).
    named = person if persona == "viewer_a" else f"User #{person.pk}"
    assert refused.value.message_dict == {
        "assignee": [ASSIGNEE_NOT_AGENT.format(user=named, team=world.team_a)]
    }
    assert FeedbackItem.objects.get(pk=item.pk).assignee is None


def test_tags_are_replaced_added_and_removed_and_audited_by_name(world, item):
    bug, billing, ux = (
        TagFactory(team=world.team_a, name=name) for name in ("bug", "billing", "ux")
    )

    item_update(actor=world.agent_a, item=item, tags=[bug, billing])
    item_update(actor=world.agent_a, item=item, add_tags=[ux], remove_tags=[bug])
    item_update(actor=world.agent_a, item=item, add_tags=[ux])

    assert set(item.tags.values_list("name", flat=True)) == {"billing", "ux"}
    assert [entry.changes["tags"] for entry in entries(item, ACTION_TAGS)] == [
        {"before": [], "after": ["billing", "bug"]},
        {"before": ["billing", "bug"], "after": ["billing", "ux"]},
    ]


def test_a_tag_of_another_team_is_refused_and_nothing_else_is_written(world, item):
    foreign = TagFactory(team=world.team_b, name="theirs")

    with pytest.raises(ValidationError) as refused:
        item_update(actor=world.agent_a, item=item, status="waiting", tags=[foreign])

    assert refused.value.message_dict == {
        "tags": [TAG_OF_OTHER_TEAM.format(tag="theirs", team=world.team_a)]
    }
    stored = FeedbackItem.objects.get(pk=item.pk)
    assert (stored.status, list(stored.tags.all())) == (ItemStatus.OPEN, [])
    assert entries(item) == []


def test_every_refused_value_is_named_at_once(world, item):
    with pytest.raises(ValidationError) as refused:
        item_update(
            actor=world.agent_a,
            item=item,
            status="closed",
            priority="critical",
            snoozed_until=NOW - timedelta(minutes=1),
            now=NOW,
        )

    errors = refused.value.message_dict
    assert set(errors) == {"status", "priority", "snoozed_until"}
    assert errors["status"] == [
        STATUS_UNKNOWN.format(value="closed", choices=", ".join(ItemStatus.values))
    ]
    assert errors["snoozed_until"] == [SNOOZE_IN_PAST]


def test_a_priority_set_by_hand_is_manual_with_the_persons_name_as_reason(world, item):
    world.agent_a.first_name, world.agent_a.last_name = "Sam", "Agent"
    world.agent_a.save()

    item_update(actor=world.agent_a, item=item, priority="urgent")

    stored = FeedbackItem.objects.get(pk=item.pk)
    assert (stored.priority, stored.priority_manual, stored.priority_reason) == (
        ItemPriority.URGENT,
        True,
        "set by Sam Agent",
    )
    [entry] = entries(item, ACTION_PRIORITY)
    assert entry.changes["priority"] == {"before": "normal", "after": "urgent"}
    assert entry.changes["priority_manual"] == {"before": False, "after": True}


def test_a_person_without_a_full_name_is_named_by_login(world, item):
    item_update(actor=world.lead_a, item=item, priority="high")

    assert FeedbackItem.objects.get(pk=item.pk).priority_reason == "set by lead_a"


def test_snooze_until_a_future_time_and_clear_it(world, item):
    later = NOW + timedelta(hours=4)

    item_update(actor=world.agent_a, item=item, snoozed_until=later, now=NOW)
    assert FeedbackItem.objects.get(pk=item.pk).snoozed_until == later
    item_update(actor=world.agent_a, item=item, snoozed_until=None, now=NOW)

    stored = FeedbackItem.objects.get(pk=item.pk)
    assert (stored.snoozed_until, stored.status) == (None, ItemStatus.OPEN)
    assert [entry.changes for entry in entries(item, ACTION_SNOOZE)] == [
        {"snoozed_until": {"before": None, "after": later.isoformat()}},
        {"snoozed_until": {"before": later.isoformat(), "after": None}},
    ]


def test_a_snooze_without_a_time_zone_or_now_is_refused(world, item):
    with pytest.raises(ValidationError) as naive:
        item_update(actor=world.agent_a, item=item, snoozed_until=datetime(2026, 3, 6, 9), now=NOW)
    with pytest.raises(ValidationError) as now:
        item_update(actor=world.agent_a, item=item, snoozed_until=NOW, now=NOW)

    assert naive.value.message_dict == {"snoozed_until": [SNOOZE_NAIVE]}
    assert now.value.message_dict == {"snoozed_until": [SNOOZE_IN_PAST]}


def test_a_snooze_more_than_a_year_ahead_is_refused(world, item):
    # 9999-12-31 was once stored, and every page showing it east of UTC failed (OverflowError).
    item_update(actor=world.agent_a, item=item, snoozed_until=NOW + timedelta(days=366), now=NOW)
    with pytest.raises(ValidationError) as far:
        item_update(
            actor=world.agent_a,
            item=item,
            snoozed_until=datetime(9999, 12, 31, tzinfo=UTC),
            now=NOW,
        )

    assert far.value.message_dict == {
        "snoozed_until": ["Snooze for at most a year: until 2027-03-06 at the latest."]
    }
    assert FeedbackItem.objects.get(pk=item.pk).snoozed_until == NOW + timedelta(days=366)


def test_nothing_changed_writes_nothing(world, item):
    before = FeedbackItem.objects.get(pk=item.pk).updated_at

    item_update(actor=world.agent_a, item=item, status="open", assignee=None, snoozed_until=None)

    assert FeedbackItem.objects.get(pk=item.pk).updated_at == before
    assert entries(item) == []


@pytest.mark.parametrize("persona", ["viewer_a", "member_b", "outsider"])
def test_viewers_and_other_teams_may_not_triage(world, item, persona):
    with pytest.raises(PermissionDenied):
        item_update(actor=getattr(world, persona), item=item, status="resolved")

    assert FeedbackItem.objects.get(pk=item.pk).status == ItemStatus.OPEN


# Bulk ----------------------------------------------------------------------------------------


def test_bulk_update_answers_one_result_per_item_each_changed_whole_or_not_at_all(world):
    tag = TagFactory(team=world.team_a, name="bug")
    mine = [FeedbackItemFactory(team=world.team_a) for _ in range(3)]
    theirs = FeedbackItemFactory(team=world.team_b)

    results = items_bulk_update(
        actor=world.agent_a,
        items=[*mine, theirs],
        status="waiting",
        assignee=world.agent_a,
        add_tags=[tag],
        now=NOW,
    )

    assert [(result.item_id, result.ok) for result in results] == [
        *((item.pk, True) for item in mine),
        (theirs.pk, False),
    ]
    assert "detail" in results[-1].errors
    for item in mine:
        stored = FeedbackItem.objects.get(pk=item.pk)
        assert (stored.status, stored.assignee, list(stored.tags.all())) == (
            ItemStatus.WAITING,
            world.agent_a,
            [tag],
        )
    untouched = FeedbackItem.objects.get(pk=theirs.pk)
    assert (untouched.status, untouched.assignee) == (ItemStatus.NEW, None)


def test_bulk_update_refuses_more_than_the_limit(world):
    items = [FeedbackItem(pk=n, team=world.team_a) for n in range(1, MAX_BULK_ITEMS + 2)]

    with pytest.raises(ValidationError) as refused:
        items_bulk_update(actor=world.agent_a, items=items, status="open")

    assert refused.value.message_dict == {"items": [BULK_TOO_MANY]}


def test_bulk_merge_puts_every_selected_item_into_the_oldest(world):
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    newer = FeedbackItemFactory(team=world.team_a, first_message_at=start, last_message_at=start)
    oldest = FeedbackItemFactory(
        team=world.team_a, first_message_at=start - timedelta(days=1), last_message_at=start
    )
    newest = FeedbackItemFactory(
        team=world.team_a,
        first_message_at=start + timedelta(days=1),
        last_message_at=start + timedelta(days=1),
    )
    for item in (newer, oldest, newest):
        MessageFactory(item=item, text=f"from {item.pk}")

    results = items_bulk_merge(actor=world.agent_a, items=[newer, oldest, newest])

    assert [(result.item_id, result.ok) for result in results] == [
        (newer.pk, True),
        (oldest.pk, True),
        (newest.pk, True),
    ]
    assert list(FeedbackItem.objects.values_list("pk", flat=True)) == [oldest.pk]
    assert Message.objects.filter(item=oldest).count() == 3


def test_bulk_merge_into_a_chosen_item_that_must_be_selected(world):
    one, two, other = (FeedbackItemFactory(team=world.team_a) for _ in range(3))

    with pytest.raises(ValidationError) as refused:
        items_bulk_merge(actor=world.agent_a, items=[one, two], into=other)
    results = items_bulk_merge(actor=world.agent_a, items=[one, two], into=two)

    assert refused.value.message_dict == {"into": [MERGE_TARGET_NOT_SELECTED]}
    assert [result.ok for result in results] == [True, True]
    assert set(FeedbackItem.objects.values_list("pk", flat=True)) == {two.pk, other.pk}


def test_a_bulk_merge_refused_for_every_item_says_so_on_the_kept_one(world):
    # A viewer of the team: each merge is refused, and the kept item's row says nothing was
    # merged (not "choose what to change", which is the status and tag actions' message).
    older, newer = FeedbackItemFactory(team=world.team_a), FeedbackItemFactory(team=world.team_a)

    results = items_bulk_merge(actor=world.viewer_a, items=[older, newer])

    rows = {result.item_id: result for result in results}
    assert rows[newer.pk].status == 403
    assert rows[older.pk].errors == {"detail": [MERGE_NOTHING_MERGED]}
    assert FeedbackItem.objects.count() == 2


def test_bulk_merge_of_one_item_asks_for_two(world):
    one = FeedbackItemFactory(team=world.team_a)

    [result] = items_bulk_merge(actor=world.agent_a, items=[one])

    assert (result.ok, result.status, result.errors) == (False, 400, {"detail": [MERGE_NEEDS_TWO]})
    assert MERGE_NEEDS_TWO == "Select at least two items to merge."


def test_a_tag_both_added_and_removed_is_refused(world, item):
    tag = TagFactory(team=world.team_a, name="billing")

    with pytest.raises(ValidationError) as refused:
        item_update(actor=world.agent_a, item=item, add_tags=[tag], remove_tags=[tag])

    assert refused.value.message_dict == {
        "remove_tags": [TAG_ADDED_AND_REMOVED.format(tag="billing")]
    }
    assert not FeedbackItem.objects.get(pk=item.pk).tags.exists()


def test_bulk_merge_of_a_viewer_merges_nothing(world):
    one, two = (FeedbackItemFactory(team=world.team_a) for _ in range(2))

    results = items_bulk_merge(actor=world.viewer_a, items=[one, two])

    assert [result.ok for result in results] == [False, False]
    assert FeedbackItem.objects.count() == 2


def test_priority_back_to_automatic_takes_the_rules_priority_and_reason(world):
    from feedback.services.sla import REASON_VIP

    customer = CustomerFactory(tier=Tier.VIP)
    item = FeedbackItemFactory(team=world.team_a, customer=customer)
    item_update(actor=world.agent_a, item=item, priority="normal")

    item_update(actor=world.agent_a, item=item, priority=PRIORITY_AUTOMATIC)

    stored = FeedbackItem.objects.get(pk=item.pk)
    assert (stored.priority, stored.priority_manual, stored.priority_reason) == (
        ItemPriority.URGENT,
        False,
        REASON_VIP,
    )
    last = entries(item, ACTION_PRIORITY)[-1]
    assert last.changes["priority_manual"] == {"before": True, "after": False}


def test_a_priority_change_moves_the_due_times_to_its_policy(world, item):
    SlaPolicy.objects.create(
        team=world.team_a, priority="normal", first_response_hours=24, resolution_hours=72
    )
    SlaPolicy.objects.create(
        team=world.team_a, priority="urgent", first_response_hours=1, resolution_hours=8
    )
    start = item.first_message_at

    item_update(actor=world.agent_a, item=item, priority="urgent", now=NOW)

    stored = FeedbackItem.objects.get(pk=item.pk)
    assert stored.first_response_due_at == start + timedelta(hours=1)
    assert stored.resolution_due_at == start + timedelta(hours=8)
