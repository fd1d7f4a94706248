from django.http import HttpRequest

from portal import selectors
from portal.access import team_roles


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        # One query for the request's teams and the user's roles in them (read once).
        "nav_teams": selectors.request_team_list(request),
        "nav_current_team": selectors.current_team_get(request),
        "nav_roles": team_roles(user),
        # One COUNT on an index of the unread rows, for the bell on every page.
        "nav_unread_notifications": selectors.notification_unread_count(user=user),
    }
