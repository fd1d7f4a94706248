"""Writes for the North Star metric and its measurements."""

from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from portal import access, events
from portal.models import NorthStarMeasurement, NorthStarMetric
from portal.services.common import full_clean, to_decimal

NORTH_STAR_MISSING = "Define the North Star metric before recording measurements."


@transaction.atomic
def north_star_set(
    *, actor: AbstractBaseUser, name: str, definition: str = "", unit: str = ""
) -> NorthStarMetric:
    access.require_superuser(actor)
    metric = NorthStarMetric.objects.filter(pk=NorthStarMetric.SINGLETON_ID).first()
    metric = metric or NorthStarMetric(pk=NorthStarMetric.SINGLETON_ID)
    metric.name = (name or "").strip()
    metric.definition = definition
    metric.unit = (unit or "").strip()
    full_clean(metric)
    metric.save()
    return metric


@transaction.atomic
def north_star_measurement_record(
    *,
    actor: AbstractBaseUser,
    measured_on: date,
    value: Decimal | str | int | float,
    note: str = "",
) -> tuple[NorthStarMeasurement, bool]:
    """Record the value for a day; a second value for the same day replaces the first.
    Returns the measurement and whether it was created."""
    access.require_north_star_recorder(actor)
    metric = NorthStarMetric.objects.filter(pk=NorthStarMetric.SINGLETON_ID).first()
    if metric is None:
        raise ValidationError(NORTH_STAR_MISSING)
    candidate = NorthStarMeasurement(
        metric=metric,
        measured_on=measured_on,
        value=to_decimal(value, "value"),
        note=(note or "").strip(),
        recorded_by=actor,
    )
    full_clean(candidate, exclude=["metric", "recorded_by"])
    measurement, created = NorthStarMeasurement.objects.update_or_create(
        metric=metric,
        measured_on=measured_on,
        defaults={"value": candidate.value, "note": candidate.note, "recorded_by": actor},
    )
    events.emit("portal.north_star_measured", measurement_id=measurement.pk)
    return measurement, created


@transaction.atomic
def north_star_measurement_delete(
    *, actor: AbstractBaseUser, measurement: NorthStarMeasurement
) -> None:
    access.require_north_star_recorder(actor)
    measurement.delete()
