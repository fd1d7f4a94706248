"""Normalisation and validation shared by the services."""

import json
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import models
from django.utils.text import slugify

from portal.validation import (
    NUL_CHARACTER,
    contains_nul,
    parse_decimal,
    reject_nul,
)

EMAIL_INVALID = "{email!r} is not a valid e-mail address."
DOMAIN_INVALID = "{domain!r} is not a valid domain name."
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_KEY_LENGTH = 64
MAX_ATTRIBUTE_TEXT_LENGTH = 500
ATTRIBUTES_INVALID = (
    f"Attributes must be a JSON object of at most {MAX_ATTRIBUTES} keys (each up to "
    f"{MAX_ATTRIBUTE_KEY_LENGTH} characters) whose values are text (up to "
    f"{MAX_ATTRIBUTE_TEXT_LENGTH} characters), numbers, true/false or null."
)

_email_validator = EmailValidator()


def normalize_email(raw: str) -> str:
    """Trim and lower-case an address; raise ValidationError when it is not one."""
    email = (raw or "").strip().lower()
    try:
        _email_validator(email)
    except ValidationError as error:
        raise ValidationError(EMAIL_INVALID.format(email=raw)) from error
    return email


def normalize_domain(raw: str) -> str:
    domain = (raw or "").strip().lower().lstrip("@").rstrip(".")
    try:
        _email_validator(f"postmaster@{domain}")
    except ValidationError as error:
        raise ValidationError(DOMAIN_INVALID.format(domain=raw)) from error
    return domain


def validate_attributes(attributes: Any) -> dict[str, Any]:
    if attributes is None:
        return {}
    if not isinstance(attributes, dict) or len(attributes) > MAX_ATTRIBUTES:
        raise ValidationError(ATTRIBUTES_INVALID)
    reject_nul(attributes)
    for key, value in attributes.items():
        if not isinstance(key, str) or not key.strip() or len(key) > MAX_ATTRIBUTE_KEY_LENGTH:
            raise ValidationError(ATTRIBUTES_INVALID)
        if isinstance(value, str):
            if len(value) > MAX_ATTRIBUTE_TEXT_LENGTH:
                raise ValidationError(ATTRIBUTES_INVALID)
        elif isinstance(value, float) and not math.isfinite(value):
            # Python's json reads NaN and Infinity; JSON, and so PostgreSQL's jsonb, has neither.
            raise ValidationError(ATTRIBUTES_INVALID)
        elif value is not None and not isinstance(value, bool | int | float):
            raise ValidationError(ATTRIBUTES_INVALID)
    # Round-trip through JSON so that what is stored is exactly what will be read back.
    return json.loads(json.dumps(attributes))


def to_decimal(value: Any, field: str) -> Decimal:
    """A number by the portal's one rule (``validation.parse_decimal``), or a ValidationError
    naming the field."""
    try:
        return parse_decimal(value)
    except ValidationError as error:
        raise ValidationError({field: error.messages}) from error


_TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)


def reject_nul_fields(instance: models.Model, exclude: list[str] | None = None) -> None:
    """Refuse a NUL character in any text or JSON field, naming the field: PostgreSQL cannot
    store one, nor even compare with one (a look-up by name fails), and SQLite would store what
    PostgreSQL cannot hold. A service that looks rows up by a field before ``full_clean`` calls
    this first."""
    skipped = set(exclude or ())
    errors = {
        field.name: [NUL_CHARACTER]
        for field in instance._meta.concrete_fields
        if isinstance(field, _TEXT_FIELDS)
        and field.name not in skipped
        and contains_nul(getattr(instance, field.attname))
    }
    if errors:
        raise ValidationError(errors)


def full_clean(instance: models.Model, exclude: list[str] | None = None) -> None:
    """The model's own validation, and no NUL character (:func:`reject_nul_fields`). Every
    service saves through here, so forms, the API and imports refuse the same input alike."""
    reject_nul_fields(instance, exclude)
    instance.full_clean(exclude=exclude, validate_constraints=False)


# Slugs -------------------------------------------------------------------------------------


def unique_slug(name: str, *, fallback: str, max_length: int, taken: Callable[[str], bool]) -> str:
    """A slug for ``name`` that ``taken`` does not report as used.

    Letters of every script are kept ("Поддержка" gives "поддержка"), since transliterating
    would need a table per language. A name with nothing a slug can hold ("🚀") gets
    ``fallback``. A slug already used gets the first free suffix: ``-2``, ``-3`` and so on,
    cutting the slug so that it stays within ``max_length``."""
    base = slugify(name, allow_unicode=True)[:max_length].strip("-_") or fallback
    candidate, number = base, 1
    while taken(candidate):
        number += 1
        suffix = f"-{number}"
        candidate = base[: max_length - len(suffix)].rstrip("-_") + suffix
    return candidate
