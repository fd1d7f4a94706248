"""Writes of the feedback app: channels, ingestion (store raw, then parse), polling and
channel health, quarantine, pushed items and tags.

Each function is keyword-only, checks who may act, owns its transaction and raises
``ValidationError`` with a message a person can act on. The pipeline's writes run as
``portal.actors.SYSTEM``. Callers use this package's names; the modules behind it are split by
subject.
"""

from feedback.services.bulk import ItemRow, content_hash, items_import_rows
from feedback.services.channels import (
    CHANNEL_NAME_REQUIRED,
    CHANNEL_NAME_TAKEN,
    CHANNEL_NAME_TOO_LONG,
    CONFIG_NOT_OBJECT,
    DEFAULT_POLL_INTERVAL,
    ENABLED_INVALID,
    MAX_POLL_INTERVAL,
    MIN_POLL_INTERVAL,
    POLL_INTERVAL_INVALID,
    channel_create,
    channel_update,
)
from feedback.services.checks import channel_check
from feedback.services.customers import (
    FREE_MAIL_DOMAINS,
    customer_for_sender,
    customer_items_move,
    is_free_mail,
)
from feedback.services.erasure import customer_feedback_erase
from feedback.services.ingest import StoreReport, payload_receive, payloads_store
from feedback.services.items import (
    ADDRESS_TOO_LONG,
    CHANNEL_OF_OTHER_TEAM,
    EXTERNAL_ID_TOO_LONG,
    MAX_TAGS,
    MAX_TEXT_LENGTH,
    RECEIVED_IN_FUTURE,
    RECEIVED_TOO_EARLY,
    SUBJECT_TOO_LONG,
    TAG_EMPTY,
    TAG_TOO_LONG,
    TEXT_REQUIRED,
    TEXT_TOO_LONG,
    TOO_MANY_TAGS,
    item_ingest,
    tags_ensure,
)
from feedback.services.parsing import (
    PARSER_FAILED,
    PAYLOAD_FILE_MISSING,
    STORE_FAILED,
    ParseOutcome,
    payload_parse,
    payloads_parse,
)
from feedback.services.polling import (
    LEASE_LOST,
    LEASE_SECONDS,
    POLL_INTERNAL_ERROR,
    UNHEALTHY_AFTER,
    UNHEALTHY_KIND,
    UNHEALTHY_SUBJECT,
    PollReport,
    backoff_seconds,
    channel_claim,
    channel_poll,
    channel_poll_now,
    channel_release,
    channels_dispatch,
    new_lease_owner,
    payloads_stale,
)
from feedback.services.quarantine import QUARANTINE_CLOSED, quarantine_discard, quarantine_retry
from feedback.services.search_document import item_search_document_refresh
from feedback.services.sentiment import (
    items_sentiment_update,
    messages_sentiment_score,
    sentiment_queue,
)
from feedback.services.tags import tag_create, tag_merge, tag_rename, tag_set_colour
from feedback.services.triage import (
    PRIORITY_AUTOMATIC,
    UNSET,
    BulkResult,
    item_update,
    items_bulk_merge,
    items_bulk_update,
)

__all__ = [
    "ADDRESS_TOO_LONG",
    "CHANNEL_NAME_REQUIRED",
    "CHANNEL_NAME_TAKEN",
    "CHANNEL_NAME_TOO_LONG",
    "CHANNEL_OF_OTHER_TEAM",
    "CONFIG_NOT_OBJECT",
    "DEFAULT_POLL_INTERVAL",
    "ENABLED_INVALID",
    "EXTERNAL_ID_TOO_LONG",
    "FREE_MAIL_DOMAINS",
    "LEASE_LOST",
    "LEASE_SECONDS",
    "MAX_POLL_INTERVAL",
    "MAX_TAGS",
    "MAX_TEXT_LENGTH",
    "MIN_POLL_INTERVAL",
    "PARSER_FAILED",
    "PAYLOAD_FILE_MISSING",
    "POLL_INTERNAL_ERROR",
    "POLL_INTERVAL_INVALID",
    "PRIORITY_AUTOMATIC",
    "QUARANTINE_CLOSED",
    "RECEIVED_IN_FUTURE",
    "RECEIVED_TOO_EARLY",
    "STORE_FAILED",
    "SUBJECT_TOO_LONG",
    "TAG_EMPTY",
    "TAG_TOO_LONG",
    "TEXT_REQUIRED",
    "TEXT_TOO_LONG",
    "TOO_MANY_TAGS",
    "UNHEALTHY_AFTER",
    "UNHEALTHY_KIND",
    "UNHEALTHY_SUBJECT",
    "UNSET",
    "BulkResult",
    "ItemRow",
    "ParseOutcome",
    "PollReport",
    "StoreReport",
    "backoff_seconds",
    "channel_check",
    "channel_claim",
    "channel_create",
    "channel_poll",
    "channel_poll_now",
    "channel_release",
    "channel_update",
    "channels_dispatch",
    "content_hash",
    "customer_feedback_erase",
    "customer_for_sender",
    "customer_items_move",
    "is_free_mail",
    "item_ingest",
    "item_search_document_refresh",
    "item_update",
    "items_bulk_merge",
    "items_bulk_update",
    "items_import_rows",
    "items_sentiment_update",
    "messages_sentiment_score",
    "new_lease_owner",
    "payload_parse",
    "payload_receive",
    "payloads_parse",
    "payloads_stale",
    "payloads_store",
    "quarantine_discard",
    "quarantine_retry",
    "sentiment_queue",
    "tag_create",
    "tag_merge",
    "tag_rename",
    "tag_set_colour",
    "tags_ensure",
]
