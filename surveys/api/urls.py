"""The surveys app's API routes (surveys, campaigns, invitations, responses), mounted at
``/api/v1/`` in the ``api`` namespace by ``portal/api/urls.py``, whose root view also lists
this router's resources. Register viewsets on ``router``; basenames share the namespace with
every other app's."""

from portal.api.routers import AppRouter

router = AppRouter()

urlpatterns = [*router.urls]
