"""The e-mail parser: pure functions from raw bytes to plain values (no ORM, no settings)."""

from feedback.mail.html import sanitize_html
from feedback.mail.lanes import (
    LANE_AUTO_REPLY,
    LANE_BOUNCE,
    LANE_BULK,
    LANE_COMPLAINT,
    LANE_CUSTOMER,
    LANE_READ_RECEIPT,
    LANES,
)
from feedback.mail.parse import parse_message, plus_tokens
from feedback.mail.results import ParsedAttachment, ParsedMessage, UnparseableMessage

__all__ = [
    "LANES",
    "LANE_AUTO_REPLY",
    "LANE_BOUNCE",
    "LANE_BULK",
    "LANE_COMPLAINT",
    "LANE_CUSTOMER",
    "LANE_READ_RECEIPT",
    "ParsedAttachment",
    "ParsedMessage",
    "UnparseableMessage",
    "parse_message",
    "plus_tokens",
    "sanitize_html",
]
