"""Keyset pagination for the long, growing feedback lists (items, messages).

A page is "the rows after this key" in the list's order, the key being the values of every
ordering field of the page's last row, the id last. Unlike page numbers, a page does not shift
when mail arrives while someone pages, and the database reads only the rows of the page along
an index, however deep the page. Unlike DRF's ``CursorPagination``, which keys on the first
ordering field and counts an offset among the rows that tie on it (giving up past 1,000 such
rows), the key here is the whole order, so ties cost nothing.

The order is the one the queryset has when it reaches the paginator: the selector's, or the
one ``StrictOrderingFilter`` made from ``ordering`` (which always ends with the id). A cursor
names the order it was made for; a cursor of another order, or one that is no cursor of ours,
answers 404 like a page past the last.
"""

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models
from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from portal.api.pagination import PortalPageSize
from portal.validation import MAX_ID

CURSOR_INVALID = (
    "This cursor is not one this list gave out for this order; start again without a cursor."
)
CURSOR_DESCRIPTION = (
    "Where the page starts: the `next` or `previous` link of the page before carries it. "
    "Leave it out for the first page."
)
ORDERING_NOT_KEYSET = (
    "{view} orders by {term!r}, which keyset pagination cannot key on: order by fields of "
    "the model itself that are never null."
)
# A cursor holds a few field values; anything longer is no cursor of ours.
MAX_CURSOR_LENGTH = 1000
NEXT, PREVIOUS = "n", "p"


def _encode(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(raw: str) -> dict[str, Any]:
    if len(raw) > MAX_CURSOR_LENGTH or not raw.isascii():
        raise NotFound(CURSOR_INVALID)
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        payload = json.loads(text)
    except (binascii.Error, ValueError):
        raise NotFound(CURSOR_INVALID) from None
    if not isinstance(payload, dict):
        raise NotFound(CURSOR_INVALID)
    return payload


class _Keyset(BasePagination):
    cursor_query_param = "cursor"

    # Reading a page ----------------------------------------------------------------------

    def paginate_queryset(self, queryset: QuerySet, request: Request, view=None) -> list[Any]:
        self.base_url = request.build_absolute_uri()
        page_size = self.get_page_size(request)
        self.terms = self._ordering(queryset, view)
        self.fields = [self._field(queryset.model, name) for name, _ in self.terms]
        raw = request.query_params.get(self.cursor_query_param)
        cursor = None if raw is None else self._cursor(raw)
        direction = NEXT if cursor is None else cursor[0]
        ordering = [f"-{name}" if descending else name for name, descending in self.terms]
        if direction == PREVIOUS:
            ordering = [term[1:] if term.startswith("-") else f"-{term}" for term in ordering]
        queryset = queryset.order_by(*ordering)
        if cursor is not None:
            queryset = queryset.filter(self._beyond(cursor[1], backwards=direction == PREVIOUS))
        rows = list(queryset[: page_size + 1])
        more = len(rows) > page_size
        page = rows[:page_size]
        if direction == PREVIOUS:
            page.reverse()
            self.next_cursor = self._cursor_at(page[-1], NEXT) if page else None
            self.previous_cursor = self._cursor_at(page[0], PREVIOUS) if more else None
            # Paging back past the first row leaves nothing before: the first page follows.
            self.next_is_first = not page
        else:
            self.next_cursor = self._cursor_at(page[-1], NEXT) if more else None
            self.previous_cursor = (
                self._cursor_at(page[0], PREVIOUS) if cursor is not None and page else None
            )
            self.next_is_first = False
        # A page reached with a cursor that finds nothing still has the first page before it.
        self.previous_is_first = cursor is not None and direction == NEXT and not page
        return page

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data}
        )

    def get_next_link(self) -> str | None:
        if self.next_cursor is None:
            if self.next_is_first:
                return remove_query_param(self.base_url, self.cursor_query_param)
            return None
        return replace_query_param(self.base_url, self.cursor_query_param, self.next_cursor)

    def get_previous_link(self) -> str | None:
        if self.previous_cursor is None:
            if self.previous_is_first:
                return remove_query_param(self.base_url, self.cursor_query_param)
            return None
        return replace_query_param(self.base_url, self.cursor_query_param, self.previous_cursor)

    # The order and its keys ----------------------------------------------------------------

    def _ordering(self, queryset: QuerySet, view) -> list[tuple[str, bool]]:
        """The queryset's order as ``(field, descending)``, up to and including the id."""
        model = queryset.model
        pk_name = model._meta.pk.name
        terms: list[tuple[str, bool]] = []
        for term in queryset.query.order_by or model._meta.ordering:
            if not isinstance(term, str):
                raise ImproperlyConfigured(
                    ORDERING_NOT_KEYSET.format(view=type(view).__name__, term=str(term))
                )
            descending = term.startswith("-")
            name = term.lstrip("-")
            name = pk_name if name == "pk" else name
            self._field(model, name, view=view)
            if name not in (seen for seen, _ in terms):
                terms.append((name, descending))
            if name == pk_name:
                return terms
        # Without the id two rows could share a key and one of them be skipped.
        return [*terms, (pk_name, False)]

    def _field(self, model: type[models.Model], name: str, view=None) -> models.Field:
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            field = None
        if field is None or not field.concrete or field.is_relation or field.null:
            raise ImproperlyConfigured(
                ORDERING_NOT_KEYSET.format(view=type(view).__name__, term=name)
            )
        return field

    def _beyond(self, values: list[Any], *, backwards: bool) -> Q:
        """Rows after ``values`` in the order (before them when paging back): greater in the
        first field, or equal in it and greater in the next, and so on."""
        condition = Q()
        for index, (name, descending) in enumerate(self.terms):
            lookup = "lt" if descending != backwards else "gt"
            equal = {other: values[i] for i, (other, _) in enumerate(self.terms[:index])}
            condition |= Q(**equal, **{f"{name}__{lookup}": values[index]})
        return condition

    # Cursors -------------------------------------------------------------------------------

    def _cursor_at(self, row: models.Model, direction: str) -> str:
        values = []
        for field in self.fields:
            value = getattr(row, field.attname)
            values.append(value.isoformat() if isinstance(value, datetime) else value)
        names = [f"-{name}" if descending else name for name, descending in self.terms]
        return _encode({"d": direction, "o": names, "v": values})

    def _cursor(self, raw: str) -> tuple[str, list[Any]]:
        """The direction and key values of a cursor made for this order, or 404."""
        payload = _decode(raw)
        names = [f"-{name}" if descending else name for name, descending in self.terms]
        values = payload.get("v")
        if (
            payload.get("o") != names
            or payload.get("d") not in (NEXT, PREVIOUS)
            or not isinstance(values, list)
            or len(values) != len(self.fields)
        ):
            raise NotFound(CURSOR_INVALID)
        return payload["d"], [
            self._value(field, value) for field, value in zip(self.fields, values, strict=True)
        ]

    def _value(self, field: models.Field, value: Any) -> Any:
        """One key value of a cursor, checked so that no query fails on it (SQLite cannot
        compare with an integer beyond 64 bits)."""
        if isinstance(field, models.DateTimeField):
            try:
                parsed = parse_datetime(value) if isinstance(value, str) else None
            except ValueError:
                parsed = None
            if parsed is None or parsed.tzinfo is None:
                raise NotFound(CURSOR_INVALID)
            return parsed
        if isinstance(field, models.IntegerField | models.AutoField):
            if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_ID:
                raise NotFound(CURSOR_INVALID)
            return value
        if isinstance(value, str) and len(value) <= MAX_CURSOR_LENGTH and "\x00" not in value:
            return value
        raise NotFound(CURSOR_INVALID)

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
