"""What the parser hands back: plain frozen values, no ORM, nothing that reads settings."""

from dataclasses import dataclass, field
from datetime import UTC, datetime


class UnparseableMessage(Exception):
    """Nothing usable could be read; the caller quarantines the raw bytes with ``reason``."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# The earliest time a message may carry: an older one (a Date header or a feed's published
# date of 0001-01-01) is a mistake, and cannot be shown in every time zone.
EARLIEST_SENT_AT = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str  # sanitised, never empty
    content_type: str
    content: bytes  # exactly the decoded bytes of the part
    size: int
    sha256: str  # hex digest of ``content``
    content_id: str  # without angle brackets, "" when none
    inline: bool


@dataclass(frozen=True)
class ParsedMessage:
    message_id: str  # without angle brackets, "" when missing
    in_reply_to: str
    references: list[str]
    subject: str
    from_name: str
    from_address: str  # lower-case, "" when none could be read
    reply_to: str  # lower-case, "" when none
    to: list[str]  # lower-case
    cc: list[str]  # lower-case
    # To, Cc, Delivered-To, X-Original-To as written (case kept: plus tokens may be signed).
    recipient_addresses: list[str]
    sent_at: datetime  # aware, UTC
    lane: str  # one of lanes.LANES
    lane_reason: str  # the header or rule that decided the lane, "" for customer mail
    text: str  # what the sender just wrote
    quoted_text: str  # the history they quoted
    signature: str
    html: str  # sanitised for display, "" when the mail has no HTML
    attachments: list[ParsedAttachment]
    identity_hash: str
    original_message_id: str  # for bounces, receipts and complaints: the mail they are about
    defects: list[str] = field(default_factory=list)
    # Channels without e-mail (forums, social media, ticket queues) name their sender by a
    # handle instead: ``sender_handle_kind`` is a ``portal.models.IdentityKind`` value and
    # ``sender_handle`` the handle qualified by its instance (``alice@mastodon.social``,
    # ``forum.example.com/alice``, ``acme.zendesk.com/12345``); ``from_address`` may be "".
    sender_handle_kind: str = ""
    sender_handle: str = ""
    # Where the original can be seen (a forum post, a toot, a review, a ticket); "" for mail.
    url: str = ""
    # True when a later payload with the same ``message_id`` revises this message (an edited
    # post, a changed feed entry) instead of being another one: ``identity_hash`` is then
    # derived from ``message_id`` alone, and the stored message's subject, text, html and
    # sentiment are replaced by the newer version's.
    revisable: bool = False
