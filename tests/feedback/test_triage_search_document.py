"""The search document (feedback.services.search_document) kept by every write that stores
message texts: mail parsed alone and a chunk at a time, pushed and imported items, merges; and
a customer's new message ending a snooze."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feedback.models import MAX_SEARCH_DOCUMENT, Direction, FeedbackItem, Lane
from feedback.services import (
    ItemRow,
    item_ingest,
    item_search_document_refresh,
    item_update,
    items_import_rows,
    payload_parse,
    payload_receive,
    payloads_parse,
)
from feedback.services.merging import item_merge
from feedback.services.search_document import search_document_of
from tests.feedback.factories import (
    SUPPORT_ADDRESS,
    ChannelFactory,
    FeedbackItemFactory,
    MessageFactory,
    make_mail,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def channel(world):
    return ChannelFactory(team=world.team_a, address=SUPPORT_ADDRESS)


def receive(channel, raw: bytes):
    payload, _ = payload_receive(channel=channel, raw=raw, queue_parse=False, now=NOW)
    return payload


def document(item_id: int) -> str:
    return FeedbackItem.objects.get(pk=item_id).search_document


def test_a_parsed_mail_and_the_customers_answer_make_the_document(channel):
    first = payload_parse(payload=receive(channel, make_mail(message_id="a@x", body="Invoices")))
    payload_parse(
        payload=receive(
            channel, make_mail(message_id="b@x", in_reply_to="a@x", body="Still broken")
        )
    )

    assert document(first.message.item_id) == "The coffee machine leaks\nInvoices\nStill broken"


def test_a_chunk_refreshes_its_items_documents_in_one_update(channel):
    payloads = [
        receive(channel, make_mail(message_id=f"m{n}@x", subject=f"Subject {n}", body=f"Text {n}"))
        for n in range(5)
    ]
    reply = receive(channel, make_mail(message_id="r@x", in_reply_to="m0@x", body="More"))

    with CaptureQueriesContext(connection) as queries:
        outcomes = payloads_parse(payload_ids=[p.pk for p in [*payloads, reply]], now=NOW)

    updates = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith('UPDATE "feedback_feedbackitem"')
        and "search_document" in query["sql"]
    ]
    assert len(updates) == 1
    assert document(outcomes[0].message.item_id) == "Subject 0\nText 0\nMore"
    assert document(outcomes[3].message.item_id) == "Subject 3\nText 3"


def test_pushed_and_imported_items_have_their_document(world):
    pushed, _ = item_ingest(
        actor=world.agent_a,
        team=world.team_a,
        customer_email="ann@example.test",
        subject="Export",
        text="The export times out",
    )
    items_import_rows(
        actor=world.agent_a,
        rows=[
            ItemRow(
                line=2,
                team=world.team_a,
                customer_email="bo@example.test",
                subject="Imported",
                text="From a file",
            )
        ],
    )

    assert document(pushed.pk) == "Export\nThe export times out"
    assert FeedbackItem.objects.get(subject="Imported").search_document == "Imported\nFrom a file"


def test_notes_and_machine_mail_stay_out_and_our_replies_go_in(world):
    item = FeedbackItemFactory(team=world.team_a, subject="Login")
    MessageFactory(item=item, text="Cannot log in", sent_at=NOW)
    MessageFactory(item=item, text="Reset link sent", direction=Direction.OUT, sent_at=NOW)
    MessageFactory(item=item, text="Customer is angry", is_note=True, sent_at=NOW)
    MessageFactory(item=item, text="Out of office", lane=Lane.AUTO_REPLY, sent_at=NOW)

    assert item_search_document_refresh([item.pk, None, 999999]) == 1

    assert document(item.pk) == "Login\nCannot log in\nReset link sent"


def test_the_document_is_capped():
    long_text = "word " * MAX_SEARCH_DOCUMENT

    built = search_document_of("Subject", [long_text, "never reached"])

    assert len(built) == MAX_SEARCH_DOCUMENT
    assert built.startswith("Subject\nword")


def test_a_merged_item_searches_both_conversations(world):
    into = FeedbackItemFactory(team=world.team_a, subject="Billing")
    source = FeedbackItemFactory(team=world.team_a, subject="Invoice")
    MessageFactory(item=into, text="Charged twice", sent_at=NOW)
    MessageFactory(item=source, text="Refund please", sent_at=NOW + timedelta(hours=1))

    item_merge(actor=world.agent_a, source=source, into=into)

    assert document(into.pk) == "Billing\nCharged twice\nRefund please"


@pytest.mark.parametrize("chunked", [False, True])
def test_a_customers_new_message_ends_a_snooze(world, channel, chunked):
    first = payload_parse(payload=receive(channel, make_mail(message_id="s@x")))
    item = FeedbackItem.objects.get(pk=first.message.item_id)
    item_update(
        actor=world.agent_a,
        item=item,
        status="waiting",
        snoozed_until=NOW + timedelta(days=2),
        now=NOW,
    )

    answer = receive(channel, make_mail(message_id="t@x", in_reply_to="s@x", body="Any news?"))
    if chunked:
        payloads_parse(payload_ids=[answer.pk], now=NOW)
    else:
        payload_parse(payload=answer, now=NOW)

    stored = FeedbackItem.objects.get(pk=item.pk)
    assert (stored.snoozed_until, stored.status) == (None, "open")


def test_machine_mail_leaves_a_snooze_alone(world, channel):
    first = payload_parse(payload=receive(channel, make_mail(message_id="u@x")))
    item = FeedbackItem.objects.get(pk=first.message.item_id)
    later = NOW + timedelta(days=2)
    item_update(actor=world.agent_a, item=item, snoozed_until=later, now=NOW)

    payload_parse(
        payload=receive(
            channel,
            make_mail(
                message_id="v@x",
                in_reply_to="u@x",
                subject="Automatic reply: out of office",
                headers={"Auto-Submitted": "auto-replied"},
            ),
        )
    )

    assert FeedbackItem.objects.get(pk=item.pk).snoozed_until == later


def test_a_customers_answer_on_a_resolved_item_clears_resolved_at(world, channel):
    first = payload_parse(payload=receive(channel, make_mail(message_id="w@x")))
    item = FeedbackItem.objects.get(pk=first.message.item_id)
    item_update(actor=world.agent_a, item=item, status="resolved", now=NOW)

    payload_parse(payload=receive(channel, make_mail(message_id="y@x", in_reply_to="w@x")))

    stored = FeedbackItem.objects.get(pk=item.pk)
    assert (stored.status, stored.resolved_at) == ("open", None)


def test_a_resolved_item_reopened_by_a_merge_loses_resolved_at(world):
    into = FeedbackItemFactory(team=world.team_a, status="open")
    item_update(actor=world.agent_a, item=into, status="resolved", now=NOW)
    source = FeedbackItemFactory(team=world.team_a, status="new")

    merged = item_merge(actor=world.agent_a, source=source, into=into)

    assert (merged.status, merged.resolved_at) == ("open", None)
