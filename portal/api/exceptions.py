"""API errors: ``{"detail": ...}`` or field errors, never a 500 for bad input.

Services raise Django's ``ValidationError`` and ``PermissionDenied``; here they become
DRF's 400 and 403 so that viewsets stay thin. Django's refusals of a request as such (too many
fields, too large a body) become 400 and 413."""

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
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
    elif isinstance(exc, RequestDataTooBig):
        exc = TooLarge()
    elif isinstance(exc, SuspiciousOperation):
        # Django's refusals of a request itself (more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS,
        # say): a 400 as Django's own views answer, where DRF would fail on them with a 500.
        exc = exceptions.ParseError(str(exc) or None)
    return drf_exception_handler(exc, context)


class TooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is larger than this server takes."
    default_code = "request_too_large"
