"""Service levels and priority customers in the access matrix: every member of the team reads
the settings page and the API; its leads (and admins) change them; member_b (admin of team B)
gets 404 for team A's."""

from feedback.models import SlaPolicy
from tests.access import LOGIN, REDIRECT, TEAM_A_PAGE, Case, Objects, expect, url

TEAM_A_LEAD_POST = expect(LOGIN, 403, 403, REDIRECT, REDIRECT, 404, REDIRECT)

CASES: dict[str, Case] = {
    "feedback:sla_settings": Case(url("feedback:sla_settings", "team-a"), TEAM_A_PAGE),
    "feedback:sla_rules": Case(
        url("feedback:sla_rules", "team-a"),
        TEAM_A_LEAD_POST,
        method="post",
        data=lambda o: {"priority_plans": "Enterprise", "priority_mrr_threshold": "5000"},
    ),
}


def objects(world) -> Objects:
    policy = SlaPolicy.objects.create(
        team=world.team_a, priority="urgent", first_response_hours=1, resolution_hours=8
    )
    return {"sla_policy": policy.pk}
