"""The backlog app's API routes (items, scoring models, objectives, key results), mounted at
``/api/v1/`` in the ``api`` namespace by ``portal/api/urls.py``, whose root view also lists
this router's resources. Register viewsets on ``router``; basenames share the namespace with
every other app's, so backlog items are ``backlog-item``."""

from portal.api.routers import AppRouter

router = AppRouter()

urlpatterns = [*router.urls]
