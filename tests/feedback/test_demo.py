"""The feedback parts of the demo company: Customer Care's inbound e-mail webhook and a disabled
IMAP mailbox, and a few hundred generated mails fed through the real pipeline (stored raw, then
parsed); then a review feed, the community forum, Mastodon mentions and the website widget, fed
the same way; each part built once like every demo part."""

import json
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core import mail as django_mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from feedback import demo as feedback_demo
from feedback.channels import get_connector, http
from feedback.channels.feed.document import read_document
from feedback.channels.webhook import signed_headers
from feedback.channels.widget import reencode_screenshot
from feedback.demo import channels as demo_channels
from feedback.demo import desk, inbox_content, inbox_work, remote, voices
from feedback.demo import mails as demo_mail_module
from feedback.demo.inbox import DEMO_POLICIES
from feedback.models import (
    Attachment,
    Channel,
    DeliveryStatus,
    Direction,
    FeedbackItem,
    InboxSettings,
    ItemPriority,
    ItemStatus,
    Lane,
    LikelyDuplicate,
    Message,
    PayloadStatus,
    Quarantine,
    RawPayload,
    ResponseTemplate,
    SavedView,
    SlaPolicy,
    Tag,
    ThreadReason,
)
from feedback.services import channel_update, channels_dispatch
from feedback.services.storage import blob_read
from feedback.templating import template_validate
from portal import demo
from portal.demo import parts
from portal.models import (
    AuditEntry,
    Customer,
    CustomerIdentity,
    DemoPart,
    Membership,
    Role,
    Team,
)
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


FEEDBACK_PARTS = ("feedback", "feedback channels", "service levels", "inbox work")


def without_parts(monkeypatch, names: tuple[str, ...]) -> None:
    monkeypatch.setattr(
        parts, "PARTS", tuple(part for part in parts.PARTS if part.name not in names)
    )


def without_feedback_part(monkeypatch) -> None:
    """No feedback part: the channels part builds on the mail, the service levels on both, the
    inbox work on all three."""
    without_parts(monkeypatch, FEEDBACK_PARTS)


@pytest.fixture
def mail_part_only(monkeypatch):
    """The mail's tests count every item and customer: the other channels' part is left out,
    and the inbox work (its spam mail, its replies)."""
    without_parts(monkeypatch, ("feedback channels", "inbox work"))


def counts() -> dict[str, int]:
    models = (
        Channel,
        RawPayload,
        Message,
        FeedbackItem,
        Attachment,
        Quarantine,
        Customer,
        CustomerIdentity,
        LikelyDuplicate,
    )
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
def test_seed_builds_the_channels_and_a_few_hundred_real_items(mail_part_only):
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
def test_the_stored_payloads_are_the_generated_mails_byte_for_byte(few_items, monkeypatch):
    without_parts(monkeypatch, ("inbox work",))  # its spam comes by mail too
    seed()

    generated = {mail.raw for mail in feedback_demo.demo_mails(timezone.localdate())}
    webhook = Channel.objects.get(name=feedback_demo.WEBHOOK_CHANNEL)
    stored = {
        blob_read(payload.file.name) for payload in RawPayload.objects.filter(channel=webhook)
    }
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
def test_rebuilding_the_part_keeps_what_people_changed_and_stores_no_mail_twice(
    few_items, monkeypatch
):
    without_parts(monkeypatch, ("inbox work",))  # its spam comes by mail too
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
    stored_mail = RawPayload.objects.filter(channel=webhook).count()
    assert f"{stored_mail} found already and kept as they are" in output


@pytest.mark.django_db
def test_a_database_seeded_before_the_part_existed_gets_it(few_items, monkeypatch):
    with monkeypatch.context() as patch:
        without_feedback_part(patch)
        seed()
    assert not Channel.objects.exists()

    output = seed()

    assert "Built now: feedback, feedback channels, service levels, inbox work." in output
    mail = FeedbackItem.objects.filter(channel__kind="webhook")
    assert mail.exclude(status=ItemStatus.SPAM).count() == 30
    assert DemoPart.objects.filter(name__in=FEEDBACK_PARTS).count() == 4


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
    assert not RawPayload.objects.filter(channel=theirs).exists()
    assert Channel.objects.filter(name=feedback_demo.IMAP_CHANNEL, enabled=False).exists()


@pytest.mark.django_db
def test_without_the_customer_care_team_the_part_builds_nothing(few_items, monkeypatch):
    with monkeypatch.context() as patch:
        without_feedback_part(patch)
        seed()
    Team.objects.filter(slug=feedback_demo.TEAM_SLUG).delete()

    output = seed()

    assert "Built now: feedback, feedback channels, service levels, inbox work." in output
    assert not Channel.objects.exists()
    assert not Message.objects.exists()


# --- the other channels, without a database ----------------------------------------------------


CUSTOMER_COMMENTS = sum(
    not comment.agent for ticket in voices.TICKETS for comment in ticket.comments
)


def demo_customers() -> list:
    rng = random.Random(demo.SEED)
    return demo.build_customers(rng, demo.build_accounts(rng))


def remote_items(end: datetime) -> dict[str, list]:
    customers = demo_customers()
    mails = feedback_demo.demo_mails(TODAY)
    on_forum = remote.repeats(mails, customers, voices.REPEATED_ON_FORUM)
    rng = random.Random(1)
    return {
        "feed": remote.review_items(rng, end),
        "discourse": remote.forum_items(rng, end, customers, on_forum),
        "mastodon": remote.mastodon_items(rng, end, customers),
        "zendesk": desk.zendesk_items(end, customers),
    }


def test_the_other_channels_payloads_are_the_same_every_time_and_all_in_the_past():
    end = demo_channels.history_end(TODAY)

    first, second = remote_items(end), remote_items(end)

    assert first == second
    assert [len(first[kind]) for kind in ("feed", "discourse", "mastodon", "zendesk")] == [
        len(voices.REVIEWS),
        sum(len(topic.posts) for topic in voices.TOPICS) + len(voices.REPEATED_ON_FORUM),
        len(voices.MENTIONS),
        CUSTOMER_COMMENTS,
    ]
    for items in first.values():
        arrivals = [item.received_at for item in items]
        assert arrivals == sorted(arrivals)
        assert max(arrivals) < end
        assert len({item.source_id for item in items}) == len(items)


def test_the_feed_entries_are_what_the_feed_connector_reads_from_the_document():
    end = demo_channels.history_end(TODAY)
    answer = http.Response(
        status=200,
        headers={"Content-Type": "application/atom+xml"},
        body=remote.reviews_document(end),
        url=remote.FEED_URL,
    )

    stored = remote.review_items(random.Random(1), end)

    read = read_document(answer, remote.FEED_URL).items
    assert [(item.source_id, item.raw) for item in stored] == [
        (item.source_id, item.raw) for item in read
    ]


def test_every_demo_post_parses_with_its_own_connector():
    end = demo_channels.history_end(TODAY)

    for kind, items in remote_items(end).items():
        connector = get_connector(kind)
        for item in items:
            parsed = connector.parse(item.raw, received_at=item.received_at, metadata=item.metadata)
            assert parsed.text and parsed.sent_at <= item.received_at
            assert bool(parsed.sender_handle) == (kind != "feed")


def test_the_widget_screenshot_is_a_small_png_the_widget_accepts():
    picture = desk.screenshot()

    assert picture.startswith(b"\x89PNG\r\n\x1a\n") and len(picture) < 20_000
    assert reencode_screenshot(picture) == picture


# --- the other channels, seeded -----------------------------------------------------------------


@pytest.mark.django_db
def test_seed_fills_every_channel_kind_through_the_pipeline(few_items):
    output = seed()

    care = Team.objects.get(slug=feedback_demo.TEAM_SLUG)
    channels = {channel.kind: channel for channel in Channel.objects.filter(team=care)}
    assert set(channels) == {
        "webhook",
        "imap",
        "feed",
        "discourse",
        "mastodon",
        "zendesk",
        "widget",
    }
    # The polled ones point at example hosts: created disabled, never polled.
    polled = ("feed", "discourse", "mastodon", "zendesk")
    assert [channels[kind].enabled for kind in polled] == [False] * 4
    assert channels["widget"].enabled and channels["widget"].public_key
    assert channels_dispatch() == []
    assert channels["feed"].name == feedback_demo.FEED_CHANNEL
    # Pages and messages give a channel's kind beside its name ("... wrote through App Store
    # reviews (feed)"): a name that carried it too would say it twice.
    assert [channel.name for channel in channels.values() if "(" in channel.name] == []

    def counted(kind: str) -> tuple[int, int]:
        return (
            FeedbackItem.objects.filter(channel=channels[kind]).count(),
            Message.objects.filter(channel=channels[kind]).count(),
        )

    forum_posts = sum(len(topic.posts) for topic in voices.TOPICS)
    widget_sent = len(voices.WIDGET_MESSAGES) + len(voices.REPEATED_BY_WIDGET)
    assert counted("feed") == (len(voices.REVIEWS), len(voices.REVIEWS))
    repeated = len(voices.REPEATED_ON_FORUM)
    assert counted("discourse") == (len(voices.TOPICS) + repeated, forum_posts + repeated)
    # Two mentions answer earlier ones (one after the team's own answer): three threads fewer.
    assert counted("mastodon") == (len(voices.MENTIONS) - 2, len(voices.MENTIONS))
    assert counted("widget") == (widget_sent, widget_sent)
    # The help desk's own answers are left out; a ticket's comments are its item's messages.
    assert counted("zendesk") == (len(voices.TICKETS), CUSTOMER_COMMENTS)
    assert not Quarantine.objects.exclude(payload__channel=channels["webhook"]).exists()
    assert not RawPayload.objects.filter(status=PayloadStatus.PENDING).exists()
    assert Attachment.objects.filter(message__channel=channels["widget"]).count() == 1
    assert "forum posts" in output and "widget messages" in output


@pytest.mark.django_db
def test_the_posts_are_threaded_as_their_connectors_thread_them(few_items):
    seed()

    xero = FeedbackItem.objects.get(subject="Xero sync stopped again")
    assert xero.messages.count() == 3
    assert xero.messages.exclude(thread_reason=ThreadReason.NEW).count() == 2
    mastodon = Channel.objects.get(name=feedback_demo.MASTODON_CHANNEL)
    logged_out = FeedbackItem.objects.get(channel=mastodon, subject__startswith="Is anyone else")
    # The second status answers the team's own answer, which is not stored: it joins all the same.
    assert logged_out.messages.count() == 2
    assert all(message.external_url for message in Message.objects.filter(channel=mastodon))


@pytest.mark.django_db
def test_forum_and_mastodon_senders_are_customers_one_person_across_channels(few_items):
    seed()
    customers = demo_customers()

    for kind in ("discourse", "mastodon", "zendesk", "widget"):
        received = Message.objects.filter(channel__kind=kind)
        assert received.exists()
        assert not received.filter(item__customer__isnull=True).exists(), kind
    # App-store reviewers give a nickname, neither a handle nor an address: nobody to know.
    assert not FeedbackItem.objects.filter(channel__kind="feed", customer__isnull=False).exists()
    # A directory customer on the forum and on Mastodon: their handles are theirs, and their
    # posts on both are their items, next to their mail.
    hannah = Customer.objects.get(email=customers[44].email)
    assert set(hannah.identities.values_list("kind", "handle")) == {
        ("discourse", f"{remote.FORUM_HOST}/{remote.forum_username(customers[44])}"),
        ("mastodon", f"{remote.mastodon_acct(customers[44])}@{voices.MASTODON_INSTANCE}"),
    }
    assert {item.channel.kind for item in FeedbackItem.objects.filter(customer=hannah)} >= {
        "discourse",
        "mastodon",
    }
    # A requester the help desk knows by address is the directory's customer, and the pipeline
    # gives them the requester id as a handle.
    requester = Customer.objects.get(email=customers[voices.TICKETS[0].customer].email)
    assert requester.identities.get(kind="zendesk").handle == (
        f"kitewire.zendesk.example/{desk.ZENDESK_FIRST_USER_ID}"
    )
    laura = Customer.objects.get(email=customers[19].email)
    laura_handle = laura.identities.get(kind="discourse").handle
    assert laura_handle == f"{remote.FORUM_HOST}/{remote.forum_username(customers[19])}"
    assert Message.objects.filter(sender_handle=laura_handle).count() == 2
    # People known only by a handle are new customers without an address, holding it: those
    # who open an item, and those whose reply joins one (the item stays its opener's, but
    # the directory knows every participant).
    handle_only = Customer.objects.filter(
        email="", identities__kind__in=("discourse", "mastodon")
    ).distinct()
    new_people = {
        post.name for topic in voices.TOPICS for post in topic.posts if post.customer is None
    }
    new_people |= {m.name for m in voices.MENTIONS if m.customer is None}
    assert set(handle_only.values_list("name", flat=True)) == new_people
    assert all(customer.identities.count() == 1 for customer in handle_only)
    dina = handle_only.get(name="Dina Osei")
    assert dina.identities.get().handle == f"{remote.FORUM_HOST}/dispatch_dina"


@pytest.mark.django_db
def test_the_demo_ends_scored_and_with_likely_duplicates(few_items):
    seed()

    inbound = Message.objects.filter(direction=Direction.IN, lane=Lane.CUSTOMER)
    assert inbound.count() > 80
    assert not inbound.filter(sentiment_score__isnull=True).exists()
    sentiments = set(FeedbackItem.objects.values_list("sentiment", flat=True))
    assert {"positive", "negative", "neutral"} <= sentiments
    review = FeedbackItem.objects.get(subject="Crashes when adding photos")
    assert review.sentiment == "negative"
    pairs = LikelyDuplicate.objects.select_related("item__channel", "other__channel")
    kinds = {(pair.item.channel.kind, pair.other.channel.kind) for pair in pairs}
    # The repeated mails, at least (a customer may happen to repeat themselves elsewhere too).
    assert kinds >= {("webhook", "widget"), ("webhook", "discourse")}
    assert pairs.count() >= len(voices.REPEATED_BY_WIDGET) + len(voices.REPEATED_ON_FORUM)
    for pair in pairs:
        assert pair.item.customer_id == pair.other.customer_id
        assert pair.item.channel_id != pair.other.channel_id
        assert pair.score >= 0.5


@pytest.mark.django_db
def test_the_service_levels_part_gives_the_high_and_urgent_items_due_times(few_items, monkeypatch):
    # The inbox work, built after it, answers and resolves most priority items.
    without_parts(monkeypatch, ("inbox work",))
    output = seed()

    care = Team.objects.get(slug=feedback_demo.TEAM_SLUG)
    policies = SlaPolicy.objects.filter(team=care)
    assert set(policies.values_list("priority", flat=True)) == set(DEMO_POLICIES)
    assert InboxSettings.objects.get(team=care).priority_plans == ["enterprise"]
    waiting = FeedbackItem.objects.filter(team=care).exclude(
        status__in=[ItemStatus.RESOLVED, ItemStatus.SPAM]
    )
    pressing = waiting.filter(priority__in=list(DEMO_POLICIES))
    # Items of every channel the demo fills, mail and the others, by priority customers.
    assert pressing.count() >= 2
    assert not pressing.filter(first_response_due_at__isnull=True).exists()
    assert (
        not waiting.exclude(priority__in=list(DEMO_POLICIES))
        .filter(first_response_due_at__isnull=False)
        .exists()
    )
    assert "feedback, feedback channels, service levels." in output
    assert "sla policies          2 created" in output


@pytest.mark.django_db
def test_rebuilding_the_channels_part_stores_nothing_twice_and_sends_no_widget_message_again(
    few_items,
):
    seed()
    before = counts()
    DemoPart.objects.filter(name="feedback channels").delete()

    output = seed()

    assert counts() == before
    assert "Built now: feedback channels." in output
    assert "forum posts           0 created" in output
    assert "widget messages" not in output


# --- the inbox work -----------------------------------------------------------------------------


def inbox_work_counts() -> dict[str, object]:
    care = Team.objects.get(slug=feedback_demo.TEAM_SLUG)
    return {
        **counts(),
        "tags": Tag.objects.filter(team=care).count(),
        "templates": ResponseTemplate.objects.count(),
        "views": SavedView.objects.count(),
        "audit": AuditEntry.objects.count(),
        "statuses": sorted(FeedbackItem.objects.values_list("pk", "status", "assignee_id")),
    }


@pytest.mark.django_db
def test_the_inbox_work_leaves_a_worked_in_inbox(few_items):
    output = seed()

    care = Team.objects.get(slug=feedback_demo.TEAM_SLUG)
    items = FeedbackItem.objects.filter(team=care)
    statuses = Counter(items.values_list("status", flat=True))
    assert set(statuses) == set(ItemStatus.values)
    assert statuses[ItemStatus.SPAM] == len(inbox_content.SPAM_MAILS)
    for status in (ItemStatus.NEW, ItemStatus.OPEN, ItemStatus.WAITING):
        assert statuses[status] >= 2, statuses
    assert statuses[ItemStatus.RESOLVED] > items.count() / 2
    assignees = set(items.exclude(assignee=None).values_list("assignee__username", flat=True))
    assert assignees == {"agent", "lead", "maya"}
    assert not items.filter(status=ItemStatus.NEW).exclude(assignee=None).exists()
    # Coloured tags on many items, each colour as the content gives it.
    colours = dict(Tag.objects.filter(team=care).values_list("name", "colour"))
    assert colours == inbox_content.TAGS
    assert items.filter(tags__isnull=False).distinct().count() > items.count() / 2
    # Two snoozes: one wakes later today, one in a week.
    now = timezone.now()
    snoozes = sorted(items.exclude(snoozed_until=None).values_list("snoozed_until", flat=True))
    assert len(snoozes) == 2
    assert now < snoozes[0] < now + timedelta(hours=5)
    assert now + timedelta(days=6) < snoozes[1] < now + timedelta(days=8)
    # Escalated: the priority items nobody answered, at the top of the default list.
    escalated = items.exclude(escalated_at=None)
    assert escalated.count() == inbox_work.UNANSWERED_PRIORITY
    assert not escalated.exclude(status=ItemStatus.NEW).exists()
    assert not escalated.exclude(priority=ItemPriority.URGENT).exists()
    assert "sla breaches" in output


@pytest.mark.django_db
def test_the_inbox_work_has_templates_views_replies_and_notes(few_items):
    seed()

    care = Team.objects.get(slug=feedback_demo.TEAM_SLUG)
    team_templates = ResponseTemplate.objects.filter(team=care)
    assert team_templates.count() == len(inbox_content.TEAM_TEMPLATES)
    assert ResponseTemplate.objects.filter(team=None).count() == 1
    for template in ResponseTemplate.objects.all():
        template_validate(template.body)
        assert "{{ customer.first_name" in template.body
    mine = SavedView.objects.get(team=care, name=inbox_content.AGENT_VIEW[0])
    assert mine.owner.username == "agent"
    assert mine.params == {"assignee": ["me"], "status": ["new", "open", "waiting"]}
    shared = SavedView.objects.get(team=care, name=inbox_content.SHARED_VIEW[0])
    assert shared.owner is None

    replies = Message.objects.filter(team=care, direction=Direction.OUT, is_note=False).exclude(
        delivery=""
    )
    assert replies.filter(delivery=DeliveryStatus.SENT).count() >= 5
    assert not replies.exclude(delivery__in=[DeliveryStatus.SENT, DeliveryStatus.FAILED]).exists()
    failed = replies.get(delivery=DeliveryStatus.FAILED)
    assert "ConnectionRefusedError" in failed.delivery_error
    assert failed.item.status == ItemStatus.WAITING
    # Personalised from a template, signed by the agent who sent it, before yesterday began.
    sent = replies.filter(delivery=DeliveryStatus.SENT).select_related("item__customer", "author")
    for reply in sent:
        assert "{{" not in reply.text
        assert reply.author.first_name in reply.text
        assert reply.item.customer.name.split()[0] in reply.text
        assert reply.sent_at < work_end_for_today()
        assert reply.item.first_responded_at is not None
    # Nothing left the process: the replies went to Django's in-memory backend (the tests').
    assert len(django_mail.outbox) == sent.count()
    notes = Message.objects.filter(team=care, is_note=True)
    assert notes.count() >= 3
    assert notes.filter(item=failed.item, text=inbox_content.FAILED_REPLY_NOTE).exists()
    assert not notes.exclude(delivery="").exists()


def work_end_for_today() -> datetime:
    today = timezone.localdate()
    return datetime.combine(today - timedelta(days=1), datetime.min.time(), tzinfo=UTC)


@pytest.mark.django_db
def test_the_demo_agent_sees_the_failed_reply_with_its_retry(few_items):
    seed()
    failed = Message.objects.get(delivery=DeliveryStatus.FAILED)
    client = Client()
    client.force_login(get_user_model().objects.get(username="agent"))

    listing = client.get(reverse("feedback:inbox"))
    page = client.get(reverse("feedback:item", args=[failed.item_id]))

    assert listing.status_code == 200
    assert page.status_code == 200
    assert "ConnectionRefusedError" in page.content.decode()
    assert reverse("feedback:reply_retry", args=[failed.item_id, failed.pk]) in (
        page.content.decode()
    )


@pytest.mark.django_db
def test_seeding_again_adds_nothing_to_the_inbox_work(few_items):
    seed()
    before = inbox_work_counts()

    output = seed()

    assert inbox_work_counts() == before
    assert "inbox work" in output.split("Built before and left as they are:")[1]


@pytest.mark.django_db
def test_rebuilding_the_inbox_work_keeps_tags_templates_views_and_spam(few_items):
    seed()
    before = inbox_work_counts()
    DemoPart.objects.filter(name="inbox work").delete()

    output = seed()

    after = inbox_work_counts()
    for key in ("tags", "templates", "views", "RawPayload", "Customer"):
        assert after[key] == before[key], key
    assert f"  {'tags':<18} {0:>4} created, {len(inbox_content.TAGS)} found already" in output
    assert FeedbackItem.objects.filter(status=ItemStatus.SPAM).count() == 2


@pytest.mark.django_db
def test_a_demo_agent_who_lost_the_role_works_on_nothing(few_items, monkeypatch):
    with monkeypatch.context() as patch:
        without_parts(patch, ("inbox work",))
        seed()
    Membership.objects.filter(user__username="agent", team__slug=feedback_demo.TEAM_SLUG).update(
        role=Role.VIEWER
    )

    seed()

    items = FeedbackItem.objects.filter(team__slug=feedback_demo.TEAM_SLUG)
    assert not items.filter(assignee__username="agent").exists()
    assert items.exclude(assignee=None).exists()
    assert not SavedView.objects.filter(owner__username="agent").exists()
    assert SavedView.objects.filter(owner=None).exists()
