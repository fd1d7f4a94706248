from django.http import HttpRequest

from portal import selectors
from portal.access import team_roles


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    teams = list(selectors.team_list(user=user))
    return {
        "nav_teams": teams,
        "nav_current_team": selectors.current_team_get(request, teams),
        "nav_roles": team_roles(user),
        # One COUNT on an index of the unread rows, for the bell on every page.
        "nav_unread_notifications": selectors.notification_unread_count(user=user),
    }
