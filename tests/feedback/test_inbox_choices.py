"""The inbox's members and channels per team, kept in the cache (feedback.inbox.choices): read
once, kept apart per team, fresh again as soon as a membership or a channel's name changes,
and never handed to a reader outside the team."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feedback.inbox.choices import CHOICES_FRESH_FOR, team_choices_cached
from feedback.services.channels import channel_update
from portal import access
from portal.models import Role
from portal.services.teams import membership_create, membership_delete
from tests.factories import UserFactory
from tests.feedback.factories import ChannelFactory

pytestmark = pytest.mark.django_db


def _usernames(choices) -> set[str]:
    return {membership.user.username for membership in choices.members}


def test_members_and_channels_are_read_once_then_kept(world):
    channel = ChannelFactory(team=world.team_a, name="Support mailbox")
    first = team_choices_cached(user=world.agent_a, team=world.team_a)
    access.team_roles(world.lead_a)  # read by every page before (the navigation)

    with CaptureQueriesContext(connection) as queries:
        kept = team_choices_cached(user=world.lead_a, team=world.team_a)

    assert len(queries) == 0
    assert _usernames(kept) == _usernames(first) == {"admin_a", "lead_a", "agent_a", "viewer_a"}
    assert [c.name for c in kept.channels] == [channel.name]
    # Kept for a bounded time: what no service announces (a rename in Django's admin) shows.
    assert 0 < CHOICES_FRESH_FOR <= 600


def test_a_new_or_removed_member_shows_at_once(world, django_capture_on_commit_callbacks):
    team_choices_cached(user=world.agent_a, team=world.team_a)
    newcomer = UserFactory(username="newcomer")

    with django_capture_on_commit_callbacks(execute=True):
        membership = membership_create(
            actor=world.admin_a, team=world.team_a, user=newcomer, role=Role.AGENT
        )
    joined = team_choices_cached(user=world.agent_a, team=world.team_a)
    with django_capture_on_commit_callbacks(execute=True):
        membership_delete(actor=world.admin_a, membership=membership)
    left = team_choices_cached(user=world.agent_a, team=world.team_a)

    assert "newcomer" in _usernames(joined)
    assert "newcomer" not in _usernames(left)


def test_a_renamed_channel_shows_at_once(world, django_capture_on_commit_callbacks):
    channel = ChannelFactory(team=world.team_a, name="Support mailbox")
    team_choices_cached(user=world.agent_a, team=world.team_a)

    with django_capture_on_commit_callbacks(execute=True):
        channel_update(actor=world.admin_a, channel=channel, name="Help desk mailbox")

    renamed = team_choices_cached(user=world.agent_a, team=world.team_a)
    assert [c.name for c in renamed.channels] == ["Help desk mailbox"]


def test_teams_are_kept_apart_and_outsiders_get_nothing(world):
    ChannelFactory(team=world.team_b, name="Team B forum")
    kept_a = team_choices_cached(user=world.agent_a, team=world.team_a)
    kept_b = team_choices_cached(user=world.member_b, team=world.team_b)

    # The team's choices are kept, but only its members are given them.
    outsider = team_choices_cached(user=world.outsider, team=world.team_a)
    other_member = team_choices_cached(user=world.member_b, team=world.team_a)

    assert "member_b" not in _usernames(kept_a) and _usernames(kept_b) == {"member_b"}
    assert [c.name for c in kept_b.channels] == ["Team B forum"] and kept_a.channels == []
    assert outsider.members == outsider.channels == []
    assert other_member.members == other_member.channels == []


def test_the_inbox_offers_a_new_member_as_assignee_at_once(
    client, world, django_capture_on_commit_callbacks
):
    client.force_login(world.agent_a)
    assert "newcomer" not in client.get("/inbox/").content.decode()
    newcomer = UserFactory(username="newcomer")

    with django_capture_on_commit_callbacks(execute=True):
        membership_create(actor=world.admin_a, team=world.team_a, user=newcomer, role=Role.AGENT)

    assert "newcomer" in client.get("/inbox/").content.decode()
