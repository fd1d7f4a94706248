from django.http import HttpRequest

from portal import selectors
from portal.access import team_roles

CURRENT_TEAM_SESSION_KEY = "portal_current_team"


def current_team(request: HttpRequest, teams: list) -> object | None:
    """The team chosen in the team switcher, or the user's first team."""
    chosen = request.session.get(CURRENT_TEAM_SESSION_KEY)
    for team in teams:
        if team.pk == chosen:
            return team
    return teams[0] if teams else None


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    teams = list(selectors.team_list(user=user))
    roles = team_roles(user)
    return {
        "nav_teams": teams,
        "nav_current_team": current_team(request, teams),
        "nav_roles": roles,
    }
