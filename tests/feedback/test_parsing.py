"""Parsing stored payloads into items and messages (feedback/services/parsing/), from pushed
payloads, without a mail server: the identity rules, reopening, copies of our own mail, events,
and every way a payload ends in quarantine instead of crashing the batch."""

import re
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feedback.models import (
    Direction,
    FeedbackItem,
    ItemStatus,
    Message,
    PayloadStatus,
    ThreadReason,
)
from feedback.services import (
    PARSER_FAILED,
    PAYLOAD_FILE_MISSING,
    STORE_FAILED,
    payload_parse,
    payload_receive,
    payloads_parse,
)
from feedback.tokens import item_id_from_token, reply_address, reply_token
from portal import events
from tests.feedback.factories import (
    SENT,
    SUPPORT_ADDRESS,
    ChannelFactory,
    MessageFactory,
    make_mail,
)
from tests.feedback.ingestion import fixture_mail

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def receive(channel, raw: bytes):
    payload, _ = payload_receive(channel=channel, raw=raw, queue_parse=False, now=NOW)
    return payload_parse(payload=payload, now=NOW)


@pytest.fixture
def channel():
    return ChannelFactory(address=SUPPORT_ADDRESS)


def test_parsing_a_payload_twice_stores_one_message(channel):
    payload, _ = payload_receive(
        channel=channel, raw=make_mail(message_id="x@x.example"), queue_parse=False
    )

    first = payload_parse(payload=payload, now=NOW)
    second = payload_parse(payload=payload, now=NOW)

    assert (first.created, second.created) == (True, False)
    assert second.message == first.message
    assert Message.objects.count() == 1


def test_a_mail_without_a_message_id_is_identified_by_its_content(channel):
    receive(channel, make_mail(message_id=None, body="First"))
    receive(channel, make_mail(message_id=None, body="First", received=["from a by b; x"]))
    receive(channel, make_mail(message_id=None, body="Second"))

    assert sorted(Message.objects.values_list("text", flat=True)) == ["First", "Second"]
    assert set(Message.objects.values_list("external_id", flat=True)) == {""}


def test_a_customers_reply_reopens_a_resolved_item_and_moves_its_last_message_time(channel):
    first = receive(channel, make_mail(message_id="start@x.example")).message
    FeedbackItem.objects.filter(pk=first.item_id).update(status=ItemStatus.RESOLVED)
    later = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)

    reply = receive(
        channel,
        make_mail(message_id="again@x.example", in_reply_to="start@x.example", date=later),
    ).message

    item = FeedbackItem.objects.get(pk=first.item_id)
    assert reply.item_id == item.pk
    assert (item.status, item.last_message_at) == (ItemStatus.OPEN, later)


def test_a_chunks_replies_to_stored_items_move_and_reopen_them_in_two_statements(
    channel, django_capture_on_commit_callbacks
):
    resolved = receive(channel, make_mail(message_id="a@x.example")).message.item
    snoozed = receive(channel, make_mail(message_id="b@x.example")).message.item
    FeedbackItem.objects.filter(pk=resolved.pk).update(status=ItemStatus.RESOLVED, resolved_at=NOW)
    FeedbackItem.objects.filter(pk=snoozed.pk).update(status=ItemStatus.OPEN, snoozed_until=NOW)
    early, late = datetime(2026, 3, 1, 8, 0, tzinfo=UTC), datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    replies = [
        make_mail(message_id="r1@x.example", in_reply_to="a@x.example", date=early),
        make_mail(message_id="r2@x.example", in_reply_to="a@x.example", date=late),
        make_mail(message_id="r3@x.example", in_reply_to="b@x.example", date=late),
    ]
    ids = [
        payload_receive(channel=channel, raw=raw, queue_parse=False, now=NOW)[0].pk
        for raw in replies
    ]
    seen = []
    events.register("feedback.item_reopened", seen.append)

    try:
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
        ):
            payloads_parse(payload_ids=ids, now=NOW)
    finally:
        events.unregister("feedback.item_reopened", seen.append)

    resolved.refresh_from_db()
    snoozed.refresh_from_db()
    assert (resolved.status, resolved.resolved_at) == (ItemStatus.OPEN, None)
    assert (resolved.first_message_at, resolved.last_message_at) == (early, late)
    assert (snoozed.status, snoozed.snoozed_until) == (ItemStatus.OPEN, None)
    # Reopened once, however many of the chunk's mails answered it.
    assert seen == [{"item_id": resolved.pk}]
    item_writes = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith(('UPDATE "feedback_feedbackitem" SET "first_message_at"',
                                    'UPDATE "feedback_feedbackitem" SET "last_message_at"',
                                    'UPDATE "feedback_feedbackitem" SET "resolved_at"',
                                    'UPDATE "feedback_feedbackitem" SET "snoozed_until"',
                                    'UPDATE "feedback_feedbackitem" SET "status"'))
    ]  # fmt: skip
    # Read (and on PostgreSQL locked) together: the items the chunk's replies answer, by id.
    locks = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith('SELECT "feedback_feedbackitem"."id", "feedback_feedbackitem"')
        and 'WHERE "feedback_feedbackitem"."id" IN (' in query["sql"]
    ]
    assert (len(item_writes), len(locks)) == (1, 1)


def test_a_reply_on_a_spam_item_leaves_it_spam(channel):
    first = receive(channel, make_mail(message_id="spam@x.example")).message
    FeedbackItem.objects.filter(pk=first.item_id).update(status=ItemStatus.SPAM)

    receive(channel, make_mail(message_id="more@x.example", in_reply_to="spam@x.example"))

    assert FeedbackItem.objects.get(pk=first.item_id).status == ItemStatus.SPAM


def test_a_copy_of_our_own_mail_is_outbound_and_opens_no_item(channel):
    outcome = receive(
        channel,
        make_mail(message_id="ours@example.test", sender=f"ACME <{SUPPORT_ADDRESS}>", to="a@b.c"),
    )

    assert (outcome.message.direction, outcome.message.item) == (Direction.OUT, None)
    assert not FeedbackItem.objects.exists()


def test_a_copy_of_our_reply_joins_its_item_and_leaves_its_status(channel):
    start = receive(channel, make_mail(message_id="start@x.example")).message
    FeedbackItem.objects.filter(pk=start.item_id).update(status=ItemStatus.WAITING)

    copy = receive(
        channel,
        make_mail(
            message_id="our-reply@example.test",
            sender=SUPPORT_ADDRESS,
            in_reply_to="start@x.example",
        ),
    ).message

    assert (copy.item_id, copy.direction) == (start.item_id, Direction.OUT)
    assert FeedbackItem.objects.get(pk=start.item_id).status == ItemStatus.WAITING


def test_a_copy_of_our_reply_is_the_items_first_response(channel):
    # An agent answered from a mail client and the mailbox read the copy back: the SLA's first
    # response is met however the answer was sent; an earlier answer stays the first.
    start = receive(channel, make_mail(message_id="start@x.example")).message
    answered = datetime(2026, 3, 3, 11, 0, tzinfo=UTC)

    for message_id, date in (("ours-2@example.test", answered), ("ours-1@example.test", SENT)):
        raw = make_mail(
            message_id=message_id, sender=SUPPORT_ADDRESS, in_reply_to="start@x.example", date=date
        )
        receive(channel, raw)

    item = FeedbackItem.objects.get(pk=start.item_id)
    assert item.first_responded_at == SENT
    assert item.status == ItemStatus.NEW


def test_a_chunks_copies_of_our_replies_answer_their_items_with_the_reopened_ones(channel):
    first = receive(channel, make_mail(message_id="one@x.example")).message.item
    second = receive(channel, make_mail(message_id="two@x.example")).message.item
    mails = [
        make_mail(message_id="our-1@example.test", sender=SUPPORT_ADDRESS,
                  in_reply_to="one@x.example", date=datetime(2026, 3, 3, 12, 0, tzinfo=UTC)),
        make_mail(message_id="r@x.example", in_reply_to="two@x.example"),
        # A new customer mail and our answer to it, in one chunk: the item is inserted with
        # its first response.
        make_mail(message_id="three@x.example"),
        make_mail(message_id="our-3@example.test", sender=SUPPORT_ADDRESS,
                  in_reply_to="three@x.example", date=datetime(2026, 3, 3, 13, 0, tzinfo=UTC)),
    ]  # fmt: skip
    ids = [
        payload_receive(channel=channel, raw=raw, queue_parse=False, now=NOW)[0].pk for raw in mails
    ]

    payloads_parse(payload_ids=ids, now=NOW)

    first.refresh_from_db()
    second.refresh_from_db()
    third = Message.objects.get(external_id="three@x.example").item
    assert first.first_responded_at == datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    assert second.first_responded_at is None
    assert third.first_responded_at == datetime(2026, 3, 3, 13, 0, tzinfo=UTC)


def test_the_reply_token_of_another_teams_item_threads_nothing(channel):
    foreign = MessageFactory()
    raw = make_mail(message_id="t@x.example", to=reply_address(SUPPORT_ADDRESS, foreign.item_id))

    message = receive(channel, raw).message

    assert message.thread_reason == ThreadReason.NEW
    assert message.item_id != foreign.item_id


def test_reply_tokens_are_signed_item_ids_usable_in_an_address():
    token = reply_token(42)

    assert item_id_from_token(token) == 42
    assert item_id_from_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert item_id_from_token("42") is None
    assert reply_address("support+old@example.com", 42) == f"support+{token}@example.com"
    assert ":" not in token


def test_a_sender_who_cannot_be_a_customer_still_opens_an_item(channel):
    message = receive(
        channel, make_mail(message_id="nobody@x.example", sender="undisclosed-recipients:;")
    ).message

    assert message.item.customer is None
    assert message.thread_reason == ThreadReason.NEW


def test_events_say_what_arrived_and_machine_mail_never_counts_as_received(
    channel, django_capture_on_commit_callbacks
):
    seen = []
    names = ("feedback.item_created", "feedback.message_received", "feedback.machine_mail_received")
    handlers = {name: (lambda payload, name=name: seen.append((name, payload))) for name in names}
    for name, handler in handlers.items():
        events.register(name, handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            customer = receive(channel, make_mail(message_id="c@x.example")).message
            machine = receive(channel, fixture_mail("dsn_bounce.eml")).message
    finally:
        for name, handler in handlers.items():
            events.unregister(name, handler)

    assert seen == [
        ("feedback.item_created", {"item_id": customer.item_id}),
        (
            "feedback.message_received",
            {"message_id": customer.pk, "item_id": customer.item_id},
        ),
        ("feedback.machine_mail_received", {"message_id": machine.pk, "lane": "bounce"}),
    ]


def test_text_with_nul_characters_is_stored_without_them(channel):
    message = receive(channel, make_mail(message_id="nul@x.example", body="a\x00b")).message

    assert "\x00" not in message.text


# --- quarantine -----------------------------------------------------------------------------


def test_a_parser_bug_quarantines_the_payload_instead_of_raising(channel, monkeypatch):
    def broken(raw, *, received_at):
        raise RuntimeError("unexpected")

    monkeypatch.setattr("feedback.services.parsing.parse_message", broken)

    outcome = receive(channel, make_mail(message_id="bug@x.example"))

    assert outcome.message is None
    assert outcome.quarantine.error == PARSER_FAILED.format(error="RuntimeError: unexpected")
    assert outcome.payload.status == PayloadStatus.QUARANTINED


def test_a_payload_whose_file_is_gone_is_quarantined(channel, settings):
    payload, _ = payload_receive(
        channel=channel, raw=b"From: a@b.example\r\n\r\nx", queue_parse=False
    )
    (settings.MEDIA_ROOT / payload.file.name).unlink()

    outcome = payload_parse(payload=payload, now=NOW)

    assert outcome.quarantine.error == PAYLOAD_FILE_MISSING.format(name=payload.file.name)


def test_a_message_the_database_refuses_is_quarantined_whole_and_the_next_one_is_stored(
    channel, monkeypatch
):
    from django.db import DataError

    from feedback.services import parsing

    original = parsing.store._attachments

    def refused(message, parsed, names, chunk=None):
        if parsed.message_id == "bad@x.example":
            raise DataError("value too long for type character varying(255)")
        original(message, parsed, names, chunk)

    monkeypatch.setattr(parsing.store, "_attachments", refused)

    bad = receive(channel, make_mail(message_id="bad@x.example"))
    good = receive(channel, make_mail(message_id="good@x.example"))

    assert bad.quarantine.error == STORE_FAILED.format(
        error="DataError: value too long for type character varying(255)"
    )
    # Nothing of the refused message stays: neither its message nor its item.
    assert list(Message.objects.values_list("external_id", flat=True)) == ["good@x.example"]
    assert FeedbackItem.objects.count() == 1
    assert good.created


def test_a_date_before_1970_is_not_believed_and_says_so(channel):
    # Year 1 (from a feed or a widget) once reached the inbox and failed every page west of
    # UTC that showed it; mail's parser reads "0001" as 2001, so the edge is shown here.
    raw = make_mail(message_id="old@x.example")
    raw = re.sub(rb"(?m)^Date: .*$", b"Date: Wed, 31 Dec 1969 23:59:59 +0000", raw)
    assert b"Date: Wed, 31 Dec 1969" in raw

    message = receive(channel, raw).message

    assert message.sent_at == NOW
    assert FeedbackItem.objects.get(pk=message.item_id).first_message_at == NOW
    assert "its date (1969-12-31) is before 1970; the arrival time is used" in message.defects
