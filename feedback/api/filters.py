"""Query-string filters of the feedback API. They narrow what the selectors already scoped to
the user's teams: ``team=<id of another team>`` finds nothing rather than that team's rows.
Repeated parameters select several values (``lane=bounce&lane=auto_reply``)."""

from django.db.models import Q, QuerySet
from django_filters import rest_framework as filters

from feedback.api.serializers.items import API_KIND
from feedback.channels import CONNECTORS
from feedback.models import (
    MAX_MESSAGE_ID_LENGTH,
    Channel,
    Direction,
    FeedbackItem,
    ItemStatus,
    Lane,
    Message,
    Quarantine,
    QuarantineStatus,
    Sentiment,
    Tag,
)
from portal.api.filters import IdFilter

SEVERAL = "Repeat for several."


class ChannelFilter(filters.FilterSet):
    team = IdFilter(field_name="team", help_text="Team id.")
    kind = filters.MultipleChoiceFilter(
        choices=[(kind, kind) for kind in sorted(CONNECTORS)], help_text=SEVERAL
    )
    enabled = filters.BooleanFilter()
    healthy = filters.BooleanFilter()

    class Meta:
        model = Channel
        fields = ["team", "kind", "enabled", "healthy"]


class FeedbackItemFilter(filters.FilterSet):
    team = IdFilter(field_name="team", help_text="Team id.")
    channel = IdFilter(field_name="channel", help_text="Channel id (of the item's first message).")
    customer = IdFilter(field_name="customer", help_text="Customer id.")
    tag = IdFilter(field_name="tags", help_text="Tag id.")
    status = filters.MultipleChoiceFilter(choices=ItemStatus.choices, help_text=SEVERAL)
    sentiment = filters.MultipleChoiceFilter(
        choices=Sentiment.choices,
        help_text=f"The sentiment of the item's latest inbound customer message. {SEVERAL}",
    )
    # ``channel`` already takes a channel's id; the kind is a filter of its own.
    channel_kind = filters.MultipleChoiceFilter(
        choices=[(kind, kind) for kind in sorted([*CONNECTORS, API_KIND])],
        method="filter_channel_kind",
        help_text=f"The kind of channel of the item's first message (`{API_KIND}`: none, "
        f"pushed through the API or imported). {SEVERAL}",
    )

    class Meta:
        model = FeedbackItem
        fields = ["team", "channel", "customer", "tag", "status", "sentiment", "channel_kind"]

    def filter_channel_kind(self, queryset: QuerySet, name: str, value: list[str]) -> QuerySet:
        if not value:
            return queryset
        kinds = Q(channel__kind__in=[kind for kind in value if kind != API_KIND])
        if API_KIND in value:
            kinds |= Q(channel__isnull=True)
        return queryset.filter(kinds)


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
