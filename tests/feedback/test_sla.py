"""Priority customers and service levels (feedback.services.sla), with an injected clock."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from feedback import services
from feedback.models import FeedbackItem, InboxSettings, ItemPriority, ItemStatus, SlaPolicy
from feedback.services import sla
from feedback.tasks import mark_sla_breaches
from portal.actors import SYSTEM
from portal.models import AuditEntry, Notification, Tier
from portal.services.directory import account_update, customer_update
from tests.factories import AccountFactory, CustomerFactory
from tests.feedback.factories import FeedbackItemFactory, sla_policies

START = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
RULES = sla.PriorityRules(plans=frozenset({"enterprise"}), mrr_threshold=Decimal("5000.00"))


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


@pytest.fixture
def policies(world):
    sla_policies(world.team_a)


def item(world, **fields) -> FeedbackItem:
    fields.setdefault("team", world.team_a)
    fields.setdefault("first_message_at", START)
    fields.setdefault("last_message_at", fields["first_message_at"])
    return FeedbackItemFactory(**fields)


def started(world, **fields) -> FeedbackItem:
    created = item(world, **fields)
    sla.item_sla_start(item_id=created.pk)
    created.refresh_from_db()
    return created


# The rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "plan", "mrr", "expected"),
    [
        (Tier.STANDARD, "growth", Decimal("100"), ("normal", "")),
        (Tier.VIP, "growth", Decimal("100"), ("urgent", sla.REASON_VIP)),
        (Tier.PRIORITY, "growth", Decimal("100"), ("high", sla.REASON_PRIORITY_TIER)),
        (Tier.STANDARD, "ENTERPRISE", Decimal("100"), ("high", "plan ENTERPRISE")),
        (Tier.STANDARD, "growth", Decimal("5000.00"), ("high", "MRR ≥ 5,000.00")),
        (Tier.STANDARD, "growth", Decimal("4999.99"), ("normal", "")),
        # The highest level wins; of equal levels the tier, then the plan, then MRR says why.
        (Tier.VIP, "enterprise", Decimal("9000"), ("urgent", sla.REASON_VIP)),
        (Tier.PRIORITY, "enterprise", Decimal("9000"), ("high", sla.REASON_PRIORITY_TIER)),
        (Tier.STANDARD, "Enterprise", Decimal("9000"), ("high", "plan Enterprise")),
        (None, None, None, ("normal", "")),
    ],
)
def test_priority_from_tier_plan_and_mrr(tier, plan, mrr, expected):
    assert sla.priority_from(tier=tier, plan=plan, mrr=mrr, rules=RULES) == expected


def test_without_settings_only_the_tier_counts():
    rules = sla.PriorityRules()

    assert sla.priority_from(tier="standard", plan="x", mrr=Decimal("1e9"), rules=rules) == (
        "normal",
        "",
    )


@pytest.mark.django_db
def test_item_priority_for_reads_the_customer_account_and_team_settings(world):
    InboxSettings.objects.create(team=world.team_a, priority_plans=["Enterprise"])
    customer = CustomerFactory(account=AccountFactory(plan="enterprise"))

    assert sla.item_priority_for(item(world, customer=customer)) == ("high", "plan enterprise")
    # Team B has no such rule.
    assert sla.item_priority_for(item(world, team=world.team_b, customer=customer)) == (
        "normal",
        "",
    )
    assert sla.item_priority_for(item(world)) == ("normal", "")


# Due times -----------------------------------------------------------------------------------


def test_a_new_item_gets_its_priority_and_due_times_after_its_commit(
    world, policies, django_capture_on_commit_callbacks
):
    CustomerFactory(email="vip@example.test", tier=Tier.VIP)

    with django_capture_on_commit_callbacks(execute=True):
        created, _ = services.item_ingest(
            actor=SYSTEM,
            team=world.team_a,
            customer_email="vip@example.test",
            text="The export fails.",
            received_at=START,
            now=START + hours(0.1),
        )

    created.refresh_from_db()
    assert (created.priority, created.priority_reason) == ("urgent", sla.REASON_VIP)
    assert created.first_response_due_at == START + hours(1)
    assert created.resolution_due_at == START + hours(8)


def test_due_times_follow_the_policy_of_the_priority(world, policies):
    normal = started(world)
    high = started(world, customer=CustomerFactory(tier=Tier.PRIORITY))

    assert (normal.first_response_due_at, normal.resolution_due_at) == (
        START + hours(8),
        START + hours(48),
    )
    assert (high.first_response_due_at, high.resolution_due_at) == (
        START + hours(4),
        START + hours(24),
    )


def test_no_policy_for_the_priority_means_no_due_times(world):
    SlaPolicy.objects.create(
        team=world.team_a, priority="urgent", first_response_hours=1, resolution_hours=2
    )
    created = started(world)

    assert created.first_response_due_at is None and created.resolution_due_at is None


def test_a_manual_priority_is_kept_and_gets_its_own_due_times(world, policies):
    created = started(
        world,
        customer=CustomerFactory(tier=Tier.VIP),
        priority="high",
        priority_manual=True,
        priority_reason="set by Sam",
    )

    assert (created.priority, created.priority_reason) == ("high", "set by Sam")
    assert created.first_response_due_at == START + hours(4)


def test_starting_twice_writes_the_same_values(world, policies):
    created = started(world, customer=CustomerFactory(tier=Tier.PRIORITY))
    sla.item_sla_start(item_id=created.pk)
    again = FeedbackItem.objects.get(pk=created.pk)

    assert (again.priority, again.first_response_due_at, again.resolution_due_at) == (
        created.priority,
        created.first_response_due_at,
        created.resolution_due_at,
    )
    assert sla.item_sla_start(item_id=10**9) is False


def test_a_reopened_item_gets_a_fresh_resolution_period(world, policies):
    created = started(world, status=ItemStatus.OPEN, resolution_breached_at=START + hours(49))
    reopened_at = START + hours(100)

    assert sla.item_sla_restart(item_id=created.pk, now=reopened_at)

    created.refresh_from_db()
    assert created.resolution_due_at == reopened_at + hours(48)
    assert created.resolution_breached_at is None
    # The first response stays as it was.
    assert created.first_response_due_at == START + hours(8)


@pytest.mark.parametrize("closed", [ItemStatus.RESOLVED, ItemStatus.SPAM])
def test_reopening_by_hand_restarts_the_resolution_period(
    world, policies, closed, django_capture_on_commit_callbacks
):
    # Once only ingestion reopened: an item reopened by hand kept its old due time and was
    # escalated as breached by the next run of the breach task.
    created = started(world, status=ItemStatus.OPEN)
    services.item_update(actor=world.agent_a, item=created, status=closed)
    before = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        services.item_update(actor=world.agent_a, item=created, status=ItemStatus.OPEN)

    created.refresh_from_db()
    assert created.resolved_at is None
    assert before + hours(48) <= created.resolution_due_at <= timezone.now() + hours(48)
    sla.sla_breaches_mark(now=timezone.now())
    created.refresh_from_db()
    assert created.resolution_breached_at is None


def test_a_closed_item_is_not_restarted(world, policies):
    created = started(world, status=ItemStatus.RESOLVED)

    assert not sla.item_sla_restart(item_id=created.pk, now=START + hours(3))
    created.refresh_from_db()
    assert created.resolution_due_at == START + hours(48)


# Breaches ------------------------------------------------------------------------------------


def breach_notifications():
    return Notification.objects.filter(kind=sla.BREACH_KIND).order_by("user__username", "pk")


def test_a_missed_first_response_is_marked_escalated_and_told_to_each_lead(world, policies):
    late = started(world, subject="Export broken")
    started(world, first_message_at=START + hours(2))  # due at 10:00 + 8h: not yet
    now = START + hours(8.5)

    assert sla.sla_breaches_mark(now) == 1

    late.refresh_from_db()
    assert late.first_response_breached_at == now
    assert late.escalated_at == now
    assert (late.priority, late.priority_reason) == ("high", sla.REASON_FIRST_RESPONSE_BREACHED)
    assert late.resolution_breached_at is None
    notes = breach_notifications()
    assert [n.user.username for n in notes] == ["admin_a", "lead_a"]
    assert {(n.subject, n.url) for n in notes} == {
        ("SLA breached: Export broken", f"/inbox/{late.pk}/")
    }
    entry = AuditEntry.objects.get(action=sla.ACTION_BREACHED, target_id=late.pk)
    assert entry.changes["priority"] == {"before": "normal", "after": "high"}
    assert entry.team == world.team_a


def test_the_task_run_twice_marks_and_notifies_each_breach_once(world, policies):
    late = started(world)
    now = START + hours(9)

    assert sla.sla_breaches_mark(now) == 1
    assert sla.sla_breaches_mark(now + hours(0.1)) == 0

    late.refresh_from_db()
    assert late.priority == "high"  # raised once, not at every run
    assert late.first_response_breached_at == now
    assert breach_notifications().count() == 2


def test_an_answered_item_misses_no_first_response(world, policies):
    started(world, first_responded_at=START + hours(1))

    assert sla.sla_breaches_mark(START + hours(9)) == 0
    assert breach_notifications().count() == 0


def test_a_missed_resolution_is_marked_and_raises_the_priority_again(world, policies):
    late = started(world, first_responded_at=START + hours(1))

    assert sla.sla_breaches_mark(START + hours(49)) == 1

    late.refresh_from_db()
    assert late.first_response_breached_at is None
    assert late.resolution_breached_at == START + hours(49)
    assert (late.priority, late.priority_reason) == ("high", sla.REASON_RESOLUTION_BREACHED)


def test_both_breaches_each_raise_one_step_and_urgent_stays_urgent(world, policies):
    late = started(world)
    urgent = started(world, customer=CustomerFactory(tier=Tier.VIP))
    now = START + hours(50)

    assert sla.sla_breaches_mark(now) == 4

    late.refresh_from_db()
    urgent.refresh_from_db()
    assert late.priority == "urgent"
    assert (urgent.priority, urgent.priority_reason) == ("urgent", sla.REASON_VIP)
    assert urgent.escalated_at == now
    # Each breach is told once to each lead.
    assert breach_notifications().count() == 8


def test_a_manual_priority_is_not_raised_but_the_item_is_escalated(world, policies):
    manual = started(world, priority="normal", priority_manual=True, priority_reason="set by Sam")
    now = START + hours(9)

    sla.sla_breaches_mark(now)

    manual.refresh_from_db()
    assert (manual.priority, manual.priority_reason) == ("normal", "set by Sam")
    assert manual.escalated_at == now
    assert breach_notifications().count() == 2


def test_resolved_and_spam_items_breach_nothing(world, policies):
    started(world, status=ItemStatus.RESOLVED)
    started(world, status=ItemStatus.SPAM)

    assert sla.sla_breaches_mark(START + hours(100)) == 0


def test_without_policies_nothing_is_due_and_nothing_breaches(world):
    created = started(world)

    assert mark_sla_breaches.delay().get() == 0
    created.refresh_from_db()
    assert created.escalated_at is None
    assert breach_notifications().count() == 0


def test_the_breach_task_is_on_the_beat_schedule_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["feedback-mark-sla-breaches"]

    assert entry["task"] == mark_sla_breaches.name
    assert entry["schedule"] == 60


# A customer's tier or account changes -------------------------------------------------------


def test_a_customers_new_tier_reaches_their_open_items(
    world, policies, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(tier=Tier.STANDARD)
    open_item = started(world, customer=customer, status=ItemStatus.OPEN)
    resolved = started(world, customer=customer, status=ItemStatus.RESOLVED)
    manual = started(
        world, customer=customer, priority="normal", priority_manual=True, priority_reason="x"
    )

    with django_capture_on_commit_callbacks(execute=True):
        customer_update(actor=world.agent_a, customer=customer, tier=Tier.VIP)

    open_item.refresh_from_db()
    assert (open_item.priority, open_item.priority_reason) == ("urgent", sla.REASON_VIP)
    assert open_item.first_response_due_at == START + hours(1)
    assert open_item.resolution_due_at == START + hours(8)
    resolved.refresh_from_db()
    assert resolved.priority == "normal"
    manual.refresh_from_db()
    assert (manual.priority, manual.priority_reason) == ("normal", "x")
    assert AuditEntry.objects.filter(
        action=sla.ACTION_PRIORITY_EVALUATED, target_id=open_item.pk
    ).exists()
    # Nothing changes when the customer is saved again.
    assert sla.customer_items_priority_refresh(customer_id=customer.pk) == 0


def test_items_moved_by_a_customer_merge_take_the_kept_customers_priority(world, policies):
    # Once the moved items kept the merged customer's priority: a VIP's item stayed normal.
    vip = CustomerFactory(tier=Tier.VIP)
    stranger = CustomerFactory(tier=Tier.STANDARD)
    moved = started(world, customer=stranger)
    closed = started(world, customer=stranger, status=ItemStatus.RESOLVED)
    assert moved.priority == "normal"

    assert services.customer_items_move(source_id=stranger.pk, target_id=vip.pk) == 2

    moved.refresh_from_db()
    closed.refresh_from_db()
    assert (moved.customer, moved.priority, moved.priority_reason) == (
        vip,
        "urgent",
        sla.REASON_VIP,
    )
    assert (closed.customer, closed.priority) == (vip, "normal")


def test_a_lower_tier_lowers_the_automatic_priority_but_not_an_escalation(world, policies):
    customer = CustomerFactory(tier=Tier.VIP)
    plain = started(world, customer=customer)
    escalated = started(world, customer=customer)
    FeedbackItem.objects.filter(pk=escalated.pk).update(escalated_at=START + hours(2))
    customer.tier = Tier.STANDARD
    customer.save()

    assert sla.customer_items_priority_refresh(customer_id=customer.pk) == 1

    plain.refresh_from_db()
    escalated.refresh_from_db()
    assert (plain.priority, plain.priority_reason) == ("normal", "")
    assert plain.first_response_due_at == START + hours(8)
    assert escalated.priority == "urgent"


def test_a_reopened_items_restart_is_kept_when_its_priority_changes(world, policies):
    customer = CustomerFactory(tier=Tier.STANDARD)
    created = started(world, customer=customer, status=ItemStatus.OPEN)
    reopened_at = START + hours(100)
    sla.item_sla_restart(item_id=created.pk, now=reopened_at)
    customer.tier = Tier.PRIORITY
    customer.save()

    sla.customer_items_priority_refresh(customer_id=customer.pk)

    created.refresh_from_db()
    assert created.priority == "high"
    assert created.resolution_due_at == reopened_at + hours(24)


def test_an_account_plan_counts_when_the_customer_is_saved(world, policies):
    InboxSettings.objects.create(
        team=world.team_a, priority_plans=["Enterprise"], priority_mrr_threshold=Decimal("5000")
    )
    account = AccountFactory(plan="growth", mrr=Decimal("100"))
    customer = CustomerFactory(account=account)
    created = started(world, customer=customer)
    assert created.priority == "normal"
    account_update(actor=world.agent_a, account=account, mrr=Decimal("7500"))

    sla.customer_items_priority_refresh(customer_id=customer.pk)

    created.refresh_from_db()
    assert (created.priority, created.priority_reason) == ("high", "MRR ≥ 5,000.00")
    assert created.priority == ItemPriority.HIGH


def test_an_accounts_new_plan_reaches_its_customers_open_items(
    world, policies, django_capture_on_commit_callbacks
):
    InboxSettings.objects.create(team=world.team_a, priority_plans=["Enterprise"])
    account = AccountFactory(plan="growth")
    first, second = CustomerFactory(account=account), CustomerFactory(account=account)
    items = [started(world, customer=first), started(world, customer=second)]
    elsewhere = started(world, customer=CustomerFactory())

    with django_capture_on_commit_callbacks(execute=True):
        account_update(actor=world.agent_a, account=account, plan="Enterprise")

    for item in items:
        item.refresh_from_db()
        assert (item.priority, item.priority_reason) == ("high", "plan Enterprise")
    elsewhere.refresh_from_db()
    assert elsewhere.priority == "normal"
    # Saving the account again changes nothing more.
    assert sla.account_items_priority_refresh(account_id=account.pk) == 0
