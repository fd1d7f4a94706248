"""The portal's URLs, and the bare view at ``/bench/rows/``."""

from django.urls import path

from bench.inbox_site import views
from portal.urls import handler403, handler404, handler500
from portal.urls import urlpatterns as portal_urls

urlpatterns = [path("bench/rows/", views.rows), *portal_urls]
__all__ = ["handler403", "handler404", "handler500", "urlpatterns"]
