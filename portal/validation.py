"""A service's ``ValidationError`` as text a person can read.

Forms, pages, the API, CSV imports and management commands all report the same refusals; they
differ only in how they lay the messages out. This module imports nothing from the portal, so
every layer may use it without an import cycle.
"""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


def validation_messages(error: ValidationError) -> list[str]:
    """Every message of ``error``, in order, with its parameters filled in.

    A message about one field is prefixed with the field's name (``"mrr: MRR cannot be
    negative."``), because a caller that lays the messages out as one line would otherwise lose
    which value was refused; a message about the whole object is not. Callers that show each
    field's messages beside the field pass that field's errors alone, as
    ``ValidationError(errors)``, and get them without a prefix."""
    if hasattr(error, "error_dict"):
        return [
            message if field == NON_FIELD_ERRORS else f"{field}: {message}"
            for field, messages in error.message_dict.items()
            for message in messages
        ]
    return list(error.messages)
