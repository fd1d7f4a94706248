"""Service levels and priority customers in the access matrix: every member of the team reads
the settings page and the API; its leads (and admins) change them; member_b (admin of team B)
gets 404 for team A's."""

from feedback.models import SlaPolicy
from tests.access import (
    API_ORG,
    API_TEAM_A,
    LOGIN,
    REDIRECT,
    TEAM_A_PAGE,
    Case,
    Objects,
    expect,
    url,
)

TEAM_A_LEAD_POST = expect(LOGIN, 403, 403, REDIRECT, REDIRECT, 404, REDIRECT)

CASES: dict[str, Case] = {
    "feedback:sla_settings": Case(url("feedback:sla_settings", "team-a"), TEAM_A_PAGE),
    "feedback:sla_rules": Case(
        url("feedback:sla_rules", "team-a"),
        TEAM_A_LEAD_POST,
        method="post",
        data=lambda o: {"priority_plans": "Enterprise", "priority_mrr_threshold": "5000"},
    ),
    "api:feedback-sla-policy-list": Case(url("api:feedback-sla-policy-list"), API_ORG),
    "api:feedback-sla-policy-detail": Case(
        url("api:feedback-sla-policy-detail", "sla_policy"), API_TEAM_A
    ),
    "api:feedback-inbox-settings-detail": Case(
        url("api:feedback-inbox-settings-detail", "sla_team"), API_TEAM_A
    ),
}


def objects(world) -> Objects:
    policy = SlaPolicy.objects.create(
        team=world.team_a, priority="urgent", first_response_hours=1, resolution_hours=8
    )
    return {"sla_policy": policy.pk, "sla_team": world.team_a.pk}
