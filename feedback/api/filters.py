"""Query-string filters of the feedback API. They narrow what the selectors already scoped to
the user's teams: ``team=<id of another team>`` finds nothing rather than that team's rows.
Repeated parameters select several values (``lane=bounce&lane=auto_reply``)."""

from django.db.models import QuerySet
from django_filters import rest_framework as filters

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

    class Meta:
        model = FeedbackItem
        fields = ["team", "channel", "customer", "tag", "status"]


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
