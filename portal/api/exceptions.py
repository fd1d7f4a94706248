"""API errors: ``{"detail": ...}`` or field errors, never a 500 for bad input.

Services raise Django's ``ValidationError`` and ``PermissionDenied``; here they become
DRF's 400 and 403 so that viewsets stay thin."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

from portal.validation import validation_messages


def _as_drf_validation_error(error: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(error, "error_dict"):
        # Each field's messages go under the field's own name, so without a prefix.
        return exceptions.ValidationError(
            {
                field: validation_messages(DjangoValidationError(errors))
                for field, errors in error.error_dict.items()
            }
        )
    return exceptions.ValidationError({"detail": " ".join(validation_messages(error))})


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = _as_drf_validation_error(exc)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    return drf_exception_handler(exc, context)
