"""A team's tag settings page in the access matrix: every member of team A reads it; agents add
tags; leads (and admins) rename, recolour and merge them; member_b (admin of team B) gets 404."""

from tests.access import LOGIN, REDIRECT, TEAM_A_PAGE, Case, Objects, expect, url
from tests.feedback.factories import TagFactory

TEAM_A_LEAD_POST = expect(LOGIN, 403, 403, REDIRECT, REDIRECT, 404, REDIRECT)

CASES: dict[str, Case] = {
    # GET reads the page; the matrix posts nothing here (the page's POST adds a tag, covered by
    # tests/feedback/test_tags_pages.py for each role).
    "feedback:tag_list": Case(url("feedback:tag_list", "team-a"), TEAM_A_PAGE),
    "feedback:tag_edit": Case(
        url("feedback:tag_edit", "team-a", "pages_tag"),
        TEAM_A_LEAD_POST,
        method="post",
        data=lambda o: {"name": "Renamed", "colour": "#112233"},
    ),
    "feedback:tag_merge": Case(
        url("feedback:tag_merge", "team-a", "pages_tag"),
        TEAM_A_LEAD_POST,
        method="post",
        data=lambda o: {"into": o["pages_tag_into"]},
    ),
}


def objects(world) -> Objects:
    return {
        "pages_tag": TagFactory(team=world.team_a, name="pages tag").pk,
        "pages_tag_into": TagFactory(team=world.team_a, name="pages tag into").pk,
    }
