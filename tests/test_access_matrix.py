"""The access matrix: every URL pattern of the project, requested as each kind of user.

Personas: anonymous, an agent of team A, a lead of team A, a member (admin) of team B and a
superuser. Objects in the URLs belong to team A, or are organisation-wide. Expected answers:
``LOGIN`` is a redirect to the login page, ``REDIRECT`` a redirect elsewhere (a successful
POST), numbers are status codes. A URL pattern without an entry here fails
``test_every_url_pattern_has_a_matrix_entry``: add one when you add a URL.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.authtoken.models import Token

from portal import services
from portal.models import NorthStarMeasurement, NorthStarMetric, Role
from tests.factories import AccountFactory, CustomerFactory, MembershipFactory, UserFactory

LOGIN = "login"
REDIRECT = "redirect"
PERSONAS = ("anonymous", "agent_a", "lead_a", "member_b", "superuser")


def expect(anonymous, agent_a, lead_a, member_b, superuser) -> dict:
    return dict(zip(PERSONAS, (anonymous, agent_a, lead_a, member_b, superuser), strict=True))


# Web pages -------------------------------------------------------------------------------
ORG_PAGE = expect(LOGIN, 200, 200, 200, 200)
TEAM_A_PAGE = expect(LOGIN, 200, 200, 404, 200)
DIRECTORY_EDIT = expect(LOGIN, 200, 200, 200, 200)  # agents of any team, member_b is admin of B
LEAD_ANYWHERE_POST = expect(LOGIN, 403, REDIRECT, REDIRECT, REDIRECT)
LEAD_ANYWHERE_PAGE = expect(LOGIN, 403, 200, 200, 200)
SUPERUSER_PAGE = expect(LOGIN, 403, 403, 403, 200)
TEAM_A_ADMIN_POST = expect(LOGIN, 403, 403, 404, REDIRECT)
PUBLIC = expect(200, 200, 200, 200, 200)
# API -------------------------------------------------------------------------------------
API_ORG = expect(401, 200, 200, 200, 200)
API_TEAM_A = expect(401, 200, 200, 404, 200)
API_LEAD_ANYWHERE = expect(401, 403, 200, 200, 200)


@dataclass
class Case:
    url: Callable[[dict], str]
    expected: dict
    method: str = "get"
    data: Callable[[dict], dict] = field(default=lambda objects: {})


def csv_file(text: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("import.csv", text.encode(), content_type="text/csv")


def url(name: str, *args: str) -> Callable[[dict], str]:
    return lambda objects: reverse(name, args=[objects.get(a, a) for a in args])


MATRIX: dict[str, Case] = {
    # The portal's pages.
    "portal:home": Case(url("portal:home"), ORG_PAGE),
    "portal:dashboards": Case(url("portal:dashboards"), ORG_PAGE),
    "portal:team_switch": Case(
        url("portal:team_switch"),
        expect(LOGIN, REDIRECT, REDIRECT, 404, REDIRECT),
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
        expect(LOGIN, REDIRECT, 404, 404, 404),
        method="post",
    ),
    "portal:notification_read_all": Case(
        url("portal:notification_read_all"),
        expect(LOGIN, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
        method="post",
    ),
    # Sections still to be built answer with an honest empty state.
    "feedback:inbox": Case(url("feedback:inbox"), ORG_PAGE),
    "surveys:index": Case(url("surveys:index"), ORG_PAGE),
    "backlog:index": Case(url("backlog:index"), ORG_PAGE),
    "backlog:objectives": Case(url("backlog:objectives"), ORG_PAGE),
    # Authentication.
    "login": Case(url("login"), PUBLIC),
    "logout": Case(url("logout"), expect(LOGIN, LOGIN, LOGIN, LOGIN, LOGIN), method="post"),
    "password_change": Case(url("password_change"), expect(LOGIN, 200, 200, 200, 200)),
    "password_change_done": Case(url("password_change_done"), expect(LOGIN, 200, 200, 200, 200)),
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
        expect(400, 400, 400, 400, 400),
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
        API_ORG,
        method="post",
        data=lambda o: {"file": csv_file("email,name\nnew@example.test,New\n")},
    ),
    "api:account-list": Case(url("api:account-list"), API_ORG),
    "api:account-detail": Case(url("api:account-detail", "account"), API_ORG),
    "api:account-import": Case(
        url("api:account-import"),
        API_ORG,
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
        API_LEAD_ANYWHERE,
        method="post",
        data=lambda o: {"file": csv_file("date,value\n2026-10-01,7\n")},
    ),
    # Django admin: staff only; the index and one model stand for every admin page.
    "admin:index": Case(url("admin:index"), expect(LOGIN, LOGIN, LOGIN, LOGIN, 200)),
    "admin:portal_customer_changelist": Case(
        url("admin:portal_customer_changelist"), expect(LOGIN, LOGIN, LOGIN, LOGIN, 200)
    ),
    "admin:portal_customer_change": Case(
        url("admin:portal_customer_change", "customer"), expect(LOGIN, LOGIN, LOGIN, LOGIN, 200)
    ),
}

# The REST API's URL names live in the one ``api`` namespace; they are requested with a token.
API_NAMESPACE = "api:"
# Every admin page is guarded by the admin site itself; the cases above stand for them all.
COVERED_NAMESPACES = ("admin:",)


def iter_url_names(resolver: URLResolver | None = None, namespace: str = ""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from iter_url_names(pattern, inner)
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name or f'<unnamed {pattern.pattern}>'}"


def test_every_url_pattern_has_a_matrix_entry():
    names = set(iter_url_names())
    missing = sorted(
        name for name in names if name not in MATRIX and not name.startswith(COVERED_NAMESPACES)
    )
    assert not missing, f"URL patterns without an access-matrix entry: {missing}"
    stale = sorted(set(MATRIX) - names)
    assert not stale, f"Matrix entries for URLs that no longer exist: {stale}"


@pytest.fixture
def objects(world) -> dict:
    viewer_membership = world.team_a.memberships.get(user=world.viewer_a)
    account = AccountFactory()
    customer = CustomerFactory(account=account)
    metric = NorthStarMetric.objects.create(pk=1, name="Weekly active teams", unit="teams")
    measurement = NorthStarMeasurement.objects.create(
        metric=metric, measured_on=date(2026, 10, 5), value=Decimal("12")
    )
    UserFactory(username="newcomer")
    MembershipFactory(team=world.team_b, role=Role.VIEWER)
    (agent_notification,) = services.notify(
        users=[world.agent_a], kind="matrix", subject="For agent_a", url="/"
    )
    return {
        "world": world,
        "team_a": world.team_a.slug,
        "team_a_id": world.team_a.pk,
        "viewer_membership": viewer_membership.pk,
        "value_stream": world.team_a.value_stream_id,
        "account": account.pk,
        "customer": customer.pk,
        "measurement": measurement.pk,
        "agent_notification": agent_notification.pk,
    }


def outcome(response) -> int | str:
    if response.status_code in (301, 302, 303):
        location = response.headers["Location"]
        login_pages = (reverse(settings.LOGIN_URL), reverse("admin:login"))
        return LOGIN if location.startswith(login_pages) else REDIRECT
    return response.status_code


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_access_matrix(name, persona, objects):
    case = MATRIX[name]
    client = Client()
    if persona != "anonymous":
        user = getattr(objects["world"], persona)
        if name.startswith(API_NAMESPACE):
            token, _ = Token.objects.get_or_create(user=user)
            client = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
        else:
            client.force_login(user)
    response = getattr(client, case.method)(case.url(objects), case.data(objects))
    assert outcome(response) == case.expected[persona], (
        f"{case.method.upper()} {case.url(objects)} as {persona}: got {response.status_code}"
        f" {response.headers.get('Location', '')}"
    )
