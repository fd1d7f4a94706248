"""The portal's pages and endpoints in the access matrix (tests/test_access_matrix.py), and
the project's own URLs: authentication, probes, API documentation and the Django admin."""

from datetime import date
from decimal import Decimal

from portal import services
from portal.models import ImportJob, ImportStatus, NorthStarMeasurement, NorthStarMetric, Role
from tests.access import (
    API_ORG,
    API_TEAM_A,
    DIRECTORY_EDIT,
    LEAD_ANYWHERE_PAGE,
    LEAD_ANYWHERE_POST,
    LOGIN,
    ORG_PAGE,
    PUBLIC,
    REDIRECT,
    SIGNED_IN,
    STAFF_ONLY,
    SUPERUSER_PAGE,
    TEAM_A_ADMIN_POST,
    TEAM_A_PAGE,
    Case,
    Objects,
    csv_file,
    expect,
    url,
)
from tests.factories import AccountFactory, CustomerFactory, MembershipFactory, UserFactory


def objects(world) -> Objects:
    """The objects the portal's URLs name, keyed as the cases refer to them."""
    viewer_membership = world.team_a.memberships.get(user=world.viewer_a)
    account = AccountFactory()
    customer = CustomerFactory(account=account)
    merge_target = CustomerFactory(account=account)
    metric = NorthStarMetric.objects.create(pk=1, name="Weekly active teams", unit="teams")
    measurement = NorthStarMeasurement.objects.create(
        metric=metric, measured_on=date(2026, 10, 5), value=Decimal("12")
    )
    UserFactory(username="newcomer")
    MembershipFactory(team=world.team_b, role=Role.VIEWER)
    agent_import = ImportJob.objects.create(
        kind="customers", actor=world.agent_a, file="imports/matrix.csv", status=ImportStatus.DONE
    )
    (agent_notification,) = services.notify(
        users=[world.agent_a], kind="matrix", subject="For agent_a", url="/"
    )
    return {
        "team_a": world.team_a.slug,
        "team_a_id": world.team_a.pk,
        "viewer_membership": viewer_membership.pk,
        "value_stream": world.team_a.value_stream_id,
        "account": account.pk,
        "customer": customer.pk,
        "merge_target": merge_target.pk,
        "measurement": measurement.pk,
        "agent_notification": agent_notification.pk,
        "agent_import": agent_import.pk,
    }


# An import is queued (202) for whoever may run it.
API_DIRECTORY_IMPORT = expect(401, 403, 202, 202, 202, 202, 202)
API_LEAD_ANYWHERE_IMPORT = expect(401, 403, 403, 202, 202, 202, 202)
# A person's own import jobs: nobody else's, except a superuser's view of all.
OWN_IMPORT_PAGE = expect(LOGIN, 404, 200, 404, 404, 404, 200)
API_OWN_IMPORT = expect(401, 404, 200, 404, 404, 404, 200)


# expect(...) takes one answer per persona: anonymous, viewer_a, agent_a, lead_a, admin_a,
# member_b, superuser.
CASES: dict[str, Case] = {
    # The portal's pages.
    "portal:home": Case(url("portal:home"), ORG_PAGE),
    "portal:dashboards": Case(url("portal:dashboards"), ORG_PAGE),
    "portal:team_switch": Case(
        url("portal:team_switch"),
        expect(LOGIN, REDIRECT, REDIRECT, REDIRECT, REDIRECT, 404, REDIRECT),
        method="post",
        data=lambda o: {"team": o["team_a_id"]},
    ),
    "portal:customer_list": Case(url("portal:customer_list"), ORG_PAGE),
    "portal:customer_detail": Case(url("portal:customer_detail", "customer"), ORG_PAGE),
    "portal:customer_create": Case(url("portal:customer_create"), DIRECTORY_EDIT),
    "portal:customer_edit": Case(url("portal:customer_edit", "customer"), DIRECTORY_EDIT),
    "portal:customer_import": Case(url("portal:customer_import"), DIRECTORY_EDIT),
    "portal:account_list": Case(url("portal:account_list"), ORG_PAGE),
    "portal:account_detail": Case(url("portal:account_detail", "account"), ORG_PAGE),
    "portal:account_create": Case(url("portal:account_create"), DIRECTORY_EDIT),
    "portal:account_edit": Case(url("portal:account_edit", "account"), DIRECTORY_EDIT),
    "portal:account_import": Case(url("portal:account_import"), DIRECTORY_EDIT),
    # Confirmation pages (GET); their POSTs are tested in tests/portal/test_deletion_views.py.
    "portal:customer_delete": Case(url("portal:customer_delete", "customer"), DIRECTORY_EDIT),
    "portal:customer_erase": Case(url("portal:customer_erase", "customer"), DIRECTORY_EDIT),
    "portal:customer_merge": Case(url("portal:customer_merge", "customer"), DIRECTORY_EDIT),
    "portal:account_delete": Case(url("portal:account_delete", "account"), DIRECTORY_EDIT),
    "portal:team_delete": Case(
        url("portal:team_delete", "team_a"), expect(LOGIN, 403, 403, 403, 403, 404, 200)
    ),
    "portal:value_stream_delete": Case(
        url("portal:value_stream_delete", "value_stream"), SUPERUSER_PAGE
    ),
    "portal:north_star": Case(url("portal:north_star"), ORG_PAGE),
    "portal:north_star_record": Case(
        url("portal:north_star_record"),
        LEAD_ANYWHERE_POST,
        method="post",
        data=lambda o: {"measured_on": "2026-11-01", "value": "42", "note": ""},
    ),
    "portal:north_star_import": Case(url("portal:north_star_import"), LEAD_ANYWHERE_PAGE),
    "portal:north_star_edit": Case(url("portal:north_star_edit"), SUPERUSER_PAGE),
    "portal:settings": Case(url("portal:settings"), ORG_PAGE),
    "portal:team_create": Case(url("portal:team_create"), SUPERUSER_PAGE),
    "portal:team_settings": Case(url("portal:team_settings", "team_a"), TEAM_A_PAGE),
    "portal:member_add": Case(
        url("portal:member_add", "team_a"),
        TEAM_A_ADMIN_POST,
        method="post",
        data=lambda o: {"user": "newcomer", "role": Role.VIEWER},
    ),
    "portal:member_update": Case(
        url("portal:member_update", "team_a", "viewer_membership"),
        TEAM_A_ADMIN_POST,
        method="post",
        data=lambda o: {"role": Role.AGENT},
    ),
    "portal:member_remove": Case(
        url("portal:member_remove", "team_a", "viewer_membership"),
        TEAM_A_ADMIN_POST,
        method="post",
    ),
    "portal:value_stream_list": Case(url("portal:value_stream_list"), SUPERUSER_PAGE),
    "portal:value_stream_edit": Case(
        url("portal:value_stream_edit", "value_stream"), SUPERUSER_PAGE
    ),
    # A person's own profile and notifications: nobody else's, superusers included.
    "portal:profile": Case(url("portal:profile"), ORG_PAGE),
    "portal:notification_list": Case(url("portal:notification_list"), ORG_PAGE),
    "portal:notification_read": Case(
        url("portal:notification_read", "agent_notification"),
        expect(LOGIN, 404, REDIRECT, 404, 404, 404, 404),
        method="post",
    ),
    "portal:notification_read_all": Case(
        url("portal:notification_read_all"),
        expect(LOGIN, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
        method="post",
    ),
    "portal:import_job_list": Case(url("portal:import_job_list"), ORG_PAGE),
    "portal:import_job_detail": Case(
        url("portal:import_job_detail", "agent_import"), OWN_IMPORT_PAGE
    ),
    "portal:import_job_report": Case(
        url("portal:import_job_report", "agent_import"), OWN_IMPORT_PAGE
    ),
    # Authentication.
    "login": Case(url("login"), PUBLIC),
    "logout": Case(
        url("logout"), expect(LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN), method="post"
    ),
    "password_change": Case(url("password_change"), SIGNED_IN),
    "password_change_done": Case(url("password_change_done"), SIGNED_IN),
    "password_reset": Case(url("password_reset"), PUBLIC),
    "password_reset_done": Case(url("password_reset_done"), PUBLIC),
    "password_reset_confirm": Case(url("password_reset_confirm", "MQ", "set-password"), PUBLIC),
    "password_reset_complete": Case(url("password_reset_complete"), PUBLIC),
    # Probes and API documentation.
    "healthz": Case(url("healthz"), PUBLIC),
    "readyz": Case(url("readyz"), PUBLIC),
    "api-schema": Case(url("api-schema"), PUBLIC),
    "api-docs": Case(url("api-docs"), PUBLIC),
    # The REST API.
    "api:api-root": Case(url("api:api-root"), API_ORG),
    "api:api-token": Case(
        url("api:api-token"),
        expect(400, 400, 400, 400, 400, 400, 400),
        method="post",
        data=lambda o: {"username": "agent_a", "password": "wrong"},
    ),
    "api:team-list": Case(url("api:team-list"), API_ORG),
    "api:team-detail": Case(url("api:team-detail", "team_a_id"), API_TEAM_A),
    "api:value-stream-list": Case(url("api:value-stream-list"), API_ORG),
    "api:value-stream-detail": Case(url("api:value-stream-detail", "value_stream"), API_ORG),
    "api:membership-list": Case(url("api:membership-list"), API_ORG),
    "api:membership-detail": Case(url("api:membership-detail", "viewer_membership"), API_TEAM_A),
    "api:customer-list": Case(url("api:customer-list"), API_ORG),
    "api:customer-detail": Case(url("api:customer-detail", "customer"), API_ORG),
    "api:customer-import": Case(
        url("api:customer-import"),
        API_DIRECTORY_IMPORT,
        method="post",
        data=lambda o: {"file": csv_file("email,name\nnew@example.test,New\n")},
    ),
    "api:customer-erase": Case(
        url("api:customer-erase", "customer"),
        expect(401, 403, 200, 200, 200, 200, 200),
        method="post",
    ),
    "api:customer-merge": Case(
        url("api:customer-merge", "customer"),
        expect(401, 403, 200, 200, 200, 200, 200),
        method="post",
        data=lambda o: {"into": o["merge_target"]},
    ),
    "api:account-list": Case(url("api:account-list"), API_ORG),
    "api:account-detail": Case(url("api:account-detail", "account"), API_ORG),
    "api:account-import": Case(
        url("api:account-import"),
        API_DIRECTORY_IMPORT,
        method="post",
        data=lambda o: {"file": csv_file("name,mrr\nNew Co,10\n")},
    ),
    "api:north-star": Case(url("api:north-star"), API_ORG),
    "api:north-star-measurement-list": Case(url("api:north-star-measurement-list"), API_ORG),
    "api:north-star-measurement-detail": Case(
        url("api:north-star-measurement-detail", "measurement"), API_ORG
    ),
    "api:north-star-measurement-import": Case(
        url("api:north-star-measurement-import"),
        API_LEAD_ANYWHERE_IMPORT,
        method="post",
        data=lambda o: {"file": csv_file("date,value\n2026-10-01,7\n")},
    ),
    "api:import-job-list": Case(url("api:import-job-list"), API_ORG),
    "api:import-job-detail": Case(url("api:import-job-detail", "agent_import"), API_OWN_IMPORT),
    # Django admin: staff only; the index and one model stand for every admin page.
    "admin:index": Case(url("admin:index"), STAFF_ONLY),
    # The admin's own password change, in its place so that it revokes the API token.
    "admin_password_change": Case(url("admin_password_change"), STAFF_ONLY),
    "admin:portal_customer_changelist": Case(url("admin:portal_customer_changelist"), STAFF_ONLY),
    "admin:portal_customer_change": Case(
        url("admin:portal_customer_change", "customer"), STAFF_ONLY
    ),
}
