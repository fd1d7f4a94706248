"""Factories for the feedback app's tests, and small builders of raw mail."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime

import factory

from feedback.models import (
    Channel,
    FeedbackItem,
    ItemStatus,
    Message,
    SlaPolicy,
    Tag,
    ThreadReason,
)
from portal import crypto
from tests.factories import TeamFactory

SUPPORT_ADDRESS = "support@example.test"
SENT = datetime(2026, 3, 3, 9, 30, tzinfo=UTC)


class ChannelFactory(factory.django.DjangoModelFactory):
    """A channel whose config is stored as the service stores it (encrypted); pass
    ``config={...}``. Tests that talk to dovecot create channels through the service."""

    class Meta:
        model = Channel
        exclude = ("config",)

    team = factory.SubFactory(TeamFactory)
    kind = "imap"
    name = factory.Sequence(lambda n: f"Mailbox {n}")
    address = SUPPORT_ADDRESS
    config = factory.LazyAttribute(
        lambda channel: {
            "host": "127.0.0.1",
            "port": 143,
            "username": "support",
            "password": "secret",
            "security": "none",
            "address": channel.address,
        }
    )
    config_encrypted = factory.LazyAttribute(
        lambda channel: crypto.encrypt(json.dumps(channel.config, sort_keys=True))
    )
    poll_interval = 60
    next_poll_at = factory.LazyFunction(lambda: SENT)


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"tag {n}")


class FeedbackItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FeedbackItem

    team = factory.SubFactory(TeamFactory)
    subject = factory.Sequence(lambda n: f"Feedback {n}")
    status = ItemStatus.NEW
    first_message_at = SENT
    last_message_at = SENT


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    item = factory.SubFactory(FeedbackItemFactory)
    team = factory.SelfAttribute("item.team")
    external_id = factory.Sequence(lambda n: f"message-{n}@example.test")
    identity_hash = factory.Sequence(lambda n: f"{n:064x}")
    sender = "customer@example.test"
    subject = factory.SelfAttribute("item.subject")
    text = "Hello"
    sent_at = SENT
    received_at = SENT
    thread_reason = ThreadReason.NEW


def make_mail(
    *,
    message_id: str | None,
    sender: str = "Omar Haddad <omar@haddad.example>",
    to: str = f"ACME Support <{SUPPORT_ADDRESS}>",
    subject: str = "The coffee machine leaks",
    body: str = "The coffee machine you sold us leaks water.",
    date: datetime = SENT,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    headers: dict[str, str] | None = None,
    received: list[str] | None = None,
) -> bytes:
    """A small RFC 5322 mail as bytes, CRLF line endings, as a mailbox holds it."""
    lines = [f"Received: {hop}" for hop in received or []]
    lines += [f"From: {sender}", f"To: {to}", f"Subject: {subject}"]
    lines.append(f"Date: {format_datetime(date)}")
    if message_id is not None:
        lines.append(f"Message-ID: <{message_id}>")
    if in_reply_to:
        lines.append(f"In-Reply-To: <{in_reply_to}>")
    if references:
        lines.append("References: " + " ".join(f"<{ref}>" for ref in references))
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "", body, ""]
    return "\r\n".join(lines).encode()


def sla_policies(team) -> None:
    """The team's SLA policies a help desk starts with: first response and resolution in
    hours, normal 8 and 48, high 4 and 24, urgent 1 and 8."""
    for priority, first, resolution in (("normal", 8, 48), ("high", 4, 24), ("urgent", 1, 8)):
        SlaPolicy.objects.create(
            team=team,
            priority=priority,
            first_response_hours=first,
            resolution_hours=resolution,
        )
