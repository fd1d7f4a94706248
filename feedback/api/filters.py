"""Query-string filters of the feedback API. They narrow what the selectors already scoped to
the user's teams: ``team=<id of another team>`` finds nothing rather than that team's rows.
Repeated parameters select several values (``lane=bounce&lane=auto_reply``)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django_filters import rest_framework as filters
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request

from feedback.channels import CONNECTORS
from feedback.inbox.ordering import DEFAULT_ORDERING, ORDERINGS
from feedback.inbox.params import API_KIND, SNOOZED_CHOICES, inbox_query_from_params
from feedback.inbox.query import inbox_filter, inbox_order
from feedback.models import (
    MAX_MESSAGE_ID_LENGTH,
    Channel,
    Direction,
    ItemPriority,
    ItemStatus,
    Lane,
    Message,
    Quarantine,
    QuarantineStatus,
    Sentiment,
    Tag,
)
from portal.api.filters import IdFilter, StrictBooleanFilter
from portal.models import Tier
from portal.validation import MAX_SEARCH_LENGTH

SEVERAL = "Repeat for several."


class ChannelFilter(filters.FilterSet):
    team = IdFilter(field_name="team", help_text="Team id.")
    kind = filters.MultipleChoiceFilter(
        choices=[(kind, kind) for kind in sorted(CONNECTORS)], help_text=SEVERAL
    )
    enabled = StrictBooleanFilter()
    healthy = StrictBooleanFilter()

    class Meta:
        model = Channel
        fields = ["team", "kind", "enabled", "healthy"]


class InboxFilterBackend(BaseFilterBackend):
    """The items list's filters, search and order: the inbox's own query
    (``feedback.inbox.params``), so that the API lists what the inbox page shows for the same
    parameters. A refused value answers 400 naming it under its parameter; a list across the
    user's teams unless ``team`` narrows it. Detail routes are not filtered."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view) -> QuerySet:
        if getattr(view, "detail", False) or getattr(view, "action", "list") != "list":
            return queryset
        try:
            query = inbox_query_from_params(request.query_params, user=request.user, team=None)
        except DjangoValidationError as error:
            raise ValidationError(error.message_dict) from None
        items = inbox_filter(queryset, query, user=request.user).select_related("assignee")
        return inbox_order(items, query.ordering)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            _parameter(name, description, **schema)
            for name, description, schema in INBOX_PARAMETERS
        ]


def _parameter(
    name: str,
    description: str,
    *,
    many: bool = False,
    max_items: int | None = None,
    style: str | None = None,
    explode: bool = True,
    **schema,
) -> dict:
    parameter = {"name": name, "required": False, "in": "query", "description": description}
    if many:
        array = {"type": "array", "items": schema}
        if max_items is not None:
            array["maxItems"] = max_items
        parameter.update({"schema": array, "explode": explode})
        if style is not None:
            parameter["style"] = style
    else:
        parameter["schema"] = schema
    return parameter


def _choices(values) -> dict:
    return {"type": "string", "enum": list(values)}


INBOX_PARAMETERS = [
    ("team", "Team id.", {"type": "integer"}),
    ("status", SEVERAL, {"many": True, **_choices(ItemStatus.values)}),
    (
        "assignee",
        f"`me`, `none` (unassigned) or a member's id. {SEVERAL}",
        {"many": True, "type": "string"},
    ),
    ("mine", "`1`: the items assigned to me (as `assignee=me`).", {"type": "boolean"}),
    ("unassigned", "`1`: items nobody is assigned to (as `assignee=none`).", {"type": "boolean"}),
    (
        "tag",
        f"A tag's id (or name): items with any of them. {SEVERAL}",
        {"many": True, "type": "string"},
    ),
    (
        "channel",
        f"A channel's id, or a kind of channel (`{API_KIND}`: none, pushed through the API or "
        f"imported), of the item's first message. {SEVERAL}",
        {"many": True, "type": "string"},
    ),
    (
        "channel_kind",
        f"The kind of channel of the item's first message (`{API_KIND}`: none). {SEVERAL}",
        {"many": True, **_choices(sorted([*CONNECTORS, API_KIND]))},
    ),
    ("priority", SEVERAL, {"many": True, **_choices(ItemPriority.values)}),
    (
        "sentiment",
        f"The sentiment of the item's latest inbound customer message. {SEVERAL}",
        {"many": True, **_choices(Sentiment.values)},
    ),
    ("tier", f"The customer's tier. {SEVERAL}", {"many": True, **_choices(Tier.values)}),
    ("customer", "Customer id.", {"type": "integer"}),
    ("account", "Account id (of the item's customer).", {"type": "integer"}),
    (
        "from",
        "The first message on or after this day (in the user's time zone).",
        {"type": "string", "format": "date"},
    ),
    (
        "to",
        "The first message on or before this day (in the user's time zone).",
        {"type": "string", "format": "date"},
    ),
    (
        "snoozed",
        "`hide` (default: items snoozed until later are left out), `include` or `only`.",
        _choices(SNOOZED_CHOICES),
    ),
    (
        "search",
        "Words to find in the subject and the conversation (word forms: `invoices` finds "
        '`invoice`; `"a phrase"`, `-word` leaves out); an e-mail address finds its '
        "customer's items. `q` is the same.",
        {"type": "string", "maxLength": MAX_SEARCH_LENGTH},
    ),
    (
        "ordering",
        f"One of {', '.join(f'`{name}`' for name in ORDERINGS)} (default `{DEFAULT_ORDERING}`: "
        "escalated first, then urgent, high, normal, each by latest activity); a leading `-` "
        "reverses.",
        {
            # The form of every list's ordering (portal.api.filters.StrictOrderingFilter), a
            # list of one field: the inbox orders by one at a time.
            "many": True,
            "max_items": 1,
            "style": "form",
            "explode": False,
            **_choices([*ORDERINGS, *(f"-{name}" for name in ORDERINGS)]),
        },
    ),
]


class FeedbackMessageFilter(filters.FilterSet):
    team = IdFilter(field_name="team", help_text="Team id.")
    item = IdFilter(field_name="item", help_text="Feedback item id.")
    channel = IdFilter(field_name="channel", help_text="Channel id.")
    lane = filters.MultipleChoiceFilter(choices=Lane.choices, help_text=SEVERAL)
    direction = filters.ChoiceFilter(choices=Direction.choices)
    external_id = filters.CharFilter(
        method="filter_external_id",
        max_length=MAX_MESSAGE_ID_LENGTH + 2,
        help_text="A Message-ID, with or without its angle brackets.",
    )

    class Meta:
        model = Message
        fields = ["team", "item", "channel", "lane", "direction", "external_id"]

    def filter_external_id(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(external_id=value.strip().strip("<>"))


class QuarantineFilter(filters.FilterSet):
    team = IdFilter(field_name="payload__channel__team", help_text="Team id.")
    channel = IdFilter(field_name="payload__channel", help_text="Channel id.")
    status = filters.MultipleChoiceFilter(
        choices=QuarantineStatus.choices, help_text=f"All unless given. {SEVERAL}"
    )

    class Meta:
        model = Quarantine
        fields = ["team", "channel", "status"]


class FeedbackTagFilter(filters.FilterSet):
    team = IdFilter(field_name="team", help_text="Team id.")

    class Meta:
        model = Tag
        fields = ["team"]
