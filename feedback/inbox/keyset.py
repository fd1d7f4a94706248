"""Keyset pages of an ordered queryset: "the rows after this key" in the queryset's order, the
key being the values of every ordering term of the page's last row, the id last.

Unlike page numbers, a page does not shift when mail arrives while someone pages, and the
database reads only the rows of the page along an index, however deep the page: when every
term of the order runs the same way the condition is one row comparison
(``(a, b, id) < (x, y, z)``), which PostgreSQL reads as a range of a composite index whose
columns are those terms (the inbox's orders are built so; see ``feedback.inbox.query``). A
mixed order falls back to "greater in the first term, or equal in it and greater in the next…",
which is right but makes the database walk past the earlier rows.

A term is a concrete, never-null field of the model or an annotation of the queryset (the
inbox's priority rank, say) that is never null. A cursor names the order it was made for; a
cursor of another order, or one that is no cursor of ours, raises :class:`CursorInvalid`.
Used by the inbox page (``feedback.inbox.query.inbox_page``) and by the API's pagination
(``feedback.api.pagination``), so that both read one cursor format.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models
from django.db.models import F, Q, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.utils.dateparse import parse_datetime

from portal.validation import MAX_ID

ORDERING_NOT_KEYSET = (
    "{view} orders by {term!r}, which keyset pagination cannot key on: order by fields of "
    "the model itself or annotations that are never null."
)
# A cursor holds a few field values; anything longer is no cursor of ours.
MAX_CURSOR_LENGTH = 1000
NEXT, PREVIOUS = "n", "p"


class CursorInvalid(Exception):
    """A cursor this list did not give out for this order."""


@dataclass(frozen=True)
class KeysetPage:
    rows: list[Any]
    next_cursor: str | None
    previous_cursor: str | None
    # Paging back past the first row leaves nothing before: the first page follows.
    next_is_first: bool = False
    # A page reached with a cursor that finds nothing still has the first page before it.
    previous_is_first: bool = False


def _encode(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(raw: str) -> dict[str, Any]:
    if len(raw) > MAX_CURSOR_LENGTH or not raw.isascii():
        raise CursorInvalid
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        payload = json.loads(text)
    except (binascii.Error, ValueError):
        raise CursorInvalid from None
    if not isinstance(payload, dict):
        raise CursorInvalid
    return payload


class Keyset:
    """The order of ``queryset`` as keyset terms, and its pages."""

    def __init__(
        self, queryset: QuerySet, *, owner: str = "", rows: QuerySet | None = None
    ) -> None:
        """``rows``: where a page's rows are read by their ids, with the columns, related rows
        and ordering annotations of ``queryset`` but without its filters (the ids come from
        ``queryset``, filtered), so the page's statement carries them once; by default
        ``queryset`` itself."""
        self.queryset = queryset
        self.rows = queryset if rows is None else rows
        self.owner = owner or "The list"
        self.terms = self._ordering()
        self.fields = [self._field(name) for name, _ in self.terms]
        self.names = [f"-{name}" if descending else name for name, descending in self.terms]

    # The order and its keys ----------------------------------------------------------------

    def _ordering(self) -> list[tuple[str, bool]]:
        """The queryset's order as ``(term, descending)``, up to and including the id."""
        model = self.queryset.model
        pk_name = model._meta.pk.name
        terms: list[tuple[str, bool]] = []
        for term in self.queryset.query.order_by or model._meta.ordering:
            if not isinstance(term, str):
                raise ImproperlyConfigured(
                    ORDERING_NOT_KEYSET.format(view=self.owner, term=str(term))
                )
            descending = term.startswith("-")
            name = term.lstrip("-")
            name = pk_name if name == "pk" else name
            self._field(name)
            if name not in (seen for seen, _ in terms):
                terms.append((name, descending))
            if name == pk_name:
                return terms
        # Without the id two rows could share a key and one of them be skipped.
        return [*terms, (pk_name, False)]

    def _field(self, name: str) -> models.Field:
        annotation = self.queryset.query.annotations.get(name)
        if annotation is not None:
            return annotation.output_field
        try:
            field = self.queryset.model._meta.get_field(name)
        except FieldDoesNotExist:
            field = None
        if field is None or not field.concrete or field.is_relation or field.null:
            raise ImproperlyConfigured(ORDERING_NOT_KEYSET.format(view=self.owner, term=name))
        return field

    def _beyond(self, values: list[Any], *, backwards: bool) -> Q:
        """Rows after ``values`` in the order (before them when paging back)."""
        directions = {descending for _, descending in self.terms}
        if len(directions) == 1:
            # One row comparison, which an index on the terms reads as a range.
            lookup = TupleLessThan if directions.pop() != backwards else TupleGreaterThan
            return Q(lookup(Tuple(*(F(name) for name, _ in self.terms)), values))
        condition = Q()
        for index, (name, descending) in enumerate(self.terms):
            lookup = "lt" if descending != backwards else "gt"
            equal = {other: values[i] for i, (other, _) in enumerate(self.terms[:index])}
            condition |= Q(**equal, **{f"{name}__{lookup}": values[index]})
        return condition

    # Pages -----------------------------------------------------------------------------------

    def page(self, raw_cursor: str | None, size: int) -> KeysetPage:
        """The ``size`` rows after (or, for a "previous" cursor, before) the cursor's key."""
        cursor = None if raw_cursor is None else self.cursor(raw_cursor)
        direction = NEXT if cursor is None else cursor[0]
        ordering = list(self.names)
        if direction == PREVIOUS:
            ordering = [term[1:] if term.startswith("-") else f"-{term}" for term in ordering]
        keys = self.queryset.order_by(*ordering)
        if cursor is not None:
            keys = keys.filter(self._beyond(cursor[1], backwards=direction == PREVIOUS))
        # The page's ids with their LIMIT in a subquery, then its rows by id: PostgreSQL
        # estimates a row comparison from its first term alone (often one row), and with the
        # queryset's joins in the same statement it joined every row after the key before
        # sorting them (3.9 s at row 10,000 of 100,000; docs/benchmarks.md, Inbox).
        ids = keys.values("pk")[: size + 1]
        rows = list(self.rows.filter(pk__in=ids).order_by(*ordering))
        more = len(rows) > size
        page = rows[:size]
        if direction == PREVIOUS:
            page.reverse()
            return KeysetPage(
                rows=page,
                next_cursor=self.cursor_at(page[-1], NEXT) if page else None,
                previous_cursor=self.cursor_at(page[0], PREVIOUS) if more else None,
                next_is_first=not page,
            )
        return KeysetPage(
            rows=page,
            next_cursor=self.cursor_at(page[-1], NEXT) if more else None,
            previous_cursor=self.cursor_at(page[0], PREVIOUS)
            if cursor is not None and page
            else None,
            previous_is_first=cursor is not None and not page,
        )

    # Cursors ---------------------------------------------------------------------------------

    def cursor_at(self, row: models.Model, direction: str) -> str:
        values = []
        for (name, _), field in zip(self.terms, self.fields, strict=True):
            annotated = name in self.queryset.query.annotations
            value = getattr(row, name if annotated else field.attname)
            values.append(value.isoformat() if isinstance(value, datetime) else value)
        return _encode({"d": direction, "o": self.names, "v": values})

    def cursor(self, raw: str) -> tuple[str, list[Any]]:
        """The direction and key values of a cursor made for this order."""
        payload = _decode(raw)
        values = payload.get("v")
        if (
            payload.get("o") != self.names
            or payload.get("d") not in (NEXT, PREVIOUS)
            or not isinstance(values, list)
            or len(values) != len(self.fields)
        ):
            raise CursorInvalid
        return payload["d"], [
            _value(field, value) for field, value in zip(self.fields, values, strict=True)
        ]


def _value(field: models.Field, value: Any) -> Any:
    """One key value of a cursor, checked so that no query fails on it (SQLite cannot compare
    with an integer beyond 64 bits)."""
    if isinstance(field, models.DateTimeField):
        try:
            parsed = parse_datetime(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise CursorInvalid
        return parsed
    if isinstance(field, models.IntegerField | models.AutoField):
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_ID:
            raise CursorInvalid
        return value
    if isinstance(value, str) and len(value) <= MAX_CURSOR_LENGTH and "\x00" not in value:
        return value
    raise CursorInvalid
