"""Sentiment (feedback/sentiment.py, feedback/services/sentiment.py, the ``score_sentiment``
task): labelled sentences, the thresholds and the cap; scored after the commit of a parse, a
push and a CSV import, never inside them; an item's sentiment is its latest inbound customer
message's; the task is idempotent and backfills every unscored message."""

from datetime import UTC, datetime, timedelta

import pytest

from feedback import sentiment
from feedback.models import Direction, FeedbackItem, Lane, Message, Sentiment
from feedback.services import (
    ItemRow,
    item_ingest,
    items_import_rows,
    payload_receive,
    payloads_parse,
)
from feedback.tasks import score_sentiment
from portal.actors import SYSTEM
from tests.feedback.factories import (
    SENT,
    SUPPORT_ADDRESS,
    ChannelFactory,
    FeedbackItemFactory,
    MessageFactory,
    make_mail,
)

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)

POSITIVE = "Thanks a lot for the quick help, the new dashboard is great and I love it!"
NEGATIVE = "The export is broken again and nobody answers. This is terrible, I am very angry."
NEUTRAL = "The invoice was sent on Tuesday."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (POSITIVE, Sentiment.POSITIVE),
        ("Wonderful support, thank you so much.", Sentiment.POSITIVE),
        (NEGATIVE, Sentiment.NEGATIVE),
        ("Worst update ever. Everything crashes and I lost my data.", Sentiment.NEGATIVE),
        (NEUTRAL, Sentiment.NEUTRAL),
        ("The meeting is at ten in room four.", Sentiment.NEUTRAL),
        ("", Sentiment.NEUTRAL),
    ],
)
def test_labelled_sentences_get_their_label(text, expected):
    compound, label = sentiment.score(text)

    assert label == expected
    assert -1.0 <= compound <= 1.0
    if expected == Sentiment.NEUTRAL:
        assert sentiment.NEGATIVE_TO < compound < sentiment.POSITIVE_FROM


def test_the_labels_are_the_stored_choices():
    assert (sentiment.POSITIVE, sentiment.NEUTRAL, sentiment.NEGATIVE) == (
        Sentiment.POSITIVE,
        Sentiment.NEUTRAL,
        Sentiment.NEGATIVE,
    )


def test_the_thresholds_are_vaders():
    assert sentiment.label(0.05) == Sentiment.POSITIVE
    assert sentiment.label(0.0499) == Sentiment.NEUTRAL
    assert sentiment.label(-0.0499) == Sentiment.NEUTRAL
    assert sentiment.label(-0.05) == Sentiment.NEGATIVE


def test_only_the_beginning_of_a_long_text_is_scored():
    filler = "order id 77 shipped by courier. " * 200
    assert len(filler) > sentiment.MAX_SCORED_CHARS

    assert sentiment.score(filler + NEGATIVE) == (0.0, Sentiment.NEUTRAL)
    assert sentiment.score(NEGATIVE + filler)[1] == Sentiment.NEGATIVE


def test_the_analyzer_is_built_once():
    sentiment.score("fine")
    analyzer = sentiment._analyzer

    sentiment.score("great")

    assert analyzer is not None and sentiment._analyzer is analyzer


def received(channel, *mails: bytes) -> list[int]:
    return [
        payload_receive(channel=channel, raw=raw, queue_parse=False, now=NOW)[0].pk for raw in mails
    ]


@pytest.mark.django_db
def test_parsed_mail_is_scored_after_the_commit_not_inside_the_parse(
    django_capture_on_commit_callbacks,
):
    channel = ChannelFactory(address=SUPPORT_ADDRESS)
    ids = received(
        channel,
        make_mail(message_id="a@x.example", body=NEGATIVE),
        make_mail(message_id="b@x.example", body=POSITIVE, subject="Other"),
    )

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        payloads_parse(payload_ids=ids, now=NOW)

    # Nothing scored inside the parse; one task queued for the chunk.
    assert set(Message.objects.values_list("sentiment", "sentiment_score")) == {("", None)}
    queued = [c for c in callbacks if c.__qualname__.startswith("sentiment_queue")]
    assert len(queued) == 1
    for callback in queued:
        callback()
    assert dict(Message.objects.values_list("external_id", "sentiment")) == {
        "a@x.example": Sentiment.NEGATIVE,
        "b@x.example": Sentiment.POSITIVE,
    }
    assert set(FeedbackItem.objects.values_list("sentiment", flat=True)) == {
        Sentiment.NEGATIVE,
        Sentiment.POSITIVE,
    }


@pytest.mark.django_db
def test_an_items_sentiment_is_its_latest_inbound_customer_messages(
    django_capture_on_commit_callbacks,
):
    channel = ChannelFactory(address=SUPPORT_ADDRESS)

    def parse(*mails: bytes) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            payloads_parse(payload_ids=received(channel, *mails), now=NOW)

    parse(make_mail(message_id="first@x.example", body=NEGATIVE))
    item = FeedbackItem.objects.get()
    assert item.sentiment == Sentiment.NEGATIVE
    # A later reply: the item follows it.
    parse(
        make_mail(
            message_id="later@x.example",
            in_reply_to="first@x.example",
            body=POSITIVE,
            date=SENT + timedelta(hours=2),
        )
    )
    item.refresh_from_db()
    assert (item.sentiment, item.sentiment_score) == (
        Sentiment.POSITIVE,
        Message.objects.get(external_id="later@x.example").sentiment_score,
    )
    # A mail written in between but arriving last, and our own copy after it: neither is the
    # latest inbound customer message.
    parse(
        make_mail(
            message_id="between@x.example",
            in_reply_to="first@x.example",
            body=NEGATIVE,
            date=SENT + timedelta(hours=1),
        ),
        make_mail(
            message_id="ours@x.example",
            sender=f"Support <{SUPPORT_ADDRESS}>",
            to="omar@haddad.example",
            in_reply_to="later@x.example",
            body="We are sorry, this is terrible.",
            date=SENT + timedelta(hours=3),
        ),
    )

    item.refresh_from_db()
    assert item.sentiment == Sentiment.POSITIVE
    ours = Message.objects.get(external_id="ours@x.example")
    assert (ours.direction, ours.item_id, ours.sentiment, ours.sentiment_score) == (
        Direction.OUT,
        item.pk,
        "",
        None,
    )
    assert Message.objects.get(external_id="between@x.example").sentiment == Sentiment.NEGATIVE


@pytest.mark.django_db
def test_machine_mail_is_not_scored(django_capture_on_commit_callbacks):
    channel = ChannelFactory(address=SUPPORT_ADDRESS)
    auto_reply = make_mail(
        message_id="auto@x.example",
        body="I am out of the office, terrible timing.",
        headers={"Auto-Submitted": "auto-replied"},
    )

    with django_capture_on_commit_callbacks(execute=True):
        payloads_parse(payload_ids=received(channel, auto_reply), now=NOW)

    message = Message.objects.get()
    assert message.lane != Lane.CUSTOMER
    assert (message.sentiment, message.sentiment_score) == ("", None)


@pytest.mark.django_db
def test_an_item_pushed_through_the_api_is_scored(django_capture_on_commit_callbacks):
    team = ChannelFactory().team

    with django_capture_on_commit_callbacks(execute=True):
        item, created = item_ingest(
            actor=SYSTEM, team=team, customer_email="ann@example.test", text=NEGATIVE
        )

    item.refresh_from_db()
    assert created
    assert item.sentiment == Sentiment.NEGATIVE
    assert item.messages.get().sentiment == Sentiment.NEGATIVE


@pytest.mark.django_db
def test_a_pushed_item_with_only_a_subject_is_scored_by_its_subject(
    django_capture_on_commit_callbacks,
):
    team = ChannelFactory().team

    with django_capture_on_commit_callbacks(execute=True):
        item, _ = item_ingest(
            actor=SYSTEM, team=team, customer_email="ann@example.test", subject=POSITIVE
        )

    item.refresh_from_db()
    assert item.sentiment == Sentiment.POSITIVE


@pytest.mark.django_db
def test_imported_rows_are_scored_in_one_task(django_capture_on_commit_callbacks):
    team = ChannelFactory().team
    rows = [
        ItemRow(line=1, team=team, customer_email="ann@example.test", text=POSITIVE),
        ItemRow(line=2, team=team, customer_email="bo@example.test", text=NEGATIVE),
    ]

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = items_import_rows(actor=SYSTEM, rows=rows, now=NOW)

    assert result.created == 2
    assert len([c for c in callbacks if c.__qualname__.startswith("sentiment_queue")]) == 1
    assert dict(FeedbackItem.objects.values_list("customer__email", "sentiment")) == {
        "ann@example.test": Sentiment.POSITIVE,
        "bo@example.test": Sentiment.NEGATIVE,
    }


@pytest.mark.django_db
def test_the_task_is_idempotent_and_backfills_every_unscored_message():
    item = FeedbackItemFactory()
    older = MessageFactory(item=item, text=POSITIVE, sent_at=SENT)
    latest = MessageFactory(item=item, text=NEGATIVE, sent_at=SENT + timedelta(hours=1))
    outbound = MessageFactory(item=item, text=POSITIVE, direction=Direction.OUT)
    other = MessageFactory(text=NEUTRAL)

    assert score_sentiment.delay().get() == 3
    values = list(Message.objects.order_by("pk").values_list("sentiment", "sentiment_score"))
    item_values = list(
        FeedbackItem.objects.order_by("pk").values_list("sentiment", "sentiment_score")
    )

    assert score_sentiment.delay([older.pk, latest.pk, outbound.pk, other.pk]).get() == 3
    assert score_sentiment.delay().get() == 0
    assert (
        list(Message.objects.order_by("pk").values_list("sentiment", "sentiment_score")) == values
    )
    assert (
        list(FeedbackItem.objects.order_by("pk").values_list("sentiment", "sentiment_score"))
        == item_values
    )
    item.refresh_from_db()
    latest.refresh_from_db()
    assert (item.sentiment, item.sentiment_score) == (Sentiment.NEGATIVE, latest.sentiment_score)
    outbound.refresh_from_db()
    assert outbound.sentiment == ""
    other.refresh_from_db()
    assert other.sentiment == Sentiment.NEUTRAL
    assert other.item.sentiment == Sentiment.NEUTRAL


@pytest.mark.django_db
def test_the_operator_command_scores_what_is_unscored():
    from io import StringIO

    from django.core.management import call_command

    from feedback.management.commands.score_sentiment import SCORED

    message = MessageFactory(text=NEGATIVE)
    out = StringIO()

    call_command("score_sentiment", stdout=out)
    call_command("score_sentiment", stdout=out)

    assert out.getvalue().splitlines() == [SCORED.format(count=1), SCORED.format(count=0)]
    message.refresh_from_db()
    assert (message.sentiment, message.item.sentiment) == (Sentiment.NEGATIVE, Sentiment.NEGATIVE)
