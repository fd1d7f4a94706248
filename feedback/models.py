"""Feedback data: channels and what they deliver (raw payloads, quarantine), feedback items,
their messages and attachments, and tags.

Raw payloads are the record of what a channel delivered, byte for byte; items and messages
are what parsing made of them. Files (raw mail, attachments) live in Django's storage,
content-addressed by SHA-256 (``raw/ab/cd/<sha256>``, ``attachments/ab/cd/<sha256>``), so the
same bytes are stored once however often they arrive, on any storage backend.

Machine mail that belongs to no conversation (a bounce of a mail nobody here sent, an
auto-reply to nothing we know) is stored as a message with ``item`` empty: it is kept and
countable per channel and lane, but it opens no item, so it never reaches the inbox. The same
holds for a copy of our own mail (sent from the channel's address) that threads nowhere.
"""

import json
from typing import Any

from django.conf import settings
from django.db import models

from feedback.inbox import ordering as inbox_ordering
from portal import crypto
from portal.fields import ExactDecimalField, NormalisedKeyField
from portal.models import Customer, Team

MAX_SUBJECT_LENGTH = 1000
MAX_MESSAGE_ID_LENGTH = 500
MAX_ADDRESS_LENGTH = 254
DEFAULT_TAG_COLOUR = "#6b7280"
# What the search document of an item holds at most (subject and customer-visible texts).
MAX_SEARCH_DOCUMENT = 20000


class Channel(models.Model):
    """Where feedback comes from: one mailbox, one webhook, ... of one team.

    ``config_encrypted`` holds the connector's cleaned config as a Fernet token
    (``portal.crypto``): credentials are never stored, shown or logged in clear.
    ``address`` is the channel's public e-mail address (copied from the config, it is no
    secret), to which replies go and whose plus-addressed form carries reply tokens.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(max_length=30)
    name = models.CharField(max_length=200)
    name_key = NormalisedKeyField(max_length=200, source="name")
    config_encrypted = models.TextField(blank=True)
    address = models.CharField(max_length=MAX_ADDRESS_LENGTH, blank=True)
    # For channels the public reaches without logging in (the web widget): the key in their
    # public URL, no secret (it is in every page that embeds the widget); empty otherwise.
    public_key = models.CharField(max_length=64, blank=True)
    # Seconds between two polls of a healthy channel.
    poll_interval = models.PositiveIntegerField(default=60)
    enabled = models.BooleanField(default=True)
    # The connector's position after the last stored batch (JSON, connector-defined).
    cursor = models.JSONField(null=True, blank=True)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    # Who polls the channel now, and until when: two workers never poll one channel at once.
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Health.
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    error_streak = models.PositiveIntegerField(default=0)
    healthy = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["team", "name"]
        indexes = [
            models.Index(fields=["enabled", "next_poll_at"], name="channel_due_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["team", "name_key"], name="channel_unique_name"),
            models.UniqueConstraint(
                fields=["public_key"],
                condition=~models.Q(public_key=""),
                name="channel_unique_public_key",
            ),
            models.CheckConstraint(
                condition=models.Q(poll_interval__gte=1), name="channel_poll_interval_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def read_config(self) -> dict[str, Any]:
        """The decrypted config, secrets included: for the connector, never for display."""
        if not self.config_encrypted:
            return {}
        return json.loads(crypto.decrypt(self.config_encrypted))


class PayloadStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PARSED = "parsed", "Parsed"
    QUARANTINED = "quarantined", "Quarantined"


class RawPayload(models.Model):
    """One item exactly as a channel delivered it. The same bytes under the same source id of
    one channel are one payload, so a retried or doubled poll stores nothing twice."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="payloads")
    source_id = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    file = models.FileField(max_length=255)
    # When the remote says the item arrived (IMAP INTERNALDATE), else when it was fetched.
    received_at = models.DateTimeField()
    metadata = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=12, choices=PayloadStatus.choices, default=PayloadStatus.PENDING
    )
    # The message the payload was parsed into (also for a payload that was a copy of a
    # message already stored); empty while pending or quarantined.
    message = models.ForeignKey(
        "Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="payloads"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    parsed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = "raw payload"
        indexes = [
            models.Index(fields=["status", "created_at"], name="payload_status_idx"),
            models.Index(fields=["channel", "status"], name="payload_channel_status_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "source_id", "sha256"], name="payload_unique_per_source"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=PayloadStatus.values), name="payload_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}:{self.source_id}"


class QuarantineStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    DISCARDED = "discarded", "Discarded"


class Quarantine(models.Model):
    """A payload that could not be parsed: its raw bytes stay with the payload, the error
    says why. ``resolved`` once a retry parsed it, ``discarded`` when an agent gave up on it."""

    payload = models.OneToOneField(RawPayload, on_delete=models.CASCADE, related_name="quarantine")
    error = models.TextField()
    retry_count = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=10, choices=QuarantineStatus.choices, default=QuarantineStatus.OPEN
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "quarantined payload"
        indexes = [models.Index(fields=["status", "created_at"], name="quarantine_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=QuarantineStatus.values),
                name="quarantine_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"quarantine {self.pk}: {self.error[:60]}"


class Tag(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="feedback_tags")
    name = models.CharField(max_length=60)
    name_key = NormalisedKeyField(max_length=60, source="name")
    # "#rrggbb"; the inbox draws the tag's badge in it.
    colour = models.CharField(max_length=7, default=DEFAULT_TAG_COLOUR)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name_key"], name="tag_unique_name"),
            models.CheckConstraint(
                condition=models.Q(colour__regex=r"^#[0-9a-f]{6}$"), name="tag_colour_hex"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Sentiment(models.TextChoices):
    """The label of a compound sentiment score in [-1, 1] (``feedback.sentiment``)."""

    POSITIVE = "positive", "Positive"
    NEUTRAL = "neutral", "Neutral"
    NEGATIVE = "negative", "Negative"


class ItemStatus(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    WAITING = "waiting", "Waiting"
    RESOLVED = "resolved", "Resolved"
    SPAM = "spam", "Spam"


# The statuses no work runs for (no SLA, no escalation); leaving one reopens the item.
CLOSED_STATUSES = (ItemStatus.RESOLVED, ItemStatus.SPAM)


class ItemPriority(models.TextChoices):
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class FeedbackItem(models.Model):
    """One conversation with one customer, possibly across channels."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="feedback_items")
    subject = models.CharField(max_length=MAX_SUBJECT_LENGTH, blank=True)
    # Empty when the sender could not be read as an address; PROTECT because what a customer
    # sent is not lost with their directory entry (erasure keeps the row).
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="feedback_items",
    )
    # The channel of the first message; empty for items pushed through the API.
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="items"
    )
    status = models.CharField(max_length=10, choices=ItemStatus.choices, default=ItemStatus.NEW)
    external_id = models.CharField(max_length=200, blank=True)
    first_message_at = models.DateTimeField()
    last_message_at = models.DateTimeField()
    tags = models.ManyToManyField(Tag, blank=True, related_name="items")
    # The latest inbound customer message's sentiment ("" until one has been scored).
    sentiment = models.CharField(max_length=10, choices=Sentiment.choices, blank=True)
    sentiment_score = models.FloatField(null=True, blank=True)
    # Triage (feedback.services.triage): who works on it and how urgent it is, and why.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_feedback_items",
    )
    priority = models.CharField(
        max_length=10, choices=ItemPriority.choices, default=ItemPriority.NORMAL
    )
    priority_reason = models.CharField(max_length=200, blank=True)
    # A person set the priority: the automatic rules (tier, plan, MRR, SLA) leave it alone.
    priority_manual = models.BooleanField(default=False)
    # Out of the default list until then; not a status (the status is kept).
    snoozed_until = models.DateTimeField(null=True, blank=True)
    # Service levels (feedback.services.sla), in calendar hours from the policy.
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    first_response_breached_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(null=True, blank=True)
    # Set when a breach escalated the item: escalated items lead the default view.
    escalated_at = models.DateTimeField(null=True, blank=True)
    # Subject and customer-visible message texts, capped at MAX_SEARCH_DOCUMENT: what
    # full-text search reads (indexed on PostgreSQL).
    search_document = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_message_at", "-pk"]
        verbose_name = "feedback item"
        indexes = [
            models.Index(fields=["team", "customer", "first_message_at"], name="item_customer_idx"),
            models.Index(fields=["team", "-last_message_at", "-id"], name="item_team_recent_idx"),
            models.Index(
                fields=["team", "status", "-last_message_at"], name="item_team_status_idx"
            ),
            # The inbox's orders (feedback.inbox.ordering), each a range of one of these; the
            # full-text GIN index is PostgreSQL's only (migration 0006).
            models.Index(
                models.F("team"),
                inbox_ordering.escalated_expression(),
                inbox_ordering.priority_rank_expression(),
                models.F("last_message_at"),
                models.F("id"),
                name="item_inbox_priority_idx",
            ),
            models.Index(
                models.F("team"),
                inbox_ordering.sla_due_expression(),
                models.F("id"),
                name="item_inbox_sla_due_idx",
            ),
            models.Index(fields=["team", "created_at", "id"], name="item_team_created_idx"),
            models.Index(fields=["team", "first_message_at", "id"], name="item_team_first_idx"),
            # The SLA breach task's minute-by-minute look-ups (feedback.services.sla): only the
            # items still waiting on a due time are in them, so they stay small.
            models.Index(
                fields=["first_response_due_at"],
                condition=models.Q(
                    first_response_breached_at__isnull=True, first_responded_at__isnull=True
                ),
                name="item_first_response_due_idx",
            ),
            models.Index(
                fields=["resolution_due_at"],
                condition=models.Q(resolution_breached_at__isnull=True),
                name="item_resolution_due_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "external_id"],
                condition=~models.Q(external_id=""),
                name="item_unique_external_id",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=ItemStatus.values), name="item_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(priority__in=ItemPriority.values), name="item_priority_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(first_message_at__lte=models.F("last_message_at")),
                name="item_first_before_last",
            ),
        ]

    def __str__(self) -> str:
        return self.subject or f"Feedback {self.pk}"


class Direction(models.TextChoices):
    IN = "in", "Received"
    OUT = "out", "Sent"


class Lane(models.TextChoices):
    """What kind of mail a message is (``feedback.mail.lanes``); only the customer lane opens
    or reopens items."""

    CUSTOMER = "customer", "Customer"
    AUTO_REPLY = "auto_reply", "Auto-reply"
    BOUNCE = "bounce", "Bounce"
    READ_RECEIPT = "read_receipt", "Read receipt"
    COMPLAINT = "complaint", "Spam complaint"
    BULK = "bulk", "List or bulk mail"


class ThreadReason(models.TextChoices):
    """Why a message belongs to its item (or to none)."""

    IN_REPLY_TO = "in-reply-to", "In-Reply-To names a message of the item"
    REFERENCES = "references", "References name a message of the item"
    REPLY_TOKEN = "reply-token", "Sent to the item's signed reply address"
    ORIGINAL_MESSAGE = "original-message", "Reports on a message of the item"
    NEW = "new", "Opened a new item"
    UNATTACHED = "unattached", "Machine mail about no known message"


class DeliveryStatus(models.TextChoices):
    """Where an outbound reply is on its way to the customer; "" for everything else."""

    NONE = "", "Not sent by the portal"
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Message(models.Model):
    """One mail (or pushed text) of a conversation.

    Identity: the Message-ID (``external_id``, without angle brackets) plus ``identity_hash``
    (the content without transport headers), unique within the team. ``team`` is copied from
    the channel so that the database enforces it, and so that machine mail without an item
    still belongs to a team.
    """

    # No index of its own: the unique identity and (team, received_at) lead with it, and a
    # single-column one only tempted the planner away from the identity index.
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="feedback_messages", db_index=False
    )
    item = models.ForeignKey(
        FeedbackItem, null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    direction = models.CharField(max_length=3, choices=Direction.choices, default=Direction.IN)
    lane = models.CharField(max_length=12, choices=Lane.choices, default=Lane.CUSTOMER)
    lane_reason = models.CharField(max_length=200, blank=True)
    external_id = models.CharField(max_length=MAX_MESSAGE_ID_LENGTH, blank=True)
    identity_hash = models.CharField(max_length=64)
    in_reply_to = models.CharField(max_length=MAX_MESSAGE_ID_LENGTH, blank=True)
    references = models.JSONField(default=list, blank=True)
    # For bounces, read receipts and complaints: the Message-ID of the mail they are about.
    original_message_id = models.CharField(max_length=MAX_MESSAGE_ID_LENGTH, blank=True)
    sender_name = models.CharField(max_length=200, blank=True)
    sender = models.CharField(max_length=MAX_ADDRESS_LENGTH, blank=True)
    # The sender's handle on a channel without e-mail (``portal.CustomerIdentity.handle``).
    sender_handle = models.CharField(max_length=300, blank=True)
    # Where the original can be seen: a forum post, a toot, a review, a ticket.
    external_url = models.URLField(max_length=2000, blank=True)
    # Where answers go: Reply-To when the mail has one, else the sender.
    reply_to = models.CharField(max_length=MAX_ADDRESS_LENGTH, blank=True)
    to = models.JSONField(default=list, blank=True)
    cc = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=MAX_SUBJECT_LENGTH, blank=True)
    text = models.TextField(blank=True)
    quoted_text = models.TextField(blank=True)
    signature = models.TextField(blank=True)
    # Sanitised for display (feedback.mail.sanitize_html); never the mail's own HTML.
    html = models.TextField(blank=True)
    # Notes of what parsing had to repair or drop (an undecodable charset, a capped part).
    defects = models.JSONField(default=list, blank=True)
    # Scored for inbound customer messages (``feedback.sentiment``); empty for the others.
    sentiment = models.CharField(max_length=10, choices=Sentiment.choices, blank=True)
    sentiment_score = models.FloatField(null=True, blank=True)
    # An agent's internal note: never sent, shown apart from the conversation.
    is_note = models.BooleanField(default=False)
    # The agent who wrote an outbound reply or a note.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feedback_messages",
    )
    delivery = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, blank=True, default=DeliveryStatus.NONE
    )
    delivery_error = models.TextField(blank=True)
    delivery_attempts = models.PositiveIntegerField(default=0)
    # When the last attempt began handing the mail over: a reply still ``sending`` long after
    # it (the worker died mid-send) may be retried by an agent (feedback.services.replies).
    delivery_started_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField()
    received_at = models.DateTimeField()
    thread_reason = models.CharField(max_length=20, choices=ThreadReason.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sent_at", "pk"]
        indexes = [
            models.Index(fields=["item", "sent_at"], name="message_item_sent_idx"),
            models.Index(fields=["channel", "lane"], name="message_channel_lane_idx"),
            models.Index(fields=["team", "received_at"], name="message_team_received_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "external_id", "identity_hash"], name="message_unique_identity"
            ),
            models.CheckConstraint(
                condition=models.Q(direction__in=Direction.values), name="message_direction_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(lane__in=Lane.values), name="message_lane_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(thread_reason__in=ThreadReason.values),
                name="message_thread_reason_valid",
            ),
            # A customer's mail always belongs to an item; only machine mail and copies of
            # our own outbound mail may stand alone.
            models.CheckConstraint(
                condition=models.Q(item__isnull=False)
                | ~models.Q(lane=Lane.CUSTOMER)
                | models.Q(direction=Direction.OUT),
                name="message_customer_mail_has_item",
            ),
        ]

    def __str__(self) -> str:
        return self.subject or self.external_id or f"Message {self.pk}"


class Attachment(models.Model):
    """A file of a message, stored byte for byte; downloads are served as attachments only."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.FileField(max_length=255)
    content_id = models.CharField(max_length=255, blank=True)
    inline = models.BooleanField(default=False)

    class Meta:
        ordering = ["message", "pk"]
        indexes = [models.Index(fields=["sha256"], name="attachment_sha256_idx")]

    def __str__(self) -> str:
        return self.filename


class MergedItem(models.Model):
    """Where an item that was merged into another went (the merged item's row is gone): links
    to its page, in notifications, mails and bookmarks, lead to the item that holds its
    messages. A chain of merges points at the last item; deleting that item removes these."""

    merged_id = models.BigIntegerField(primary_key=True)
    into = models.ForeignKey(FeedbackItem, on_delete=models.CASCADE, related_name="+")
    merged_at = models.DateTimeField(auto_now_add=True)
    # The merged item's external id (empty when it had none): pushing it again finds ``into``.
    external_id = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        verbose_name = "merged item"
        indexes = [
            models.Index(
                fields=["external_id"],
                condition=~models.Q(external_id=""),
                name="merged_item_external_id_idx",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.merged_id} -> #{self.into_id}"


class LikelyDuplicate(models.Model):
    """Two items of one team that are likely the same request: the same customer saying nearly
    the same thing in two channels within the team's window. Stored once per pair, the item
    with the smaller id as ``item``; ``score`` is the text similarity in [0, 1]. Merging either
    item into the other removes the pair (cascade); ``dismissed_at`` records a "not the same"."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(FeedbackItem, on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey(FeedbackItem, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-score", "pk"]
        verbose_name = "likely duplicate"
        indexes = [models.Index(fields=["other"], name="duplicate_other_idx")]
        constraints = [
            models.UniqueConstraint(fields=["item", "other"], name="duplicate_unique_pair"),
            models.CheckConstraint(
                condition=models.Q(item__lt=models.F("other")), name="duplicate_pair_ordered"
            ),
            models.CheckConstraint(
                condition=models.Q(score__gte=0) & models.Q(score__lte=1),
                name="duplicate_score_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} ~ {self.other_id} ({self.score:.2f})"


class ResponseTemplate(models.Model):
    """A reply an agent starts from, with placeholders filled from the customer, account, item
    and agent (``feedback.templating``). ``team`` empty: shared by every team."""

    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="response_templates"
    )
    name = models.CharField(max_length=120)
    name_key = NormalisedKeyField(max_length=120, source="name")
    subject = models.CharField(max_length=MAX_SUBJECT_LENGTH, blank=True)
    body = models.TextField(max_length=20000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "name_key"], name="template_unique_name_per_team"
            ),
            models.UniqueConstraint(
                fields=["name_key"],
                condition=models.Q(team__isnull=True),
                name="template_unique_shared_name",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SlaPolicy(models.Model):
    """A team's service levels for one priority, in calendar hours."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="sla_policies")
    priority = models.CharField(max_length=10, choices=ItemPriority.choices)
    first_response_hours = models.PositiveIntegerField()
    resolution_hours = models.PositiveIntegerField()

    class Meta:
        ordering = ["team", "priority"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(fields=["team", "priority"], name="sla_unique_priority"),
            models.CheckConstraint(
                condition=models.Q(priority__in=ItemPriority.values), name="sla_priority_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(first_response_hours__gte=1, resolution_hours__gte=1),
                name="sla_hours_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team_id} {self.priority}"


class InboxSettings(models.Model):
    """A team's rules for priority customers: a VIP tier is urgent and a priority tier high
    (fixed); a plan named in ``priority_plans`` or an account's MRR at or above
    ``priority_mrr_threshold`` makes the customer's items high."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="inbox_settings")
    priority_plans = models.JSONField(default=list, blank=True)
    priority_mrr_threshold = ExactDecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "inbox settings"
        verbose_name_plural = "inbox settings"

    def __str__(self) -> str:
        return f"inbox settings of {self.team_id}"


class SavedView(models.Model):
    """A named inbox query (its parameters as a dict of lists): the owner's own, or shared
    with the team when ``owner`` is empty."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="saved_views")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="saved_views",
    )
    name = models.CharField(max_length=80)
    name_key = NormalisedKeyField(max_length=80, source="name")
    params = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "owner", "name_key"], name="saved_view_unique_name"
            ),
            models.UniqueConstraint(
                fields=["team", "name_key"],
                condition=models.Q(owner__isnull=True),
                name="saved_view_unique_shared_name",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PresenceActivity(models.TextChoices):
    VIEWING = "viewing", "is viewing"
    REPLYING = "replying", "is replying"


class ItemPresence(models.Model):
    """Who has an item open, and whether they are writing a reply, until ``expires_at``: the
    collision notice ("Sam is replying")."""

    item = models.ForeignKey(FeedbackItem, on_delete=models.CASCADE, related_name="presences")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    activity = models.CharField(max_length=10, choices=PresenceActivity.choices)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "user"], name="presence_unique_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.activity} {self.item_id}"
