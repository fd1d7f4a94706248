"""Model fields shared by the apps."""

import decimal
from typing import Any

from django import forms
from django.core import checks
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.functional import cached_property

from portal.validation import EXACT_DIGITS, ID_INVALID, is_id, parse_decimal, parse_id


def normalised_key(value: str | None) -> str:
    """The form of a name or address used for exact look-ups and uniqueness: whitespace
    collapsed to single spaces and trimmed, then case-folded by Python.

    Databases disagree on case: SQLite's ``LOWER()`` folds only ASCII, and PostgreSQL's
    ``UPPER()`` (what ``__iexact`` compiles to) bypasses a ``LOWER(...)`` index. A column that
    holds this key, with a plain unique constraint and index, behaves the same on both."""
    return " ".join((value or "").split()).casefold()


class NormalisedKeyField(models.CharField):
    """A copy of the ``source`` field in its :func:`normalised_key` form, kept up to date on
    every save and ``bulk_create`` (both call ``pre_save``). ``QuerySet.update()`` and
    ``bulk_update()`` do not call it: writes go through the services, which use ``save()``."""

    def __init__(self, *args, source: str, **kwargs) -> None:
        self.source = source
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        kwargs.pop("editable", None)
        kwargs.pop("blank", None)
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        value = normalised_key(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value


class ExactDecimalField(models.DecimalField):
    """A decimal that reads back exactly what was written, on SQLite as on PostgreSQL. Every
    model's decimal uses it.

    SQLite stores a decimal as a REAL, exact to 15 significant digits (``EXACT_DIGITS``), so
    ``max_digits`` may not exceed that (a system check says so): within it every value the
    field validates round-trips. A row written before that rule, or by hand, may hold a REAL
    beyond ``max_digits``; Django's SQLite converter rounds it to ``decimal_places`` within a
    context of ``max_digits`` digits, raises InvalidOperation, and every page that lists the row
    fails. Here reading uses a context wide enough for any double, so such a row reads as the
    nearest value: it can be seen, corrected and deleted."""

    # A double's largest finite value has 309 digits before the point.
    READ_PRECISION = 320

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        errors = super().check(**kwargs)
        if isinstance(self.max_digits, int) and self.max_digits > EXACT_DIGITS:
            errors.append(
                checks.Error(
                    f"max_digits may be at most {EXACT_DIGITS}: SQLite keeps only that many "
                    "significant digits of a decimal.",
                    obj=self,
                    id="portal.E001",
                )
            )
        return errors

    @cached_property
    def context(self) -> decimal.Context:
        # Read by the SQLite backend's converter for every value it loads (see the class).
        return decimal.Context(prec=self.READ_PRECISION + (self.decimal_places or 0))

    def to_python(self, value: Any) -> Any:
        # Django's to_python converts a float within ``context``; it keeps max_digits, as
        # Django's own field does, rather than the wide reading context.
        if isinstance(value, float):
            value = decimal.Context(prec=self.max_digits).create_decimal_from_float(value)
        return super().to_python(value)

    def formfield(self, **kwargs: Any) -> forms.Field:
        return super().formfield(**{"form_class": DecimalFormField, **kwargs})


class DecimalFormField(forms.DecimalField):
    """A form's number, read by the portal's one rule (``validation.parse_decimal``): a point
    for decimals, no thousands separators, a comma refused as ambiguous. Django's own field
    would take "1_000" and non-ASCII digits, and its message does not say what to write."""

    def to_python(self, value: Any) -> decimal.Decimal | None:
        if value in self.empty_values:
            return None
        return parse_decimal(value)


class IdFormField(forms.Field):
    """An id in a form or a query string (``?account=12``), by ``validation.parse_id``: ASCII
    digits from 1 to 2**63 - 1, so that a larger one is refused before SQLite meets it."""

    default_error_messages = {"invalid": ID_INVALID}

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        try:
            return parse_id(value)
        except ValidationError as error:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from error


class IdModelChoiceField(forms.ModelChoiceField):
    """A select of objects whose submitted id is checked before the look-up: Django's own field
    catches a ValueError but not the OverflowError SQLite raises for an id beyond 64 bits."""

    def to_python(self, value: Any) -> models.Model | None:
        if value in self.empty_values:
            return None
        if not is_id(value):
            raise ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": str(value)[:100]},
            )
        return super().to_python(value)
