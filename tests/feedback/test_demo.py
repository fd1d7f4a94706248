"""The feedback part of the demo company: Customer Care's inbound e-mail webhook and a disabled
IMAP mailbox, and a few hundred generated mails fed through the real pipeline (stored raw, then
parsed), built once like every demo part."""

import json
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from feedback import demo as feedback_demo
from feedback.channels.webhook import signed_headers
from feedback.demo import mails as demo_mail_module
from feedback.models import (
    Attachment,
    Channel,
    Direction,
    FeedbackItem,
    Lane,
    Message,
    PayloadStatus,
    Quarantine,
    RawPayload,
    ThreadReason,
)
from feedback.services import channel_update, channels_dispatch
from feedback.services.storage import blob_read
from portal import demo
from portal.demo import parts
from portal.models import Customer, DemoPart, Team
from tests.feedback.factories import ChannelFactory, make_mail

TODAY = date(2026, 12, 7)
DEMO_CUSTOMER_COUNT = 120


@pytest.fixture(autouse=True)
def _debug(settings):
    settings.DEBUG = True


@pytest.fixture
def few_items(monkeypatch):
    """The mechanism tests need a few dozen mails, not the full demo."""
    monkeypatch.setattr(demo_mail_module, "ITEMS", 30)


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def without_feedback_part(monkeypatch) -> None:
    monkeypatch.setattr(
        parts, "PARTS", tuple(part for part in parts.PARTS if part.name != "feedback")
    )


def counts() -> dict[str, int]:
    models = (Channel, RawPayload, Message, FeedbackItem, Attachment, Quarantine, Customer)
    return {model.__name__: model.objects.count() for model in models}


# --- the mail, without a database --------------------------------------------------------------


def test_the_demo_mail_is_the_same_every_time_and_all_in_the_past():
    first = feedback_demo.demo_mails(TODAY)
    second = feedback_demo.demo_mails(TODAY)

    assert first == second
    assert len(first) > 350
    arrivals = [mail.received_at for mail in first]
    assert arrivals == sorted(arrivals)
    assert max(arrivals) < datetime(2026, 12, 6, tzinfo=UTC)
    assert min(arrivals) > datetime(2026, 12, 6, tzinfo=UTC) - timedelta(days=92)
    kinds = {mail.kind for mail in first}
    assert kinds == {
        "customer",
        "reply",
        "follow-up",
        "auto-reply",
        "bounce",
        "read-receipt",
        "bulk",
        "quarantined",
    }
    assert sum(mail.kind == "customer" for mail in first) == feedback_demo.ITEMS


def test_the_refused_post_is_json_a_misconfigured_provider_would_send():
    raw = feedback_demo.refused_post(feedback_demo.SUPPORT_ADDRESS)

    assert json.loads(raw)["recipient"] == feedback_demo.SUPPORT_ADDRESS


# --- the full part ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_seed_builds_the_channels_and_a_few_hundred_real_items():
    output = seed()

    assert "feedback" in output.splitlines()[1]
    care = Team.objects.get(slug=feedback_demo.TEAM_SLUG)
    webhook = Channel.objects.get(name=feedback_demo.WEBHOOK_CHANNEL)
    imap = Channel.objects.get(name=feedback_demo.IMAP_CHANNEL)
    assert (webhook.team, webhook.kind, webhook.enabled) == (care, "webhook", True)
    assert webhook.next_poll_at is None
    assert webhook.read_config()["secret"] == feedback_demo.DEMO_WEBHOOK_SECRET
    assert webhook.address == feedback_demo.SUPPORT_ADDRESS
    assert (imap.team, imap.kind, imap.enabled) == (care, "imap", False)
    assert imap.read_config()["host"] == "imap.example.com"
    assert imap.read_config()["security"] == "tls"
    assert channels_dispatch() == []

    items = FeedbackItem.objects.filter(team=care)
    assert items.count() == feedback_demo.ITEMS >= 200
    assert not FeedbackItem.objects.exclude(team=care).exists()
    # Senders are the demo directory's customers: the mail creates nobody.
    assert Customer.objects.count() == DEMO_CUSTOMER_COUNT
    assert not items.filter(customer__isnull=True).exists()
    assert items.values("customer").distinct().count() > 60

    messages = Message.objects.filter(channel=webhook)
    lanes = set(messages.values_list("lane", flat=True))
    assert lanes == {Lane.CUSTOMER, Lane.AUTO_REPLY, Lane.BOUNCE, Lane.READ_RECEIPT, Lane.BULK}
    threaded = messages.filter(thread_reason=ThreadReason.IN_REPLY_TO)
    assert threaded.filter(direction=Direction.IN, lane=Lane.CUSTOMER).count() > 30
    assert threaded.filter(direction=Direction.OUT).count() > 80
    assert messages.filter(lane=Lane.BOUNCE, thread_reason=ThreadReason.ORIGINAL_MESSAGE).count()
    assert messages.filter(lane=Lane.BULK, item__isnull=True).count() == 2
    assert messages.exclude(html="").count() > 40
    assert "<img" not in "".join(messages.exclude(html="").values_list("html", flat=True))
    assert messages.exclude(quoted_text="").count() > 100
    # Customers with accents in their names write in ISO-8859-1: decoded, not mangled.
    accented = [
        message
        for message in messages.filter(direction=Direction.IN, lane=Lane.CUSTOMER)
        if not message.sender_name.isascii()
    ]
    assert accented
    assert all(message.sender_name.split()[0] in message.text for message in accented)

    screenshots = Attachment.objects.filter(filename="screenshot.png")
    assert screenshots.count() == 3
    assert blob_read(screenshots.first().file.name).startswith(b"\x89PNG\r\n\x1a\n")
    assert Attachment.objects.filter(filename="import-errors.csv").count() == 1

    quarantine = Quarantine.objects.get()
    assert quarantine.payload.channel == webhook
    raw = blob_read(quarantine.payload.file.name)
    assert raw == feedback_demo.refused_post(feedback_demo.SUPPORT_ADDRESS)
    assert not RawPayload.objects.filter(status=PayloadStatus.PENDING).exists()
    assert "feedback mails" in output and "quarantined           1 created" in output


@pytest.mark.django_db
def test_the_stored_payloads_are_the_generated_mails_byte_for_byte(few_items):
    seed()

    generated = {mail.raw for mail in feedback_demo.demo_mails(timezone.localdate())}
    stored = {blob_read(payload.file.name) for payload in RawPayload.objects.all()}
    assert stored == generated


@pytest.mark.django_db
def test_the_demo_webhook_takes_mail_signed_with_the_documented_secret(few_items):
    seed()
    webhook = Channel.objects.get(name=feedback_demo.WEBHOOK_CHANNEL)
    raw = make_mail(message_id="tried-it@alderfinch.example")
    headers = signed_headers(feedback_demo.DEMO_WEBHOOK_SECRET, raw, now=timezone.now())

    response = Client().post(
        reverse("feedback:email_webhook", kwargs={"pk": webhook.pk}),
        data=raw,
        content_type="message/rfc822",
        HTTP_X_PORTAL_TIMESTAMP=headers["X-Portal-Timestamp"],
        HTTP_X_PORTAL_SIGNATURE=headers["X-Portal-Signature"],
    )

    assert response.status_code == 202


# --- built once -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_seeding_again_changes_nothing(few_items):
    seed()
    before = counts()

    output = seed()

    assert counts() == before
    assert "feedback" in output.split("Built before and left as they are:")[1]


@pytest.mark.django_db
def test_rebuilding_the_part_keeps_what_people_changed_and_stores_no_mail_twice(few_items):
    seed()
    admin = demo.USERS[0].username
    actor = parts.get_user_model().objects.get(username=admin)
    webhook = Channel.objects.get(name=feedback_demo.WEBHOOK_CHANNEL)
    channel_update(
        actor=actor, channel=webhook, enabled=False, config={"secret": "our-own-secret-value"}
    )
    deleted = FeedbackItem.objects.order_by("pk").first()
    deleted_pk = deleted.pk
    deleted.delete()
    before = counts()
    DemoPart.objects.filter(name="feedback").delete()

    output = seed()

    assert counts() == before
    webhook.refresh_from_db()
    assert webhook.enabled is False
    assert webhook.read_config()["secret"] == "our-own-secret-value"
    assert not FeedbackItem.objects.filter(pk=deleted_pk).exists()
    assert "feedback channels     0 created, 2 found already and kept as they are" in output
    assert f"{RawPayload.objects.count()} found already and kept as they are" in output


@pytest.mark.django_db
def test_a_database_seeded_before_the_part_existed_gets_it(few_items, monkeypatch):
    with monkeypatch.context() as patch:
        without_feedback_part(patch)
        seed()
    assert not Channel.objects.exists()

    output = seed()

    assert "Built now: feedback." in output
    assert FeedbackItem.objects.count() == 30
    assert DemoPart.objects.filter(name="feedback").count() == 1


@pytest.mark.django_db
def test_a_channel_people_gave_the_demo_name_is_left_alone(few_items, monkeypatch):
    with monkeypatch.context() as patch:
        without_feedback_part(patch)
        seed()
    care = Team.objects.get(slug=feedback_demo.TEAM_SLUG)
    theirs = ChannelFactory(team=care, name=feedback_demo.WEBHOOK_CHANNEL, kind="imap")

    seed()

    theirs.refresh_from_db()
    assert theirs.kind == "imap"
    assert not RawPayload.objects.exists()
    assert Channel.objects.filter(name=feedback_demo.IMAP_CHANNEL, enabled=False).exists()


@pytest.mark.django_db
def test_without_the_customer_care_team_the_part_builds_nothing(few_items, monkeypatch):
    with monkeypatch.context() as patch:
        without_feedback_part(patch)
        seed()
    Team.objects.filter(slug=feedback_demo.TEAM_SLUG).delete()

    output = seed()

    assert "Built now: feedback." in output
    assert not Channel.objects.exists()
    assert not Message.objects.exists()
