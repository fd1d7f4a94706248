"""The audit log: every service that writes records who did what to which object.

Services call :func:`audit` inside their own transaction, so that an entry exists exactly when
its write was committed. Changes are recorded as ``{"field": {"before": ..., "after": ...}}``
for the fields that changed; :func:`snapshot` and :func:`changes_between` build them.
"""

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from portal.actors import is_system
from portal.models import AuditEntry, Team

TARGET_UNSAVED = "audit() needs a saved target; record a deletion before deleting."

Snapshot = dict[str, Any]


def _plain(value: Any) -> Any:
    """A value as JSON can hold it and a person can read it."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        # Normalised, so that 250 and 250.00 (the same stored value) are no change.
        return format(value.normalize(), "f")
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, Iterable):
        return [_plain(item) for item in value]
    return str(value)


def snapshot(instance: models.Model, fields: Iterable[str], **extra: Any) -> Snapshot:
    """The named fields of ``instance`` (and any ``extra`` values, such as an account's
    domains) as plain values, to compare before and after a write."""
    values = {field: _plain(getattr(instance, field)) for field in fields}
    values.update({name: _plain(value) for name, value in extra.items()})
    return values


_EMPTY = (None, "", [], {})


def changes_between(before: Snapshot | None, after: Snapshot | None) -> dict[str, dict]:
    """The fields whose values differ. A missing side (creation, deletion) counts as None, and
    then only the fields that hold something are recorded: an empty field was not set."""
    if before is None or after is None:
        present = after if before is None else before
        return {
            field: {
                "before": None if before is None else value,
                "after": None if after is None else value,
            }
            for field, value in sorted((present or {}).items())
            if value not in _EMPTY
        }
    return {
        field: {"before": before.get(field), "after": after.get(field)}
        for field in sorted(before.keys() | after.keys())
        if before.get(field) != after.get(field)
    }


def audit(
    *,
    actor: Any,
    action: str,
    target: models.Model,
    team: Team | None = None,
    changes: dict[str, dict] | None = None,
) -> AuditEntry:
    """Record one write. ``action`` is ``"<entity>.<past verb>"`` (``"team.updated"``);
    ``team`` scopes the entry to a team's members, None makes it organisation-wide."""
    if target.pk is None:
        raise ValueError(TARGET_UNSAVED)
    system = is_system(actor)
    return AuditEntry.objects.create(
        actor=None if system else actor,
        actor_label=AuditEntry.SYSTEM_LABEL if system else actor.get_username(),
        action=action,
        target_type=ContentType.objects.get_for_model(target, for_concrete_model=True),
        target_id=target.pk,
        target_label=str(target)[: AuditEntry._meta.get_field("target_label").max_length],
        team=team,
        changes=changes or {},
    )


def audit_many(
    *, actor: Any, action: str, entries: Iterable[tuple[models.Model, dict[str, dict]]]
) -> list[AuditEntry]:
    """Record many writes of one kind in one INSERT (a bulk import): the same entries as one
    :func:`audit` call per ``(target, changes)`` would write."""
    system = is_system(actor)
    label_length = AuditEntry._meta.get_field("target_label").max_length
    rows = []
    for target, changes in entries:
        if target.pk is None:
            raise ValueError(TARGET_UNSAVED)
        rows.append(
            AuditEntry(
                actor=None if system else actor,
                actor_label=AuditEntry.SYSTEM_LABEL if system else actor.get_username(),
                action=action,
                target_type=ContentType.objects.get_for_model(target, for_concrete_model=True),
                target_id=target.pk,
                target_label=str(target)[:label_length],
                changes=changes or {},
            )
        )
    return AuditEntry.objects.bulk_create(rows)
