"""Early 403s for writes, so that a user whose role is too low hears so before their input is
validated. The services check the same rules again; these classes only answer sooner."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from portal import access
from portal.models import Role, Team


class SuperuserWrites(BasePermission):
    """Everyone logged in reads; only superusers write."""

    message = access.NEEDS_SUPERUSER

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return bool(request.user and request.user.is_active and request.user.is_superuser)


class SuperuserCreatesAndDeletes(SuperuserWrites):
    """Only superusers create and delete; changes to an existing object are left to other
    checks. A delete is checked once the object is found, so that another team's object still
    answers 404."""

    def has_permission(self, request, view) -> bool:
        if getattr(view, "action", None) != "create":
            return True
        return super().has_permission(request, view)

    def has_object_permission(self, request, view, obj) -> bool:
        if getattr(view, "action", None) != "destroy":
            return True
        return super().has_permission(request, view)


class DirectoryEditorWrites(BasePermission):
    """Customers and accounts: every member reads, agents of any team write."""

    message = access.NEEDS_DIRECTORY_EDITOR

    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or access.can_edit_directory(request.user)


class NorthStarRecorderWrites(BasePermission):
    """North Star measurements: every member reads, leads of any team write."""

    message = access.NEEDS_ANY_LEAD

    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or access.can_record_north_star(request.user)


class TeamRoleChanges(BasePermission):
    """Changing an object of a team needs a minimum role in that team.

    The team is ``obj.team``, or the object itself for a ``Team``. The viewset names the minimum
    role per action in ``team_roles`` (``{"destroy": Role.ADMIN, "assign": Role.AGENT}``); an
    unsafe action it does not name needs ``DEFAULT_MINIMUM``, so a new action is closed until
    someone decides who may do it. Reading needs no role: the selectors already answer another
    team's object with 404. Creating has no object yet; its service checks the team in the body.
    """

    DEFAULT_MINIMUM = Role.ADMIN

    def minimum_role(self, request, view) -> Role | None:
        roles = getattr(view, "team_roles", {})
        action = getattr(view, "action", None)
        if action in roles:
            return Role(roles[action])
        return None if request.method in SAFE_METHODS else self.DEFAULT_MINIMUM

    def has_object_permission(self, request, view, obj) -> bool:
        minimum = self.minimum_role(request, view)
        if minimum is None:
            return True
        team = obj if isinstance(obj, Team) else obj.team
        if access.has_team_role(request.user, team, minimum):
            return True
        self.message = access.NEEDS_ROLE.format(role=minimum.label.lower(), team=team)
        return False
