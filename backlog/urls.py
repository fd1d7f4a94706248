from django.urls import path

from backlog import views

app_name = "backlog"

urlpatterns = [
    path("backlog/", views.index, name="index"),
    path("objectives/", views.objectives, name="objectives"),
]
