"""Two breach runs at once (a retried task beside the next beat) on PostgreSQL: each breach is
marked, escalated and notified once."""

import threading
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.db import connection

from feedback.models import FeedbackItem, SlaPolicy
from feedback.services import sla
from portal.models import AuditEntry, Notification, Role
from tests.conftest import require_service
from tests.factories import MembershipFactory, TeamFactory
from tests.feedback.factories import FeedbackItemFactory

START = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_mark_and_notify_each_breach_once():
    """Both runs read the same candidates before either claims one; the second run's guarded
    UPDATE waits for the first's row lock, then finds the breach stamped. Real concurrency
    needs PostgreSQL (SQLite's test database is one connection's)."""
    require_service(
        connection.vendor == "postgresql", "this test runs on PostgreSQL: set DATABASE_URL"
    )
    team = TeamFactory()
    for role in (Role.LEAD, Role.ADMIN, Role.AGENT):
        MembershipFactory(team=team, role=role)
    SlaPolicy.objects.create(
        team=team, priority="normal", first_response_hours=1, resolution_hours=2
    )
    items = [
        FeedbackItemFactory(
            team=team,
            first_message_at=START,
            last_message_at=START,
            first_response_due_at=START + timedelta(hours=1),
            resolution_due_at=START + timedelta(hours=2),
        )
        for _ in range(3)
    ]
    real = sla._breach_mark
    both_read = threading.Barrier(2, timeout=30)
    local = threading.local()

    def claim_after_both_read(breach, item_id, now):
        if not getattr(local, "waited", False):
            local.waited = True
            both_read.wait()
        return real(breach, item_id, now)

    marked: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            marked.append(sla.sla_breaches_mark(START + timedelta(hours=3)))
        except Exception as error:  # noqa: BLE001 (reported below, in the test's thread)
            errors.append(error)
        finally:
            connection.close()

    with mock.patch.object(sla, "_breach_mark", claim_after_both_read):
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert errors == []
    # Three items, two breaches each, shared between the runs.
    assert sum(marked) == 6
    # One notification per breach to each of the lead and the admin.
    assert Notification.objects.filter(kind=sla.BREACH_KIND).count() == 12
    assert AuditEntry.objects.filter(action=sla.ACTION_BREACHED).count() == 6
    for item in FeedbackItem.objects.filter(pk__in=[i.pk for i in items]):
        # Raised once per breach: normal, then high, then urgent.
        assert item.priority == "urgent"
