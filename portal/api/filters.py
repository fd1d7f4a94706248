"""Query-string filters for the portal's API. Repeated parameters select several values
(``?tier=vip&tier=priority``); a value that is not allowed answers 400 with the reason.

``ordering`` is handled for every list by one backend, ``StrictOrderingFilter``, from the
``ordering_fields`` each viewset declares; the filtersets below only filter."""

from collections.abc import Mapping

from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django_filters import rest_framework as filters
from django_filters.widgets import BooleanWidget
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.request import Request

from portal.fields import IdFormField
from portal.forms import DATE_RANGE_REVERSED
from portal.models import (
    Account,
    Customer,
    Membership,
    NorthStarMeasurement,
    Role,
    Segment,
    Tier,
)
from portal.validation import MAX_ID, MAX_SEARCH_LENGTH, MAX_SEARCH_WORDS, SEARCH_TOO_LONG

UNKNOWN_ORDERING = "Cannot order by {field!r}; choose from: {choices}."
ORDERING_BLANK = "Name a field to order by between the commas; choose from: {choices}."
ORDERING_FIELDS_MISSING = "{view} lists objects but declares no ordering_fields."
ORDERING_DESCRIPTION = (
    "Order by these fields, comma-separated; a leading `-` orders descending. "
    "Choose from: {choices}."
)
SEARCH_DESCRIPTION = (
    f"Words to find, separated by spaces or commas (a quoted phrase is one word); each must "
    f"match. At most {MAX_SEARCH_WORDS} words and {MAX_SEARCH_LENGTH} characters."
)
# An unknown field is echoed back in the message; a long one is cut so the answer stays small.
ECHOED_FIELD_LENGTH = 60
VALUE_MISSING = "Give a value, or leave the parameter out."
NOT_A_BOOLEAN = "{value!r} is neither true nor false; give true or false."


class PortalFilterBackend(filters.DjangoFilterBackend):
    """django-filter's backend, except that a parameter given empty (``?to=``, ``?status=``)
    answers 400 where the filter takes a date, an id or a choice: django-filter would drop it and
    answer the whole list, which reads as an answer to the question asked. A text filter
    (``?email=``) takes any string, the empty one included."""

    def get_filterset(self, request: Request, queryset: QuerySet, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is None:
            return None
        empty = {
            name: [VALUE_MISSING]
            for name, filter_ in filterset.filters.items()
            if not isinstance(filter_, filters.CharFilter)
            and name in request.query_params
            and not any(value.strip() for value in request.query_params.getlist(name))
        }
        if empty:
            raise ValidationError(empty)
        return filterset


class StrictOrderingFilter(OrderingFilter):
    """``?ordering=name,-created_at`` on every list, from the view's ``ordering_fields``.

    DRF's own filter drops a field it does not know and orders by the rest; here an unknown
    field answers 400 ``{"ordering": [...]}``, so a typo is not mistaken for the order asked for.
    ``ordering_fields`` is a list of names, each also the ORM path, or a mapping from the name
    the API shows to the ORM path (``{"username": "user__username"}``). Without ``ordering`` the
    selector's order stands; detail routes ignore it."""

    def ordering_paths(self, view) -> dict[str, str]:
        fields = getattr(view, "ordering_fields", None)
        if not fields:
            raise ImproperlyConfigured(ORDERING_FIELDS_MISSING.format(view=type(view).__name__))
        if isinstance(fields, Mapping):
            return dict(fields)
        return {name: name for name in fields}

    def get_valid_fields(self, queryset: QuerySet, view, context=None) -> list[tuple[str, str]]:
        return [(name, name) for name in self.ordering_paths(view)]

    def get_ordering(self, request: Request, queryset: QuerySet, view) -> list[str] | None:
        if getattr(view, "detail", False):
            # One object has no order; a detail route of a viewset that does not list may
            # have no ordering_fields to check against.
            return None
        param = request.query_params.get(self.ordering_param, "").strip()
        if not param:
            # An empty list of fields: the selector's order stands.
            return self.get_default_ordering(view)
        paths = self.ordering_paths(view)
        terms = [term.strip() for term in param.split(",")]
        if "" in terms:
            # The schema promises a list of field names; an empty one among them is a
            # client's mistake (a trailing comma, ",,,").
            message = ORDERING_BLANK.format(choices=", ".join(paths))
            raise ValidationError({self.ordering_param: [message]})
        ordering = []
        for term in terms:
            descending = term.startswith("-")
            path = paths.get(term[1:] if descending else term)
            if path is None:
                message = UNKNOWN_ORDERING.format(
                    field=term[:ECHOED_FIELD_LENGTH], choices=", ".join(paths)
                )
                raise ValidationError({self.ordering_param: [message]})
            ordering.append(f"-{path}" if descending else path)
        # Page-number pagination needs a total order, or rows that tie on the asked fields
        # could appear on two pages or on none.
        return [*ordering, "pk"]

    def get_schema_operation_parameters(self, view) -> list[dict]:
        names = list(self.ordering_paths(view))
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": ORDERING_DESCRIPTION.format(
                    choices=", ".join(f"`{name}`" for name in names)
                ),
                "schema": {
                    "type": "array",
                    "items": {
                        "type": "string",
                        "enum": [*names, *(f"-{name}" for name in names)],
                    },
                },
                "style": "form",
                "explode": False,
            }
        ]


class CappedSearchFilter(SearchFilter):
    """``?search=`` on every list, whose words each must match one of the view's
    ``search_fields``. At most ``MAX_SEARCH_WORDS`` words and ``MAX_SEARCH_LENGTH`` characters:
    a longer search answers 400 ``{"search": [...]}`` rather than being cut, so that nobody reads
    results for a search they did not make. Every word adds a condition per field, and SQLite
    refuses a statement past 1,000 of them ("Expression tree is too large")."""

    def get_search_terms(self, request: Request) -> list[str]:
        raw = request.query_params.get(self.search_param, "")
        if len(raw) > MAX_SEARCH_LENGTH:
            raise ValidationError({self.search_param: [SEARCH_TOO_LONG]})
        try:
            terms = super().get_search_terms(request)
        except ValidationError as error:
            # DRF's own check (a NUL character) answers a bare list; name the parameter.
            raise ValidationError({self.search_param: error.detail}) from error
        if len(terms) > MAX_SEARCH_WORDS:
            raise ValidationError({self.search_param: [SEARCH_TOO_LONG]})
        return terms

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["description"] = SEARCH_DESCRIPTION
            parameter["schema"] = {**parameter.get("schema", {}), "maxLength": MAX_SEARCH_LENGTH}
        return parameters


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(filters.NumberFilter):
    """An id (``validation.parse_id``): ``1.5``, ``abc``, ``²`` or one beyond 64 bits answer 400
    instead of matching nothing, or failing on SQLite, which cannot compare with such a number."""

    field_class = IdFormField


class _StrictBooleanWidget(BooleanWidget):
    """django-filter's widget reads ``true``/``false``/``1``/``0``; any other value it turns into
    None, which filters nothing. This one hands that value on for the field to refuse."""

    def value_from_datadict(self, data, files, name):
        value = super().value_from_datadict(data, files, name)
        raw = data.get(name)
        return raw if value is None and raw not in (None, "") else value


class _StrictBooleanField(forms.NullBooleanField):
    def to_python(self, value):
        if isinstance(value, str):
            raise forms.ValidationError(NOT_A_BOOLEAN.format(value=value[:ECHOED_FIELD_LENGTH]))
        return super().to_python(value)


class StrictBooleanFilter(filters.BooleanFilter):
    """A yes/no filter whose other values (``?shared=0.5``, ``?enabled=yes``) answer 400 instead
    of being dropped, which answered the whole list as if the question had been asked."""

    field_class = _StrictBooleanField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", _StrictBooleanWidget)
        super().__init__(*args, **kwargs)


class MembershipFilter(filters.FilterSet):
    team = IdFilter(field_name="team", help_text="Team id.")
    user = IdFilter(field_name="user", help_text="User id.")
    role = filters.MultipleChoiceFilter(choices=Role.choices, help_text="Repeat for several.")

    class Meta:
        model = Membership
        fields = ["team", "user", "role"]


class CustomerFilter(filters.FilterSet):
    tier = filters.MultipleChoiceFilter(choices=Tier.choices, help_text="Repeat for several.")
    account = IdFilter(field_name="account", help_text="Account id.")
    email = filters.CharFilter(field_name="email", lookup_expr="iexact", max_length=254)

    class Meta:
        model = Customer
        fields = ["tier", "account", "email"]


class AccountFilter(filters.FilterSet):
    segment = filters.MultipleChoiceFilter(choices=Segment.choices, help_text="Repeat for several.")
    plan = filters.CharFilter(field_name="plan", lookup_expr="iexact", max_length=60)

    class Meta:
        model = Account
        fields = ["segment", "plan"]


class DateRangeForm(forms.Form):
    """``from`` after ``to`` is refused, with the message the North Star page gives."""

    def clean(self) -> dict:
        cleaned = super().clean()
        start, end = cleaned.get("from"), cleaned.get("to")
        if start and end and start > end:
            self.add_error("to", DATE_RANGE_REVERSED)
        return cleaned


class NorthStarMeasurementFilter(filters.FilterSet):
    """``from`` and ``to`` are inclusive dates (YYYY-MM-DD). ``from`` is a Python keyword, so
    both are added to the filters after the class body."""

    class Meta:
        model = NorthStarMeasurement
        fields: list[str] = []
        form = DateRangeForm


NorthStarMeasurementFilter.base_filters["from"] = filters.DateFilter(
    field_name="measured_on", lookup_expr="gte", help_text="First day, inclusive (YYYY-MM-DD)."
)
NorthStarMeasurementFilter.base_filters["to"] = filters.DateFilter(
    field_name="measured_on", lookup_expr="lte", help_text="Last day, inclusive (YYYY-MM-DD)."
)
