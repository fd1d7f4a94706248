"""The feedback app's API routes (items, messages, tags, templates, replies), mounted at
``/api/v1/`` in the ``api`` namespace by ``portal/api/urls.py``, whose root view also lists
this router's resources. Register viewsets on ``router``; basenames share the namespace with
every other app's, so they start with ``feedback-``."""

from django.urls import path

from feedback.api import sla, viewsets
from feedback.api.replies import ReplyViewSet, ResponseTemplateViewSet
from feedback.api.saved_views import SavedViewViewSet
from feedback.api.widget import WidgetSubmissionView
from portal.api.routers import AppRouter

router = AppRouter()
# ARCHITECTURE.md names the resource ``channels`` at the top level: channels are set up per
# team, not a part of the feedback lists.
router.register("channels", viewsets.ChannelViewSet, basename="feedback-channel")
router.register("feedback/items", viewsets.FeedbackItemViewSet, basename="feedback-item")
router.register("feedback/messages", viewsets.FeedbackMessageViewSet, basename="feedback-message")
router.register("feedback/quarantine", viewsets.QuarantineViewSet, basename="feedback-quarantine")
router.register("feedback/tags", viewsets.FeedbackTagViewSet, basename="feedback-tag")
router.register("feedback/templates", ResponseTemplateViewSet, basename="feedback-template")
router.register("feedback/replies", ReplyViewSet, basename="feedback-reply")
router.register("feedback/saved-views", SavedViewViewSet, basename="feedback-saved-view")
router.register("feedback/sla-policies", sla.SlaPolicyViewSet, basename="feedback-sla-policy")
router.register(
    "feedback/inbox-settings", sla.InboxSettingsViewSet, basename="feedback-inbox-settings"
)

urlpatterns = [
    *router.urls,
    path(
        "widget/<str:public_key>/submissions/",
        WidgetSubmissionView.as_view(),
        name="widget-submission",
    ),
]
