"""The REST API under ``/api/v1/``. URL names are stable: other code reverses them."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from portal.api import viewsets

router = DefaultRouter(trailing_slash=True)
router.register("teams", viewsets.TeamViewSet, basename="team")
router.register("value-streams", viewsets.ValueStreamViewSet, basename="value-stream")
router.register("memberships", viewsets.MembershipViewSet, basename="membership")
router.register("customers", viewsets.CustomerViewSet, basename="customer")
router.register("accounts", viewsets.AccountViewSet, basename="account")
router.register(
    "north-star/measurements",
    viewsets.NorthStarMeasurementViewSet,
    basename="north-star-measurement",
)

urlpatterns = [
    path("auth/token/", viewsets.TokenView.as_view(), name="api-token"),
    path("north-star/", viewsets.NorthStarView.as_view(), name="north-star"),
    *router.urls,
]
