"""Deletes and erasure in the REST API: ``DELETE`` on teams, value streams, accounts and
customers (204, or 400 naming what depends on the object), ``POST customers/{id}/erase/``, and
who may."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from portal import access, services
from portal.actors import SYSTEM
from portal.models import Account, Customer, Team, ValueStream
from portal.services import ERASED_EMAIL
from tests.factories import AccountFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_superuser_deletes_a_team_with_204(world):
    response = client_for(world.superuser).delete(
        reverse("api:team-detail", args=[world.team_a.pk])
    )

    assert response.status_code == 204
    assert not Team.objects.filter(pk=world.team_a.pk).exists()


@pytest.mark.parametrize(("persona", "status"), [("admin_a", 403), ("member_b", 404)])
def test_a_team_admin_deletes_no_team(world, persona, status):
    response = client_for(getattr(world, persona)).delete(
        reverse("api:team-detail", args=[world.team_a.pk])
    )

    assert response.status_code == status
    if status == 403:
        assert response.json() == {"detail": access.NEEDS_SUPERUSER}
    assert Team.objects.filter(pk=world.team_a.pk).exists()


def test_deleting_a_value_stream_with_teams_answers_400_naming_them(world):
    stream = world.team_a.value_stream

    response = client_for(world.superuser).delete(
        reverse("api:value-stream-detail", args=[stream.pk])
    )

    assert response.status_code == 400
    assert response.json() == {"detail": services.deletion_plan(stream).refusal}
    assert ValueStream.objects.filter(pk=stream.pk).exists()


def test_a_value_stream_without_teams_is_deleted(world):
    stream = services.value_stream_create(actor=world.superuser, name="Retain")

    response = client_for(world.superuser).delete(
        reverse("api:value-stream-detail", args=[stream.pk])
    )

    assert response.status_code == 204


def test_deleting_an_account_with_customers_answers_400(world):
    customer = CustomerFactory()

    response = client_for(world.agent_a).delete(
        reverse("api:account-detail", args=[customer.account_id])
    )

    assert response.status_code == 400
    assert "customers still depend on it" in response.json()["detail"]
    assert Account.objects.filter(pk=customer.account_id).exists()


def test_an_agent_deletes_an_account_without_customers(world):
    account = AccountFactory()

    response = client_for(world.agent_a).delete(reverse("api:account-detail", args=[account.pk]))

    assert response.status_code == 204
    assert not Account.objects.filter(pk=account.pk).exists()


def test_a_viewer_deletes_no_customer(world):
    customer = CustomerFactory()

    response = client_for(world.viewer_a).delete(reverse("api:customer-detail", args=[customer.pk]))

    assert response.status_code == 403
    assert response.json() == {"detail": access.NEEDS_DIRECTORY_EDITOR}


def test_an_agent_deletes_a_customer(world):
    customer = CustomerFactory()

    response = client_for(world.agent_a).delete(reverse("api:customer-detail", args=[customer.pk]))

    assert response.status_code == 204
    assert not Customer.objects.filter(pk=customer.pk).exists()


def test_erasing_through_the_api_answers_the_erased_customer(world):
    customer = services.customer_create(
        actor=SYSTEM,
        email="ada@example.test",
        name="Ada",
        attributes={"city": "London"},
        other_emails=["ada@home.example"],
        external_id="crm-1",
    )

    response = client_for(world.agent_a).post(reverse("api:customer-erase", args=[customer.pk]))

    assert response.status_code == 200
    body = response.json()
    assert body["email"] == ERASED_EMAIL.format(id=customer.pk)
    assert (body["name"], body["attributes"], body["other_emails"], body["external_id"]) == (
        "",
        {},
        [],
        "",
    )
    assert body["erased_at"] is not None


def test_a_viewer_erases_no_customer(world):
    customer = CustomerFactory(name="Ada")

    response = client_for(world.viewer_a).post(reverse("api:customer-erase", args=[customer.pk]))

    assert response.status_code == 403
    customer.refresh_from_db()
    assert customer.name == "Ada"


def test_erasing_an_unknown_customer_answers_404(world):
    response = client_for(world.agent_a).post(reverse("api:customer-erase", args=[10**6]))

    assert response.status_code == 404


def test_the_schema_documents_deletes_and_erasure(world):
    schema = client_for(world.superuser).get(reverse("api-schema"), {"format": "json"}).json()

    paths = schema["paths"]
    for path in (
        "/api/v1/teams/{id}/",
        "/api/v1/value-streams/{id}/",
        "/api/v1/accounts/{id}/",
        "/api/v1/customers/{id}/",
    ):
        assert {"204", "400"} <= set(paths[path]["delete"]["responses"]), path
    assert "200" in paths["/api/v1/customers/{id}/erase/"]["post"]["responses"]
