"""The project's API urlconf (portal/api/urls.py): each app's router mounted in the one ``api``
namespace, and one root view listing the resources of them all.

This module is also the urlconf of the tests marked ``pytest.mark.urls(__name__)``: the real
API plus one more app, ``probe``, to show what a new app's router gets by being included."""

from types import ModuleType

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import include, path, reverse
from rest_framework import mixins
from rest_framework.test import APIClient

from portal import selectors
from portal.api.base import PortalViewSet
from portal.api.filters import UNKNOWN_ORDERING
from portal.api.routers import AppRouter
from portal.api.serializers import ValueStreamSerializer
from portal.api.urls import APP_URLCONFS, api_urlpatterns
from portal.api.viewsets import TeamViewSet
from tests.factories import ValueStreamFactory


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def app_urlconf(name: str, router: AppRouter) -> ModuleType:
    """An app's ``api/urls.py``, as a module object."""
    module = ModuleType(name)
    module.router = router
    module.urlpatterns = router.urls
    return module


class ProbeStreamViewSet(mixins.ListModelMixin, PortalViewSet):
    """What a new app registers: a list built on the portal's base."""

    serializer_class = ValueStreamSerializer
    ordering_fields = ["name"]

    def get_queryset(self):
        return selectors.value_stream_list(user=self.request.user)


probe_router = AppRouter()
probe_router.register("probe/streams", ProbeStreamViewSet, basename="probe-stream")
PROBE_APP = app_urlconf("probe.api.urls", probe_router)

urlpatterns = [path("api/v1/", include((api_urlpatterns([*APP_URLCONFS, PROBE_APP]), "api")))]


def registered_prefixes(urlconfs) -> set[str]:
    """The prefixes of every resource that lists: one without a list (a team's inbox settings,
    ``feedback/inbox-settings/{team}/``) has no address the root could give."""
    return {
        prefix
        for urlconf in urlconfs
        for prefix, viewset, _name in urlconf.router.registry
        if hasattr(viewset, "list")
    }


def test_every_app_mounts_its_own_api_urls():
    modules = [urlconf.__name__ for urlconf in APP_URLCONFS]
    assert modules == [
        "portal.api.routes",
        "feedback.api.urls",
        "surveys.api.urls",
        "backlog.api.urls",
    ]


def test_the_api_root_lists_the_resources_of_every_apps_router(world):
    response = client_for(world.viewer_a).get(reverse("api:api-root"))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == registered_prefixes(APP_URLCONFS)
    assert body["teams"] == "http://testserver" + reverse("api:team-list")
    assert body["north-star/measurements"].endswith("/api/v1/north-star/measurements/")


def test_api_url_names_are_in_the_api_namespace():
    assert reverse("api:team-list") == "/api/v1/teams/"
    assert reverse("api:api-token") == "/api/v1/auth/token/"
    assert reverse("api:north-star") == "/api/v1/north-star/"


def test_format_suffixes_still_answer(world):
    client = client_for(world.viewer_a)
    assert client.get("/api/v1/teams.json").status_code == 200
    assert client.get("/api/v1/.json").status_code == 200


@pytest.mark.urls(__name__)
def test_an_app_routers_resources_appear_under_the_api_namespace_and_in_the_root(world):
    assert reverse("api:probe-stream-list") == "/api/v1/probe/streams/"
    root = client_for(world.viewer_a).get(reverse("api:api-root")).json()
    assert root["probe/streams"] == "http://testserver/api/v1/probe/streams/"
    assert "teams" in root


@pytest.mark.urls(__name__)
def test_an_app_routers_list_gets_the_portals_ordering(world):
    ValueStreamFactory(name="Alpha")
    ValueStreamFactory(name="Omega")
    client = client_for(world.viewer_a)
    listed = client.get(reverse("api:probe-stream-list"), {"ordering": "-name"}).json()
    names = [stream["name"] for stream in listed["results"]]
    assert names == sorted(names, reverse=True)
    refused = client.get(reverse("api:probe-stream-list"), {"ordering": "team_count"})
    assert refused.status_code == 400
    assert refused.json() == {
        "ordering": [UNKNOWN_ORDERING.format(field="team_count", choices="name")]
    }


def test_two_apps_registering_one_basename_are_refused():
    clash = AppRouter()
    clash.register("other-teams", TeamViewSet, basename="team")
    with pytest.raises(ImproperlyConfigured):
        api_urlpatterns([*APP_URLCONFS, app_urlconf("clash.api.urls", clash)])
