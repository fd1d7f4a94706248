"""Model fields shared by the apps (portal/fields.py): decimals that round-trip exactly on
SQLite and PostgreSQL, and read without failing when a stored row does not fit."""

from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection, models
from django.urls import reverse
from rest_framework.test import APIClient

from portal.fields import DecimalFormField, ExactDecimalField
from portal.models import Account, NorthStarMeasurement, NorthStarMetric
from portal.validation import EXACT_DIGITS, NUMBER_HAS_COMMA

sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="Only SQLite stores decimals as REAL; PostgreSQL's numeric column refuses the value.",
)


def test_every_decimal_of_every_model_is_an_exact_decimal_within_15_digits():
    decimals = [
        field
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.DecimalField)
    ]
    assert decimals
    for field in decimals:
        assert isinstance(field, ExactDecimalField), field
        assert field.max_digits <= EXACT_DIGITS, field


def test_a_field_of_more_than_15_digits_fails_the_system_check():
    field = ExactDecimalField(max_digits=18, decimal_places=2)
    field.set_attributes_from_name("amount")
    assert [error.id for error in field.check()] == ["portal.E001"]
    narrow = ExactDecimalField(max_digits=15, decimal_places=2)
    narrow.set_attributes_from_name("amount")
    assert narrow.check() == []


def test_the_form_field_refuses_a_comma_with_the_shared_message():
    field = DecimalFormField(max_digits=15, decimal_places=4)
    with pytest.raises(Exception) as refused:
        field.clean("1,5")
    assert refused.value.messages == [NUMBER_HAS_COMMA.format(value="1,5")]
    assert field.clean("1.5") == Decimal("1.5")


@pytest.mark.parametrize(
    "value", ["12345678901.2345", "99999999999.9999", "-0.0001", "0.1", "1250.5"]
)
def test_measurement_values_of_15_digits_read_back_exactly(db, value):
    metric = NorthStarMetric.objects.create(pk=NorthStarMetric.SINGLETON_ID, name="Users")
    NorthStarMeasurement.objects.create(metric=metric, measured_on=date(2024, 1, 1), value=value)
    assert NorthStarMeasurement.objects.get().value == Decimal(value)


def test_mrr_of_12_digits_reads_back_exactly(db):
    Account.objects.create(name="Big", mrr=Decimal("9999999999.99"))
    assert Account.objects.get().mrr == Decimal("9999999999.99")


def _insert_measurement_beyond_the_field(metric: NorthStarMetric) -> int:
    """A row as an earlier version stored it on SQLite: 99999999999999.99 as a REAL."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO portal_northstarmeasurement "
            "(metric_id, measured_on, value, note, recorded_by_id, created_at) "
            "VALUES (%s, '2024-01-08', 99999999999999.99, '', NULL, '2024-01-08 00:00:00')",
            [metric.pk],
        )
    return NorthStarMeasurement.objects.values_list("pk", flat=True).get()


@sqlite_only
def test_a_stored_value_beyond_the_field_reads_as_its_nearest_value(db):
    metric = NorthStarMetric.objects.create(pk=NorthStarMetric.SINGLETON_ID, name="Users")
    _insert_measurement_beyond_the_field(metric)
    assert NorthStarMeasurement.objects.get().value == Decimal("100000000000000")


@sqlite_only
def test_a_stored_value_beyond_the_field_keeps_every_page_up_and_can_be_deleted(world, client):
    metric = NorthStarMetric.objects.create(pk=NorthStarMetric.SINGLETON_ID, name="Users")
    pk = _insert_measurement_beyond_the_field(metric)
    client.force_login(world.viewer_a)
    for name in ("portal:home", "portal:north_star", "portal:dashboards"):
        assert client.get(reverse(name)).status_code == 200, name
    api = APIClient()
    api.force_authenticate(world.lead_a)
    assert api.get(reverse("api:north-star-measurement-list")).status_code == 200
    assert api.get(reverse("api:north-star")).status_code == 200
    detail = reverse("api:north-star-measurement-detail", args=[pk])
    assert api.delete(detail).status_code == 204
    assert not NorthStarMeasurement.objects.exists()
