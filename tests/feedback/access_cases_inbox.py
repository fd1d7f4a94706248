"""The inbox list's own URLs in the access matrix: the CSV export (every member reads their
current team's view), row actions and bulk actions (agents and above of the item's team;
another team's item is no item: 404 for a row, a refusal of that item in bulk, which still
ends in the redirect back), and saved views (agents save their own; a shared view is deleted
by leads of its team)."""

from feedback.models import SavedView
from tests.access import LOGIN, ORG_PAGE, REDIRECT, Case, Objects, expect, url
from tests.feedback.factories import FeedbackItemFactory

AGENT_ANYWHERE_POST = expect(LOGIN, 403, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT)
TEAM_A_AGENT_ITEM_POST = expect(LOGIN, 403, REDIRECT, REDIRECT, REDIRECT, 404, REDIRECT)
TEAM_A_LEAD_VIEW_POST = expect(LOGIN, 403, 403, REDIRECT, REDIRECT, 404, REDIRECT)

CASES: dict[str, Case] = {
    "feedback:inbox_export": Case(url("feedback:inbox_export"), ORG_PAGE),
    "feedback:inbox_row_action": Case(
        url("feedback:inbox_row_action", "inbox_item"),
        TEAM_A_AGENT_ITEM_POST,
        method="post",
        data=lambda o: {"action": "resolve"},
    ),
    # member_b works in team B: team A's item is refused in the results, not acted on.
    "feedback:inbox_bulk": Case(
        url("feedback:inbox_bulk"),
        AGENT_ANYWHERE_POST,
        method="post",
        data=lambda o: {"items": [o["inbox_item"]], "action": "status", "status": "open"},
    ),
    "feedback:saved_view_save": Case(
        url("feedback:saved_view_save"),
        AGENT_ANYWHERE_POST,
        method="post",
        data=lambda o: {"name": "Open ones", "next": "/inbox/?status=open"},
    ),
    "feedback:saved_view_delete": Case(
        url("feedback:saved_view_delete", "inbox_shared_view"),
        TEAM_A_LEAD_VIEW_POST,
        method="post",
    ),
}


def objects(world) -> Objects:
    item = FeedbackItemFactory(team=world.team_a, subject="Matrix item")
    view = SavedView.objects.create(
        team=world.team_a, owner=None, name="Team's open", params={"status": ["open"]}
    )
    return {"inbox_item": item.pk, "inbox_shared_view": view.pk}
