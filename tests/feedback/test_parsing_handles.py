"""Parsing payloads of channels without e-mail (feedback/services/parsing/, ``mail = False``
connectors): senders found or created by handle (``CustomerIdentity``), set-based in a chunk;
a revisable message revised by a newer version instead of stored again; replies threaded by
the Message-IDs they name; malformed payloads quarantined with their bytes. Every behaviour
holds on both paths: a chunk per transaction (``payloads_parse``) and one payload per
transaction (``payload_parse``)."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feedback.models import (
    Direction,
    FeedbackItem,
    Message,
    PayloadStatus,
    Quarantine,
    RawPayload,
    Sentiment,
    ThreadReason,
)
from feedback.services import payload_parse, payload_receive, payloads_parse
from feedback.services.storage import blob_read
from portal import events
from portal.models import AccountDomain, AuditEntry, Customer, CustomerIdentity, IdentityKind
from tests.factories import AccountFactory, CustomerFactory
from tests.feedback.factories import (
    SUPPORT_ADDRESS,
    ChannelFactory,
    FeedbackItemFactory,
    make_mail,
)
from tests.feedback.fake_connector import (
    FORUM_HOST,
    FORUM_KIND,
    NOT_JSON,
    fake_forum,  # noqa: F401 (a fixture)
    forum_message_id,
    forum_post,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
ALICE = f"{FORUM_HOST}/alice"


@pytest.fixture
def channel(fake_forum):  # noqa: F811 (the fixture above)
    return ChannelFactory(kind=FORUM_KIND, address="", config={})


@pytest.fixture(params=["chunk", "single"])
def parse(request):
    """Parse payloads by ids on one of the two paths, in the order given."""

    def run(ids: list[int]):
        if request.param == "chunk":
            return payloads_parse(payload_ids=ids, now=NOW)
        return [payload_parse(payload=RawPayload.objects.get(pk=pk), now=NOW) for pk in sorted(ids)]

    return run


def stored(channel, *posts: bytes) -> list[int]:
    """Each post stored as the poll stores an item: by its post id, its bytes content-keyed."""
    import json

    ids = []
    for raw in posts:
        try:
            source_id = f"post:{json.loads(raw)['id']}"
        except (ValueError, KeyError, TypeError):
            source_id = ""
        payload, _ = payload_receive(
            channel=channel, raw=raw, source_id=source_id, queue_parse=False, now=NOW
        )
        ids.append(payload.pk)
    return ids


def test_a_new_handle_becomes_a_customer_without_email_holding_it(channel, parse):
    outcomes = parse(stored(channel, forum_post(1, username="alice", name="Alice A.")))

    message = outcomes[0].message
    customer = Customer.objects.get()
    assert (customer.email, customer.name) == ("", "Alice A.")
    identity = CustomerIdentity.objects.get()
    assert (identity.customer, identity.kind, identity.handle) == (
        customer,
        IdentityKind.DISCOURSE,
        ALICE,
    )
    assert message.item.customer == customer
    assert (message.sender, message.sender_handle, message.sender_name) == ("", ALICE, "Alice A.")
    assert message.external_url == f"https://{FORUM_HOST}/p/1"
    assert (message.direction, message.thread_reason) == (Direction.IN, ThreadReason.NEW)


def test_the_same_handle_again_is_the_same_customer(channel, parse):
    parse(stored(channel, forum_post(1, username="Alice", title="First")))
    # Handles compare by their normalised key: the forum's case is not another person.
    parse(stored(channel, forum_post(2, username="alice", title="Second")))

    assert Customer.objects.count() == 1
    assert FeedbackItem.objects.count() == 2
    assert set(FeedbackItem.objects.values_list("customer", flat=True)) == {
        Customer.objects.get().pk
    }


def test_a_chunk_creates_one_customer_per_new_handle_and_looks_handles_up_once(channel):
    known = CustomerFactory(email="bo@example.test")
    CustomerIdentity.objects.create(customer=known, kind=IdentityKind.DISCOURSE, handle=ALICE)
    ids = stored(
        channel,
        forum_post(1, username="alice"),
        forum_post(2, username="carol", name="Carol"),
        forum_post(3, username="carol", name="Carol C."),
        forum_post(4, username="dan"),
    )

    with CaptureQueriesContext(connection) as queries:
        outcomes = payloads_parse(payload_ids=ids, now=NOW)

    identity_reads = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith("SELECT") and "portal_customeridentity" in query["sql"]
    ]
    # The chunk's look-up, and the one customer_identities_ensure makes before creating.
    assert len(identity_reads) == 2
    customers = [outcome.message.item.customer for outcome in outcomes]
    assert customers[0] == known
    assert customers[1] == customers[2] != customers[3]
    assert customers[1].name == "Carol"
    assert Customer.objects.count() == 3


def test_an_unknown_handle_with_a_known_customers_address_becomes_that_customers(channel, parse):
    bo = CustomerFactory(email="bo@example.test")

    outcomes = parse(stored(channel, forum_post(1, username="bo", email="BO@example.test")))
    # Their next post without an address finds them by the handle they now hold.
    later = parse(stored(channel, forum_post(2, username="bo", title="Another")))

    assert outcomes[0].message.item.customer == bo
    assert outcomes[0].message.sender == "bo@example.test"
    assert list(bo.identities.values_list("kind", "handle")) == [
        (IdentityKind.DISCOURSE, f"{FORUM_HOST}/bo")
    ]
    assert later[0].message.item.customer == bo
    assert Customer.objects.count() == 1
    assert AuditEntry.objects.filter(action="customer.updated", target_id=bo.pk).count() == 1


def test_one_chunk_attaches_a_handle_once_and_its_posts_without_address_follow(channel):
    bo = CustomerFactory(email="bo@example.test")
    ids = stored(
        channel,
        forum_post(1, username="bo", email="bo@example.test"),
        forum_post(2, username="bo", title="Another"),
    )

    outcomes = payloads_parse(payload_ids=ids, now=NOW)

    assert [outcome.message.item.customer for outcome in outcomes] == [bo, bo]
    assert bo.identities.count() == 1
    assert Customer.objects.count() == 1


def test_a_handle_another_customer_took_leaves_the_address_deciding(channel, parse, monkeypatch):
    from feedback.services import customers

    bo = CustomerFactory(email="bo@example.test")
    original = customers.portal_services.customer_update

    def taken_meanwhile(**kwargs):
        CustomerIdentity.objects.create(
            customer=CustomerFactory(email=""),
            kind=IdentityKind.DISCOURSE,
            handle=f"{FORUM_HOST}/bo",
        )
        return original(**kwargs)

    monkeypatch.setattr(customers.portal_services, "customer_update", taken_meanwhile)

    outcomes = parse(stored(channel, forum_post(1, username="bo", email="bo@example.test")))

    assert outcomes[0].message.item.customer == bo
    assert bo.identities.count() == 0


def test_a_known_handle_wins_over_an_address(channel, parse):
    bo = CustomerFactory(email="bo@example.test")
    alice = CustomerFactory(email="")
    CustomerIdentity.objects.create(customer=alice, kind=IdentityKind.DISCOURSE, handle=ALICE)

    outcomes = parse(stored(channel, forum_post(1, username="alice", email="bo@example.test")))

    assert outcomes[0].message.item.customer == alice
    assert bo.feedback_items.count() == 0


def test_an_unknown_handle_with_an_unknown_address_becomes_one_customer_with_both(channel, parse):
    acme = AccountFactory(name="Eve Corp")
    AccountDomain.objects.create(account=acme, domain="eve.example")

    outcomes = parse(stored(channel, forum_post(1, username="eve", email="Eve@eve.example")))
    # Their later mail from that address is the same person's.
    mail = parse(
        [
            payload_receive(
                channel=ChannelFactory(address=SUPPORT_ADDRESS),
                raw=make_mail(message_id="later@eve.example", sender="Eve <eve@eve.example>"),
                queue_parse=False,
                now=NOW,
            )[0].pk
        ]
    )

    customer = outcomes[0].message.item.customer
    assert (customer.email, customer.account) == ("eve@eve.example", acme)
    assert customer.identities.get().handle == f"{FORUM_HOST}/eve"
    assert outcomes[0].message.sender == "eve@eve.example"
    assert mail[0].message.item.customer == customer
    assert Customer.objects.count() == 1
    assert AuditEntry.objects.filter(action="customer.created").count() == 1


@pytest.mark.parametrize("mail_first", [True, False])
def test_a_handle_and_a_mail_of_one_new_address_in_one_chunk_are_one_customer(channel, mail_first):
    mailbox = ChannelFactory(address=SUPPORT_ADDRESS)
    (mail,) = [
        payload_receive(
            channel=mailbox,
            raw=make_mail(message_id="m@eve.example", sender="Eve <eve@eve.example>"),
            queue_parse=False,
            now=NOW,
        )[0].pk
    ]
    (post,) = stored(channel, forum_post(1, username="eve", email="eve@eve.example"))

    outcomes = payloads_parse(payload_ids=[mail, post] if mail_first else [post, mail], now=NOW)

    customer = Customer.objects.get()
    assert customer.email == "eve@eve.example"
    assert customer.identities.get().handle == f"{FORUM_HOST}/eve"
    assert {outcome.message.item.customer_id for outcome in outcomes} == {customer.pk}


def test_a_refused_address_leaves_the_handle_deciding(channel, parse):
    outcomes = parse(stored(channel, forum_post(1, username="eve", email="not an address")))

    customer = outcomes[0].message.item.customer
    assert customer.email == ""
    assert customer.identities.get().handle == f"{FORUM_HOST}/eve"


def test_a_reply_joins_the_item_of_the_post_it_answers(channel, parse):
    parse(stored(channel, forum_post(10, title="Export is broken", topic=None)))
    outcomes = parse(
        stored(
            channel,
            forum_post(11, username="bo", title="Export is broken", reply_to=10, topic=10),
            forum_post(12, username="carol", title="Export is broken", topic=10),
        )
    )

    first = Message.objects.get(external_id=forum_message_id(10))
    assert [outcome.message.item_id for outcome in outcomes] == [first.item_id] * 2
    assert [outcome.message.thread_reason for outcome in outcomes] == [
        ThreadReason.IN_REPLY_TO,
        ThreadReason.REFERENCES,
    ]
    # No own address to misfire on: each is an inbound customer message of its own sender.
    assert {outcome.message.direction for outcome in outcomes} == {Direction.IN}
    assert FeedbackItem.objects.count() == 1
    # As with mail, the sender who opened the item is its customer; who joins it is named on
    # their message, and known to the directory by that handle (every participant a person).
    assert FeedbackItem.objects.get().customer.identities.get().handle == ALICE
    assert [outcome.message.sender_handle for outcome in outcomes] == [
        f"{FORUM_HOST}/bo",
        f"{FORUM_HOST}/carol",
    ]
    assert set(CustomerIdentity.objects.values_list("handle", flat=True)) == {
        ALICE,
        f"{FORUM_HOST}/bo",
        f"{FORUM_HOST}/carol",
    }
    assert Customer.objects.count() == 3
    # Found again, not created twice, when they write once more.
    parse(stored(channel, forum_post(13, username="bo", title="Export is broken", topic=10)))
    assert Customer.objects.count() == 3


def test_a_chunk_queues_one_duplicate_check_for_the_items_it_opens(
    channel, parse, monkeypatch, django_capture_on_commit_callbacks, request
):
    from feedback import tasks

    batches = []
    monkeypatch.setattr(tasks.find_likely_duplicates_of_items, "delay", batches.append)
    ids = stored(
        channel,
        forum_post(1, username="bo"),
        forum_post(2, username="carol", reply_to=1, topic=1),
        forum_post(3, username="dan", title="Another"),
    )

    with django_capture_on_commit_callbacks(execute=True):
        parse(ids)

    opened = sorted(FeedbackItem.objects.values_list("pk", flat=True))
    assert len(opened) == 2
    if request.node.callspec.params["parse"] == "chunk":
        assert batches == [opened]
    else:
        # One payload per transaction: a check for each transaction's new item.
        assert sorted(batches) == [[pk] for pk in opened]


def test_a_reply_in_the_same_chunk_joins_the_item_its_parent_opens(channel):
    ids = stored(channel, forum_post(20), forum_post(21, username="bo", reply_to=20, topic=20))

    outcomes = payloads_parse(payload_ids=ids, now=NOW)

    assert outcomes[0].message.item_id == outcomes[1].message.item_id
    assert outcomes[1].message.thread_reason == ThreadReason.IN_REPLY_TO
    # The replier is a person of the directory, the item stays its opener's.
    bo = Customer.objects.get(identities__handle=f"{FORUM_HOST}/bo")
    assert outcomes[1].message.item.customer != bo


def test_an_edited_post_revises_its_message_instead_of_adding_one(
    channel, parse, django_capture_on_commit_callbacks
):
    received = []
    handler = received.append
    events.register("feedback.message_received", handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            first = parse(stored(channel, forum_post(1, title="Export fails", text="I love it")))
        message = first[0].message
        message.refresh_from_db()
        assert message.sentiment == Sentiment.POSITIVE

        with django_capture_on_commit_callbacks(execute=True):
            again = parse(
                stored(
                    channel,
                    forum_post(1, title="Export fails on Safari", text="This is awful, I hate it."),
                )
            )
    finally:
        events.unregister("feedback.message_received", handler)

    assert (again[0].message.pk, again[0].created, again[0].revised) == (message.pk, False, True)
    assert again[0].payload.message_id == message.pk
    assert again[0].payload.status == PayloadStatus.PARSED
    message.refresh_from_db()
    assert (message.subject, message.text) == (
        "Export fails on Safari",
        "This is awful, I hate it.",
    )
    assert message.sent_at == datetime(2026, 3, 3, 9, 30, tzinfo=UTC)
    # Scored again after the commit, and the item follows its latest inbound message.
    assert message.sentiment == Sentiment.NEGATIVE
    item = FeedbackItem.objects.get()
    assert (item.subject, item.sentiment) == ("Export fails on Safari", Sentiment.NEGATIVE)
    assert Message.objects.count() == 1
    assert RawPayload.objects.count() == 2
    assert len(received) == 1


def test_an_unchanged_post_in_new_bytes_revises_nothing(channel, parse):
    parse(stored(channel, forum_post(1)))
    # Another serialisation of the same post (the remote added nothing we keep).
    again = parse(stored(channel, forum_post(1) + b" "))

    assert (again[0].created, again[0].revised) == (False, False)
    assert Message.objects.count() == 1


def test_an_edited_reply_leaves_the_items_subject_alone(channel, parse):
    parse(stored(channel, forum_post(1, title="Export fails")))
    parse(stored(channel, forum_post(2, title="Re: Export fails", reply_to=1, topic=1)))

    outcomes = parse(stored(channel, forum_post(2, title="Re: Export fails!", reply_to=1, topic=1)))

    assert outcomes[0].revised
    assert FeedbackItem.objects.get().subject == "Export fails"


def test_a_renamed_item_keeps_its_name_when_its_first_post_is_edited(channel, parse):
    parse(stored(channel, forum_post(1, title="Export fails")))
    FeedbackItem.objects.update(subject="Safari export bug")

    parse(stored(channel, forum_post(1, title="Export fails badly")))

    assert FeedbackItem.objects.get().subject == "Safari export bug"
    assert Message.objects.get().subject == "Export fails badly"


def test_two_versions_of_a_post_in_one_chunk_store_one_message_with_the_last(channel):
    ids = stored(channel, forum_post(1, title="v1", text="one"), forum_post(1, title="v2"))

    outcomes = payloads_parse(payload_ids=ids, now=NOW)

    assert [(o.created, o.revised) for o in outcomes] == [(True, False), (False, True)]
    assert Message.objects.get().subject == "v2"
    assert FeedbackItem.objects.get().subject == "v2"


def test_a_malformed_post_is_quarantined_with_its_bytes_and_the_rest_stored(channel, parse):
    bad = b'{"id": 2, "username": "bo", "raw": "cut off'
    ids = stored(channel, forum_post(1), bad, forum_post(3, username="carol"))

    outcomes = parse(ids)

    assert [outcome.created for outcome in outcomes] == [True, False, True]
    quarantine = Quarantine.objects.get()
    assert quarantine.payload_id == ids[1]
    assert quarantine.error.startswith(NOT_JSON.split("{")[0])
    assert blob_read(quarantine.payload.file.name) == bad
    assert quarantine.payload.status == PayloadStatus.QUARANTINED
    assert Message.objects.count() == 2


def test_a_post_without_a_required_field_is_quarantined(channel, parse):
    outcomes = parse(stored(channel, b'{"id": 5, "username": "bo", "raw": ""}'))

    assert outcomes[0].quarantine.error == "the post has no raw"


def test_only_http_links_are_kept_as_the_messages_external_url(channel, fake_forum, monkeypatch):  # noqa: F811
    original = fake_forum.parse

    def with_url(raw, **kwargs):
        from dataclasses import replace

        parsed = original(raw, **kwargs)
        return replace(parsed, url="javascript:alert(1)" if "evil" in parsed.text else parsed.url)

    monkeypatch.setattr(fake_forum, "parse", with_url)
    ids = stored(channel, forum_post(1, text="evil"), forum_post(2, text="fine"))

    outcomes = payloads_parse(payload_ids=ids, now=NOW)

    assert [o.message.external_url for o in outcomes] == ["", f"https://{FORUM_HOST}/p/2"]


def test_a_merged_customers_items_move_to_the_customer_they_were_merged_into(
    django_capture_on_commit_callbacks,
):
    source, target = CustomerFactory(email=""), CustomerFactory(email="t@example.test")
    items = [FeedbackItemFactory(customer=source) for _ in range(2)]
    other = FeedbackItemFactory(customer=CustomerFactory(email="o@example.test"))

    for _ in range(2):  # handled twice, the second run finds nothing left to move
        with django_capture_on_commit_callbacks(execute=True):
            events.emit("portal.customers_merged", source_id=source.pk, target_id=target.pk)

    assert {
        item.customer_id for item in FeedbackItem.objects.filter(pk__in=[i.pk for i in items])
    } == {target.pk}
    other.refresh_from_db()
    assert other.customer_id != target.pk


def test_after_a_merge_the_handles_items_and_next_posts_are_the_known_customers(
    channel, django_capture_on_commit_callbacks
):
    from portal.actors import SYSTEM
    from portal.services import customers_merge

    payloads_parse(payload_ids=stored(channel, forum_post(1, username="alice")), now=NOW)
    by_handle = Customer.objects.get()
    known = CustomerFactory(email="alice@example.test")

    with django_capture_on_commit_callbacks(execute=True):
        customers_merge(actor=SYSTEM, source=by_handle, target=known)
    later = payloads_parse(
        payload_ids=stored(channel, forum_post(2, username="alice", title="Again")), now=NOW
    )

    assert set(FeedbackItem.objects.values_list("customer", flat=True)) == {known.pk}
    assert later[0].message.item.customer == known
