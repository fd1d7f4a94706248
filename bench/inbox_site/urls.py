"""The portal's URLs, and the bare view at ``/bench/rows/`` (``/bench/scoped-rows/`` behind a
login and the team's membership)."""

from django.urls import path

from bench.inbox_site import views
from portal.urls import handler403, handler404, handler500
from portal.urls import urlpatterns as portal_urls

urlpatterns = [
    path("bench/rows/", views.rows),
    path("bench/scoped-rows/", views.scoped_rows),
    *portal_urls,
]
__all__ = ["handler403", "handler404", "handler500", "urlpatterns"]
