"""Who may do what. Roles are per team; superusers act as admins of every team.

Reading another team's object is answered by the selectors with 404; these checks answer
403 for an object the user can see but whose role is too low to change it.

The system actor (``portal.actors.SYSTEM``), which the portal's own writes use, acts as an admin
of every team, so it may do team and directory writes and record North Star measurements. It is
not a superuser: teams, value streams and the North Star's definition are a person's decision.
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied

from portal.actors import SystemActor, is_system
from portal.models import Membership, Role, Team

NEEDS_ROLE = "This needs the {role} role in {team}."
NEEDS_DIRECTORY_EDITOR = "Editing customers and accounts needs the agent role in a team."
NEEDS_SUPERUSER = "Only an administrator of the whole portal may do this."
NEEDS_ANY_LEAD = "Recording North Star measurements needs the lead role in a team."

User = AbstractBaseUser | AnonymousUser | SystemActor

_CACHE_ATTRIBUTE = "_portal_team_roles"


def team_roles(user: User) -> dict[int, Role]:
    """The user's role in each of their teams, keyed by team id, read once per user object."""
    if not user.is_authenticated or is_system(user):
        return {}
    roles = getattr(user, _CACHE_ATTRIBUTE, None)
    if roles is None:
        roles = {
            team_id: Role(role)
            for team_id, role in Membership.objects.filter(user=user).values_list("team_id", "role")
        }
        setattr(user, _CACHE_ATTRIBUTE, roles)
    return roles


def team_roles_read(user: User) -> dict[int, Role] | None:
    """The roles this user object has already read (``team_roles``, ``remember_team_roles``),
    or None: asks the database nothing."""
    return getattr(user, _CACHE_ATTRIBUTE, None)


def remember_team_roles(user: User, roles: dict[int, str]) -> None:
    """Keep roles already read (team id to role) for this user object's later checks."""
    if user.is_authenticated and not is_system(user):
        setattr(user, _CACHE_ATTRIBUTE, {team_id: Role(role) for team_id, role in roles.items()})


def forget_team_roles(user: User) -> None:
    """Drop the cached roles after memberships of this user changed."""
    if hasattr(user, _CACHE_ATTRIBUTE):
        delattr(user, _CACHE_ATTRIBUTE)


def role_in(user: User, team: Team) -> Role | None:
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser or is_system(user):
        return Role.ADMIN
    return team_roles(user).get(team.pk)


def has_team_role(user: User, team: Team, minimum: Role) -> bool:
    role = role_in(user, team)
    return role is not None and role.at_least(minimum)


def works_on_items_of(user: User | None, team: Team) -> bool:
    """An active member of ``team`` as an agent, lead or admin: the people its items can be
    assigned to. A superuser who is no member is not one (the inbox could neither filter nor
    show them as an assignee)."""
    if user is None or not user.is_active:
        return False
    role = team_roles(user).get(team.pk)
    return role is not None and role.at_least(Role.AGENT)


def require_team_role(user: User, team: Team, minimum: Role) -> None:
    if not has_team_role(user, team, minimum):
        raise PermissionDenied(NEEDS_ROLE.format(role=Role(minimum).label.lower(), team=team))


def has_role_anywhere(user: User, minimum: Role) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser or is_system(user):
        return True
    return any(role.at_least(minimum) for role in team_roles(user).values())


def can_edit_directory(user: User) -> bool:
    """Customers and accounts are organisation-wide: agents of any team may edit them."""
    return has_role_anywhere(user, Role.AGENT)


def require_directory_editor(user: User) -> None:
    if not can_edit_directory(user):
        raise PermissionDenied(NEEDS_DIRECTORY_EDITOR)


def require_superuser(user: User) -> None:
    if not (user.is_authenticated and user.is_active and user.is_superuser):
        raise PermissionDenied(NEEDS_SUPERUSER)


def can_record_north_star(user: User) -> bool:
    return has_role_anywhere(user, Role.LEAD)


def require_north_star_recorder(user: User) -> None:
    if not can_record_north_star(user):
        raise PermissionDenied(NEEDS_ANY_LEAD)
