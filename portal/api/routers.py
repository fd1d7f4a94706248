"""The router each app's ``api/urls.py`` registers its viewsets on."""

from rest_framework.routers import DefaultRouter


class AppRouter(DefaultRouter):
    """DefaultRouter's routes and ``.json`` suffixes without its root view: the project's
    ``portal/api/urls.py`` serves one root that lists the resources of every app's router.

    Every app's URL names share the one ``api`` namespace, so a basename names its app where
    a resource could exist in two (``feedback-item``, ``backlog-item``); the project router
    refuses a basename registered twice."""

    include_root_view = False
