"""Who may do what: roles per team, the organisation-wide directory and the North Star."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from portal import access, services
from portal.models import Membership, Role
from tests.factories import MembershipFactory, UserFactory


@pytest.mark.parametrize(
    ("role", "minimum", "expected"),
    [
        (Role.VIEWER, Role.VIEWER, True),
        (Role.VIEWER, Role.AGENT, False),
        (Role.AGENT, Role.VIEWER, True),
        (Role.AGENT, Role.LEAD, False),
        (Role.LEAD, Role.AGENT, True),
        (Role.LEAD, Role.ADMIN, False),
        (Role.ADMIN, Role.LEAD, True),
        (Role.ADMIN, Role.ADMIN, True),
    ],
)
def test_role_at_least_follows_viewer_agent_lead_admin_order(role, minimum, expected):
    assert role.at_least(minimum) is expected


def test_role_at_least_accepts_the_minimum_as_a_plain_string():
    assert Role.LEAD.at_least("agent") is True
    assert Role.AGENT.at_least("lead") is False


def test_role_rank_increases_with_privilege():
    assert [role.rank for role in (Role.VIEWER, Role.AGENT, Role.LEAD, Role.ADMIN)] == [0, 1, 2, 3]


def test_role_in_gives_a_member_their_role_in_their_own_team(world):
    assert access.role_in(world.agent_a, world.team_a) == Role.AGENT
    assert access.role_in(world.viewer_a, world.team_a) == Role.VIEWER


def test_role_in_gives_a_member_no_role_in_another_team(world):
    assert access.role_in(world.agent_a, world.team_b) is None


def test_role_in_makes_a_superuser_admin_of_every_team(world):
    assert access.role_in(world.superuser, world.team_a) == Role.ADMIN
    assert access.role_in(world.superuser, world.team_b) == Role.ADMIN


def test_role_in_gives_an_outsider_no_role(world):
    assert access.role_in(world.outsider, world.team_a) is None


def test_role_in_gives_an_inactive_member_no_role(world):
    world.admin_a.is_active = False
    world.admin_a.save()
    assert access.role_in(world.admin_a, world.team_a) is None
    assert access.has_team_role(world.admin_a, world.team_a, Role.VIEWER) is False


def test_role_in_gives_an_inactive_superuser_no_role(world):
    world.superuser.is_active = False
    world.superuser.save()
    assert access.role_in(world.superuser, world.team_a) is None


def test_role_in_gives_an_anonymous_user_no_role(world):
    assert access.role_in(AnonymousUser(), world.team_a) is None
    assert access.team_roles(AnonymousUser()) == {}


def test_require_team_role_passes_for_a_high_enough_role(world):
    access.require_team_role(world.lead_a, world.team_a, Role.AGENT)
    access.require_team_role(world.superuser, world.team_b, Role.ADMIN)


def test_require_team_role_refuses_a_lower_role_naming_role_and_team(world):
    with pytest.raises(PermissionDenied) as raised:
        access.require_team_role(world.agent_a, world.team_a, Role.LEAD)
    assert str(raised.value) == access.NEEDS_ROLE.format(role="lead", team=world.team_a)


def test_require_team_role_refuses_a_member_of_another_team(world):
    with pytest.raises(PermissionDenied) as raised:
        access.require_team_role(world.member_b, world.team_a, Role.VIEWER)
    assert str(raised.value) == access.NEEDS_ROLE.format(role="viewer", team=world.team_a)


def test_require_team_role_refuses_an_anonymous_user(world):
    with pytest.raises(PermissionDenied):
        access.require_team_role(AnonymousUser(), world.team_a, Role.VIEWER)


def test_directory_editor_needs_the_agent_role_somewhere(world):
    assert access.can_edit_directory(world.viewer_a) is False
    assert access.can_edit_directory(world.outsider) is False
    assert access.can_edit_directory(AnonymousUser()) is False
    assert access.can_edit_directory(world.agent_a) is True
    assert access.can_edit_directory(world.lead_a) is True
    assert access.can_edit_directory(world.member_b) is True
    assert access.can_edit_directory(world.superuser) is True


def test_require_directory_editor_refuses_a_viewer_with_the_message(world):
    with pytest.raises(PermissionDenied) as raised:
        access.require_directory_editor(world.viewer_a)
    assert str(raised.value) == access.NEEDS_DIRECTORY_EDITOR


def test_a_viewer_in_one_team_and_agent_in_another_may_edit_the_directory(world):
    MembershipFactory(user=world.viewer_a, team=world.team_b, role=Role.AGENT)
    assert access.can_edit_directory(world.viewer_a) is True


def test_require_superuser_refuses_a_team_admin(world):
    access.require_superuser(world.superuser)
    with pytest.raises(PermissionDenied) as raised:
        access.require_superuser(world.admin_a)
    assert str(raised.value) == access.NEEDS_SUPERUSER


def test_north_star_recorder_is_a_lead_of_any_team(world):
    assert access.can_record_north_star(world.lead_a) is True
    assert access.can_record_north_star(world.admin_a) is True
    assert access.can_record_north_star(world.member_b) is True
    assert access.can_record_north_star(world.superuser) is True
    assert access.can_record_north_star(world.agent_a) is False
    assert access.can_record_north_star(world.outsider) is False


def test_require_north_star_recorder_refuses_an_agent_with_the_message(world):
    with pytest.raises(PermissionDenied) as raised:
        access.require_north_star_recorder(world.agent_a)
    assert str(raised.value) == access.NEEDS_ANY_LEAD


def test_team_roles_are_read_once_per_user_object(world, django_assert_num_queries):
    with django_assert_num_queries(1):
        access.role_in(world.agent_a, world.team_a)
        access.role_in(world.agent_a, world.team_b)
        access.can_edit_directory(world.agent_a)


def test_cached_roles_are_forgotten_when_a_membership_is_created(world):
    assert access.role_in(world.outsider, world.team_a) is None
    services.membership_create(
        actor=world.admin_a, team=world.team_a, user=world.outsider, role=Role.AGENT
    )
    assert access.role_in(world.outsider, world.team_a) == Role.AGENT


def test_cached_roles_are_forgotten_when_a_membership_is_updated(world):
    membership = world.agent_a.memberships.get()
    assert access.role_in(world.agent_a, world.team_a) == Role.AGENT
    services.membership_update(actor=world.admin_a, membership=membership, role=Role.LEAD)
    assert access.role_in(world.agent_a, world.team_a) == Role.LEAD


def test_cached_roles_are_forgotten_when_a_membership_is_deleted(world):
    membership = world.agent_a.memberships.get()
    assert access.can_edit_directory(world.agent_a) is True
    services.membership_delete(actor=world.admin_a, membership=membership)
    assert access.role_in(world.agent_a, world.team_a) is None
    assert access.can_edit_directory(world.agent_a) is False


def test_an_admin_who_steps_down_loses_admin_rights_at_once(world):
    second_admin = UserFactory(username="second_admin")
    MembershipFactory(user=second_admin, team=world.team_a, role=Role.ADMIN)
    # The membership is read separately, as a view would, so only the actor is the cached user.
    membership = Membership.objects.get(user=world.admin_a, team=world.team_a)
    access.require_team_role(world.admin_a, world.team_a, Role.ADMIN)
    services.membership_update(actor=world.admin_a, membership=membership, role=Role.VIEWER)
    assert access.role_in(world.admin_a, world.team_a) == Role.VIEWER
