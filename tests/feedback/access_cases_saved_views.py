"""The saved views API in the access matrix. A shared view of team A: leads and above delete
it, agents and viewers may not (403), member_b does not see it (404). Creating a personal view
needs the agent role in its team; member_b does not see team A, so its id is no team (400)."""

from feedback.services.saved_views import saved_view_create
from tests.access import Case, Objects, expect, url

CASES: dict[str, Case] = {
    "api:feedback-saved-view-list": Case(
        url("api:feedback-saved-view-list"),
        expect(401, 403, 201, 201, 201, 400, 201),
        method="post",
        data=lambda o: {"team": o["saved_view_team"], "name": "Open", "params": "status=open"},
    ),
    "api:feedback-saved-view-detail": Case(
        url("api:feedback-saved-view-detail", "api_saved_view"),
        expect(401, 403, 403, 204, 204, 404, 204),
        method="delete",
    ),
}


def objects(world) -> Objects:
    view = saved_view_create(
        actor=world.lead_a,
        team=world.team_a,
        name="Urgent",
        params={"priority": ["urgent"]},
        shared=True,
    )
    return {"api_saved_view": view.pk, "saved_view_team": world.team_a.pk}
