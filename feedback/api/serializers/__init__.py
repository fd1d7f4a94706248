"""Serializers of the feedback API: channels, items, messages with their attachments,
quarantined payloads and tags. They shape data; the services check and write it, and where a
service has a message for a field the serializer passes the same message through. The modules
behind this package are split by subject; callers use the names below."""

from feedback.api.serializers.channels import (
    CONFIG_DESCRIPTION,
    CONFIG_HAS_NUL,
    CONFIG_TOO_LARGE,
    MAX_CONFIG_LENGTH,
    UNKNOWN_KIND,
    ChannelCheckSerializer,
    ChannelConfigField,
    ChannelSerializer,
    ChannelUpdateSerializer,
)
from feedback.api.serializers.items import (
    BULK_DESCRIPTION,
    DEFER_ROLE_CHECK,
    BulkItemResultSerializer,
    FeedbackItemCreateSerializer,
    FeedbackItemMergeSerializer,
    FeedbackItemSerializer,
)
from feedback.api.serializers.records import (
    FeedbackAttachmentSerializer,
    FeedbackMessageSerializer,
    FeedbackTagSerializer,
    QuarantinedPayloadSerializer,
)
from feedback.api.serializers.triage import (
    BulkTriageResultSerializer,
    FeedbackItemBulkSerializer,
    FeedbackItemUpdateSerializer,
    FeedbackTagMergeSerializer,
    FeedbackTagUpdateSerializer,
    FeedbackTagWriteSerializer,
)

__all__ = [
    "BULK_DESCRIPTION",
    "CONFIG_DESCRIPTION",
    "CONFIG_HAS_NUL",
    "CONFIG_TOO_LARGE",
    "DEFER_ROLE_CHECK",
    "MAX_CONFIG_LENGTH",
    "UNKNOWN_KIND",
    "BulkItemResultSerializer",
    "BulkTriageResultSerializer",
    "ChannelCheckSerializer",
    "ChannelConfigField",
    "ChannelSerializer",
    "ChannelUpdateSerializer",
    "FeedbackAttachmentSerializer",
    "FeedbackItemBulkSerializer",
    "FeedbackItemCreateSerializer",
    "FeedbackItemMergeSerializer",
    "FeedbackItemSerializer",
    "FeedbackItemUpdateSerializer",
    "FeedbackMessageSerializer",
    "FeedbackTagMergeSerializer",
    "FeedbackTagSerializer",
    "FeedbackTagUpdateSerializer",
    "FeedbackTagWriteSerializer",
    "QuarantinedPayloadSerializer",
]
