"""The project's REST API, mounted at ``/api/v1/`` under the ``api`` namespace.

Each app keeps its routes in its own ``<app>/api/urls.py`` (the portal app's in ``routes.py``)
with a ``router`` (an ``AppRouter``) and ``urlpatterns``; this file only includes them, so no
app's viewsets are registered here. The root view lists the resources of every app's router.
URL names are stable (``api:team-list``): other code reverses them."""

from collections.abc import Sequence
from types import ModuleType

from django.urls import URLPattern, URLResolver, include, path
from rest_framework.routers import DefaultRouter
from rest_framework.urlpatterns import format_suffix_patterns

from backlog.api import urls as backlog_urls
from feedback.api import urls as feedback_urls
from portal.api import routes as portal_urls
from surveys.api import urls as surveys_urls

app_name = "api"

APP_URLCONFS: tuple[ModuleType, ...] = (portal_urls, feedback_urls, surveys_urls, backlog_urls)


def api_urlpatterns(app_urlconfs: Sequence[ModuleType]) -> list[URLPattern | URLResolver]:
    """The root view, then every app's urlpatterns. The root's router holds every app's
    registrations only to list them; registering them again also refuses a basename that two
    apps both use, which would otherwise make one app's URL names shadow the other's."""
    root = DefaultRouter()
    for urlconf in app_urlconfs:
        for prefix, viewset, basename in urlconf.router.registry:
            root.register(prefix, viewset, basename=basename)
    root_view = path("", root.get_api_root_view(), name=root.root_view_name)
    return [
        *format_suffix_patterns([root_view]),
        *(path("", include(urlconf)) for urlconf in app_urlconfs),
    ]


urlpatterns = api_urlpatterns(APP_URLCONFS)
