"""The portal's pages: who may see and change what, both renderings of the list pages and of
every form (the fragment for htmx, the page without JavaScript), imports with per-row
reports, the team switcher."""

import html
from datetime import date
from decimal import Decimal

import pytest
from django import forms as django_forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal import access, services
from portal.forms import UNKNOWN_USER
from portal.models import Account, Customer, Membership, NorthStarMeasurement, Role, Team
from portal.selectors import CURRENT_TEAM_SESSION_KEY
from portal.validation import NOT_A_NUMBER
from tests.factories import (
    AccountFactory,
    CustomerFactory,
    MembershipFactory,
    UserFactory,
    ValueStreamFactory,
)

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def directory(world):
    account = AccountFactory(name="Acme", mrr=Decimal("1250.5"))
    account.domains.create(domain="acme.test")
    alice = CustomerFactory(name="Alice Doe", email="alice@acme.test", account=account)
    alice.attributes = {"seats": 12}
    alice.save()
    bob = CustomerFactory(name="Bob Roe", email="bob@other.test", account=None, tier="vip")
    return {"account": account, "alice": alice, "bob": bob}


@pytest.fixture
def north_star(world):
    metric = services.north_star_set(
        actor=world.superuser, name="Weekly active teams", definition="Teams that", unit="teams"
    )
    services.north_star_measurement_record(
        actor=world.superuser, measured_on=date(2025, 1, 6), value=Decimal("10")
    )
    services.north_star_measurement_record(
        actor=world.superuser, measured_on=date(2025, 1, 13), value=Decimal("12.5")
    )
    return metric


# Pages render ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("portal:home", {}),
        ("portal:dashboards", {}),
        ("portal:customer_list", {}),
        ("portal:account_list", {}),
        ("portal:north_star", {}),
        ("portal:settings", {}),
        ("feedback:inbox", {}),
        ("surveys:index", {}),
        ("backlog:index", {}),
        ("backlog:objectives", {}),
        ("password_change", {}),
    ],
)
def test_pages_render_for_a_viewer(client, world, directory, north_star, name, kwargs):
    client.force_login(world.viewer_a)
    response = client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 200
    assert b"<html" in response.content
    assert b'hx-headers=\'{"X-CSRFToken"' in response.content


def test_detail_pages_render(client, world, directory):
    client.force_login(world.viewer_a)
    customer = client.get(reverse("portal:customer_detail", args=[directory["alice"].pk]))
    assert customer.status_code == 200
    assert b"alice@acme.test" in customer.content
    assert b"seats" in customer.content
    account = client.get(reverse("portal:account_detail", args=[directory["account"].pk]))
    assert account.status_code == 200
    assert b"1250.50" in account.content
    assert b"acme.test" in account.content
    assert b"Alice Doe" in account.content


def test_editor_pages_render_for_an_agent(client, world, directory):
    client.force_login(world.agent_a)
    for url in (
        reverse("portal:customer_create"),
        reverse("portal:customer_edit", args=[directory["alice"].pk]),
        reverse("portal:customer_import"),
        reverse("portal:account_create"),
        reverse("portal:account_edit", args=[directory["account"].pk]),
        reverse("portal:account_import"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"<html" in response.content


def test_superuser_pages_render(client, world, north_star):
    client.force_login(world.superuser)
    stream = world.team_a.value_stream
    for url in (
        reverse("portal:team_create"),
        reverse("portal:value_stream_list"),
        reverse("portal:value_stream_edit", args=[stream.pk]),
        reverse("portal:north_star_edit"),
        reverse("portal:north_star_import"),
        reverse("portal:team_settings", args=[world.team_b.slug]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url


def test_home_shows_teams_north_star_and_counts(client, world, directory, north_star):
    client.force_login(world.lead_a)
    response = client.get(reverse("portal:home"))
    content = response.content.decode()
    assert "Team A" in content
    assert "Lead" in content
    assert "Weekly active teams" in content
    assert "12.5" in content
    assert 'id="north-star-points"' in content
    assert "Not available yet" in content


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(reverse("portal:customer_list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_login_page_has_labels_and_reset_link(client, db):
    response = client.get(reverse("login"))
    content = response.content.decode()
    assert response.status_code == 200
    assert '<label for="id_username"' in content
    assert reverse("password_reset") in content
    assert "Forgot password?" in content
    assert reverse("portal:customer_list") not in content


# Both renderings of list pages -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fragment_id"),
    [("portal:customer_list", "customer-results"), ("portal:account_list", "account-results")],
)
def test_list_pages_answer_htmx_with_the_fragment(client, world, directory, name, fragment_id):
    client.force_login(world.viewer_a)
    full = client.get(reverse(name))
    fragment = client.get(reverse(name), **HX)
    assert b"<html" in full.content
    assert b"<html" not in fragment.content
    assert fragment.content.lstrip().startswith(f'<section id="{fragment_id}"'.encode())
    assert "HX-Request" in fragment["Vary"]
    restore = client.get(reverse(name), HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HX)
    assert b"<html" in restore.content


def test_customer_search_and_filters_narrow_the_list(client, world, directory):
    client.force_login(world.viewer_a)
    url = reverse("portal:customer_list")
    by_search = client.get(url, {"q": "alice"}, **HX).content.decode()
    assert "Alice Doe" in by_search
    assert "Bob Roe" not in by_search
    by_tier = client.get(url, {"tier": "vip"}, **HX).content.decode()
    assert "Bob Roe" in by_tier
    assert "Alice Doe" not in by_tier
    by_account = client.get(url, {"account": directory["account"].pk}, **HX).content.decode()
    assert "Alice Doe" in by_account
    assert "Bob Roe" not in by_account


def test_customer_list_paginates_by_25(client, world):
    CustomerFactory.create_batch(30, account=None)
    client.force_login(world.viewer_a)
    first = client.get(reverse("portal:customer_list")).content.decode()
    assert "Page 1 of 2" in first
    second = client.get(reverse("portal:customer_list"), {"page": 2}, **HX).content.decode()
    assert "Page 2 of 2" in second
    assert second.count("<tr>") == 1 + 5


def test_account_search_and_segment_filter(client, world, directory):
    AccountFactory(name="Globex", segment="enterprise")
    client.force_login(world.viewer_a)
    url = reverse("portal:account_list")
    assert "Acme" in client.get(url, {"q": "acme.test"}, **HX).content.decode()
    enterprise = client.get(url, {"segment": "enterprise"}, **HX).content.decode()
    assert "Globex" in enterprise
    assert "Acme" not in enterprise


# Roles -------------------------------------------------------------------------------------


def test_viewer_may_not_create_edit_or_import_customers(client, world, directory):
    client.force_login(world.viewer_a)
    pk = directory["alice"].pk
    for url in (
        reverse("portal:customer_create"),
        reverse("portal:customer_edit", args=[pk]),
        reverse("portal:customer_import"),
        reverse("portal:account_create"),
        reverse("portal:account_edit", args=[directory["account"].pk]),
        reverse("portal:account_import"),
    ):
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"email": "x@example.test", "name": "X"}).status_code == 403
    assert not Customer.objects.filter(email="x@example.test").exists()


def test_forbidden_page_explains_why(client, world):
    client.force_login(world.viewer_a)
    response = client.get(reverse("portal:customer_create"))
    assert html.escape(access.NEEDS_DIRECTORY_EDITOR) in response.content.decode()
    assert b"<html" in response.content


@pytest.mark.parametrize("user_attr", ["admin_a", "lead_a", "viewer_a"])
def test_non_superusers_may_not_manage_teams_value_streams_or_the_north_star(
    client, world, user_attr
):
    client.force_login(getattr(world, user_attr))
    stream = world.team_a.value_stream
    for url in (
        reverse("portal:team_create"),
        reverse("portal:value_stream_list"),
        reverse("portal:value_stream_edit", args=[stream.pk]),
        reverse("portal:north_star_edit"),
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("portal:team_create"), {"name": "Sneaky"}).status_code == 403
    assert not Team.objects.filter(name="Sneaky").exists()


def test_viewer_may_not_record_north_star(client, world, north_star):
    client.force_login(world.agent_a)
    response = client.post(
        reverse("portal:north_star_record"), {"measured_on": "2025-02-01", "value": "3"}
    )
    assert response.status_code == 403
    assert client.get(reverse("portal:north_star_import")).status_code == 403


def test_member_of_another_team_gets_404(client, world):
    client.force_login(world.member_b)
    team_a = world.team_a
    membership = Membership.objects.get(team=team_a, user=world.viewer_a)
    assert client.get(reverse("portal:team_settings", args=[team_a.slug])).status_code == 404
    assert client.post(reverse("portal:member_add", args=[team_a.slug])).status_code == 404
    url = reverse("portal:member_update", args=[team_a.slug, membership.pk])
    assert client.post(url, {"role": "admin"}).status_code == 404
    url = reverse("portal:member_remove", args=[team_a.slug, membership.pk])
    assert client.post(url).status_code == 404
    membership.refresh_from_db()
    assert membership.role == Role.VIEWER


def test_membership_of_another_team_in_the_url_is_404(client, world):
    client.force_login(world.superuser)
    membership_b = Membership.objects.get(team=world.team_b, user=world.member_b)
    url = reverse("portal:member_update", args=[world.team_a.slug, membership_b.pk])
    assert client.post(url, {"role": "viewer"}).status_code == 404
    url = reverse("portal:member_remove", args=[world.team_a.slug, membership_b.pk])
    assert client.post(url).status_code == 404
    assert Membership.objects.filter(pk=membership_b.pk, role=Role.ADMIN).exists()


def test_team_settings_is_read_only_for_non_admins(client, world):
    client.force_login(world.viewer_a)
    url = reverse("portal:team_settings", args=[world.team_a.slug])
    page = client.get(url).content.decode()
    assert "admin_a" in page
    assert reverse("portal:member_add", args=[world.team_a.slug]) not in page
    assert client.post(url, {"name": "Renamed"}).status_code == 403
    response = client.post(
        reverse("portal:member_add", args=[world.team_a.slug]), {"user": "outsider"}
    )
    assert response.status_code == 403


# Forms -------------------------------------------------------------------------------------


def test_bad_email_re_renders_the_form_and_saves_nothing(client, world):
    client.force_login(world.agent_a)
    response = client.post(
        reverse("portal:customer_create"), {"email": "not-an-email", "tier": "standard"}
    )
    assert response.status_code == 200
    message = services.EMAIL_INVALID.format(email="not-an-email")
    assert html.escape(message) in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert not Customer.objects.exists()


def test_good_customer_post_redirects_and_saves(client, world, directory):
    client.force_login(world.agent_a)
    response = client.post(
        reverse("portal:customer_create"),
        {
            "email": " Carol@Example.test ",
            "name": "Carol",
            "account": directory["account"].pk,
            "tier": "priority",
            "other_emails": "carol@home.test, c@work.test",
            "attributes": '{"region": "EU"}',
        },
    )
    carol = Customer.objects.get(email="carol@example.test")
    assert response.status_code == 302
    assert response.url == reverse("portal:customer_detail", args=[carol.pk])
    assert carol.account == directory["account"]
    assert carol.attributes == {"region": "EU"}
    assert sorted(carol.other_emails.values_list("email", flat=True)) == [
        "c@work.test",
        "carol@home.test",
    ]
    page = client.get(response.url).content.decode()
    assert "Customer Carol created." in page


def test_bad_attributes_are_a_field_error(client, world):
    client.force_login(world.agent_a)
    response = client.post(
        reverse("portal:customer_create"),
        {"email": "d@example.test", "tier": "standard", "attributes": '{"a": [1]}'},
    )
    assert response.status_code == 200
    assert html.escape(services.ATTRIBUTES_INVALID) in response.content.decode()
    assert not Customer.objects.exists()


def test_customer_edit_with_a_taken_email_changes_nothing(client, world, directory):
    client.force_login(world.agent_a)
    bob = directory["bob"]
    response = client.post(
        reverse("portal:customer_edit", args=[bob.pk]),
        {"email": "alice@acme.test", "name": "Bob", "tier": "vip", "attributes": "{}"},
    )
    assert response.status_code == 200
    assert html.escape(services.EMAIL_TAKEN.format(email="alice@acme.test")) in (
        response.content.decode()
    )
    bob.refresh_from_db()
    assert bob.email == "bob@other.test"


def test_account_create_and_edit(client, world):
    client.force_login(world.agent_a)
    response = client.post(
        reverse("portal:account_create"),
        {"name": "Initech", "domains": "initech.test initech.example", "mrr": "99.9"},
    )
    account = Account.objects.get(name="Initech")
    assert response.status_code == 302
    assert sorted(account.domains.values_list("domain", flat=True)) == [
        "initech.example",
        "initech.test",
    ]
    response = client.post(
        reverse("portal:account_edit", args=[account.pk]),
        {"name": "Initech", "domains": "initech.test", "mrr": "-1"},
    )
    assert response.status_code == 200
    account.refresh_from_db()
    assert account.mrr == Decimal("99.90")
    response = client.post(
        reverse("portal:account_edit", args=[account.pk]),
        {"name": "Initech", "domains": "initech.test", "mrr": "100", "segment": "smb"},
    )
    assert response.status_code == 302
    assert list(account.domains.values_list("domain", flat=True)) == ["initech.test"]


def test_account_with_a_taken_domain_shows_the_message(client, world, directory):
    client.force_login(world.agent_a)
    response = client.post(
        reverse("portal:account_create"), {"name": "Other", "domains": "acme.test", "mrr": "0"}
    )
    assert response.status_code == 200
    message = services.DOMAIN_TAKEN.format(domain="acme.test", account="Acme")
    assert html.escape(message) in response.content.decode()
    assert not Account.objects.filter(name="Other").exists()


# One form loop, two renderings -------------------------------------------------------------


def _refused_post(name: str, world, directory) -> tuple:
    """(persona, URL, data the services or forms refuse, id of the form's fragment, message)."""
    own = Membership.objects.get(team=world.team_a, user=world.admin_a)
    team_url = ("portal:team_settings", [world.team_a.slug])
    other_stream = ValueStreamFactory(name="Growth")
    cases = {
        "customer_create": (
            world.agent_a,
            ("portal:customer_create", []),
            {"email": "not-an-email", "tier": "standard"},
            "customer-form",
            services.EMAIL_INVALID.format(email="not-an-email"),
        ),
        "customer_edit": (
            world.agent_a,
            ("portal:customer_edit", [directory["bob"].pk]),
            {"email": "alice@acme.test", "tier": "vip", "attributes": "{}"},
            "customer-form",
            services.EMAIL_TAKEN.format(email="alice@acme.test"),
        ),
        "account_create": (
            world.agent_a,
            ("portal:account_create", []),
            {"name": "Other", "domains": "acme.test", "mrr": "0"},
            "account-form",
            services.DOMAIN_TAKEN.format(domain="acme.test", account="Acme"),
        ),
        "account_edit": (
            world.agent_a,
            ("portal:account_edit", [AccountFactory(name="Globex").pk]),
            {"name": "acme", "mrr": "0"},
            "account-form",
            services.ACCOUNT_NAME_TAKEN.format(name="acme"),
        ),
        "north_star_record": (
            world.lead_a,
            ("portal:north_star_record", []),
            {"measured_on": "2025-02-01", "value": "abc"},
            "record-form",
            NOT_A_NUMBER.format(value="abc"),
        ),
        "north_star_edit": (
            world.superuser,
            ("portal:north_star_edit", []),
            {"name": ""},
            "north-star-form",
            str(django_forms.Field.default_error_messages["required"]),
        ),
        "team_create": (
            world.superuser,
            ("portal:team_create", []),
            {"name": "team b"},
            "team-form",
            services.TEAM_NAME_TAKEN.format(name="team b"),
        ),
        "value_stream_create": (
            world.superuser,
            ("portal:value_stream_list", []),
            {"name": "growth"},
            "value-stream-form",
            services.VALUE_STREAM_TAKEN.format(name="growth"),
        ),
        "value_stream_edit": (
            world.superuser,
            ("portal:value_stream_edit", [world.team_a.value_stream.pk]),
            {"name": other_stream.name},
            "value-stream-form",
            services.VALUE_STREAM_TAKEN.format(name=other_stream.name),
        ),
        "team_settings": (
            world.admin_a,
            team_url,
            {"name": "Team B"},
            "team-form",
            services.TEAM_NAME_TAKEN.format(name="Team B"),
        ),
        "member_add": (
            world.admin_a,
            ("portal:member_add", [world.team_a.slug]),
            {"user": "nobody", "role": "viewer"},
            "member-form",
            UNKNOWN_USER.format(value="nobody"),
        ),
        "member_update": (
            world.admin_a,
            ("portal:member_update", [world.team_a.slug, own.pk]),
            {"role": "viewer"},
            f"member-{own.pk}-role-form",
            services.LAST_ADMIN.format(team=world.team_a),
        ),
        "member_update_unknown_role": (
            world.admin_a,
            ("portal:member_update", [world.team_a.slug, own.pk]),
            {"role": "boss"},
            f"member-{own.pk}-role-form",
            services.INVALID_ROLE,
        ),
        "member_remove": (
            world.admin_a,
            ("portal:member_remove", [world.team_a.slug, own.pk]),
            {},
            f"member-{own.pk}-remove-form",
            services.LAST_ADMIN.format(team=world.team_a),
        ),
    }
    user, (url_name, args), data, fragment_id, message = cases[name]
    return user, reverse(url_name, args=args), data, fragment_id, html.escape(message)


REFUSED_POSTS = [
    "customer_create",
    "customer_edit",
    "account_create",
    "account_edit",
    "north_star_record",
    "north_star_edit",
    "team_create",
    "value_stream_create",
    "value_stream_edit",
    "team_settings",
    "member_add",
    "member_update",
    "member_update_unknown_role",
    "member_remove",
]


@pytest.mark.parametrize("case", REFUSED_POSTS)
def test_refused_htmx_post_gets_the_form_fragment_with_its_error(
    client, world, directory, north_star, case
):
    user, url, data, fragment_id, message = _refused_post(case, world, directory)
    client.force_login(user)
    response = client.post(url, data, **HX)
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert content.lstrip().startswith(f'<form id="{fragment_id}"')
    assert f'hx-target="#{fragment_id}"' in content
    assert f'action="{url}"' in content
    assert f'hx-post="{url}"' in content
    assert message in content
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize("case", REFUSED_POSTS)
def test_refused_plain_post_gets_the_whole_page_with_the_form_and_its_error(
    client, world, directory, north_star, case
):
    user, url, data, fragment_id, message = _refused_post(case, world, directory)
    client.force_login(user)
    response = client.post(url, data)
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" in content
    assert f'<form id="{fragment_id}"' in content
    assert message in content
    assert "HX-Request" in response["Vary"]


def _accepted_post(name: str, world, directory) -> tuple:
    """(persona, URL, data the services accept, where the browser goes next, the message)."""
    viewer = Membership.objects.get(team=world.team_a, user=world.viewer_a)
    settings_url = reverse("portal:team_settings", args=[world.team_a.slug])
    cases = {
        "customer_create": (
            world.agent_a,
            reverse("portal:customer_create"),
            {"email": "carol@example.test", "name": "Carol", "tier": "standard"},
            lambda: reverse("portal:customer_detail", args=[Customer.objects.get(name="Carol").pk]),
            "Customer Carol created.",
        ),
        "north_star_record": (
            world.lead_a,
            reverse("portal:north_star_record"),
            {"measured_on": "2025-02-08", "value": "15"},
            lambda: reverse("portal:north_star"),
            "Recorded the value for 2025-02-08.",
        ),
        "team_settings": (
            world.admin_a,
            settings_url,
            {"name": "Team A+"},
            lambda: settings_url,
            "Team Team A+ saved.",
        ),
        "member_add": (
            world.admin_a,
            reverse("portal:member_add", args=[world.team_a.slug]),
            {"user": "outsider", "role": "agent"},
            lambda: settings_url,
            "Added outsider as agent.",
        ),
        "member_update": (
            world.admin_a,
            reverse("portal:member_update", args=[world.team_a.slug, viewer.pk]),
            {"role": "agent"},
            lambda: settings_url,
            "viewer_a is now agent.",
        ),
        "member_remove": (
            world.admin_a,
            reverse("portal:member_remove", args=[world.team_a.slug, viewer.pk]),
            {},
            lambda: settings_url,
            "Removed viewer_a from Team A.",
        ),
    }
    return cases[name]


@pytest.mark.parametrize(
    "case",
    [
        "customer_create",
        "north_star_record",
        "team_settings",
        "member_add",
        "member_update",
        "member_remove",
    ],
)
def test_accepted_htmx_post_sends_the_browser_to_the_next_page(
    client, world, directory, north_star, case
):
    user, url, data, next_url, message = _accepted_post(case, world, directory)
    client.force_login(user)
    response = client.post(url, data, **HX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == next_url()
    assert response.content == b""
    assert "HX-Request" in response["Vary"]
    assert html.escape(message) in client.get(next_url()).content.decode()


def test_accepted_plain_post_redirects_without_javascript(client, world, directory):
    client.force_login(world.admin_a)
    url = reverse("portal:member_add", args=[world.team_a.slug])
    response = client.post(url, {"user": "outsider", "role": "agent"})
    assert response.status_code == 302
    assert response.url == reverse("portal:team_settings", args=[world.team_a.slug])
    assert "HX-Redirect" not in response


def test_member_who_removes_themselves_is_sent_to_the_settings_page(client, world):
    MembershipFactory(user=world.outsider, team=world.team_a, role=Role.ADMIN)
    client.force_login(world.outsider)
    own = Membership.objects.get(team=world.team_a, user=world.outsider)
    url = reverse("portal:member_remove", args=[world.team_a.slug, own.pk])
    response = client.post(url, **HX)
    assert response["HX-Redirect"] == reverse("portal:settings")
    assert not Membership.objects.filter(pk=own.pk).exists()


def test_team_page_has_one_role_select_per_member_with_unique_ids(client, world):
    client.force_login(world.admin_a)
    page = client.get(reverse("portal:team_settings", args=[world.team_a.slug])).content.decode()
    for membership in Membership.objects.filter(team=world.team_a):
        assert page.count(f'id="member-{membership.pk}-role"') == 1
        assert f'<label for="member-{membership.pk}-role"' in page


# Imports -----------------------------------------------------------------------------------


def _csv(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("people.csv", text.encode(), content_type="text/csv")


def test_customer_import_redirects_to_its_job_which_reports_each_row(
    client, world, django_capture_on_commit_callbacks
):
    # The upload now redirects to the job's page (it answered 200 with the report while
    # imports ran inside the request).
    client.force_login(world.agent_a)
    upload = _csv("email,name,tier\nok@example.test,Ok,standard\nbroken,Bad,standard\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("portal:customer_import"), {"file": upload})
    assert response.status_code == 302
    content = client.get(response["Location"]).content.decode()
    assert 'id="import-report"' in content
    assert '<td data-label="Line">3</td>' in content
    assert html.escape(services.EMAIL_INVALID.format(email="broken")) in content
    assert Customer.objects.filter(email="ok@example.test").exists()


def test_import_of_a_file_without_required_columns_is_a_form_error(client, world):
    client.force_login(world.agent_a)
    response = client.post(reverse("portal:account_import"), {"file": _csv("plan\ngold\n")})
    assert response.status_code == 200
    assert 'id="import-report"' not in response.content.decode()
    assert "lacks the column(s): name" in response.content.decode()


def test_import_form_is_multipart(client, world):
    client.force_login(world.agent_a)
    response = client.get(reverse("portal:customer_import"))
    assert b'enctype="multipart/form-data"' in response.content


def test_north_star_import_and_record(
    client, world, north_star, django_capture_on_commit_callbacks
):
    client.force_login(world.lead_a)
    upload = _csv("date,value\n2025-02-01,14\nyesterday,3\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("portal:north_star_import"), {"file": upload})
    assert response.status_code == 302
    assert '<td data-label="Line">3</td>' in client.get(response["Location"]).content.decode()
    response = client.post(
        reverse("portal:north_star_record"), {"measured_on": "2025-02-08", "value": "15"}
    )
    assert response.status_code == 302
    assert NorthStarMeasurement.objects.filter(measured_on=date(2025, 2, 8)).exists()
    response = client.post(reverse("portal:north_star_record"), {"measured_on": "", "value": "abc"})
    assert response.status_code == 200
    assert NorthStarMeasurement.objects.count() == 4


def test_north_star_filter_by_dates(client, world, north_star):
    client.force_login(world.viewer_a)
    response = client.get(reverse("portal:north_star"), {"from": "2025-01-10"})
    content = response.content.decode()
    assert "2025-01-13" in content
    assert "2025-01-06" not in content


def test_north_star_empty_state_offers_the_form_to_superusers_only(client, world):
    client.force_login(world.viewer_a)
    assert b"Define the North Star" not in client.get(reverse("portal:north_star")).content
    client.force_login(world.superuser)
    assert b"Define the North Star" in client.get(reverse("portal:north_star")).content
    response = client.post(reverse("portal:north_star_edit"), {"name": "Active teams"})
    assert response.status_code == 302
    assert b"Active teams" in client.get(reverse("portal:north_star")).content


# Settings area -----------------------------------------------------------------------------


def test_superuser_creates_team_and_value_stream(client, world):
    client.force_login(world.superuser)
    response = client.post(reverse("portal:value_stream_list"), {"name": "Growth"})
    assert response.status_code == 302
    response = client.post(reverse("portal:team_create"), {"name": "Team C", "mission": "x"})
    assert response.status_code == 302
    assert response.url == reverse("portal:team_settings", args=["team-c"])
    response = client.post(reverse("portal:team_create"), {"name": "team c"})
    assert response.status_code == 200
    assert Team.objects.filter(name__iexact="team c").count() == 1


def test_admin_adds_changes_and_removes_members(client, world):
    client.force_login(world.admin_a)
    slug = world.team_a.slug
    response = client.post(
        reverse("portal:member_add", args=[slug]),
        {"user": "outsider@example.test", "role": "agent"},
    )
    assert response.status_code == 302
    membership = Membership.objects.get(team=world.team_a, user=world.outsider)
    assert membership.role == Role.AGENT
    response = client.post(reverse("portal:member_add", args=[slug]), {"user": "nobody"})
    assert response.status_code == 200
    response = client.post(
        reverse("portal:member_update", args=[slug, membership.pk]), {"role": "lead"}
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == Role.LEAD
    response = client.post(reverse("portal:member_remove", args=[slug, membership.pk]))
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_last_admin_cannot_be_demoted(client, world):
    client.force_login(world.admin_a)
    own = Membership.objects.get(team=world.team_a, user=world.admin_a)
    response = client.post(
        reverse("portal:member_update", args=[world.team_a.slug, own.pk]), {"role": "viewer"}
    )
    assert response.status_code == 200
    assert html.escape(services.LAST_ADMIN.format(team=world.team_a)) in response.content.decode()
    own.refresh_from_db()
    assert own.role == Role.ADMIN


def test_admin_renames_team(client, world):
    client.force_login(world.admin_a)
    url = reverse("portal:team_settings", args=[world.team_a.slug])
    response = client.post(url, {"name": "Team A+", "mission": "Help"})
    assert response.status_code == 302
    world.team_a.refresh_from_db()
    assert world.team_a.name == "Team A+"
    response = client.post(url, {"name": "Team B"})
    assert response.status_code == 200
    world.team_a.refresh_from_db()
    assert world.team_a.name == "Team A+"


# Team switcher and logout ------------------------------------------------------------------


def test_team_switch_stores_a_visible_team(client, world):
    MembershipFactory(user=world.viewer_a, team=world.team_b, role=Role.VIEWER)
    client.force_login(world.viewer_a)
    response = client.post(
        reverse("portal:team_switch"), {"team": world.team_b.pk, "next": "/customers/"}
    )
    assert response.status_code == 302
    assert response.url == "/customers/"
    assert client.session[CURRENT_TEAM_SESSION_KEY] == world.team_b.pk


def test_team_switch_refuses_a_team_not_visible(client, world):
    client.force_login(world.viewer_a)
    response = client.post(reverse("portal:team_switch"), {"team": world.team_b.pk})
    assert response.status_code == 404
    assert CURRENT_TEAM_SESSION_KEY not in client.session


def test_team_switch_ignores_an_unsafe_next_and_refuses_get(client, world):
    client.force_login(world.viewer_a)
    response = client.post(
        reverse("portal:team_switch"), {"team": world.team_a.pk, "next": "https://evil.test/"}
    )
    assert response.url == reverse("portal:home")
    assert client.get(reverse("portal:team_switch")).status_code == 405


def test_logout_needs_post(client, world):
    client.force_login(world.viewer_a)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("portal:home")).status_code == 302


def test_user_without_teams_sees_an_honest_home(client, db):
    user = UserFactory(username="loner")
    client.force_login(user)
    content = client.get(reverse("portal:home")).content.decode()
    assert "not a member of any team" in content
    assert "team-switcher-select" not in content


def test_server_error_page_renders_without_a_request():
    from django.template.loader import render_to_string

    page = render_to_string("500.html", {"detail": "Something broke."})
    assert "Something broke." in page
    assert "/static/vendor/pico.min.css" in page


def test_password_reset_sends_a_working_link(client, world, mailoutbox):
    response = client.post(reverse("password_reset"), {"email": "viewer_a@example.test"})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    link = next(line for line in mailoutbox[0].body.splitlines() if "/auth/reset/" in line)
    path = link.split("testserver", 1)[1]
    page = client.get(path, follow=True)
    assert b"Choose a new password" in page.content
