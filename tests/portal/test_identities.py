"""Customer identities: the look-up by handle and the bulk ensure used by ingestion."""

import threading
from typing import Any
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal import events, selectors, services
from portal.actors import SYSTEM
from portal.fields import normalised_key
from portal.models import AuditEntry, Customer, CustomerIdentity
from portal.services import identities as identity_services
from tests.conftest import require_service
from tests.factories import AccountFactory, CustomerFactory


class Recorder:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, payload: dict[str, Any]) -> None:
        self.calls.append(payload)


@pytest.fixture
def saved():
    recorder = Recorder()
    events.register("portal.customer_saved", recorder)
    yield recorder
    events.unregister("portal.customer_saved", recorder)


def _identity(customer, kind="mastodon", handle="alice@mastodon.social"):
    return CustomerIdentity.objects.create(customer=customer, kind=kind, handle=handle)


@pytest.mark.django_db
def test_find_by_identities_keys_by_kind_and_normalised_handle_in_one_query():
    alice, bob = CustomerFactory(), CustomerFactory()
    _identity(alice, "mastodon", "Alice@Mastodon.Social")
    _identity(bob, "discourse", "forum.example.com/bob")
    _identity(bob, "zendesk", "acme.zendesk.com/12345")
    with CaptureQueriesContext(connection) as queries:
        found = selectors.customer_ids_find_by_identities(
            identities=[
                ("mastodon", " alice@mastodon.social "),
                ("discourse", "forum.example.com/BOB"),
                ("discourse", "acme.zendesk.com/12345"),  # a Zendesk handle asked as Discourse
                ("mastodon", "nobody@mastodon.social"),
            ]
        )
    assert len(queries) == 1
    assert found == {
        ("mastodon", "alice@mastodon.social"): alice.pk,
        ("discourse", "forum.example.com/bob"): bob.pk,
    }


@pytest.mark.django_db
def test_find_by_identities_with_nothing_to_find_asks_nothing():
    with CaptureQueriesContext(connection) as queries:
        assert selectors.customer_ids_find_by_identities(identities=[("mastodon", "  ")]) == {}
    assert len(queries) == 0


@pytest.mark.django_db
def test_ensure_creates_unknown_handles_as_customers_without_email(
    world, saved, django_capture_on_commit_callbacks
):
    known = CustomerFactory()
    _identity(known, "discourse", "forum.example.com/known")
    with django_capture_on_commit_callbacks(execute=True):
        ids = services.customer_identities_ensure(
            actor=SYSTEM,
            identities=[
                ("mastodon", "alice@mastodon.social", "Alice Liddell"),
                ("discourse", "forum.example.com/Known", "Known Person"),
                ("zendesk", "acme.zendesk.com/12345", ""),
                ("mastodon", "ALICE@mastodon.social", "Alice again"),
            ],
        )
    assert set(ids) == {
        ("mastodon", "alice@mastodon.social"),
        ("discourse", "forum.example.com/known"),
        ("zendesk", "acme.zendesk.com/12345"),
    }
    assert ids[("discourse", "forum.example.com/known")] == known.pk
    alice = Customer.objects.get(pk=ids[("mastodon", "alice@mastodon.social")])
    assert (alice.name, alice.email, alice.email_key) == ("Alice Liddell", "", "")
    assert [(i.kind, i.handle) for i in alice.identities.all()] == [
        ("mastodon", "alice@mastodon.social")
    ]
    nameless = Customer.objects.get(pk=ids[("zendesk", "acme.zendesk.com/12345")])
    assert nameless.name == "acme.zendesk.com/12345"
    created = AuditEntry.objects.filter(action="customer.created", actor_label="system")
    assert sorted(e.target_id for e in created) == sorted([alice.pk, nameless.pk])
    assert created.get(target_id=alice.pk).changes["identities"] == {
        "before": None,
        "after": ["mastodon:alice@mastodon.social"],
    }
    assert sorted(call["customer_id"] for call in saved.calls) == sorted([alice.pk, nameless.pk])


@pytest.mark.django_db
def test_ensure_writes_many_handles_in_a_few_queries(world):
    identities = [("mastodon", f"user{n}@mastodon.social", f"User {n}") for n in range(200)]
    with CaptureQueriesContext(connection) as queries:
        ids = services.customer_identities_ensure(actor=SYSTEM, identities=identities)
    assert len(ids) == 200
    assert Customer.objects.count() == 200
    assert CustomerIdentity.objects.count() == 200
    assert len(queries) <= 10
    with CaptureQueriesContext(connection) as queries:
        again = services.customer_identities_ensure(actor=SYSTEM, identities=identities)
    assert again == ids
    assert len(queries) == 1
    assert Customer.objects.count() == 200


@pytest.mark.django_db
def test_ensure_re_reads_a_handle_another_writer_stored_meanwhile(
    world, saved, django_capture_on_commit_callbacks
):
    """The look-up misses a handle a concurrent writer then stores: the INSERT hits the unique
    constraint inside a savepoint, which rolls back this batch's customers, and the re-read
    finds the other writer's customer. Nothing is stored twice, nothing announced twice."""
    other = CustomerFactory()
    _identity(other, "mastodon", "alice@mastodon.social")
    real = selectors.customer_ids_find_by_identities
    calls = []

    def stale_first_read(*, identities):
        calls.append(list(identities))
        return {} if len(calls) == 1 else real(identities=identities)

    with (
        mock.patch.object(
            identity_services.selectors, "customer_ids_find_by_identities", stale_first_read
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        ids = services.customer_identities_ensure(
            actor=SYSTEM,
            identities=[
                ("mastodon", "alice@mastodon.social", "Alice"),
                ("mastodon", "bob@mastodon.social", "Bob"),
            ],
        )
    assert len(calls) == 2
    assert ids[("mastodon", "alice@mastodon.social")] == other.pk
    bob = Customer.objects.get(identities__handle="bob@mastodon.social")
    assert ids[("mastodon", "bob@mastodon.social")] == bob.pk
    assert Customer.objects.count() == 2
    assert CustomerIdentity.objects.count() == 2
    assert AuditEntry.objects.filter(action="customer.created").count() == 1
    assert [call["customer_id"] for call in saved.calls] == [bob.pk]


@pytest.mark.django_db
def test_ensure_gives_a_new_customer_the_free_address_of_its_row(world):
    account = AccountFactory()
    CustomerFactory(email="taken@example.test")
    row = identity_services.IdentityRow
    with CaptureQueriesContext(connection) as queries:
        ids = services.customer_identities_ensure(
            actor=SYSTEM,
            identities=[
                row("zendesk", "acme.zendesk.com/1", "Eve", " Eve@Example.test ", account.pk),
                # The same person's other handle: one customer holding both.
                row("discourse", "forum.example.com/eve", "Eve E.", "eve@example.test"),
                # Known to the directory already (a main address): left out.
                row("mastodon", "t@mastodon.social", "T", "taken@example.test"),
                row("mastodon", "x@mastodon.social", "X", "not an address"),
                ("mastodon", "plain@mastodon.social", "Plain"),
            ],
        )
    # The handles' look-up, the addresses' (one UNION), and the writes.
    assert len(queries) <= 8
    eve = Customer.objects.get(email="eve@example.test")
    assert eve.account == account
    assert ids[("zendesk", "acme.zendesk.com/1")] == ids[("discourse", "forum.example.com/eve")]
    assert ids[("zendesk", "acme.zendesk.com/1")] == eve.pk
    assert sorted(eve.identities.values_list("handle", flat=True)) == [
        "acme.zendesk.com/1",
        "forum.example.com/eve",
    ]
    for handle in ("t@mastodon.social", "x@mastodon.social", "plain@mastodon.social"):
        other = Customer.objects.get(pk=ids[("mastodon", handle)])
        assert (other.email, other.account) == ("", None)
    assert selectors.customer_find_by_email(email="EVE@example.test") == eve
    entry = AuditEntry.objects.get(action="customer.created", target_id=eve.pk)
    assert entry.changes["email"]["after"] == "eve@example.test"
    assert Customer.objects.count() == 5


@pytest.mark.django_db
def test_ensure_leaves_out_an_address_another_writer_took_meanwhile(world):
    """The address is free at the look-up, then a concurrent writer takes it: the customers'
    INSERT hits the unique address inside a savepoint, and the batch, read again, creates the
    customer by its handle alone. Nothing is stored twice."""
    real = selectors.customer_ids_find_by_emails
    calls = []

    def taken_after_the_read(*, emails):
        calls.append(list(emails))
        found = real(emails=emails)
        if len(calls) == 1:
            CustomerFactory(email="eve@example.test")
        return found

    with mock.patch.object(
        identity_services.selectors, "customer_ids_find_by_emails", taken_after_the_read
    ):
        ids = services.customer_identities_ensure(
            actor=SYSTEM,
            identities=[("zendesk", "acme.zendesk.com/1", "Eve", "eve@example.test")],
        )
    assert len(calls) == 2
    by_handle = Customer.objects.get(pk=ids[("zendesk", "acme.zendesk.com/1")])
    assert by_handle.email == ""
    assert Customer.objects.count() == 2
    assert CustomerIdentity.objects.count() == 1


@pytest.mark.parametrize(
    ("kind", "handle", "message"),
    [
        ("twitter", "alice", services.IDENTITY_KIND_INVALID),
        ("mastodon", "   ", "Give the Mastodon account handle (such as alice@mastodon.social)."),
        ("mastodon", "a" * 301, None),
        ("mastodon", "ß" * 200, None),
        ("mastodon", "al\x00ice", None),
    ],
)
@pytest.mark.django_db
def test_ensure_refuses_a_bad_kind_or_handle_and_writes_nothing(world, kind, handle, message):
    with pytest.raises(ValidationError) as raised:
        services.customer_identities_ensure(
            actor=SYSTEM,
            identities=[("discourse", "forum.example.com/fine", "Fine"), (kind, handle, "X")],
        )
    if message is not None:
        assert raised.value.messages == [message]
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_ensure_needs_a_directory_editor(world):
    with pytest.raises(PermissionDenied):
        services.customer_identities_ensure(
            actor=world.viewer_a, identities=[("mastodon", "a@mastodon.social", "A")]
        )
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_ensure_with_nothing_returns_nothing(world):
    assert services.customer_identities_ensure(actor=SYSTEM, identities=[]) == {}


def test_normalised_key_is_what_the_results_are_keyed_by():
    assert normalised_key(" Alice@Mastodon.Social ") == "alice@mastodon.social"


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_ensures_of_one_handle_store_one_customer():
    """Two writers both miss the handle, then both insert: the database's unique constraint
    makes the later INSERT wait for the first commit and fail, and that writer reads the first
    one's customer back. Real concurrency needs PostgreSQL (SQLite's test database is one
    connection's)."""
    require_service(
        connection.vendor == "postgresql", "this test runs on PostgreSQL: set DATABASE_URL"
    )
    real = selectors.customer_ids_find_by_identities
    both_read = threading.Barrier(2, timeout=30)

    reads: list[int] = []

    def read_then_wait(*, identities):
        found = real(identities=identities)
        reads.append(len(found))
        if not getattr(local, "waited", False):
            local.waited = True
            both_read.wait()
        return found

    local = threading.local()
    results: list[dict] = []
    errors: list[BaseException] = []

    def ensure(name: str) -> None:
        try:
            results.append(
                services.customer_identities_ensure(
                    actor=SYSTEM, identities=[("mastodon", "race@mastodon.social", name)]
                )
            )
        except Exception as error:  # noqa: BLE001 (reported below, in the test's thread)
            errors.append(error)
        finally:
            connection.close()

    with mock.patch.object(
        identity_services.selectors, "customer_ids_find_by_identities", read_then_wait
    ):
        threads = [threading.Thread(target=ensure, args=(name,)) for name in ("A", "B")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == []
    # Both missed the handle; the loser read again after its INSERT failed, and found it.
    assert sorted(reads) == [0, 0, 1]
    assert len(results) == 2
    assert results[0] == results[1]
    assert Customer.objects.count() == 1
    assert CustomerIdentity.objects.count() == 1
    assert AuditEntry.objects.filter(action="customer.created").count() == 1
