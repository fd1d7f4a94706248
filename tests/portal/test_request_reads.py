"""What every signed-in page reads about its reader, once: the user with their profile (one
query, ``portal.auth.PortalBackend``), their teams with their role in each (one query, shared
by the navigation, the team switcher and the role checks), the session from the cache."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.models import Role, UserProfile
from tests.factories import MembershipFactory
from tests.feedback.factories import FeedbackItemFactory

pytestmark = pytest.mark.django_db


def _tables(queries) -> list[str]:
    """The table each query reads first (its first column's, else the one after FROM)."""
    tables = []
    for query in queries:
        sql = query["sql"]
        if sql.startswith('SELECT "'):
            tables.append(sql.split('"')[1])
        else:
            tables.append(sql.split(" FROM ", 1)[1].split()[0].strip('"'))
    return tables


def test_a_page_reads_the_reader_their_profile_and_their_teams_once(client, world):
    MembershipFactory(user=world.agent_a, team=world.team_b, role=Role.VIEWER)
    UserProfile.objects.create(user=world.agent_a, time_zone="Asia/Tokyo")
    FeedbackItemFactory(team=world.team_a)
    client.force_login(world.agent_a)
    client.get(reverse("portal:home"))

    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("feedback:inbox")).content.decode()
    tables = _tables(queries)

    assert tables.count("auth_user") == 1 and "portal_userprofile" not in tables
    assert 'LEFT OUTER JOIN "portal_userprofile"' in queries[tables.index("auth_user")]["sql"]
    assert tables.count("portal_team") == 1 and "django_session" not in tables
    # The roles came with the teams: no query of the reader's own memberships.
    roles = 'SELECT "portal_membership"."team_id", "portal_membership"."role" FROM'
    assert not any(query["sql"].startswith(roles) for query in queries)
    # Both teams in the switcher; the agent's role in team A offers the row actions.
    assert ">Team A</option>" in page and ">Team B</option>" in page
    assert "Assign to me" in page


def test_a_reader_without_a_profile_gets_the_defaults_without_another_query(client, world):
    client.force_login(world.member_b)
    client.get(reverse("portal:home"))

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("portal:profile"))

    assert response.status_code == 200
    assert "portal_userprofile" not in _tables(queries)
