from django.urls import path

from feedback import views, webhooks

app_name = "feedback"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("hooks/email/<id:pk>/", webhooks.email_webhook, name="email_webhook"),
]
