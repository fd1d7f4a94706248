"""The API's early permission checks (portal/api/permissions.py), above all ``TeamRoleChanges``:
a minimum role per action, read from the object's team."""

from types import SimpleNamespace

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from portal import access
from portal.api.permissions import TeamRoleChanges
from portal.models import Membership, Role


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def allowed(user, obj, method: str, action: str, team_roles: dict) -> tuple[bool, str]:
    """Whether ``TeamRoleChanges`` lets ``user`` run ``action`` on ``obj``, and its message."""
    permission = TeamRoleChanges()
    request = SimpleNamespace(method=method, user=user)
    view = SimpleNamespace(action=action, team_roles=team_roles)
    return permission.has_object_permission(request, view, obj), getattr(permission, "message", "")


# Through the API -----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["viewer_a", "agent_a", "lead_a"])
def test_changing_a_team_below_admin_answers_403_with_the_role_needed(world, persona):
    response = client_for(getattr(world, persona)).patch(
        reverse("api:team-detail", args=[world.team_a.pk]), {"mission": "Other."}, format="json"
    )
    assert response.status_code == 403
    assert response.json() == {"detail": access.NEEDS_ROLE.format(role="admin", team=world.team_a)}


@pytest.mark.parametrize("persona", ["admin_a", "superuser"])
def test_the_team_admin_or_a_superuser_changes_the_team(world, persona):
    response = client_for(getattr(world, persona)).patch(
        reverse("api:team-detail", args=[world.team_a.pk]), {"mission": "Other."}, format="json"
    )
    assert response.status_code == 200
    world.team_a.refresh_from_db()
    assert world.team_a.mission == "Other."


def test_changing_another_teams_team_answers_404(world):
    response = client_for(world.member_b).patch(
        reverse("api:team-detail", args=[world.team_a.pk]), {"mission": "Other."}, format="json"
    )
    assert response.status_code == 404


def test_removing_a_member_below_admin_answers_403(world):
    membership = Membership.objects.get(team=world.team_a, user=world.viewer_a)
    response = client_for(world.lead_a).delete(
        reverse("api:membership-detail", args=[membership.pk])
    )
    assert response.status_code == 403
    assert response.json() == {"detail": access.NEEDS_ROLE.format(role="admin", team=world.team_a)}
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_removing_a_member_of_another_team_answers_404(world):
    membership = Membership.objects.get(team=world.team_a, user=world.viewer_a)
    response = client_for(world.member_b).delete(
        reverse("api:membership-detail", args=[membership.pk])
    )
    assert response.status_code == 404


def test_a_viewer_reads_the_team_without_any_change_role(world):
    response = client_for(world.viewer_a).get(reverse("api:team-detail", args=[world.team_a.pk]))
    assert response.status_code == 200


# The class itself ----------------------------------------------------------------------------


def test_the_action_names_its_minimum_role(world):
    roles = {"partial_update": Role.AGENT}
    agent, _ = allowed(world.agent_a, world.team_a, "PATCH", "partial_update", roles)
    viewer, message = allowed(world.viewer_a, world.team_a, "PATCH", "partial_update", roles)
    assert (agent, viewer) == (True, False)
    assert message == access.NEEDS_ROLE.format(role="agent", team=world.team_a)


def test_an_unsafe_action_without_a_declared_role_needs_an_admin(world):
    assert TeamRoleChanges.DEFAULT_MINIMUM == Role.ADMIN
    lead, message = allowed(world.lead_a, world.team_a, "POST", "archive", {})
    admin, _ = allowed(world.admin_a, world.team_a, "POST", "archive", {})
    assert (lead, admin) == (False, True)
    assert message == access.NEEDS_ROLE.format(role="admin", team=world.team_a)


def test_a_safe_action_needs_no_role_unless_declared(world):
    roles = {"export": Role.LEAD}
    assert allowed(world.viewer_a, world.team_a, "GET", "retrieve", roles)[0]
    assert not allowed(world.agent_a, world.team_a, "GET", "export", roles)[0]
    assert allowed(world.lead_a, world.team_a, "GET", "export", roles)[0]


def test_the_team_is_read_from_the_objects_team_field(world):
    membership = Membership.objects.get(team=world.team_b, user=world.member_b)
    roles = {"destroy": Role.ADMIN}
    own_team, _ = allowed(world.member_b, membership, "DELETE", "destroy", roles)
    other_team, message = allowed(world.admin_a, membership, "DELETE", "destroy", roles)
    assert (own_team, other_team) == (True, False)
    assert message == access.NEEDS_ROLE.format(role="admin", team=world.team_b)
