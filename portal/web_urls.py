from django.urls import path

from portal.views import (
    deletion,
    directory,
    imports,
    north_star,
    notifications,
    pages,
    profile,
    settings_area,
)

app_name = "portal"

urlpatterns = [
    path("", pages.home, name="home"),
    path("teams/switch/", pages.team_switch, name="team_switch"),
    path("dashboards/", pages.dashboards, name="dashboards"),
    path("customers/", directory.customer_list, name="customer_list"),
    path("customers/new/", directory.customer_create, name="customer_create"),
    path("customers/import/", directory.customer_import, name="customer_import"),
    path("customers/<id:pk>/", directory.customer_detail, name="customer_detail"),
    path("customers/<id:pk>/edit/", directory.customer_edit, name="customer_edit"),
    path("customers/<id:pk>/delete/", deletion.customer_delete, name="customer_delete"),
    path("customers/<id:pk>/erase/", deletion.customer_erase, name="customer_erase"),
    path("accounts/", directory.account_list, name="account_list"),
    path("accounts/new/", directory.account_create, name="account_create"),
    path("accounts/import/", directory.account_import, name="account_import"),
    path("accounts/<id:pk>/", directory.account_detail, name="account_detail"),
    path("accounts/<id:pk>/edit/", directory.account_edit, name="account_edit"),
    path("accounts/<id:pk>/delete/", deletion.account_delete, name="account_delete"),
    path("north-star/", north_star.north_star, name="north_star"),
    path("north-star/record/", north_star.north_star_record, name="north_star_record"),
    path("north-star/edit/", north_star.north_star_edit, name="north_star_edit"),
    path("north-star/import/", north_star.north_star_import, name="north_star_import"),
    path("imports/", imports.import_job_list, name="import_job_list"),
    path("imports/<id:pk>/", imports.import_job_detail, name="import_job_detail"),
    path("imports/<id:pk>/report.csv", imports.import_job_report, name="import_job_report"),
    path("settings/", settings_area.settings_home, name="settings"),
    path("settings/teams/new/", settings_area.team_create, name="team_create"),
    path("settings/teams/<uslug:slug>/", settings_area.team_settings, name="team_settings"),
    path("settings/teams/<uslug:slug>/delete/", deletion.team_delete, name="team_delete"),
    path("settings/teams/<uslug:slug>/members/", settings_area.member_add, name="member_add"),
    path(
        "settings/teams/<uslug:slug>/members/<id:pk>/",
        settings_area.member_update,
        name="member_update",
    ),
    path(
        "settings/teams/<uslug:slug>/members/<id:pk>/remove/",
        settings_area.member_remove,
        name="member_remove",
    ),
    path("settings/value-streams/", settings_area.value_stream_list, name="value_stream_list"),
    path(
        "settings/value-streams/<id:pk>/",
        settings_area.value_stream_edit,
        name="value_stream_edit",
    ),
    path(
        "settings/value-streams/<id:pk>/delete/",
        deletion.value_stream_delete,
        name="value_stream_delete",
    ),
    path("settings/profile/", profile.profile, name="profile"),
    path("notifications/", notifications.notification_list, name="notification_list"),
    path(
        "notifications/read-all/",
        notifications.notification_read_all,
        name="notification_read_all",
    ),
    path("notifications/<id:pk>/read/", notifications.notification_read, name="notification_read"),
]
