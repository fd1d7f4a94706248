"""One list shape everywhere: ``{"next", "previous", "results"}``, plus ``"count"`` where it is
cheap. ``page`` and ``page_size`` that are not whole numbers from 1 answer 400 naming the
parameter: DRF's own classes would quietly answer the default page size (``page_size=abc``, ``0``
or ``-1`` become 50), so a client would read a page it did not ask for. A ``page_size`` above
``MAX_PAGE_SIZE`` gives that many rows, as documented."""

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination

MAX_PAGE_SIZE = 200
PAGE_SIZE_INVALID = "Give a whole number from 1."
PAGE_SIZE_DESCRIPTION = "Rows per page: {default} unless given; more than {cap} gives {cap}."
PAGE_INVALID = "Give a page number: a whole number from 1."
# Digits beyond these are no page anyone has; checked before int() reads them.
MAX_PAGE_DIGITS = 9
MAX_PAGE = 10**MAX_PAGE_DIGITS - 1


def parse_positive(raw: str, *, parameter: str, message: str, maximum: int | None = None) -> int:
    """A whole number from 1 (to ``maximum``) in ASCII digits, or 400 ``{parameter: [message]}``."""
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_PAGE_DIGITS:
        raise ValidationError({parameter: [message]})
    number = int(text)
    if number < 1 or (maximum is not None and number > maximum):
        raise ValidationError({parameter: [message]})
    return number


class PortalPageSize:
    """Lists default to ``PORTAL_PAGE_SIZE``, the same setting the pages use; ``page_size`` takes
    1 to ``MAX_PAGE_SIZE``."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def __init__(self) -> None:
        self.page_size = settings.PORTAL_PAGE_SIZE

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        number = parse_positive(
            raw, parameter=self.page_size_query_param, message=PAGE_SIZE_INVALID, maximum=MAX_PAGE
        )
        return min(number, self.max_page_size)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_PAGE,
                    "default": self.page_size,
                }
                parameter["description"] = PAGE_SIZE_DESCRIPTION.format(
                    default=self.page_size, cap=self.max_page_size
                )
        return parameters


class PagePagination(PortalPageSize, PageNumberPagination):
    """``{"count", "next", "previous", "results"}``; ``page`` from 1, a page past the last
    answers 404."""

    # Only numbers: "last" would be a second spelling the schema does not describe.
    last_page_strings = ()

    def get_page_number(self, request, paginator) -> int:
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        return parse_positive(
            raw, parameter=self.page_query_param, message=PAGE_INVALID, maximum=MAX_PAGE
        )

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}
        return parameters


class KeysetPagination(PortalPageSize, CursorPagination):
    """For long, growing lists (feedback items, messages): no count, stable under inserts."""

    ordering = "-id"
