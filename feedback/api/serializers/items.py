"""Feedback item serializers: items as they are read, and pushed feedback (one or a bulk list)."""

from collections.abc import Iterable
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from feedback import selectors
from feedback.api.serializers.common import require_team_role
from feedback.models import FeedbackItem, Message, Sentiment, Tag
from feedback.services import (
    EXTERNAL_ID_TOO_LONG,
    MAX_TAGS,
    MAX_TEXT_LENGTH,
    SUBJECT_TOO_LONG,
    TAG_TOO_LONG,
    TEXT_TOO_LONG,
    TOO_MANY_TAGS,
)
from portal import selectors as portal_selectors
from portal.api.serializers import AsciiIntegerField, SelectorRelatedField, TextField
from portal.models import Role, Team

BULK_DESCRIPTION = (
    "One item as an object (201, or 200 with the stored item when its `external_id` is "
    "known), or several as a list (200 with one result per row, in order). A list with a "
    "malformed row (a wrong type, a missing field) is refused whole with 400, each row's "
    "errors under `rows`; what is refused for one well-formed row (an address that is none, "
    "a role too low in its team) is that row's result."
)
# Set in a serializer's context when the service checks the role per row (a bulk push), so
# that one row's team does not refuse the whole request.
DEFER_ROLE_CHECK = "defer_role_check"

_SUBJECT_MAX = FeedbackItem._meta.get_field("subject").max_length
_EXTERNAL_ID_MAX = FeedbackItem._meta.get_field("external_id").max_length
_TAG_MAX = Tag._meta.get_field("name").max_length
_EMAIL_MAX = 254
_NAME_MAX = Message._meta.get_field("sender_name").max_length


# The kind named for messages that came through no channel: pushed through the API.
API_KIND = "api"
# The attributes ``items_related_load`` sets on each item of a page.
_KINDS = "_channel_kinds"
_DUPLICATES = "_likely_duplicates"


def items_related_load(items: Iterable[FeedbackItem]) -> None:
    """Read the channel kinds and the likely duplicates of a page of items in two queries (not
    two per item), and set them on the items for ``FeedbackItemSerializer``."""
    items = list(items)
    ids = [item.pk for item in items]
    kinds = selectors.items_channel_kinds(item_ids=ids)
    duplicates = selectors.items_likely_duplicates(item_ids=ids)
    for item in items:
        found = kinds[item.pk] | ({API_KIND} if item.channel_id is None else set())
        setattr(item, _KINDS, sorted(found))
        setattr(
            item,
            _DUPLICATES,
            [{"item": other, "score": round(score, 2)} for other, score in duplicates[item.pk]],
        )


class FeedbackItemListSerializer(serializers.ListSerializer):
    def to_representation(self, data: Any) -> list[dict[str, Any]]:
        items = list(data.all() if hasattr(data, "all") else data)
        items_related_load(items)
        return super().to_representation(items)


class LikelyDuplicateSerializer(serializers.Serializer):
    item = AsciiIntegerField(help_text="The other item's id.")
    score = serializers.FloatField(help_text="Text similarity from 0 to 1.")


class FeedbackItemSerializer(serializers.ModelSerializer):
    customer_email = serializers.CharField(source="customer.email", read_only=True, allow_null=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True, allow_null=True)
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    channel_kind = serializers.CharField(
        source="channel.kind",
        read_only=True,
        allow_null=True,
        help_text="The kind of channel of the item's first message; null when it came through "
        "no channel (pushed through the API or imported).",
    )
    channels = serializers.SerializerMethodField(
        help_text=f"Every kind of channel the item's messages came through, sorted; "
        f"`{API_KIND}` when its first message came through no channel (pushed through the API "
        f"or imported)."
    )
    sentiment = serializers.SerializerMethodField(
        help_text="The sentiment of the item's latest inbound customer message; null until "
        "one has been scored."
    )
    likely_duplicates = serializers.SerializerMethodField(
        help_text="Items of the same customer saying nearly the same through another channel "
        "(pairs not dismissed), most similar first."
    )

    class Meta:
        model = FeedbackItem
        list_serializer_class = FeedbackItemListSerializer
        fields = [
            "id",
            "team",
            "subject",
            "status",
            "customer",
            "customer_email",
            "customer_name",
            "channel",
            "channel_kind",
            "channels",
            "sentiment",
            "sentiment_score",
            "likely_duplicates",
            "external_id",
            "tags",
            # Triage (PATCH changes them: ``feedback.api.serializers.triage``).
            "assignee",
            "priority",
            "priority_reason",
            "priority_manual",
            "snoozed_until",
            "resolved_at",
            "first_message_at",
            "last_message_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def _loaded(self, item: FeedbackItem, name: str) -> Any:
        # One item on its own (a detail, a push's answer) is loaded here.
        if not hasattr(item, name):
            items_related_load([item])
        return getattr(item, name)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_channels(self, item: FeedbackItem) -> list[str]:
        return self._loaded(item, _KINDS)

    @extend_schema_field(
        serializers.ChoiceField(choices=Sentiment.choices, allow_null=True, read_only=True)
    )
    def get_sentiment(self, item: FeedbackItem) -> str | None:
        return item.sentiment or None

    @extend_schema_field(LikelyDuplicateSerializer(many=True))
    def get_likely_duplicates(self, item: FeedbackItem) -> list[dict[str, Any]]:
        return self._loaded(item, _DUPLICATES)


class FeedbackItemCreateSerializer(serializers.Serializer):
    """Pushed feedback: it becomes an item with its first message (``services.item_ingest``)."""

    team = SelectorRelatedField(selector=portal_selectors.team_list, queryset=Team.objects.all())
    subject = TextField(
        max_length=_SUBJECT_MAX,
        required=False,
        allow_blank=True,
        error_messages={"max_length": SUBJECT_TOO_LONG.format(limit=_SUBJECT_MAX)},
    )
    text = TextField(
        max_length=MAX_TEXT_LENGTH,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        error_messages={"max_length": TEXT_TOO_LONG},
    )
    customer_email = TextField(max_length=_EMAIL_MAX)
    customer_name = TextField(max_length=_NAME_MAX, required=False, allow_blank=True)
    external_id = TextField(
        max_length=_EXTERNAL_ID_MAX,
        required=False,
        allow_blank=True,
        help_text="Your id for this feedback: sending it again answers 200 with the stored item.",
        error_messages={"max_length": EXTERNAL_ID_TOO_LONG.format(limit=_EXTERNAL_ID_MAX)},
    )
    received_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When the customer sent it; now unless given."
    )
    tags = serializers.ListField(
        child=TextField(
            max_length=_TAG_MAX, error_messages={"max_length": TAG_TOO_LONG.format(limit=_TAG_MAX)}
        ),
        max_length=MAX_TAGS,
        required=False,
        help_text="Tag names of the team, each created on first use.",
        error_messages={"max_length": TOO_MANY_TAGS},
    )

    def validate_team(self, team: Team) -> Team:
        if self.context.get(DEFER_ROLE_CHECK):
            return team
        return require_team_role(self, team, Role.AGENT)


class BulkItemResultSerializer(serializers.Serializer):
    status = serializers.IntegerField(
        help_text="201 stored, 200 already stored under its external_id, 400 refused (see "
        "errors), 403 the role is too low in that team."
    )
    item = FeedbackItemSerializer(allow_null=True)
    errors = serializers.DictField(allow_null=True, child=serializers.JSONField())


class FeedbackItemMergeSerializer(serializers.Serializer):
    # Through the user's items only: another team's is answered as no such item.
    into = SelectorRelatedField(
        selector=selectors.item_list,
        queryset=FeedbackItem.objects.all(),
        help_text="The item to merge this one into (of the same team); it keeps its id.",
        error_messages={"does_not_exist": selectors.NO_SUCH_ITEM},
    )
