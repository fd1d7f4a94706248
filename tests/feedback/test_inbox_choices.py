"""The inbox's members, channels, tags and saved views per team, kept in the cache
(feedback.inbox.choices): read once, kept apart per team, fresh again as soon as a membership,
a channel's name, a tag (whoever makes it) or a saved view changes, never handed to a reader
outside the team, and nobody else's personal saved views to a reader."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feedback.inbox.choices import CHOICES_FRESH_FOR, team_choices_cached
from feedback.models import Tag
from feedback.services.bulk import ItemRow, items_import_rows
from feedback.services.channels import channel_update
from feedback.services.items import tags_ensure
from feedback.services.saved_views import saved_view_create, saved_view_delete
from feedback.services.tags import tag_create, tag_merge, tag_rename, tag_set_colour
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


def _tag_names(choices) -> set[str]:
    return {tag.name for tag in choices.tags}


def test_a_tag_made_by_any_writer_shows_at_once(world, django_capture_on_commit_callbacks):
    # The rows show the team's tags from these choices: a tag created on first use by a push
    # or an import must be there as soon as its items are.
    team_choices_cached(user=world.agent_a, team=world.team_a)

    with django_capture_on_commit_callbacks(execute=True):
        made = tag_create(actor=world.agent_a, team=world.team_a, name="billing")
    created = team_choices_cached(user=world.agent_a, team=world.team_a)
    with django_capture_on_commit_callbacks(execute=True):
        tags_ensure(team=world.team_a, names=["Refunds"])
    pushed = team_choices_cached(user=world.agent_a, team=world.team_a)
    with django_capture_on_commit_callbacks(execute=True):
        row = ItemRow(
            line=2, team=world.team_a, customer_email="a@b.example", text="Slow", tags=("imported",)
        )
        assert not items_import_rows(actor=world.agent_a, rows=[row]).rejections
    added = team_choices_cached(user=world.agent_a, team=world.team_a)
    with django_capture_on_commit_callbacks(execute=True):
        tag_rename(actor=world.lead_a, tag=made, name="invoices")
    renamed = team_choices_cached(user=world.agent_a, team=world.team_a)
    with django_capture_on_commit_callbacks(execute=True):
        tag_set_colour(actor=world.lead_a, tag=made, colour="#aa0000")
    recoloured = team_choices_cached(user=world.agent_a, team=world.team_a)
    refunds = Tag.objects.get(name="Refunds")
    with django_capture_on_commit_callbacks(execute=True):
        tag_merge(actor=world.lead_a, source=refunds, into=made)
    merged = team_choices_cached(user=world.agent_a, team=world.team_a)

    assert _tag_names(created) == {"billing"}
    assert _tag_names(pushed) == {"billing", "Refunds"}
    assert _tag_names(added) == {"billing", "imported", "Refunds"}
    assert _tag_names(renamed) == {"imported", "invoices", "Refunds"}
    assert [tag.colour for tag in recoloured.tags if tag.name == "invoices"] == ["#aa0000"]
    assert _tag_names(merged) == {"imported", "invoices"}


def test_saved_views_show_at_once_and_a_reader_gets_only_shared_and_their_own(
    world, django_capture_on_commit_callbacks
):
    team_choices_cached(user=world.agent_a, team=world.team_a)

    with django_capture_on_commit_callbacks(execute=True):
        mine = saved_view_create(
            actor=world.agent_a, team=world.team_a, name="Mine", params={"status": ["open"]}
        )
        saved_view_create(
            actor=world.lead_a, team=world.team_a, name="Leads' own", params={"status": ["new"]}
        )
        saved_view_create(
            actor=world.lead_a, team=world.team_a, name="Team", params={}, shared=True
        )
    kept = team_choices_cached(user=world.agent_a, team=world.team_a)
    with django_capture_on_commit_callbacks(execute=True):
        saved_view_delete(actor=world.agent_a, view=mine)
    after = team_choices_cached(user=world.agent_a, team=world.team_a)

    assert [view.name for view in kept.saved_views_of(world.agent_a)] == ["Team", "Mine"]
    assert [view.name for view in kept.saved_views_of(world.lead_a)] == ["Team", "Leads' own"]
    # A superuser is no exception: another person's own views are theirs alone.
    assert [view.name for view in kept.saved_views_of(world.superuser)] == ["Team"]
    assert [view.name for view in after.saved_views_of(world.agent_a)] == ["Team"]
