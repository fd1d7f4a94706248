"""The demo's service levels (feedback.demo.inbox): Customer Care's policies and priority
customer rules, its priority customers' items with due times, built once."""

import random
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from feedback.demo.inbox import DEMO_POLICIES, seed_inbox_settings
from feedback.models import InboxSettings, SlaPolicy
from portal.demo.parts import DEMO_ACTOR, DemoContext, SeedReport
from portal.models import Tier
from tests.factories import CustomerFactory, TeamFactory, UserFactory
from tests.feedback.factories import FeedbackItemFactory

pytestmark = pytest.mark.django_db
SENT = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def context() -> DemoContext:
    return DemoContext(rng=random.Random(1), report=SeedReport(), today=date(2026, 3, 10))


def test_customer_care_gets_policies_rules_and_due_times_once():
    UserFactory(username=DEMO_ACTOR, is_superuser=True, is_staff=True)
    team = TeamFactory(slug="customer-care", name="Customer Care")
    vip = FeedbackItemFactory(
        team=team, customer=CustomerFactory(tier=Tier.VIP), first_message_at=SENT
    )
    plain = FeedbackItemFactory(team=team, customer=CustomerFactory(), first_message_at=SENT)
    ctx = context()

    seed_inbox_settings(ctx)

    assert {
        p.priority: (p.first_response_hours, p.resolution_hours)
        for p in SlaPolicy.objects.filter(team=team)
    } == DEMO_POLICIES
    rules = InboxSettings.objects.get(team=team)
    assert rules.priority_plans == ["enterprise"]
    assert rules.priority_mrr_threshold == Decimal("5000.00")
    vip.refresh_from_db()
    plain.refresh_from_db()
    assert vip.priority == "urgent" and vip.first_response_due_at is not None
    assert plain.priority == "normal" and plain.first_response_due_at is None

    again = context()
    seed_inbox_settings(again)
    assert not again.report.created
    assert again.report.kept == {"sla policies": 2, "inbox settings": 1}


def test_without_the_team_nothing_is_set_up():
    seed_inbox_settings(context())

    assert not SlaPolicy.objects.exists()
