"""Keyset pagination for the long, growing feedback lists (items, messages).

A page is "the rows after this key" in the list's order, the key being the values of every
ordering field of the page's last row, the id last. Unlike page numbers, a page does not shift
when mail arrives while someone pages, and the database reads only the rows of the page along
an index, however deep the page. Unlike DRF's ``CursorPagination``, which keys on the first
ordering field and counts an offset among the rows that tie on it (giving up past 1,000 such
rows), the key here is the whole order, so ties cost nothing.

The order is the one the queryset has when it reaches the paginator: the selector's, the
inbox's (``feedback.inbox``, for items), or the one ``StrictOrderingFilter`` made from
``ordering`` (which always ends with the id). A cursor names the order it was made for; a cursor
of another order, or one that is no cursor of ours, answers 404 like a page past the last. The
keys and cursors themselves are ``feedback.inbox.keyset``'s, shared with the inbox page.
"""

from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import NotFound
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from feedback.inbox.keyset import MAX_CURSOR_LENGTH, CursorInvalid, Keyset, KeysetPage
from portal.api.pagination import PortalPageSize

CURSOR_INVALID = (
    "This cursor is not one this list gave out for this order; start again without a cursor."
)
CURSOR_DESCRIPTION = (
    "Where the page starts: the `next` or `previous` link of the page before carries it. "
    "Leave it out for the first page."
)


class _Keyset(BasePagination):
    cursor_query_param = "cursor"

    # Reading a page ----------------------------------------------------------------------

    def paginate_queryset(self, queryset: QuerySet, request: Request, view=None) -> list[Any]:
        self.base_url = request.build_absolute_uri()
        page_size = self.get_page_size(request)
        keyset = Keyset(queryset, owner=type(view).__name__)
        try:
            self.page: KeysetPage = keyset.page(
                request.query_params.get(self.cursor_query_param), page_size
            )
        except CursorInvalid:
            raise NotFound(CURSOR_INVALID) from None
        return self.page.rows

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data}
        )

    def get_next_link(self) -> str | None:
        if self.page.next_cursor is None:
            if self.page.next_is_first:
                return remove_query_param(self.base_url, self.cursor_query_param)
            return None
        return replace_query_param(self.base_url, self.cursor_query_param, self.page.next_cursor)

    def get_previous_link(self) -> str | None:
        if self.page.previous_cursor is None:
            if self.page.previous_is_first:
                return remove_query_param(self.base_url, self.cursor_query_param)
            return None
        return replace_query_param(
            self.base_url, self.cursor_query_param, self.page.previous_cursor
        )

    # Schema --------------------------------------------------------------------------------

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": CURSOR_DESCRIPTION,
                "schema": {"type": "string", "maxLength": MAX_CURSOR_LENGTH},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "schema": {"type": "integer"},
            },
        ]

    def get_paginated_response_schema(self, schema: dict) -> dict:
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }


class KeysetPagination(PortalPageSize, _Keyset):
    """``{"next", "previous", "results"}`` (no count: counting a long list is what this avoids).
    ``page_size`` as everywhere; ``cursor`` from the ``next`` and ``previous`` links."""
