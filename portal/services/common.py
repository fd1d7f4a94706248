"""Normalisation and validation shared by the services."""

import json
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from portal.validation import parse_decimal

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
    for key, value in attributes.items():
        if not isinstance(key, str) or not key.strip() or len(key) > MAX_ATTRIBUTE_KEY_LENGTH:
            raise ValidationError(ATTRIBUTES_INVALID)
        if isinstance(value, str):
            if len(value) > MAX_ATTRIBUTE_TEXT_LENGTH:
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


def full_clean(instance, exclude: list[str] | None = None) -> None:
    instance.full_clean(exclude=exclude, validate_constraints=False)
