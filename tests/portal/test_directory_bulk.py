"""The set-based customer import (portal/services/directory_bulk.py): the same answers, audit
entries and events as the single-row services, in a few queries per batch."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from portal import events, services
from portal.models import AuditEntry, Customer, CustomerEmail
from portal.services import directory_bulk
from portal.services.directory_bulk import CustomerRow, customers_import_rows, row_message
from tests.factories import AccountFactory, CustomerFactory


def row(line: int, email: str, **kwargs) -> CustomerRow:
    return CustomerRow(line=line, email=email, **kwargs)


@pytest.fixture
def saved_events():
    received: list[int] = []

    def recorder(payload: dict) -> None:
        received.append(payload["customer_id"])

    events.register("portal.customer_saved", recorder)
    yield received
    events.unregister("portal.customer_saved", recorder)


def test_rows_create_and_update_with_the_audit_entries_and_events_of_the_services(
    world, saved_events, django_capture_on_commit_callbacks
):
    account = AccountFactory(name="Acme")
    existing = CustomerFactory(email="old@example.com", name="Old", account=None)
    with django_capture_on_commit_callbacks(execute=True):
        result = customers_import_rows(
            actor=world.agent_a,
            rows=[
                row(2, "new@example.com", fields={"name": "New"}, account="acme", other_emails=[]),
                row(3, "OLD@example.com", fields={"name": "Renamed"}, attributes={"plan": "x"}),
            ],
        )
    assert (result.created, result.updated, result.rejections) == (1, 1, [])
    new = Customer.objects.get(email="new@example.com")
    existing.refresh_from_db()
    assert (new.account, existing.name, existing.attributes) == (account, "Renamed", {"plan": "x"})
    assert sorted(saved_events) == sorted([new.pk, existing.pk])
    created = AuditEntry.objects.get(action="customer.created")
    assert created.target_id == new.pk and created.actor == world.agent_a
    assert created.changes["account"] == {"before": None, "after": "Acme"}
    updated = AuditEntry.objects.get(action="customer.updated")
    assert updated.changes == {
        "attributes": {"before": {}, "after": {"plan": "x"}},
        "name": {"before": "Old", "after": "Renamed"},
    }


def test_a_second_row_for_the_same_customer_updates_what_the_first_wrote(world):
    result = customers_import_rows(
        actor=world.agent_a,
        rows=[
            row(2, "ann@example.com", fields={"name": "Ann"}),
            row(3, "ANN@example.com", fields={"name": "Ann B."}),
        ],
    )
    assert (result.created, result.updated) == (1, 1)
    assert Customer.objects.get().name == "Ann B."


def test_an_address_taken_by_another_customer_is_refused_on_its_row(world):
    owner = CustomerFactory(email="owner@example.com")
    CustomerEmail.objects.create(customer=owner, email="alias@example.com")
    result = customers_import_rows(
        actor=world.agent_a,
        rows=[
            row(2, "someone@example.com", other_emails=["owner@example.com"]),
            row(3, "fine@example.com"),
        ],
    )
    taken = services.EMAIL_TAKEN.format(email="owner@example.com")
    assert result.rejections == [(2, row_message(ValidationError({"email": taken})))]
    assert result.created == 1


def test_a_row_matched_by_a_further_address_updates_that_customer(world):
    owner = CustomerFactory(email="owner@example.com", name="Owner")
    CustomerEmail.objects.create(customer=owner, email="alias@example.com")
    result = customers_import_rows(
        actor=world.agent_a, rows=[row(2, "alias@example.com", fields={"name": "Via alias"})]
    )
    assert (result.created, result.updated) == (0, 1)
    owner.refresh_from_db()
    assert owner.name == "Via alias"


def test_a_refused_update_leaves_the_customer_as_it_was(world):
    CustomerFactory(email="ann@example.com", name="Ann", tier="standard")
    result = customers_import_rows(
        actor=world.agent_a,
        rows=[row(2, "ann@example.com", fields={"name": "Changed", "tier": "gold"})],
    )
    assert result.rejections == [(2, row_message(ValidationError({"tier": services.INVALID_TIER})))]
    assert Customer.objects.get().name == "Ann"


def test_a_batch_refused_by_the_database_is_written_row_by_row(world, monkeypatch):
    # Another writer taking an address between the look-ups and the INSERT makes the batch's
    # INSERT fail; the rows then go through the single-row services.
    real = directory_bulk._write
    monkeypatch.setattr(
        directory_bulk,
        "_write",
        lambda *args: (_ for _ in ()).throw(IntegrityError("taken meanwhile")),
    )
    result = customers_import_rows(
        actor=world.agent_a, rows=[row(2, "a@example.com"), row(3, "not-an-address")]
    )
    monkeypatch.setattr(directory_bulk, "_write", real)
    assert result.created == 1
    assert result.rejections == [(3, services.EMAIL_INVALID.format(email="not-an-address"))]
    assert AuditEntry.objects.filter(action="customer.created").count() == 1


def test_a_batch_costs_the_same_few_queries_however_many_rows_it_has(
    world, django_assert_max_num_queries
):
    AccountFactory(name="Acme")
    rows = [row(n, f"c{n}@example.com", account="Acme", other_emails=[]) for n in range(300)]
    with django_assert_max_num_queries(20):
        result = customers_import_rows(actor=world.agent_a, rows=rows)
    assert result.created == 300
