"""URLs of the benchmark's helpdesk project: helpdesk reverses its ticket URLs in its mail."""

from django.urls import include, path

urlpatterns = [path("helpdesk/", include("helpdesk.urls", namespace="helpdesk"))]
