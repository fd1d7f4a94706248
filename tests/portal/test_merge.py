"""Merging customers (portal.services.customers_merge) and customers without an address."""

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from portal import events, selectors, services
from portal.models import AuditEntry, Customer, CustomerEmail, CustomerIdentity, Tier
from tests.factories import AccountFactory, CustomerFactory


class Recorder:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, payload: dict[str, Any]) -> None:
        self.calls.append(payload)


@pytest.fixture
def merged_events():
    recorder = Recorder()
    events.register("portal.customers_merged", recorder)
    yield recorder
    events.unregister("portal.customers_merged", recorder)


def _handle_only(handle="alice@mastodon.social", name="Alice"):
    customer = Customer.objects.create(name=name)
    CustomerIdentity.objects.create(customer=customer, kind="mastodon", handle=handle)
    return customer


@pytest.mark.django_db
def test_merge_moves_identities_and_fills_the_targets_empty_fields(
    world, merged_events, django_capture_on_commit_callbacks
):
    account = AccountFactory()
    source = _handle_only()
    source.account = account
    source.external_id = "crm-7"
    source.tier = Tier.VIP
    source.attributes = {"seats": 3, "region": "EU"}
    source.save()
    target = CustomerFactory(name="", account=None, attributes={"region": "US"})
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        merged = services.customers_merge(actor=world.agent_a, source=source, target=target)
    assert merged.pk == target.pk
    target.refresh_from_db()
    source.refresh_from_db()
    assert (target.name, target.account, target.external_id, target.tier) == (
        "Alice",
        account,
        "crm-7",
        Tier.VIP,
    )
    assert target.attributes == {"region": "US", "seats": 3}
    assert [i.handle for i in target.identities.all()] == ["alice@mastodon.social"]
    assert source.merged_into == target
    assert (source.external_id, source.account, source.email) == ("", None, "")
    assert not source.identities.exists()
    # Emitted once, after the commit.
    assert merged_events.calls == [{"source_id": source.pk, "target_id": target.pk}]
    assert len(callbacks) >= 1
    found = selectors.customer_ids_find_by_identities(
        identities=[("mastodon", "alice@mastodon.social")]
    )
    assert found == {("mastodon", "alice@mastodon.social"): target.pk}
    actions = sorted(AuditEntry.objects.values_list("action", "target_id"))
    assert ("customer.merged", source.pk) in actions
    assert ("customer.merged_into", target.pk) in actions


@pytest.mark.django_db
def test_merge_event_is_not_sent_when_the_merge_is_rolled_back(world, merged_events):
    source, target = _handle_only(), CustomerFactory()
    # No on_commit run inside the test transaction: nothing is sent before a commit.
    services.customers_merge(actor=world.agent_a, source=source, target=target)
    assert merged_events.calls == []


@pytest.mark.django_db
def test_merge_moves_addresses_main_becomes_further_when_target_has_one(world):
    source = CustomerFactory(email="old@example.test")
    CustomerEmail.objects.create(customer=source, email="older@example.test")
    target = CustomerFactory(email="new@example.test")
    services.customers_merge(actor=world.agent_a, source=source, target=target)
    target.refresh_from_db()
    assert target.email == "new@example.test"
    assert sorted(target.other_emails.values_list("email", flat=True)) == [
        "old@example.test",
        "older@example.test",
    ]
    for address in ("old@example.test", "older@example.test", "new@example.test"):
        assert selectors.customer_find_by_email(email=address) == target
    assert selectors.customer_ids_find_by_emails(emails=["old@example.test"]) == {
        "old@example.test": target.pk
    }


@pytest.mark.django_db
def test_merge_gives_an_addressless_target_the_sources_address(world):
    source = CustomerFactory(email="known@example.test")
    target = _handle_only()
    services.customers_merge(actor=world.agent_a, source=source, target=target)
    target.refresh_from_db()
    assert target.email == "known@example.test"
    assert not target.other_emails.exists()


@pytest.mark.django_db
def test_merge_repoints_customers_merged_into_the_source_earlier(world):
    first, second, final = CustomerFactory(), CustomerFactory(), CustomerFactory()
    services.customers_merge(actor=world.agent_a, source=first, target=second)
    services.customers_merge(actor=world.agent_a, source=second, target=final)
    first.refresh_from_db()
    assert first.merged_into == final


@pytest.mark.django_db
def test_merged_customers_are_left_out_of_lists_and_look_ups(world):
    source, target = CustomerFactory(name="Zed Source"), CustomerFactory()
    services.customers_merge(actor=world.agent_a, source=source, target=target)
    assert source.pk not in {c.pk for c in selectors.customer_list(user=world.viewer_a)}
    assert list(selectors.customer_list(user=world.viewer_a, search="Zed")) == []
    assert selectors.customer_get(user=world.viewer_a, pk=source.pk, include_merged=True)
    with pytest.raises(Exception, match="No such customer"):
        selectors.customer_get(user=world.viewer_a, pk=source.pk)


@pytest.mark.django_db
def test_merge_refusals(world):
    live, other = CustomerFactory(), CustomerFactory()
    with pytest.raises(ValidationError) as raised:
        services.customers_merge(actor=world.agent_a, source=live, target=live)
    assert raised.value.messages == [services.MERGE_INTO_ITSELF]

    gone, final = CustomerFactory(name="Gone"), CustomerFactory(name="Final")
    services.customers_merge(actor=world.agent_a, source=gone, target=final)
    with pytest.raises(ValidationError) as raised:
        services.customers_merge(actor=world.agent_a, source=live, target=gone)
    assert raised.value.messages == [
        services.MERGE_INTO_MERGED.format(target="Gone", final="Final")
    ]
    with pytest.raises(ValidationError) as raised:
        services.customers_merge(actor=world.agent_a, source=gone, target=live)
    assert raised.value.messages == [
        services.MERGE_SOURCE_MERGED.format(source="Gone", final="Final")
    ]

    services.customer_erase(actor=world.agent_a, customer=other)
    with pytest.raises(ValidationError) as raised:
        services.customers_merge(actor=world.agent_a, source=live, target=other)
    other.refresh_from_db()
    assert raised.value.messages == [services.MERGE_INTO_ERASED.format(target=other)]
    with pytest.raises(ValidationError):
        services.customers_merge(actor=world.agent_a, source=other, target=live)
    live.refresh_from_db()
    assert live.merged_into is None


@pytest.mark.django_db
def test_merge_refuses_more_further_addresses_than_a_customer_may_have(world):
    source, target = CustomerFactory(), CustomerFactory()
    for number in range(services.MAX_OTHER_EMAILS):
        CustomerEmail.objects.create(customer=target, email=f"t{number}@example.test")
    with pytest.raises(ValidationError) as raised:
        services.customers_merge(actor=world.agent_a, source=source, target=target)
    assert raised.value.messages == [
        services.MERGE_TOO_MANY_EMAILS.format(count=services.MAX_OTHER_EMAILS + 1)
    ]
    source.refresh_from_db()
    assert source.merged_into is None


@pytest.mark.django_db
def test_merge_needs_a_directory_editor(world):
    source, target = CustomerFactory(), CustomerFactory()
    with pytest.raises(PermissionDenied):
        services.customers_merge(actor=world.viewer_a, source=source, target=target)


@pytest.mark.django_db
def test_a_merged_customer_is_not_edited(world):
    source, target = CustomerFactory(), CustomerFactory(name="Final")
    services.customers_merge(actor=world.agent_a, source=source, target=target)
    source.refresh_from_db()
    with pytest.raises(ValidationError) as raised:
        services.customer_update(actor=world.agent_a, customer=source, name="Back")
    assert raised.value.messages == [
        services.CUSTOMER_MERGED.format(customer=source, target="Final")
    ]


# Customers without an address, identities through the customer services -----------------


@pytest.mark.django_db
def test_customer_create_without_email_with_identities(world):
    customer = services.customer_create(
        actor=world.agent_a,
        name="Bob",
        identities=[("discourse", "forum.example.com/bob"), ("zendesk", "acme.zendesk.com/9")],
    )
    assert customer.email == ""
    assert sorted(customer.identities.values_list("kind", "handle")) == [
        ("discourse", "forum.example.com/bob"),
        ("zendesk", "acme.zendesk.com/9"),
    ]
    entry = AuditEntry.objects.get(action="customer.created", target_id=customer.pk)
    assert entry.changes["identities"]["after"] == [
        "discourse:forum.example.com/bob",
        "zendesk:acme.zendesk.com/9",
    ]
    # Two customers without an address do not clash.
    assert services.customer_create(actor=world.agent_a, name="Carol").email == ""


@pytest.mark.django_db
def test_customer_identities_refuse_a_handle_of_another_customer(world):
    _handle_only("alice@mastodon.social")
    with pytest.raises(ValidationError) as raised:
        services.customer_create(
            actor=world.agent_a, name="X", identities=[("mastodon", "ALICE@mastodon.social")]
        )
    assert raised.value.message_dict == {
        "identities": [
            services.IDENTITY_TAKEN.format(kind="Mastodon account", handle="ALICE@mastodon.social")
        ]
    }


@pytest.mark.django_db
def test_customer_update_replaces_identities_and_keeps_others_alone(world):
    customer = services.customer_create(
        actor=world.agent_a, name="Dee", identities=[("mastodon", "dee@mastodon.social")]
    )
    services.customer_update(actor=world.agent_a, customer=customer, name="Dee D.")
    assert customer.identities.count() == 1
    services.customer_update(
        actor=world.agent_a,
        customer=customer,
        identities=[("mastodon", "Dee@mastodon.social"), ("discourse", "forum.example.com/dee")],
    )
    assert sorted(customer.identities.values_list("handle", flat=True)) == [
        "Dee@mastodon.social",
        "forum.example.com/dee",
    ]
    services.customer_update(actor=world.agent_a, customer=customer, identities=[])
    assert not customer.identities.exists()


@pytest.mark.django_db
def test_erasure_removes_identities(world):
    customer = _handle_only()
    services.customer_erase(actor=world.agent_a, customer=customer)
    assert not CustomerIdentity.objects.exists()
    entry = AuditEntry.objects.get(action="customer.erased")
    assert entry.changes["identities"] == {"before": services.ERASED_VALUE, "after": None}


@pytest.mark.django_db
def test_customer_find_by_email_ignores_an_empty_address(world):
    Customer.objects.create(name="No address")
    assert selectors.customer_find_by_email(email="") is None
    assert selectors.customer_find_by_email(email="   ") is None


def test_deleting_the_customer_merged_into_deletes_the_tombstone_too(world):
    source = CustomerFactory(email="old@example.com")
    target = CustomerFactory(email="new@example.com")
    services.customers_merge(actor=world.agent_a, source=source, target=target)

    services.customer_delete(actor=world.agent_a, customer=target)

    assert not Customer.objects.filter(pk__in=[source.pk, target.pk]).exists()
