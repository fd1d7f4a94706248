"""Serializers of what ingestion stored: messages with their attachments, quarantined
payloads, and tags. All read-only."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from feedback.models import Attachment, Message, Quarantine, QuarantineStatus, Sentiment, Tag

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
    # Null rather than "" when there is none, as the schema says (an empty string is neither a
    # URL nor a sentiment); the items' sentiment reads the same.
    external_url = serializers.SerializerMethodField(
        help_text="Where the original can be seen (a post, a review); null for mail."
    )
    sentiment = serializers.SerializerMethodField(
        help_text="Of an inbound customer message, once scored; null otherwise."
    )

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
            "sender_handle",
            "external_url",
            "reply_to",
            "to",
            "cc",
            "subject",
            "text",
            "quoted_text",
            "signature",
            "html",
            "sentiment",
            "sentiment_score",
            "is_note",
            "author",
            "delivery",
            "delivery_error",
            "sent_at",
            "received_at",
            "thread_reason",
            "defects",
            "attachments",
            "created_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "external_id": {"help_text": "The Message-ID, without angle brackets."},
            "html": {"help_text": "Sanitised for display: no scripts, styles or remote images."},
            "to": {"help_text": "Addresses the mail was sent to."},
            "cc": {"help_text": "Addresses the mail was copied to."},
            "sender_handle": {
                "help_text": "The sender on a channel without e-mail, qualified by its site "
                "(alice@mastodon.social, forum.example.com/alice)."
            },
            "is_note": {"help_text": "An agent's internal note: never sent to the customer."},
            "author": {"help_text": "The person who wrote a reply or note; null for the customer."},
            "delivery": {"help_text": "How sending a reply went; empty for what was received."},
            "defects": {"help_text": "What the parser noticed was wrong with what arrived."},
        }

    @extend_schema_field(serializers.URLField(allow_null=True, read_only=True))
    def get_external_url(self, message: Message) -> str | None:
        return message.external_url or None

    @extend_schema_field(
        serializers.ChoiceField(choices=Sentiment.choices, allow_null=True, read_only=True)
    )
    def get_sentiment(self, message: Message) -> str | None:
        return message.sentiment or None


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
        fields = ["id", "team", "name", "colour"]
        read_only_fields = fields
