"""The portal app's own endpoints: teams, memberships, the directory, the North Star and tokens.
Viewsets stay thin: ``get_queryset`` calls a selector, writes call a service, and the exception
handler turns the services' errors into 400, 403 and 404. The shared base is in ``base.py``."""

from portal.api.viewsets.directory import AccountViewSet, CustomerViewSet
from portal.api.viewsets.north_star import (
    NORTH_STAR_NOT_DEFINED,
    NorthStarMeasurementViewSet,
    NorthStarView,
)
from portal.api.viewsets.teams import MembershipViewSet, TeamViewSet, ValueStreamViewSet
from portal.api.viewsets.tokens import INVALID_CREDENTIALS, NO_SUCH_USER_ID, TokenView

__all__ = [
    "INVALID_CREDENTIALS",
    "NORTH_STAR_NOT_DEFINED",
    "NO_SUCH_USER_ID",
    "AccountViewSet",
    "CustomerViewSet",
    "MembershipViewSet",
    "NorthStarMeasurementViewSet",
    "NorthStarView",
    "TeamViewSet",
    "TokenView",
    "ValueStreamViewSet",
]
