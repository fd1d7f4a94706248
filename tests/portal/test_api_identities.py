"""The customers API with identities, without an address, and the merge endpoint."""

from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from portal import events, services
from portal.actors import SYSTEM
from portal.models import Customer, CustomerIdentity
from tests.factories import CustomerFactory


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def merge_url(customer) -> str:
    return reverse("api:customer-merge", args=[customer.pk])


@pytest.mark.django_db
def test_customer_without_email_with_identities_is_created_and_read_back(world):
    response = client_for(world.agent_a).post(
        reverse("api:customer-list"),
        {
            "name": "Alice",
            "identities": [
                {"kind": "mastodon", "handle": " alice@mastodon.social "},
                {"kind": "discourse", "handle": "forum.example.com/alice"},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["email"] == ""
    assert body["identities"] == [
        {"kind": "discourse", "handle": "forum.example.com/alice"},
        {"kind": "mastodon", "handle": "alice@mastodon.social"},
    ]
    detail = client_for(world.viewer_a).get(reverse("api:customer-detail", args=[body["id"]]))
    assert detail.json()["identities"] == body["identities"]
    listed = client_for(world.viewer_a).get(reverse("api:customer-list"), {"search": "alice@mast"})
    assert [c["id"] for c in listed.json()["results"]] == [body["id"]]


@pytest.mark.django_db
def test_a_mastodon_handle_typed_as_a_mention_is_the_handle_toots_come_in_by(world):
    response = client_for(world.agent_a).post(
        reverse("api:customer-list"),
        {
            "name": "Rev",
            "identities": [{"kind": "mastodon", "handle": " @rev3at2@mastodon.social"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["identities"] == [
        {"kind": "mastodon", "handle": "rev3at2@mastodon.social"}
    ]

    # A toot's writer, as the Mastodon connector names it (its account's ``acct``).
    found = services.customer_identities_ensure(
        actor=SYSTEM, identities=[("mastodon", "rev3at2@mastodon.social", "Rev")]
    )

    assert list(found.values()) == [response.json()["id"]]
    assert Customer.objects.count() == 1


@pytest.mark.django_db
def test_two_customers_without_email_do_not_clash_but_an_address_stays_unique(world):
    client = client_for(world.agent_a)
    for name in ("One", "Two"):
        assert client.post(reverse("api:customer-list"), {"name": name}).status_code == 201
    CustomerFactory(email="taken@example.test")
    response = client.post(
        reverse("api:customer-list"), {"name": "Three", "email": "Taken@example.test"}
    )
    assert response.status_code == 400
    assert response.json() == {"email": [services.EMAIL_TAKEN.format(email="taken@example.test")]}


@pytest.mark.parametrize(
    ("identity", "errors"),
    [
        (
            {"kind": "twitter", "handle": "alice"},
            {"kind": [services.IDENTITY_KIND_INVALID]},
        ),
        (
            {"kind": "mastodon", "handle": "  "},
            {"handle": ["Give the Mastodon account handle (such as alice@mastodon.social)."]},
        ),
        ({"kind": "mastodon"}, {"handle": ["This field is required."]}),
    ],
)
@pytest.mark.django_db
def test_bad_identity_answers_400_on_the_identity(world, identity, errors):
    response = client_for(world.agent_a).post(
        reverse("api:customer-list"), {"name": "X", "identities": [identity]}, format="json"
    )
    assert response.status_code == 400
    # Each refused identity is named by its position in the list.
    assert response.json() == {"identities": {"0": errors}}
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_identity_of_another_customer_answers_400(world):
    other = CustomerFactory()
    CustomerIdentity.objects.create(customer=other, kind="zendesk", handle="acme.zendesk.com/1")
    mine = CustomerFactory()
    response = client_for(world.agent_a).patch(
        reverse("api:customer-detail", args=[mine.pk]),
        {"identities": [{"kind": "zendesk", "handle": "ACME.zendesk.com/1"}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "identities": [
            services.IDENTITY_TAKEN.format(kind="Zendesk requester", handle="ACME.zendesk.com/1")
        ]
    }


@pytest.mark.django_db
def test_too_many_identities_answers_400(world):
    identities = [
        {"kind": "mastodon", "handle": f"u{n}@mastodon.social"}
        for n in range(services.MAX_IDENTITIES + 1)
    ]
    response = client_for(world.agent_a).post(
        reverse("api:customer-list"), {"name": "X", "identities": identities}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"identities": {"non_field_errors": [services.TOO_MANY_IDENTITIES]}}


# Merge -------------------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, payload: dict[str, Any]) -> None:
        self.calls.append(payload)


@pytest.mark.django_db
def test_merge_answers_200_with_the_target(world, django_capture_on_commit_callbacks):
    source = Customer.objects.create(name="Alice (forum)")
    CustomerIdentity.objects.create(customer=source, kind="discourse", handle="f.example/alice")
    target = CustomerFactory(name="Alice")
    recorder = Recorder()
    events.register("portal.customers_merged", recorder)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(world.agent_a).post(
                merge_url(source), {"into": target.pk}, format="json"
            )
    finally:
        events.unregister("portal.customers_merged", recorder)
    assert response.status_code == 200, response.json()
    assert response.json()["id"] == target.pk
    assert response.json()["identities"] == [{"kind": "discourse", "handle": "f.example/alice"}]
    assert recorder.calls == [{"source_id": source.pk, "target_id": target.pk}]
    gone = client_for(world.viewer_a).get(reverse("api:customer-detail", args=[source.pk]))
    assert gone.status_code == 404


@pytest.mark.django_db
def test_merge_refusals_answer_400_under_into(world):
    customer, final = CustomerFactory(name="A"), CustomerFactory(name="Final")
    client = client_for(world.agent_a)
    response = client.post(merge_url(customer), {"into": customer.pk}, format="json")
    assert response.status_code == 400
    assert response.json() == {"into": [services.MERGE_INTO_ITSELF]}

    gone = CustomerFactory(name="Gone")
    services.customers_merge(actor=world.agent_a, source=gone, target=final)
    response = client.post(merge_url(customer), {"into": gone.pk}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "into": [services.MERGE_INTO_MERGED.format(target="Gone", final="Final")]
    }

    for body in ({}, {"into": "x"}, {"into": 999999}, {"into": 2**70}):
        response = client.post(merge_url(customer), body, format="json")
        assert response.status_code == 400, body
        assert list(response.json()) == ["into"]
    customer.refresh_from_db()
    assert customer.merged_into is None


@pytest.mark.django_db
def test_merge_permissions_and_404(world):
    source, target = CustomerFactory(), CustomerFactory()
    response = client_for(world.viewer_a).post(merge_url(source), {"into": target.pk})
    assert response.status_code == 403
    assert APIClient().post(merge_url(source), {"into": target.pk}).status_code in (401, 403)
    missing = reverse("api:customer-merge", args=[999999])
    assert client_for(world.agent_a).post(missing, {"into": target.pk}).status_code == 404
    source.refresh_from_db()
    assert source.merged_into is None


@pytest.mark.django_db
def test_merge_is_in_the_openapi_schema(world):
    schema = client_for(world.viewer_a).get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/customers/{id}/merge/"]["post"]
    assert "200" in operation["responses"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("/CustomerMergeRequest")
    customer = schema["components"]["schemas"]["Customer"]
    assert "identities" in customer["properties"]
    assert "email" not in customer.get("required", [])


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{}, {"name": "  ", "email": ""}, {"identities": []}])
def test_a_customer_known_by_nothing_is_refused(world, body):
    # An outside fuzzing pass created blank customers with {}: nobody could tell them apart.
    response = client_for(world.agent_a).post(reverse("api:customer-list"), body, format="json")

    assert response.status_code == 400
    assert response.json() == {"name": [services.CUSTOMER_UNKNOWN]}
    assert not Customer.objects.exists()
