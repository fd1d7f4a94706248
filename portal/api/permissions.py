"""Early 403s for writes, so that a user whose role is too low hears so before their input is
validated. The services check the same rules again; these classes only answer sooner."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from portal import access
from portal.models import Membership, Role, Team


class SuperuserWrites(BasePermission):
    """Everyone logged in reads; only superusers write."""

    message = access.NEEDS_SUPERUSER

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return bool(request.user and request.user.is_active and request.user.is_superuser)


class SuperuserCreates(SuperuserWrites):
    """Only superusers create; changes to an existing object are left to other checks."""

    def has_permission(self, request, view) -> bool:
        if getattr(view, "action", None) != "create":
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


class TeamAdminChanges(BasePermission):
    """A team, or a membership of it, is changed by the team's admins."""

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in SAFE_METHODS:
            return True
        team = obj if isinstance(obj, Team) else obj.team if isinstance(obj, Membership) else None
        if team is None or access.has_team_role(request.user, team, Role.ADMIN):
            return True
        self.message = access.NEEDS_ROLE.format(role=Role.ADMIN.label.lower(), team=team)
        return False
