"""Writes for the North Star metric and its measurements."""

from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from portal import access, events
from portal.actors import person_or_none
from portal.models import NorthStarMeasurement, NorthStarMetric
from portal.services.audit import audit, changes_between, snapshot
from portal.services.common import full_clean, to_decimal

NORTH_STAR_MISSING = "Define the North Star metric before recording measurements."

_METRIC_AUDITED = ("name", "definition", "unit")
_MEASUREMENT_AUDITED = ("measured_on", "value", "note")


@transaction.atomic
def north_star_set(
    *, actor: AbstractBaseUser, name: str, definition: str = "", unit: str = ""
) -> NorthStarMetric:
    access.require_superuser(actor)
    metric = NorthStarMetric.objects.filter(pk=NorthStarMetric.SINGLETON_ID).first()
    before = snapshot(metric, _METRIC_AUDITED) if metric else None
    metric = metric or NorthStarMetric(pk=NorthStarMetric.SINGLETON_ID)
    metric.name = (name or "").strip()
    metric.definition = definition
    metric.unit = (unit or "").strip()
    full_clean(metric)
    metric.save()
    changes = changes_between(before, snapshot(metric, _METRIC_AUDITED))
    if changes:
        action = "north_star.updated" if before else "north_star.created"
        audit(actor=actor, action=action, target=metric, changes=changes)
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
    recorded_by = person_or_none(actor)
    candidate = NorthStarMeasurement(
        metric=metric,
        measured_on=measured_on,
        value=to_decimal(value, "value"),
        note=(note or "").strip(),
        recorded_by=recorded_by,
    )
    full_clean(candidate, exclude=["metric", "recorded_by"])
    previous = NorthStarMeasurement.objects.filter(metric=metric, measured_on=measured_on).first()
    before = snapshot(previous, _MEASUREMENT_AUDITED) if previous else None
    measurement, created = NorthStarMeasurement.objects.update_or_create(
        metric=metric,
        measured_on=measured_on,
        defaults={"value": candidate.value, "note": candidate.note, "recorded_by": recorded_by},
    )
    changes = changes_between(before, snapshot(measurement, _MEASUREMENT_AUDITED))
    if changes:
        action = "north_star_measurement.created" if created else "north_star_measurement.updated"
        audit(actor=actor, action=action, target=measurement, changes=changes)
    events.emit("portal.north_star_measured", measurement_id=measurement.pk)
    return measurement, created


@transaction.atomic
def north_star_measurement_delete(
    *, actor: AbstractBaseUser, measurement: NorthStarMeasurement
) -> None:
    access.require_north_star_recorder(actor)
    # Recorded before the row goes, while the measurement still has its id.
    audit(
        actor=actor,
        action="north_star_measurement.deleted",
        target=measurement,
        changes=changes_between(snapshot(measurement, _MEASUREMENT_AUDITED), None),
    )
    measurement.delete()
