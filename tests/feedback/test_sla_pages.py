"""The service levels page: SLA policies and priority-customer rules, plain and through htmx."""

from decimal import Decimal

import pytest
from django.urls import reverse

from feedback.models import InboxSettings, SlaPolicy
from feedback.services import sla_settings
from feedback.views import sla as sla_views
from portal.models import AuditEntry

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}

POLICIES = {
    "normal_first_response_hours": "8",
    "normal_resolution_hours": "48",
    "high_first_response_hours": "4",
    "high_resolution_hours": "24",
    "urgent_first_response_hours": "",
    "urgent_resolution_hours": "",
}


def page_url(slug: str = "team-a") -> str:
    return reverse("feedback:sla_settings", args=[slug])


def rules_url(slug: str = "team-a") -> str:
    return reverse("feedback:sla_rules", args=[slug])


def policies(team) -> dict[str, tuple[int, int]]:
    return {
        p.priority: (p.first_response_hours, p.resolution_hours)
        for p in SlaPolicy.objects.filter(team=team)
    }


def test_a_lead_sees_the_forms_and_saves_policies_plainly(client, world):
    client.force_login(world.lead_a)

    page = client.get(page_url())
    assert page.status_code == 200
    assert b"<html" in page.content and b'id="sla-policies-form"' in page.content

    response = client.post(page_url(), POLICIES)

    assert response.status_code == 302 and response.headers["Location"] == page_url()
    assert policies(world.team_a) == {"normal": (8, 48), "high": (4, 24)}
    assert AuditEntry.objects.filter(action=sla_settings.ACTION_POLICY_CREATED).count() == 2
    shown = client.get(page_url()).content.decode()
    assert sla_views.POLICIES_SAVED.format(team=world.team_a) in shown
    assert 'value="48"' in shown


def test_emptying_a_priority_removes_its_policy_and_changes_are_audited(client, world):
    client.force_login(world.lead_a)
    client.post(page_url(), POLICIES)

    client.post(
        page_url(),
        {
            **POLICIES,
            "high_first_response_hours": "",
            "high_resolution_hours": "",
            "normal_resolution_hours": "72",
        },
    )

    assert policies(world.team_a) == {"normal": (8, 72)}
    assert AuditEntry.objects.filter(action=sla_settings.ACTION_POLICY_DELETED).count() == 1
    updated = AuditEntry.objects.get(action=sla_settings.ACTION_POLICY_UPDATED)
    assert updated.changes == {"resolution_hours": {"before": 48, "after": 72}}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"normal_resolution_hours": "4"},
            "normal_resolution_hours",
            sla_settings.RESOLUTION_BEFORE_FIRST_RESPONSE.format(hours=8),
        ),
        (
            {"urgent_first_response_hours": "1"},
            "urgent_resolution_hours",
            sla_views.BOTH_OR_NEITHER,
        ),
        (
            {"high_first_response_hours": "0"},
            "high_first_response_hours",
            "greater than or equal to 1",
        ),
        ({"high_first_response_hours": "two"}, "high_first_response_hours", "whole number"),
    ],
)
def test_bad_hours_come_back_in_the_form_through_htmx(client, world, changes, field, message):
    client.force_login(world.lead_a)

    response = client.post(page_url(), {**POLICIES, **changes}, **HTMX)

    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body and body.startswith('<form id="sla-policies-form"')
    assert message in body
    assert f'id="id_{field}-error"' in body
    assert response.headers["Vary"].count("HX-Request") == 1
    assert SlaPolicy.objects.count() == 0


def test_bad_hours_of_every_priority_come_back_in_one_answer(client, world):
    client.force_login(world.lead_a)
    changes = {
        "normal_first_response_hours": "0",
        "normal_resolution_hours": "-3",
        "high_first_response_hours": "100",
        "high_resolution_hours": "10",
    }

    body = client.post(page_url(), {**POLICIES, **changes}, **HTMX).content.decode()

    assert 'id="id_normal_first_response_hours-error"' in body
    assert 'id="id_normal_resolution_hours-error"' in body
    assert 'id="id_high_resolution_hours-error"' in body
    assert sla_settings.RESOLUTION_BEFORE_FIRST_RESPONSE.format(hours=100) in body
    assert SlaPolicy.objects.count() == 0


def test_a_saved_form_through_htmx_redirects_the_browser(client, world):
    client.force_login(world.lead_a)

    response = client.post(page_url(), POLICIES, **HTMX)

    assert response.status_code == 200 and response.headers["HX-Redirect"] == page_url()
    assert policies(world.team_a)["high"] == (4, 24)


def test_the_rules_are_saved_and_shown_again(client, world):
    client.force_login(world.lead_a)

    response = client.post(
        rules_url(), {"priority_plans": "Enterprise, Scale\n", "priority_mrr_threshold": "5000"}
    )

    assert response.status_code == 302
    saved = InboxSettings.objects.get(team=world.team_a)
    assert saved.priority_plans == ["Enterprise", "Scale"]
    assert saved.priority_mrr_threshold == Decimal("5000.00")
    assert AuditEntry.objects.filter(action=sla_settings.ACTION_SETTINGS_UPDATED).count() == 1
    assert "5000.00" in client.get(page_url()).content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"priority_plans": "Scale\nscale"}, sla_settings.PLAN_TWICE.format(plan="scale")),
        ({"priority_plans": "x" * 61}, "at most 60 characters"),
        ({"priority_mrr_threshold": "-1"}, sla_settings.MRR_NEGATIVE),
        ({"priority_mrr_threshold": "5,000"}, "comma"),
        ({"priority_mrr_threshold": "1.234"}, sla_settings.MRR_TOO_LARGE),
    ],
)
def test_bad_rules_come_back_in_the_form(client, world, data, message):
    client.force_login(world.lead_a)

    response = client.post(rules_url(), data, **HTMX)

    assert response.status_code == 200
    body = response.content.decode()
    assert body.startswith('<form id="sla-rules-form"')
    assert message.replace("'", "&#x27;") in body or message in body
    assert not InboxSettings.objects.exists()


def test_members_below_lead_read_the_page_but_may_not_change_it(client, world):
    SlaPolicy.objects.create(
        team=world.team_a, priority="urgent", first_response_hours=1, resolution_hours=8
    )
    client.force_login(world.agent_a)

    page = client.get(page_url()).content.decode()

    assert 'id="sla-policies-form"' not in page
    assert "1 h" in page and "No policy" in page
    assert client.post(page_url(), POLICIES).status_code == 403
    assert client.post(rules_url(), {"priority_plans": "x"}).status_code == 403
    assert policies(world.team_a) == {"urgent": (1, 8)}


def test_another_teams_page_is_not_found(client, world):
    client.force_login(world.member_b)

    assert client.get(page_url()).status_code == 404
    assert client.post(rules_url(), {"priority_plans": "x"}).status_code == 404
