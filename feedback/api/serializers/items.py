"""Feedback item serializers: items as they are read, and pushed feedback (one or a bulk list)."""

from rest_framework import serializers

from feedback.api.serializers.common import require_team_role
from feedback.models import FeedbackItem, Message, Tag
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
from portal.api.serializers import SelectorRelatedField, TextField
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


class FeedbackItemSerializer(serializers.ModelSerializer):
    customer_email = serializers.CharField(source="customer.email", read_only=True, allow_null=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True, allow_null=True)
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")

    class Meta:
        model = FeedbackItem
        fields = [
            "id",
            "team",
            "subject",
            "status",
            "customer",
            "customer_email",
            "customer_name",
            "channel",
            "external_id",
            "tags",
            "first_message_at",
            "last_message_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


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
