"""``payloads_parse`` stores a chunk of payloads in one transaction (feedback/services/parsing/):
a refused message rolls its chunk back and the chunk is parsed again one payload at a time, so
the outcome is the one payload-by-payload parsing gives; within a chunk each sender and each
account domain is looked up once."""

from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from django.db import DataError, connection
from django.test.utils import CaptureQueriesContext

from feedback.models import (
    FeedbackItem,
    Message,
    PayloadStatus,
    Quarantine,
    QuarantineStatus,
    RawPayload,
    ThreadReason,
)
from feedback.services import STORE_FAILED, parsing, payload_receive, payloads_parse
from portal import events
from portal.models import AccountDomain, AuditEntry, Customer
from tests.factories import AccountFactory
from tests.feedback.factories import SUPPORT_ADDRESS, ChannelFactory, make_mail

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
REFUSAL = "value too long for type character varying(255)"


@pytest.fixture
def channel():
    return ChannelFactory(address=SUPPORT_ADDRESS)


def stored(channel, *mails: bytes) -> list[int]:
    return [
        payload_receive(channel=channel, raw=raw, queue_parse=False, now=NOW)[0].pk for raw in mails
    ]


def refuse(monkeypatch, message_id: str) -> None:
    original = parsing.store._attachments

    def refused(message, parsed, names, chunk=None):
        if parsed.message_id == message_id:
            raise DataError(REFUSAL)
        original(message, parsed, names, chunk)

    monkeypatch.setattr(parsing.store, "_attachments", refused)


def test_a_refused_message_in_a_chunk_is_quarantined_and_the_rest_stored_once(
    channel, monkeypatch, django_capture_on_commit_callbacks
):
    refuse(monkeypatch, "bad@x.example")
    ids = stored(
        channel,
        make_mail(message_id="one@x.example", subject="One"),
        make_mail(message_id="bad@x.example", subject="Bad"),
        make_mail(message_id="two@x.example", subject="Two"),
    )
    created = []
    handler = created.append
    events.register("feedback.item_created", handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            outcomes = payloads_parse(payload_ids=ids, now=NOW)
    finally:
        events.unregister("feedback.item_created", handler)

    assert [outcome.payload.pk for outcome in outcomes] == ids
    assert [outcome.created for outcome in outcomes] == [True, False, True]
    assert outcomes[1].quarantine.error == STORE_FAILED.format(error=f"DataError: {REFUSAL}")
    assert outcomes[1].payload.status == PayloadStatus.QUARANTINED
    assert sorted(Message.objects.values_list("external_id", flat=True)) == [
        "one@x.example",
        "two@x.example",
    ]
    # The first attempt at the chunk left nothing behind: one customer, created (and audited)
    # once, two items, and an event for each of them only.
    assert Customer.objects.count() == 1
    assert AuditEntry.objects.filter(action="customer.created").count() == 1
    items = set(FeedbackItem.objects.values_list("pk", flat=True))
    assert len(items) == 2
    assert sorted(event["item_id"] for event in created) == sorted(items)


def test_payloads_parsed_before_are_left_as_they_are_in_a_chunk(channel):
    ids = stored(channel, make_mail(message_id="a@x.example"), make_mail(message_id="b@x.example"))
    first = payloads_parse(payload_ids=ids[:1], now=NOW)

    again = payloads_parse(payload_ids=ids, now=NOW)

    assert [outcome.created for outcome in again] == [False, True]
    assert again[0].message == first[0].message
    assert Message.objects.count() == 2


def test_a_payload_left_pending_with_an_open_quarantine_leaves_it_when_a_chunk_parses_it(
    channel, monkeypatch
):
    ids = stored(channel, make_mail(message_id="q@x.example"), make_mail(message_id="n@x.example"))
    monkeypatch.setattr(parsing, "parse_message", lambda raw, *, received_at: 1 / 0)
    quarantined = payloads_parse(payload_ids=ids[:1], now=NOW)[0].quarantine
    monkeypatch.undo()
    # The sweeper's case: a retry set the payload pending again and its worker died.
    RawPayload.objects.filter(pk=ids[0]).update(status=PayloadStatus.PENDING)

    outcomes = payloads_parse(payload_ids=ids, now=NOW)

    assert [outcome.created for outcome in outcomes] == [True, True]
    quarantined.refresh_from_db()
    assert (quarantined.status, quarantined.closed_at) == (QuarantineStatus.RESOLVED, NOW)
    assert Quarantine.objects.count() == 1
    assert set(RawPayload.objects.values_list("status", "parsed_at")) == {
        (PayloadStatus.PARSED, NOW)
    }


def test_one_sender_and_one_domain_are_looked_up_once_a_chunk(channel):
    account = AccountFactory()
    AccountDomain.objects.create(account=account, domain="northwind.example")
    ids = stored(
        channel,
        make_mail(message_id="1@x.example", subject="1", sender="Ann <ann@northwind.example>"),
        make_mail(message_id="2@x.example", subject="2", sender="Ann <ann@northwind.example>"),
        make_mail(message_id="3@x.example", subject="3", sender="Bo <bo@northwind.example>"),
        make_mail(message_id="4@x.example", subject="4", sender="Ann <ann@northwind.example>"),
    )

    with CaptureQueriesContext(connection) as captured:
        outcomes = payloads_parse(payload_ids=ids, now=NOW)

    statements = [query["sql"] for query in captured.captured_queries]
    # The chunk's senders are looked up in one statement before anything is stored (main and
    # further addresses in one UNION), and the new ones created together at the chunk's end:
    # four customer reads in all, however many senders (was four for these two senders).
    first_insert = next(i for i, sql in enumerate(statements) if sql.startswith("INSERT"))
    assert sum('FROM "portal_customer' in sql for sql in statements[:first_insert]) == 1
    assert sum('FROM "portal_customer"' in sql for sql in statements) <= 4
    assert sum(sql.startswith('INSERT INTO "portal_customer"') for sql in statements) == 1
    assert sum('FROM "portal_accountdomain"' in sql for sql in statements) == 1
    # The four payloads are marked parsed in one statement, before the chunk's commit.
    assert sum(sql.startswith('UPDATE "feedback_rawpayload"') for sql in statements) == 1
    customers = [outcome.message.item.customer for outcome in outcomes]
    assert [customer.email for customer in customers] == [
        "ann@northwind.example",
        "ann@northwind.example",
        "bo@northwind.example",
        "ann@northwind.example",
    ]
    assert {customer.account for customer in customers} == {account}
    assert Customer.objects.count() == 2


def test_a_mail_stored_before_or_twice_in_a_chunk_is_one_message(channel):
    before = stored(channel, make_mail(message_id="old@x.example", subject="Old"))
    payloads_parse(payload_ids=before, now=NOW)
    other_channel = ChannelFactory(team=channel.team, address="sales@acme.example")
    twice = make_mail(message_id="twice@x.example", subject="Twice")
    # Redelivered: other transport headers, the same mail.
    again = make_mail(message_id="old@x.example", subject="Old", received=["from relay.example"])
    ids = stored(channel, twice, again)
    ids += stored(other_channel, twice)

    with CaptureQueriesContext(connection) as captured:
        outcomes = payloads_parse(payload_ids=ids, now=NOW)

    assert [outcome.created for outcome in outcomes] == [True, False, False]
    assert outcomes[1].message == Message.objects.get(external_id="old@x.example")
    assert outcomes[2].message == outcomes[0].message
    assert Message.objects.count() == 2
    # The identities already stored are read once for the chunk, not once a mail.
    identity_reads = [
        query["sql"]
        for query in captured.captured_queries
        if query["sql"].startswith('SELECT "feedback_message"."team_id"')
    ]
    assert len(identity_reads) == 1


def with_attachment(message_id: str, content: bytes) -> bytes:
    mail = EmailMessage()
    mail["From"] = "Ann <ann@northwind.example>"
    mail["To"] = SUPPORT_ADDRESS
    mail["Subject"] = "The invoice"
    mail["Date"] = "Wed, 04 Mar 2026 10:00:00 +0000"
    mail["Message-ID"] = f"<{message_id}>"
    mail.set_content("The invoice is attached.")
    mail.add_attachment(content, maintype="application", subtype="pdf", filename="invoice.pdf")
    return bytes(mail)


def test_a_chunk_inserts_its_messages_together_and_a_reply_still_finds_its_item(
    channel, django_capture_on_commit_callbacks
):
    ids = stored(
        channel,
        with_attachment("invoice@x.example", b"%PDF-1.4 one"),
        make_mail(message_id="other@x.example", subject="Other"),
        make_mail(
            message_id="reply@x.example",
            subject="Re: The invoice",
            sender="Ann <ann@northwind.example>",
            in_reply_to="invoice@x.example",
        ),
        make_mail(message_id="last@x.example", subject="Last"),
    )
    received = []
    handler = received.append
    events.register("feedback.message_received", handler)
    try:
        with (
            CaptureQueriesContext(connection) as captured,
            django_capture_on_commit_callbacks(execute=True),
        ):
            outcomes = payloads_parse(payload_ids=ids, now=NOW)
    finally:
        events.unregister("feedback.message_received", handler)

    invoice, other, reply, last = (outcome.message for outcome in outcomes)
    # The reply threads to the item of a mail the chunk has not inserted yet (the chunk's
    # thread index): one INSERT for the four messages, at the chunk's end.
    inserts = [
        query["sql"]
        for query in captured.captured_queries
        if query["sql"].startswith('INSERT INTO "feedback_message"')
    ]
    assert len(inserts) == 1
    assert reply.item == invoice.item
    assert reply.thread_reason == ThreadReason.IN_REPLY_TO
    assert other.item != invoice.item
    assert list(invoice.attachments.values_list("filename", flat=True)) == ["invoice.pdf"]
    # Announced once they have their ids, in the order they came.
    message_ids = [invoice.pk, other.pk, reply.pk, last.pk]
    assert [event["message_id"] for event in received] == message_ids
    assert [outcome.payload.message_id for outcome in outcomes] == message_ids
    assert dict(RawPayload.objects.filter(pk__in=ids).values_list("pk", "message_id")) == dict(
        zip(ids, message_ids, strict=True)
    )


def test_a_chunk_inserts_its_new_items_together_and_a_reply_moves_its_new_item(
    channel, django_capture_on_commit_callbacks
):
    later = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
    ids = stored(
        channel,
        make_mail(message_id="first@x.example", subject="First"),
        make_mail(message_id="second@x.example", subject="Second"),
        make_mail(
            message_id="answer@x.example",
            subject="Re: First",
            in_reply_to="first@x.example",
            date=later,
        ),
    )
    created = []
    handler = created.append
    events.register("feedback.item_created", handler)
    try:
        with (
            CaptureQueriesContext(connection) as captured,
            django_capture_on_commit_callbacks(execute=True),
        ):
            first, second, answer = (
                outcome.message for outcome in payloads_parse(payload_ids=ids, now=NOW)
            )
    finally:
        events.unregister("feedback.item_created", handler)

    # One INSERT for the chunk's two new items, and no lock or UPDATE for the reply to one of
    # them: it only moves the new item's last message time before the insert.
    statements = [query["sql"] for query in captured.captured_queries]
    assert sum(sql.startswith('INSERT INTO "feedback_feedbackitem"') for sql in statements) == 1
    assert not any(
        sql.startswith('UPDATE "feedback_feedbackitem"') and '"status"' in sql for sql in statements
    )
    assert answer.item == first.item
    assert answer.thread_reason == ThreadReason.IN_REPLY_TO
    item = FeedbackItem.objects.get(pk=first.item_id)
    assert item.status == "new"
    assert item.last_message_at == later
    assert item.first_message_at < later
    # Ids in the order the items were opened, announced in that order.
    assert first.item_id < second.item_id
    assert [event["item_id"] for event in created] == [first.item_id, second.item_id]
    assert FeedbackItem.objects.count() == 2
