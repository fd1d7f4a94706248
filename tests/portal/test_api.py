"""The REST API under /api/v1/: authentication, team scoping, roles, the directory with its
imports, the North Star and the OpenAPI documentation."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from portal import access, imports, services
from portal.api.serializers import NO_SUCH_USER
from portal.api.viewsets import INVALID_CREDENTIALS, NORTH_STAR_NOT_DEFINED
from portal.models import (
    Account,
    Customer,
    Membership,
    NorthStarMeasurement,
    NorthStarMetric,
    Role,
    Team,
    Tier,
)
from tests.factories import TEST_PASSWORD, AccountFactory, CustomerFactory, UserFactory


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def csv_upload(content: bytes | str, name: str = "import.csv") -> SimpleUploadedFile:
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


def north_star() -> NorthStarMetric:
    return NorthStarMetric.objects.create(pk=NorthStarMetric.SINGLETON_ID, name="Weekly users")


# Authentication ------------------------------------------------------------------------------


def test_token_round_trip_authenticates_later_requests(world):
    client = APIClient()
    response = client.post(
        reverse("api:api-token"), {"username": "agent_a", "password": TEST_PASSWORD}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]

    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    teams = client.get(reverse("api:team-list"))
    assert teams.status_code == 200
    assert [team["name"] for team in teams.json()["results"]] == ["Team A"]


def test_token_is_the_same_when_asked_twice(world):
    client = APIClient()
    body = {"username": "agent_a", "password": TEST_PASSWORD}
    first = client.post(reverse("api:api-token"), body, format="json").json()["token"]
    second = client.post(reverse("api:api-token"), body, format="json").json()["token"]
    assert first == second


def test_token_with_wrong_password_answers_400_with_a_message(world):
    response = APIClient().post(
        reverse("api:api-token"), {"username": "agent_a", "password": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"detail": INVALID_CREDENTIALS}


def test_token_endpoint_needs_no_csrf_token(world):
    client = APIClient(enforce_csrf_checks=True)
    response = client.post(
        reverse("api:api-token"), {"username": "agent_a", "password": TEST_PASSWORD}, format="json"
    )
    assert response.status_code == 200


def test_anonymous_request_answers_401(db):
    assert APIClient().get(reverse("api:customer-list")).status_code == 401


# Teams and memberships: scoping --------------------------------------------------------------


def test_team_list_shows_only_the_users_own_teams(world):
    response = client_for(world.member_b).get(reverse("api:team-list"))
    assert [team["name"] for team in response.json()["results"]] == ["Team B"]


def test_superuser_sees_every_team_as_admin(world):
    results = client_for(world.superuser).get(reverse("api:team-list")).json()["results"]
    assert [team["name"] for team in results] == ["Team A", "Team B"]
    assert {team["my_role"] for team in results} == {"admin"}


def test_team_detail_shows_member_count_and_my_role(world):
    response = client_for(world.viewer_a).get(reverse("api:team-detail", args=[world.team_a.pk]))
    assert response.status_code == 200
    body = response.json()
    assert body["member_count"] == 4
    assert body["my_role"] == "viewer"
    assert body["value_stream"] == world.team_a.value_stream_id


def test_member_of_another_team_gets_404_for_the_team(world):
    response = client_for(world.member_b).get(reverse("api:team-detail", args=[world.team_a.pk]))
    assert response.status_code == 404


def test_member_of_another_team_gets_404_for_its_memberships(world):
    membership = Membership.objects.get(team=world.team_a, user=world.viewer_a)
    client = client_for(world.member_b)
    assert client.get(reverse("api:membership-detail", args=[membership.pk])).status_code == 404
    listed = client.get(reverse("api:membership-list"), {"team": world.team_a.pk}).json()
    assert listed["results"] == []


def test_non_numeric_id_in_the_url_answers_404(world):
    response = client_for(world.agent_a).get("/api/v1/teams/abc/")
    assert response.status_code == 404


def test_only_a_superuser_creates_teams(world):
    body = {"name": "Team C", "mission": "Help."}
    refused = client_for(world.admin_a).post(reverse("api:team-list"), body, format="json")
    assert refused.status_code == 403
    assert refused.json() == {"detail": access.NEEDS_SUPERUSER}

    created = client_for(world.superuser).post(reverse("api:team-list"), body, format="json")
    assert created.status_code == 201
    assert created.json()["slug"] == "team-c"
    assert created.json()["member_count"] == 0


def test_team_admin_renames_the_team_but_a_lead_may_not(world):
    url = reverse("api:team-detail", args=[world.team_a.pk])
    refused = client_for(world.lead_a).patch(url, {"name": "Renamed"}, format="json")
    assert refused.status_code == 403
    assert refused.json() == {"detail": access.NEEDS_ROLE.format(role="admin", team=world.team_a)}

    response = client_for(world.admin_a).patch(url, {"name": "Renamed"}, format="json")
    assert response.status_code == 200
    world.team_a.refresh_from_db()
    assert world.team_a.name == "Renamed"
    assert world.team_a.mission == "Make customers successful."


def test_team_name_taken_answers_400_with_the_service_message(world):
    response = client_for(world.admin_a).patch(
        reverse("api:team-detail", args=[world.team_a.pk]), {"name": "Team B"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"name": [services.TEAM_NAME_TAKEN.format(name="Team B")]}


def test_membership_list_filters_by_role(world):
    response = client_for(world.admin_a).get(
        reverse("api:membership-list"), {"role": ["viewer", "agent"]}
    )
    assert sorted(m["username"] for m in response.json()["results"]) == ["agent_a", "viewer_a"]


def test_team_admin_adds_a_member_by_username(world):
    UserFactory(username="newcomer")
    response = client_for(world.admin_a).post(
        reverse("api:membership-list"),
        {"team": world.team_a.pk, "user": "newcomer", "role": "agent"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["username"] == "newcomer"
    assert Membership.objects.filter(team=world.team_a, user__username="newcomer").exists()


def test_team_admin_adds_a_member_by_id(world):
    newcomer = UserFactory(username="newcomer")
    response = client_for(world.admin_a).post(
        reverse("api:membership-list"),
        {"team": world.team_a.pk, "user": newcomer.pk, "role": "viewer"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["user"] == newcomer.pk


def test_adding_an_unknown_user_answers_400_on_the_user_field(world):
    response = client_for(world.admin_a).post(
        reverse("api:membership-list"),
        {"team": world.team_a.pk, "user": "ghost", "role": "viewer"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"user": [NO_SUCH_USER.format(value="ghost")]}


def test_non_admin_cannot_add_a_member(world):
    UserFactory(username="newcomer")
    response = client_for(world.lead_a).post(
        reverse("api:membership-list"),
        {"team": world.team_a.pk, "user": "newcomer", "role": "viewer"},
        format="json",
    )
    assert response.status_code == 403
    assert response.json() == {"detail": access.NEEDS_ROLE.format(role="admin", team=world.team_a)}
    assert not Membership.objects.filter(user__username="newcomer").exists()


def test_adding_a_member_to_a_team_one_cannot_see_answers_400_on_the_team_field(world):
    UserFactory(username="newcomer")
    response = client_for(world.admin_a).post(
        reverse("api:membership-list"),
        {"team": world.team_b.pk, "user": "newcomer", "role": "viewer"},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["team"]


def test_invalid_role_answers_400_with_the_service_message(world):
    membership = Membership.objects.get(team=world.team_a, user=world.viewer_a)
    response = client_for(world.admin_a).patch(
        reverse("api:membership-detail", args=[membership.pk]), {"role": "boss"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"role": [services.INVALID_ROLE]}


def test_team_admin_changes_a_role(world):
    membership = Membership.objects.get(team=world.team_a, user=world.viewer_a)
    response = client_for(world.admin_a).patch(
        reverse("api:membership-detail", args=[membership.pk]), {"role": "lead"}, format="json"
    )
    assert response.status_code == 200
    membership.refresh_from_db()
    assert membership.role == Role.LEAD


def test_demoting_the_last_admin_answers_400(world):
    membership = Membership.objects.get(team=world.team_a, user=world.admin_a)
    response = client_for(world.admin_a).patch(
        reverse("api:membership-detail", args=[membership.pk]), {"role": "viewer"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"role": [services.LAST_ADMIN.format(team=world.team_a)]}


def test_removing_the_last_admin_answers_400(world):
    membership = Membership.objects.get(team=world.team_a, user=world.admin_a)
    response = client_for(world.superuser).delete(
        reverse("api:membership-detail", args=[membership.pk])
    )
    assert response.status_code == 400
    assert response.json() == {"detail": services.LAST_ADMIN.format(team=world.team_a)}
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_team_admin_removes_a_member(world):
    membership = Membership.objects.get(team=world.team_a, user=world.viewer_a)
    response = client_for(world.admin_a).delete(
        reverse("api:membership-detail", args=[membership.pk])
    )
    assert response.status_code == 204
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_value_streams_are_read_by_members_and_written_by_superusers(world):
    assert client_for(world.viewer_a).get(reverse("api:value-stream-list")).status_code == 200
    body = {"name": "Growth"}
    refused = client_for(world.admin_a).post(reverse("api:value-stream-list"), body, format="json")
    assert refused.status_code == 403
    created = client_for(world.superuser).post(
        reverse("api:value-stream-list"), body, format="json"
    )
    assert created.status_code == 201
    assert created.json()["slug"] == "growth"


# Customers -----------------------------------------------------------------------------------


def test_viewer_cannot_create_a_customer(world):
    response = client_for(world.viewer_a).post(
        reverse("api:customer-list"), {"email": "new@example.test"}, format="json"
    )
    assert response.status_code == 403
    assert response.json() == {"detail": access.NEEDS_DIRECTORY_EDITOR}
    assert not Customer.objects.exists()


def test_agent_creates_a_customer_with_normalised_addresses(world):
    account = AccountFactory(name="Acme")
    response = client_for(world.agent_a).post(
        reverse("api:customer-list"),
        {
            "email": " Ada@Example.TEST ",
            "name": "Ada",
            "account": account.pk,
            "tier": "vip",
            "other_emails": ["ada@home.test"],
            "attributes": {"plan": "pro", "seats": 3},
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "ada@example.test"
    assert body["other_emails"] == ["ada@home.test"]
    assert body["account_name"] == "Acme"
    assert body["attributes"] == {"plan": "pro", "seats": 3}


def test_creating_a_customer_twice_with_one_external_id_answers_200_with_the_first(world):
    client = client_for(world.agent_a)
    body = {"email": "ada@example.test", "name": "Ada", "external_id": "crm-1"}
    first = client.post(reverse("api:customer-list"), body, format="json")
    again = client.post(reverse("api:customer-list"), {**body, "name": "Changed"}, format="json")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["name"] == "Ada"
    assert Customer.objects.count() == 1


def test_customer_list_takes_repeated_tier_filters(world):
    CustomerFactory(name="Vip", tier=Tier.VIP)
    CustomerFactory(name="Priority", tier=Tier.PRIORITY)
    CustomerFactory(name="Standard", tier=Tier.STANDARD)
    response = client_for(world.viewer_a).get("/api/v1/customers/?tier=vip&tier=priority")
    assert response.status_code == 200
    assert [c["name"] for c in response.json()["results"]] == ["Priority", "Vip"]


def test_unknown_tier_filter_answers_400(world):
    response = client_for(world.viewer_a).get(reverse("api:customer-list"), {"tier": "gold"})
    assert response.status_code == 400
    assert "tier" in response.json()


def test_non_numeric_account_filter_answers_400(world):
    response = client_for(world.viewer_a).get(reverse("api:customer-list"), {"account": "abc"})
    assert response.status_code == 400
    assert "account" in response.json()


def test_customer_search_matches_the_account_name(world):
    CustomerFactory(name="Ada", account=AccountFactory(name="Initech"))
    CustomerFactory(name="Bob", account=AccountFactory(name="Acme"))
    response = client_for(world.viewer_a).get(reverse("api:customer-list"), {"search": "initech"})
    assert [c["name"] for c in response.json()["results"]] == ["Ada"]


def test_customer_ordering_by_an_unknown_field_answers_400(world):
    response = client_for(world.viewer_a).get(reverse("api:customer-list"), {"ordering": "secret"})
    assert response.status_code == 400


def test_customer_ordering_descending_by_name(world):
    CustomerFactory(name="Ada")
    CustomerFactory(name="Bob")
    response = client_for(world.viewer_a).get(reverse("api:customer-list"), {"ordering": "-name"})
    assert [c["name"] for c in response.json()["results"]] == ["Bob", "Ada"]


def test_page_size_is_capped_at_200(world):
    Customer.objects.bulk_create(
        Customer(name=f"Customer {n:03}", email=f"c{n}@example.test") for n in range(205)
    )
    response = client_for(world.viewer_a).get(reverse("api:customer-list"), {"page_size": 500})
    body = response.json()
    assert body["count"] == 205
    assert len(body["results"]) == 200
    assert body["next"] is not None


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {"email": "not-an-address"},
            "email",
            services.EMAIL_INVALID.format(email="not-an-address"),
        ),
        (
            {"email": "ada@example.test", "attributes": ["a", "list"]},
            "attributes",
            services.ATTRIBUTES_INVALID,
        ),
        ({"email": "ada@example.test", "tier": "gold"}, "tier", services.INVALID_TIER),
        ({"email": "ada@example.test", "name": "x" * 5000}, "name", None),
        ({"email": "ada@example.test", "account": "abc"}, "account", None),
        ({"email": "ada@example.test", "account": 10**30}, "account", None),
    ],
)
def test_bad_customer_input_answers_400_on_the_field_and_writes_nothing(
    world, body, field, message
):
    response = client_for(world.agent_a).post(reverse("api:customer-list"), body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    if message is not None:
        assert response.json()[field] == [message]
    assert not Customer.objects.exists()


def test_malformed_json_body_answers_400(world):
    response = client_for(world.agent_a).post(
        reverse("api:customer-list"), "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert "detail" in response.json()
    assert not Customer.objects.exists()


def test_customer_patch_changes_only_the_fields_sent(world):
    customer = CustomerFactory(name="Ada", tier=Tier.STANDARD, attributes={"seats": 2})
    response = client_for(world.agent_a).patch(
        reverse("api:customer-detail", args=[customer.pk]), {"tier": "vip"}, format="json"
    )
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.tier == Tier.VIP
    assert customer.name == "Ada"
    assert customer.attributes == {"seats": 2}


def test_customer_email_taken_answers_400_with_the_service_message(world):
    CustomerFactory(email="ada@example.test")
    response = client_for(world.agent_a).post(
        reverse("api:customer-list"), {"email": "ADA@example.test"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"email": [services.EMAIL_TAKEN.format(email="ada@example.test")]}


# Accounts ------------------------------------------------------------------------------------


def test_agent_creates_an_account_with_money_as_a_number(world):
    response = client_for(world.agent_a).post(
        reverse("api:account-list"),
        {"name": "Acme", "domains": ["Acme.TEST"], "segment": "smb", "mrr": "1250.50"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["mrr"] == 1250.5
    assert body["domains"] == ["acme.test"]
    assert body["customer_count"] == 0


@pytest.mark.parametrize(
    ("mrr", "message"),
    [(-1, services.MRR_NEGATIVE), ("abc", None), ("1.234", None), ("NaN", None)],
)
def test_bad_mrr_answers_400_on_the_field_and_writes_nothing(world, mrr, message):
    response = client_for(world.agent_a).post(
        reverse("api:account-list"), {"name": "Acme", "mrr": mrr}, format="json"
    )
    assert response.status_code == 400
    assert "mrr" in response.json()
    if message is not None:
        assert response.json()["mrr"] == [message]
    assert not Account.objects.exists()


def test_creating_an_account_twice_with_one_external_id_answers_200(world):
    client = client_for(world.agent_a)
    body = {"name": "Acme", "external_id": "crm-9"}
    first = client.post(reverse("api:account-list"), body, format="json")
    again = client.post(reverse("api:account-list"), {**body, "name": "Other"}, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Account.objects.count() == 1


def test_account_list_takes_repeated_segment_filters_and_searches_domains(world):
    AccountFactory(name="Small", segment="smb")
    AccountFactory(name="Middle", segment="mid_market")
    big = AccountFactory(name="Big", segment="enterprise")
    big.domains.create(domain="big.test")
    client = client_for(world.viewer_a)
    listed = client.get("/api/v1/accounts/?segment=smb&segment=enterprise").json()
    assert [a["name"] for a in listed["results"]] == ["Big", "Small"]
    found = client.get(reverse("api:account-list"), {"search": "big.test"}).json()
    assert [a["name"] for a in found["results"]] == ["Big"]


def test_account_patch_keeps_domains_when_not_sent(world):
    account = AccountFactory(name="Acme")
    account.domains.create(domain="acme.test")
    response = client_for(world.agent_a).patch(
        reverse("api:account-detail", args=[account.pk]), {"plan": "enterprise"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["domains"] == ["acme.test"]
    assert response.json()["plan"] == "enterprise"


# Imports -------------------------------------------------------------------------------------


def test_customer_import_answers_202_with_a_job_that_reports_the_bad_line(
    world, django_capture_on_commit_callbacks
):
    # The import API answers 202 with a job to poll (it answered 200 with the report while
    # imports ran inside the request).
    upload = csv_upload("email,name\nada@example.test,Ada\nnot-an-address,Bob\n")
    client = client_for(world.agent_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("api:customer-import"), {"file": upload}, format="multipart")
    assert response.status_code == 202
    assert response["Location"] == response.json()["url"]
    job = client.get(response.json()["url"]).json()
    assert job["status"] == "done"
    assert (job["rows_total"], job["created"], job["updated"], job["rejected"]) == (2, 1, 0, 1)
    assert job["report"] == [
        {"line": 3, "reason": services.EMAIL_INVALID.format(email="not-an-address")}
    ]
    assert Customer.objects.filter(email="ada@example.test", name="Ada").exists()


def test_import_of_a_file_that_is_not_utf8_answers_400(world):
    upload = csv_upload("email,name\nrené@example.test,René\n".encode("latin-1"))
    response = client_for(world.agent_a).post(
        reverse("api:customer-import"), {"file": upload}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json() == {"detail": imports.FILE_NOT_UTF8}


def test_import_without_a_file_answers_400_on_the_file_field(world):
    response = client_for(world.agent_a).post(
        reverse("api:customer-import"), {}, format="multipart"
    )
    assert response.status_code == 400
    assert "file" in response.json()


def test_account_import_needs_a_name_column(world):
    response = client_for(world.agent_a).post(
        reverse("api:account-import"), {"file": csv_upload("mrr\n10\n")}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json() == {"detail": imports.MISSING_COLUMNS.format(columns="name")}


def test_viewer_cannot_import_customers(world):
    response = client_for(world.viewer_a).post(
        reverse("api:customer-import"),
        {"file": csv_upload("email\nada@example.test\n")},
        format="multipart",
    )
    assert response.status_code == 403
    assert not Customer.objects.exists()


# North Star ----------------------------------------------------------------------------------


def test_north_star_answers_404_until_it_is_defined(world):
    response = client_for(world.viewer_a).get(reverse("api:north-star"))
    assert response.status_code == 404
    assert response.json() == {"detail": NORTH_STAR_NOT_DEFINED}


def test_superuser_defines_the_north_star(world):
    body = {"name": "Weekly active teams", "unit": "teams"}
    refused = client_for(world.admin_a).put(reverse("api:north-star"), body, format="json")
    assert refused.status_code == 403
    assert refused.json() == {"detail": access.NEEDS_SUPERUSER}

    response = client_for(world.superuser).put(reverse("api:north-star"), body, format="json")
    assert response.status_code == 200
    assert response.json()["name"] == "Weekly active teams"
    assert response.json()["latest"] is None
    shown = client_for(world.viewer_a).get(reverse("api:north-star")).json()
    assert shown["unit"] == "teams"


def test_north_star_shows_its_latest_measurement(world):
    metric = north_star()
    metric.measurements.create(measured_on=date(2026, 1, 1), value=Decimal("10"))
    metric.measurements.create(measured_on=date(2026, 1, 8), value=Decimal("12.5"))
    response = client_for(world.viewer_a).get(reverse("api:north-star"))
    assert response.json()["latest"] == {"measured_on": "2026-01-08", "value": 12.5}


def test_lead_records_a_measurement_and_the_same_day_again_replaces_it(world):
    north_star()
    client = client_for(world.lead_a)
    url = reverse("api:north-star-measurement-list")
    first = client.post(url, {"measured_on": "2026-02-01", "value": 40}, format="json")
    again = client.post(url, {"measured_on": "2026-02-01", "value": 42.5}, format="json")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["value"] == 42.5
    assert NorthStarMeasurement.objects.count() == 1


def test_viewer_cannot_record_a_measurement(world):
    north_star()
    response = client_for(world.viewer_a).post(
        reverse("api:north-star-measurement-list"),
        {"measured_on": "2026-02-01", "value": 40},
        format="json",
    )
    assert response.status_code == 403
    assert response.json() == {"detail": access.NEEDS_ANY_LEAD}
    assert not NorthStarMeasurement.objects.exists()


def test_recording_before_the_north_star_exists_answers_400(world):
    response = client_for(world.lead_a).post(
        reverse("api:north-star-measurement-list"),
        {"measured_on": "2026-02-01", "value": 40},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"detail": services.NORTH_STAR_MISSING}


def test_measurements_filter_by_inclusive_from_and_to(world):
    metric = north_star()
    for day in (1, 2, 3, 4):
        metric.measurements.create(measured_on=date(2026, 3, day), value=Decimal(day))
    response = client_for(world.viewer_a).get(
        reverse("api:north-star-measurement-list"), {"from": "2026-03-02", "to": "2026-03-03"}
    )
    assert response.status_code == 200
    assert [m["measured_on"] for m in response.json()["results"]] == ["2026-03-03", "2026-03-02"]


def test_measurements_bad_date_answers_400(world):
    response = client_for(world.viewer_a).get(
        reverse("api:north-star-measurement-list"), {"from": "2026-13-45"}
    )
    assert response.status_code == 400
    assert "from" in response.json()


def test_lead_deletes_a_measurement(world):
    measurement = north_star().measurements.create(measured_on=date(2026, 3, 1), value=1)
    url = reverse("api:north-star-measurement-detail", args=[measurement.pk])
    assert client_for(world.viewer_a).delete(url).status_code == 403
    assert client_for(world.lead_a).delete(url).status_code == 204
    assert not NorthStarMeasurement.objects.exists()


def test_north_star_import_reports_a_bad_date(world, django_capture_on_commit_callbacks):
    north_star()
    upload = csv_upload("date,value\n2026-04-01,7\nyesterday,8\n")
    client = client_for(world.lead_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("api:north-star-measurement-import"), {"file": upload}, format="multipart"
        )
    assert response.status_code == 202
    job = client.get(response["Location"]).json()
    assert job["created"] == 1
    assert job["report"] == [{"line": 3, "reason": imports.INVALID_DATE.format(value="yesterday")}]


# Documentation -------------------------------------------------------------------------------


def test_schema_is_served_to_a_logged_in_user(world):
    client = APIClient()
    client.force_login(world.viewer_a)
    response = client.get(reverse("api-schema"))
    assert response.status_code == 200
    assert b"/api/v1/customers/" in response.content


def test_docs_are_served_from_the_sidecar_without_a_cdn(world):
    client = APIClient()
    client.force_login(world.viewer_a)
    response = client.get(reverse("api-docs"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html
    assert "cdn" not in html.lower()
    assert "drf_spectacular_sidecar" in html


def test_team_model_is_unchanged_by_a_refused_create(world):
    client_for(world.agent_a).post(reverse("api:team-list"), {"name": "Sneaky"}, format="json")
    assert not Team.objects.filter(name="Sneaky").exists()


@pytest.mark.parametrize(
    ("url_name", "body"),
    [
        ("api:customer-list", ["not", "an", "object"]),
        ("api:customer-list", {"email": 12}),
        ("api:customer-list", {"email": "ada@example.test", "other_emails": "ada@home.test"}),
        ("api:customer-list", {"email": "ada@example.test", "other_emails": ["bad"]}),
        ("api:account-list", {"name": "Acme", "domains": ["not a domain"]}),
        ("api:account-list", {"name": "Acme", "owner": "abc"}),
        ("api:membership-list", {"team": "abc", "user": True, "role": "viewer"}),
        ("api:north-star-measurement-list", {"measured_on": "yesterday", "value": 1}),
        ("api:north-star-measurement-list", {"measured_on": "2026-01-01", "value": "NaN"}),
        ("api:north-star-measurement-list", {"measured_on": "2026-01-01", "value": 10**30}),
        ("api:api-token", {"username": ["a"], "password": {}}),
    ],
)
def test_wrongly_typed_input_answers_400_not_500(world, url_name, body):
    north_star()
    response = client_for(world.superuser).post(reverse(url_name), body, format="json")
    assert response.status_code == 400
    assert response.json()


@pytest.mark.parametrize(
    "query",
    [
        {"page": "abc"},
        {"page": 999},
        {"search": "a\x00b"},
        {"search": "x" * 10000},
        {"email": "a" * 10000},
    ],
)
def test_odd_list_parameters_never_answer_500(world, query):
    response = client_for(world.viewer_a).get(reverse("api:customer-list"), query)
    assert response.status_code in (200, 400, 404)
