"""Serializers of the feedback API: channels, items, messages with their attachments,
quarantined payloads and tags. They shape data; the services check and write it, and where a
service has a message for a field the serializer passes the same message through.

Secrets are write-only: a channel's ``config`` is shown without the connector's secret fields
(``secrets_set`` says which of them hold a value), and a change that leaves a secret out keeps it.
"""

from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers

from feedback import selectors as feedback_selectors
from feedback.channels import CONNECTORS, ConfigError, get_connector
from feedback.models import (
    Attachment,
    Channel,
    FeedbackItem,
    Message,
    Quarantine,
    QuarantineStatus,
    Tag,
)
from feedback.services import (
    CHANNEL_NAME_TOO_LONG,
    CONFIG_NOT_OBJECT,
    EXTERNAL_ID_TOO_LONG,
    MAX_POLL_INTERVAL,
    MAX_TAGS,
    MAX_TEXT_LENGTH,
    MIN_POLL_INTERVAL,
    POLL_INTERVAL_INVALID,
    SUBJECT_TOO_LONG,
    TAG_TOO_LONG,
    TEXT_TOO_LONG,
    TOO_MANY_TAGS,
)
from portal import access
from portal import selectors as portal_selectors
from portal.api.serializers import SelectorRelatedField, TextField
from portal.crypto import DecryptionError
from portal.models import Role, Team

UNKNOWN_KIND = "Choose a channel kind: {kinds}."
CONFIG_HAS_NUL = "The config may not contain NUL characters."
CONFIG_TOO_LARGE = "The config may be at most {limit} characters of JSON."
MAX_CONFIG_LENGTH = 20_000
CONFIG_DESCRIPTION = (
    "The connector's settings, as an object. IMAP (`imap`): `host`, `port`, `username`, "
    "`password`, `folder` (INBOX unless given), `security` (`tls`, `starttls` or `none`; `none` "
    "only for a loopback host), `move_to`, `address` (the mailbox's public address), "
    "`verify_certificate`, `ca_certificate`, `timeout`. Inbound e-mail webhook (`webhook`): "
    "`address`, `secret` (the signing secret). Secrets (`password`, `secret`) are write-only: "
    "never shown, and a change that leaves them out or empty keeps them. A change is merged "
    "into the stored settings; a key set to null or empty clears it."
)
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

_CHANNEL_NAME_MAX = Channel._meta.get_field("name").max_length
_SUBJECT_MAX = FeedbackItem._meta.get_field("subject").max_length
_EXTERNAL_ID_MAX = FeedbackItem._meta.get_field("external_id").max_length
_TAG_MAX = Tag._meta.get_field("name").max_length
_EMAIL_MAX = 254
_NAME_MAX = Message._meta.get_field("sender_name").max_length


def _require_team_role(serializer: serializers.Serializer, team: Team, minimum: Role) -> Team:
    """Refuse a team in which the user's role is too low with 403 before the rest of the input
    is looked at: a person whose role does not allow the change hears that first."""
    user = serializer.context["request"].user
    if not access.has_team_role(user, team, minimum):
        raise exceptions.PermissionDenied(
            access.NEEDS_ROLE.format(role=minimum.label.lower(), team=team)
        )
    return team


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(key) or _contains_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_contains_nul(item) for item in value)
    return False


# Channels ------------------------------------------------------------------------------------


@extend_schema_field(
    {"type": "object", "additionalProperties": {}, "description": CONFIG_DESCRIPTION}
)
class ChannelConfigField(serializers.Field):
    """Writes take an object; reads show the stored config without its secrets."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("source", "*")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise serializers.ValidationError(CONFIG_NOT_OBJECT)
        if _contains_nul(data):
            raise serializers.ValidationError(CONFIG_HAS_NUL)
        # Stored encrypted in one column: a config is a few settings, not a payload.
        if len(repr(data)) > MAX_CONFIG_LENGTH:
            raise serializers.ValidationError(CONFIG_TOO_LARGE.format(limit=MAX_CONFIG_LENGTH))
        return {"config": data}

    def to_representation(self, channel: Channel) -> dict[str, Any]:
        try:
            return feedback_selectors.channel_public_config(channel)
        except DecryptionError:
            # A key that changed cannot open the stored settings; the check says so.
            return {}


def _secrets_set(channel: Channel) -> list[str]:
    try:
        connector = get_connector(channel.kind)
        stored = channel.read_config()
    except (ConfigError, DecryptionError):
        return []
    return sorted(key for key in connector.secret_fields if stored.get(key))


class ChannelSerializer(serializers.ModelSerializer):
    team = SelectorRelatedField(selector=portal_selectors.team_list, queryset=Team.objects.all())
    kind = serializers.ChoiceField(
        choices=sorted(CONNECTORS),
        error_messages={"invalid_choice": UNKNOWN_KIND.format(kinds=", ".join(sorted(CONNECTORS)))},
    )
    name = TextField(
        max_length=_CHANNEL_NAME_MAX,
        error_messages={"max_length": CHANNEL_NAME_TOO_LONG.format(limit=_CHANNEL_NAME_MAX)},
    )
    config = ChannelConfigField()
    secrets_set = serializers.SerializerMethodField(
        help_text="The secret settings that hold a value (their values are never shown)."
    )
    poll_interval = serializers.IntegerField(
        min_value=MIN_POLL_INTERVAL,
        max_value=MAX_POLL_INTERVAL,
        required=False,
        help_text="Seconds between two polls of a healthy channel.",
        error_messages={
            "min_value": POLL_INTERVAL_INVALID,
            "max_value": POLL_INTERVAL_INVALID,
            "invalid": POLL_INTERVAL_INVALID,
            "max_string_length": POLL_INTERVAL_INVALID,
        },
    )
    enabled = serializers.BooleanField(required=False)

    class Meta:
        model = Channel
        fields = [
            "id",
            "team",
            "kind",
            "name",
            "config",
            "secrets_set",
            "address",
            "poll_interval",
            "enabled",
            "healthy",
            "last_polled_at",
            "last_success_at",
            "error_streak",
            "last_error",
            "last_error_at",
            "next_poll_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "address",
            "healthy",
            "last_polled_at",
            "last_success_at",
            "error_streak",
            "last_error",
            "last_error_at",
            "next_poll_at",
            "created_at",
            "updated_at",
        ]
        validators: list = []

    def validate_team(self, team: Team) -> Team:
        return _require_team_role(self, team, Role.ADMIN)

    @extend_schema_field({"type": "array", "items": {"type": "string"}})
    def get_secrets_set(self, channel: Channel) -> list[str]:
        return _secrets_set(channel)


class ChannelUpdateSerializer(ChannelSerializer):
    """A channel stays in its team and keeps its kind; a new one is made for another."""

    team = serializers.IntegerField(source="team_id", read_only=True)
    kind = serializers.CharField(read_only=True)


class ChannelCheckSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="Whether the connection works as configured.")
    message = serializers.CharField(help_text="What the check found, in words to act on.")


# Items ---------------------------------------------------------------------------------------


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
        return _require_team_role(self, team, Role.AGENT)


class BulkItemResultSerializer(serializers.Serializer):
    status = serializers.IntegerField(
        help_text="201 stored, 200 already stored under its external_id, 400 refused (see "
        "errors), 403 the role is too low in that team."
    )
    item = FeedbackItemSerializer(allow_null=True)
    errors = serializers.DictField(allow_null=True, child=serializers.JSONField())


# Messages and attachments --------------------------------------------------------------------


class FeedbackAttachmentSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField(
        help_text="Served to members of the team, always as a download."
    )

    class Meta:
        model = Attachment
        fields = [
            "id",
            "filename",
            "size",
            "content_type",
            "sha256",
            "inline",
            "content_id",
            "download_url",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_download_url(self, attachment: Attachment) -> str:
        path = reverse("feedback:attachment-download", args=[attachment.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class FeedbackMessageSerializer(serializers.ModelSerializer):
    attachments = FeedbackAttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "team",
            "item",
            "channel",
            "external_id",
            "direction",
            "lane",
            "lane_reason",
            "sender",
            "sender_name",
            "reply_to",
            "to",
            "cc",
            "subject",
            "text",
            "quoted_text",
            "signature",
            "html",
            "sent_at",
            "received_at",
            "thread_reason",
            "attachments",
            "created_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "external_id": {"help_text": "The Message-ID, without angle brackets."},
            "html": {"help_text": "Sanitised for display: no scripts, styles or remote images."},
            "to": {"help_text": "Addresses the mail was sent to."},
            "cc": {"help_text": "Addresses the mail was copied to."},
        }


# Quarantine ----------------------------------------------------------------------------------


class QuarantinedPayloadSerializer(serializers.ModelSerializer):
    team = serializers.IntegerField(source="payload.channel.team_id", read_only=True)
    channel = serializers.IntegerField(source="payload.channel_id", read_only=True)
    channel_name = serializers.CharField(source="payload.channel.name", read_only=True)
    payload = serializers.IntegerField(source="payload_id", read_only=True)
    source_id = serializers.CharField(source="payload.source_id", read_only=True)
    size = serializers.IntegerField(source="payload.size", read_only=True)
    sha256 = serializers.CharField(source="payload.sha256", read_only=True)
    received_at = serializers.DateTimeField(source="payload.received_at", read_only=True)
    message = serializers.IntegerField(
        source="payload.message_id",
        read_only=True,
        allow_null=True,
        help_text="The message a successful retry stored.",
    )
    status = serializers.ChoiceField(choices=QuarantineStatus.choices, read_only=True)
    raw_url = serializers.SerializerMethodField(help_text="The raw bytes, as a download.")

    class Meta:
        model = Quarantine
        fields = [
            "id",
            "team",
            "channel",
            "channel_name",
            "payload",
            "source_id",
            "size",
            "sha256",
            "received_at",
            "error",
            "status",
            "retry_count",
            "message",
            "created_at",
            "updated_at",
            "closed_at",
            "closed_by",
            "raw_url",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_raw_url(self, quarantine: Quarantine) -> str:
        path = reverse("api:feedback-quarantine-raw", args=[quarantine.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


# Tags ----------------------------------------------------------------------------------------


class FeedbackTagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "team", "name"]
        read_only_fields = fields
