from django.urls import path

from feedback import views

app_name = "feedback"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
]
