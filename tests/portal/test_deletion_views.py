"""The delete and erase pages (portal/views/deletion.py): a confirmation saying what goes with
the object or what refuses it, a POST that deletes and redirects, a refusal shown on the page;
each both ways (the page without JavaScript, the fragment for htmx)."""

import html

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from portal import services
from portal.actors import SYSTEM
from portal.models import Account, Customer, Team, ValueStream
from portal.services import ERASED_EMAIL
from tests.factories import AccountFactory, CustomerFactory, TeamFactory

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:
    return html.unescape(response.content.decode())


def shown_messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def acme(db) -> Account:
    return services.account_create(
        actor=SYSTEM, name="Acme", domains=[f"acme{n}.example" for n in range(5)]
    )


# Confirmations -----------------------------------------------------------------------------


def test_the_team_confirmation_says_what_goes_with_it(world):
    response = client_for(world.superuser).get(reverse("portal:team_delete", args=["team-a"]))

    assert response.status_code == 200
    assert "<html" in text(response)
    assert "4 memberships" in text(response)
    assert 'hx-post="/settings/teams/team-a/delete/"' in text(response)


def test_the_account_confirmation_lists_its_domains(world, acme):
    response = client_for(world.agent_a).get(reverse("portal:account_delete", args=[acme.pk]))

    assert "5 domains" in text(response)
    assert "Delete</button>" in text(response)


def test_a_refused_delete_shows_why_and_offers_no_button(world, acme):
    CustomerFactory(account=acme)

    response = client_for(world.agent_a).get(reverse("portal:account_delete", args=[acme.pk]))

    plan = services.deletion_plan(acme)
    assert plan.refusal in text(response)
    assert "Delete</button>" not in text(response)


def test_the_customer_confirmation_offers_erasure_instead(world):
    customer = services.customer_create(
        actor=SYSTEM, email="ada@example.test", other_emails=["a@home.example", "b@home.example"]
    )

    response = client_for(world.agent_a).get(reverse("portal:customer_delete", args=[customer.pk]))

    assert "2 further addresses" in text(response)
    assert reverse("portal:customer_erase", args=[customer.pk]) in text(response)


def test_the_erase_confirmation_names_the_placeholder_address(world):
    customer = CustomerFactory()

    response = client_for(world.agent_a).get(reverse("portal:customer_erase", args=[customer.pk]))

    assert ERASED_EMAIL.format(id=customer.pk) in text(response)
    assert "Erase personal data</button>" in text(response)


def test_an_htmx_confirmation_is_the_fragment(world, acme):
    response = client_for(world.agent_a).get(reverse("portal:account_delete", args=[acme.pk]), **HX)

    assert "<html" not in text(response)
    assert text(response).startswith('<form id="confirm-form"')
    assert "HX-Request" in response.headers["Vary"]


# Deleting ----------------------------------------------------------------------------------


def test_posting_the_team_confirmation_deletes_it_and_returns_to_settings(world):
    response = client_for(world.superuser).post(reverse("portal:team_delete", args=["team-a"]))

    assert response.status_code == 302
    assert response.headers["Location"] == reverse("portal:settings")
    assert shown_messages(response) == ["Team Team A deleted."]
    assert not Team.objects.filter(slug="team-a").exists()


def test_an_htmx_post_deletes_and_redirects_the_browser(world, acme):
    response = client_for(world.agent_a).post(
        reverse("portal:account_delete", args=[acme.pk]), **HX
    )

    assert response.headers["HX-Redirect"] == reverse("portal:account_list")
    assert not Account.objects.filter(pk=acme.pk).exists()


def test_a_refused_post_shows_the_refusal_and_deletes_nothing(world):
    stream = world.team_a.value_stream

    response = client_for(world.superuser).post(
        reverse("portal:value_stream_delete", args=[stream.pk])
    )

    assert response.status_code == 200
    assert "<html" in text(response)
    assert text(response).count(services.deletion_plan(stream).refusal) == 1
    assert ValueStream.objects.filter(pk=stream.pk).exists()


def test_a_refused_htmx_post_answers_the_fragment_with_the_refusal(world):
    stream = world.team_a.value_stream
    TeamFactory(value_stream=stream)

    response = client_for(world.superuser).post(
        reverse("portal:value_stream_delete", args=[stream.pk]), **HX
    )

    assert response.status_code == 200
    assert "<html" not in text(response)
    assert "teams still depend on it" in text(response)


def test_an_empty_value_stream_is_deleted_from_its_page(world):
    stream = services.value_stream_create(actor=world.superuser, name="Retain")

    response = client_for(world.superuser).post(
        reverse("portal:value_stream_delete", args=[stream.pk])
    )

    assert response.headers["Location"] == reverse("portal:value_stream_list")
    assert not ValueStream.objects.filter(pk=stream.pk).exists()


def test_posting_the_customer_confirmation_deletes_the_customer(world):
    customer = CustomerFactory()

    response = client_for(world.agent_a).post(reverse("portal:customer_delete", args=[customer.pk]))

    assert response.headers["Location"] == reverse("portal:customer_list")
    assert not Customer.objects.filter(pk=customer.pk).exists()


def test_posting_the_erase_confirmation_erases_and_returns_to_the_customer(world):
    customer = CustomerFactory(name="Ada")

    response = client_for(world.agent_a).post(reverse("portal:customer_erase", args=[customer.pk]))

    detail = reverse("portal:customer_detail", args=[customer.pk])
    assert response.headers["Location"] == detail
    customer.refresh_from_db()
    assert (customer.name, customer.email) == ("", ERASED_EMAIL.format(id=customer.pk))
    assert "Ada" not in text(client_for(world.agent_a).get(detail))


# Who may -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "status"), [("viewer_a", 403), ("admin_a", 403), ("member_b", 404)]
)
def test_only_a_superuser_posts_a_team_delete(world, persona, status):
    response = client_for(getattr(world, persona)).post(
        reverse("portal:team_delete", args=["team-a"])
    )

    assert response.status_code == status
    assert Team.objects.filter(slug="team-a").exists()


@pytest.mark.parametrize("name", ["portal:customer_delete", "portal:customer_erase"])
def test_a_viewer_posts_no_customer_delete_or_erase(world, name):
    customer = CustomerFactory(name="Ada")

    response = client_for(world.viewer_a).post(reverse(name, args=[customer.pk]))

    assert response.status_code == 403
    customer.refresh_from_db()
    assert customer.name == "Ada"


def test_a_viewer_posts_no_account_delete(world):
    account = AccountFactory()

    response = client_for(world.viewer_a).post(reverse("portal:account_delete", args=[account.pk]))

    assert response.status_code == 403
    assert Account.objects.filter(pk=account.pk).exists()


# Links to the pages ------------------------------------------------------------------------


def test_the_detail_pages_link_their_delete_pages_for_editors_only(world, acme):
    customer = CustomerFactory()
    customer_page = reverse("portal:customer_detail", args=[customer.pk])
    account_page = reverse("portal:account_detail", args=[acme.pk])

    agent, viewer = client_for(world.agent_a), client_for(world.viewer_a)

    assert reverse("portal:customer_erase", args=[customer.pk]) in text(agent.get(customer_page))
    assert reverse("portal:account_delete", args=[acme.pk]) in text(agent.get(account_page))
    assert reverse("portal:customer_delete", args=[customer.pk]) not in text(
        viewer.get(customer_page)
    )


def test_the_team_page_links_its_delete_page_for_superusers_only(world):
    page = reverse("portal:team_settings", args=["team-a"])
    delete = reverse("portal:team_delete", args=["team-a"])

    assert delete in text(client_for(world.superuser).get(page))
    assert delete not in text(client_for(world.admin_a).get(page))
