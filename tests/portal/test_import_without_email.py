"""The customers CSV import with rows that leave the address empty (allowed with an
external id), set-based and row by row."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from portal.models import Customer
from portal.services import directory_bulk
from portal.services.directory_bulk import (
    ROW_NEEDS_EMAIL_OR_EXTERNAL_ID,
    CustomerRow,
    customers_import_rows,
    row_message,
)
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NEEDS = row_message(ValidationError({"email": ROW_NEEDS_EMAIL_OR_EXTERNAL_ID}))


def rows() -> list[CustomerRow]:
    return [
        CustomerRow(line=2, email="", fields={"name": "No Address", "external_id": "crm-1"}),
        CustomerRow(line=3, email="  ", fields={"name": "Nobody"}),
        CustomerRow(line=4, email="", fields={"name": "Kept", "external_id": "crm-2"}),
        CustomerRow(line=5, email="", fields={"name": "Also None", "external_id": "crm-3"}),
    ]


def _check(result, kept) -> None:
    assert (result.created, result.updated) == (2, 1)
    assert result.rejections == [(3, NEEDS)]
    assert Customer.objects.get(external_id="crm-1").email == ""
    assert Customer.objects.get(external_id="crm-3").email == ""
    kept.refresh_from_db()
    # An empty cell leaves an existing customer's address alone.
    assert (kept.name, kept.email) == ("Kept", "kept@example.test")


def test_rows_without_address_need_an_external_id(world):
    kept = CustomerFactory(email="kept@example.test", external_id="crm-2")
    result = customers_import_rows(actor=world.agent_a, rows=rows())
    _check(result, kept)
    again = customers_import_rows(actor=world.agent_a, rows=rows())
    assert (again.created, again.updated) == (0, 3)
    assert Customer.objects.count() == 3


def test_rows_without_address_row_by_row(world, monkeypatch):
    kept = CustomerFactory(email="kept@example.test", external_id="crm-2")
    monkeypatch.setattr(
        directory_bulk,
        "_write",
        lambda *args: (_ for _ in ()).throw(IntegrityError("taken meanwhile")),
    )
    _check(customers_import_rows(actor=world.agent_a, rows=rows()), kept)
