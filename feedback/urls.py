from django.urls import path

from feedback import views, webhooks
from feedback.views import (
    bulk,
    channels,
    downloads,
    inbox_export,
    item_actions,
    monitoring,
    replies,
    saved_views,
    sla,
    tags,
    templates_admin,
    widget,
)
from feedback.views import item as item_page
from feedback.views import items as inbox_list
from feedback.views.imports import item_import

app_name = "feedback"

# A team's channel pages sit under its settings, beside its members.
TEAM = "settings/teams/<uslug:slug>"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/import/", item_import, name="item_import"),
    path("inbox/export.csv", inbox_export.inbox_export, name="inbox_export"),
    path("inbox/bulk/", bulk.inbox_bulk, name="inbox_bulk"),
    path("inbox/views/", saved_views.saved_view_save, name="saved_view_save"),
    path("inbox/views/<id:pk>/delete/", saved_views.saved_view_remove, name="saved_view_delete"),
    path("inbox/<id:pk>/row/", inbox_list.inbox_row_action, name="inbox_row_action"),
    path("inbox/<id:pk>/", item_actions.follow_merged(item_page.item_page), name="item"),
    path("inbox/<id:pk>/status/", item_actions.item_status, name="item_status"),
    path("inbox/<id:pk>/assign/", item_actions.item_assign, name="item_assign"),
    path("inbox/<id:pk>/tags/", item_actions.item_tags, name="item_tags"),
    path("inbox/<id:pk>/priority/", item_actions.item_priority, name="item_priority"),
    path("inbox/<id:pk>/snooze/", item_actions.item_snooze, name="item_snooze"),
    path("inbox/<id:pk>/merge/", item_actions.item_merge_view, name="item_merge"),
    path("inbox/<id:pk>/split/<id:message_pk>/", item_actions.item_split, name="item_split"),
    path(
        "inbox/<id:pk>/duplicates/<id:pair_pk>/dismiss/",
        item_actions.item_duplicate_dismiss,
        name="item_duplicate_dismiss",
    ),
    path("inbox/<id:pk>/presence/", item_page.item_presence, name="item_presence"),
    path("hooks/email/<id:pk>/", webhooks.email_webhook, name="email_webhook"),
    path("w/<str:public_key>/", widget.widget_form, name="widget_form"),
    path("inbox/<id:pk>/reply/", replies.reply_compose, name="reply_compose"),
    path("inbox/<id:pk>/note/", replies.note_create, name="note_create"),
    path(
        "inbox/<id:pk>/messages/<id:message_pk>/retry/",
        replies.reply_retry_view,
        name="reply_retry",
    ),
    path(f"{TEAM}/templates/", templates_admin.template_list, name="template_list"),
    path(f"{TEAM}/templates/new/", templates_admin.template_new, name="template_new"),
    path(f"{TEAM}/templates/preview/", templates_admin.template_preview, name="template_preview"),
    path(f"{TEAM}/templates/<id:pk>/", templates_admin.template_edit, name="template_edit"),
    path(
        f"{TEAM}/templates/<id:pk>/delete/",
        templates_admin.template_remove,
        name="template_delete",
    ),
    path(f"{TEAM}/channels/", channels.channel_list, name="channel_list"),
    path(f"{TEAM}/channels/new/", channels.channel_create, name="channel_create"),
    path(f"{TEAM}/channels/health/", monitoring.channel_health, name="channel_health"),
    path(f"{TEAM}/channels/<id:pk>/", channels.channel_edit, name="channel_edit"),
    path(f"{TEAM}/channels/<id:pk>/check/", channels.channel_check, name="channel_check"),
    path(f"{TEAM}/channels/<id:pk>/enabled/", channels.channel_enable, name="channel_enable"),
    path(f"{TEAM}/sla/", sla.sla_settings_page, name="sla_settings"),
    path(f"{TEAM}/sla/rules/", sla.sla_rules, name="sla_rules"),
    path(f"{TEAM}/tags/", tags.tag_list, name="tag_list"),
    path(f"{TEAM}/tags/<id:pk>/", tags.tag_edit, name="tag_edit"),
    path(f"{TEAM}/tags/<id:pk>/merge/", tags.tag_merge, name="tag_merge"),
    path(f"{TEAM}/quarantine/", monitoring.quarantine_list, name="quarantine_list"),
    path(f"{TEAM}/quarantine/<id:pk>/retry/", monitoring.quarantine_retry, name="quarantine_retry"),
    path(
        f"{TEAM}/quarantine/<id:pk>/discard/",
        monitoring.quarantine_discard,
        name="quarantine_discard",
    ),
    path(
        f"{TEAM}/quarantine/<id:pk>/raw/",
        monitoring.quarantine_download,
        name="quarantine_download",
    ),
    path(
        "attachments/<id:pk>/download/", downloads.attachment_download, name="attachment-download"
    ),
]
