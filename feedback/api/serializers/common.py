"""What the feedback serializers share: the early role check of writes that name a team."""

from rest_framework import exceptions, serializers

from portal import access
from portal.models import Role, Team


def require_team_role(serializer: serializers.Serializer, team: Team, minimum: Role) -> Team:
    """Refuse a team in which the user's role is too low with 403 before the rest of the input
    is looked at: a person whose role does not allow the change hears that first."""
    user = serializer.context["request"].user
    if not access.has_team_role(user, team, minimum):
        raise exceptions.PermissionDenied(
            access.NEEDS_ROLE.format(role=minimum.label.lower(), team=team)
        )
    return team
