"""The portal app's own API routes, mounted by ``portal/api/urls.py`` like every other app's
``<app>/api/urls.py``."""

from django.urls import path

from portal.api import imports, viewsets
from portal.api.routers import AppRouter

router = AppRouter()
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
router.register("import-jobs", imports.ImportJobViewSet, basename="import-job")

urlpatterns = [
    path("auth/token/", viewsets.TokenView.as_view(), name="api-token"),
    path("north-star/", viewsets.NorthStarView.as_view(), name="north-star"),
    *router.urls,
]
