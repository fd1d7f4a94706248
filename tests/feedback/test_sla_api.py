"""The API of SLA policies and inbox settings: who reads and writes, and bad values as field
errors."""

from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from feedback.models import InboxSettings, SlaPolicy
from feedback.services import sla_settings
from portal.models import AuditEntry

pytestmark = pytest.mark.django_db
LIST = reverse("api:feedback-sla-policy-list")


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def detail(policy: SlaPolicy) -> str:
    return reverse("api:feedback-sla-policy-detail", args=[policy.pk])


def settings_url(team) -> str:
    return reverse("api:feedback-inbox-settings-detail", args=[team.pk])


@pytest.fixture
def policy(world) -> SlaPolicy:
    return SlaPolicy.objects.create(
        team=world.team_a, priority="normal", first_response_hours=8, resolution_hours=48
    )


def test_a_lead_creates_a_policy(world):
    body = {"team": world.team_a.pk, "priority": "urgent"}
    body |= {"first_response_hours": 1, "resolution_hours": 8}

    response = api(world.lead_a).post(LIST, body, format="json")

    assert response.status_code == 201, response.json()
    assert response.json() == {"id": response.json()["id"], **body}
    assert AuditEntry.objects.filter(action=sla_settings.ACTION_POLICY_CREATED).count() == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"priority": "soon"}, "priority", sla_settings.PRIORITY_UNKNOWN.format(value="soon")),
        (
            {"resolution_hours": 2, "first_response_hours": 4},
            "resolution_hours",
            sla_settings.RESOLUTION_BEFORE_FIRST_RESPONSE.format(hours=4),
        ),
        ({"first_response_hours": 0}, "first_response_hours", None),
        ({"first_response_hours": "x"}, "first_response_hours", None),
        ({"priority": "normal"}, "priority", None),  # the fixture's policy exists
    ],
)
def test_bad_values_answer_400_with_field_errors(world, policy, changes, field, message):
    body = {"team": world.team_a.pk, "priority": "high"}
    body |= {"first_response_hours": 4, "resolution_hours": 24, **changes}

    response = api(world.lead_a).post(LIST, body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    if message:
        assert response.json()[field] == [message]
    assert SlaPolicy.objects.count() == 1


def test_viewers_read_and_may_not_write(world, policy):
    viewer = api(world.viewer_a)

    listed = viewer.get(LIST).json()["results"]
    assert [row["id"] for row in listed] == [policy.pk]
    assert viewer.get(detail(policy)).status_code == 200
    assert viewer.patch(detail(policy), {"resolution_hours": 9}, format="json").status_code == 403
    assert viewer.delete(detail(policy)).status_code == 403
    body = {"team": world.team_a.pk, "priority": "high"}
    body |= {"first_response_hours": 4, "resolution_hours": 24}
    assert api(world.agent_a).post(LIST, body, format="json").status_code == 403


def test_a_lead_changes_and_deletes_a_policy(world, policy):
    lead = api(world.lead_a)

    changed = lead.patch(detail(policy), {"resolution_hours": 72}, format="json")
    assert changed.status_code == 200 and changed.json()["resolution_hours"] == 72
    refused = lead.patch(detail(policy), {"resolution_hours": 2}, format="json")
    assert refused.status_code == 400 and "resolution_hours" in refused.json()

    assert lead.delete(detail(policy)).status_code == 204
    assert not SlaPolicy.objects.exists()


def test_another_teams_policies_are_not_found(world, policy):
    other = api(world.member_b)

    assert other.get(LIST).json()["results"] == []
    assert other.get(detail(policy)).status_code == 404
    assert other.patch(detail(policy), {"resolution_hours": 9}, format="json").status_code == 404
    body = {"team": world.team_a.pk, "priority": "high"}
    body |= {"first_response_hours": 4, "resolution_hours": 24}
    created = other.post(LIST, body, format="json")
    assert created.status_code == 400 and "team" in created.json()


def test_the_list_filters_by_team_and_priority(world, policy):
    SlaPolicy.objects.create(
        team=world.team_b, priority="high", first_response_hours=1, resolution_hours=2
    )
    root = api(world.superuser)

    assert len(root.get(LIST).json()["results"]) == 2
    assert [r["id"] for r in root.get(LIST, {"team": world.team_a.pk}).json()["results"]] == [
        policy.pk
    ]
    assert root.get(LIST, {"priority": "urgent"}).json()["results"] == []
    assert root.get(LIST, {"priority": "soon"}).status_code == 400


# Inbox settings ------------------------------------------------------------------------------


def test_settings_read_as_defaults_until_saved(world):
    response = api(world.viewer_a).get(settings_url(world.team_a))

    assert response.status_code == 200
    assert response.json() == {
        "team": world.team_a.pk,
        "priority_plans": [],
        "priority_mrr_threshold": None,
        "updated_at": None,
    }


def test_a_lead_puts_the_settings(world):
    body = {"priority_plans": ["Enterprise", " Scale "], "priority_mrr_threshold": 5000}

    response = api(world.lead_a).put(settings_url(world.team_a), body, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["priority_plans"] == ["Enterprise", "Scale"]
    assert response.json()["priority_mrr_threshold"] == 5000.0
    saved = InboxSettings.objects.get(team=world.team_a)
    assert saved.priority_mrr_threshold == Decimal("5000.00")
    patched = api(world.lead_a).patch(
        settings_url(world.team_a), {"priority_mrr_threshold": None}, format="json"
    )
    assert patched.json()["priority_plans"] == ["Enterprise", "Scale"]
    assert patched.json()["priority_mrr_threshold"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"priority_plans": ["A", "a"]}, "priority_plans"),
        ({"priority_plans": [""]}, "priority_plans"),
        ({"priority_plans": "Enterprise"}, "priority_plans"),
        ({"priority_mrr_threshold": -5}, "priority_mrr_threshold"),
        ({"priority_mrr_threshold": "5,000"}, "priority_mrr_threshold"),
    ],
)
def test_bad_settings_answer_400(world, body, field):
    response = api(world.lead_a).patch(settings_url(world.team_a), body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not InboxSettings.objects.exists()


def test_settings_writes_need_a_lead_and_another_team_is_not_found(world):
    body = {"priority_plans": ["X"], "priority_mrr_threshold": None}

    assert (
        api(world.agent_a).put(settings_url(world.team_a), body, format="json").status_code == 403
    )
    assert api(world.member_b).get(settings_url(world.team_a)).status_code == 404
    assert (
        api(world.member_b).put(settings_url(world.team_a), body, format="json").status_code == 404
    )
    missing = reverse("api:feedback-inbox-settings-detail", args=[10**9])
    assert api(world.superuser).get(missing).status_code == 404


def test_both_resources_are_in_the_schema(client, world):
    client.force_login(world.superuser)

    paths = client.get(reverse("api-schema"), {"format": "json"}).json()["paths"]

    assert "/api/v1/feedback/sla-policies/{id}/" in paths
    assert set(paths["/api/v1/feedback/inbox-settings/{team}/"]) >= {"get", "put", "patch"}
