"""A chunk's senders as a set (feedback/services/customers.py ``ChunkSenders``): looked up in one
query before the chunk is stored, the unknown ones created together at its end through the
directory's bulk writer, with the audit entries and events ``customer_create`` gives; and the
selectors that find many addresses and domains at once (portal/selectors.py)."""

from datetime import UTC, datetime

import pytest

from feedback.models import FeedbackItem, Message, RawPayload, ThreadReason
from feedback.services import payload_parse, payload_receive, payloads_parse
from portal import events, selectors
from portal.models import AccountDomain, AuditEntry, Customer, CustomerEmail
from tests.factories import AccountFactory, CustomerFactory
from tests.feedback.factories import SUPPORT_ADDRESS, ChannelFactory, make_mail

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def channel():
    return ChannelFactory(address=SUPPORT_ADDRESS)


def stored(channel, *mails: bytes) -> list[int]:
    return [
        payload_receive(channel=channel, raw=raw, queue_parse=False, now=NOW)[0].pk for raw in mails
    ]


def test_customer_ids_are_found_by_main_and_further_address_in_one_query(
    django_assert_num_queries,
):
    ann = CustomerFactory(email="ann@northwind.example")
    bo = CustomerFactory(email="bo@northwind.example")
    CustomerEmail.objects.create(customer=bo, email="bo.private@mail.example")
    # A further address that is another customer's main one: the main one wins, as in
    # customer_find_by_email.
    CustomerEmail.objects.create(customer=bo, email="shared@northwind.example")
    shared = CustomerFactory(email="shared@northwind.example")

    with django_assert_num_queries(1):
        found = selectors.customer_ids_find_by_emails(
            emails=[
                " Ann@Northwind.example",
                "BO.PRIVATE@mail.example",
                "shared@northwind.example",
                "nobody@northwind.example",
                "",
            ]
        )

    assert found == {
        "ann@northwind.example": ann.pk,
        "bo.private@mail.example": bo.pk,
        "shared@northwind.example": shared.pk,
    }
    assert selectors.customer_ids_find_by_emails(emails=["", "  "]) == {}


def test_accounts_are_found_by_domain_in_one_query(django_assert_num_queries):
    northwind = AccountFactory()
    AccountDomain.objects.create(account=northwind, domain="northwind.example")

    with django_assert_num_queries(1):
        found = selectors.accounts_find_by_domains(
            domains=["Northwind.example.", "unknown.example", ""]
        )

    assert found == {"northwind.example": northwind}


def test_new_senders_of_a_chunk_are_created_together_audited_as_one_by_one(
    channel, django_capture_on_commit_callbacks
):
    account = AccountFactory()
    AccountDomain.objects.create(account=account, domain="northwind.example")
    known = CustomerFactory(email="known@northwind.example")
    CustomerEmail.objects.create(customer=known, email="known.alias@mail.example")
    ids = stored(
        channel,
        make_mail(message_id="1@x.example", subject="1", sender="Ann <ann@northwind.example>"),
        make_mail(message_id="2@x.example", subject="2", sender="Known <known.alias@mail.example>"),
        make_mail(message_id="3@x.example", subject="3", sender="Cy  Free <cy@gmail.com>"),
        make_mail(message_id="4@x.example", subject="4", sender="Ann 2 <ANN@northwind.example>"),
    )
    saved = []
    events.register("portal.customer_saved", saved.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            outcomes = payloads_parse(payload_ids=ids, now=NOW)
    finally:
        events.unregister("portal.customer_saved", saved.append)

    customers = [outcome.message.item.customer for outcome in outcomes]
    ann = Customer.objects.get(email="ann@northwind.example")
    cy = Customer.objects.get(email="cy@gmail.com")
    assert customers == [ann, known, cy, ann]
    # The name of the sender's first mail, the account of their domain, none for free mail.
    assert (ann.name, ann.account, cy.name, cy.account) == ("Ann", account, "Cy Free", None)
    assert sorted(event["customer_id"] for event in saved) == sorted([ann.pk, cy.pk])
    # The same audit entry a sender created alone (customer_create) gets.
    chunk_entry = AuditEntry.objects.get(action="customer.created", target_id=str(cy.pk))
    single = stored(channel, make_mail(message_id="5@x.example", sender="Di <di@gmail.com>"))
    payload_parse(payload=RawPayload.objects.get(pk=single[0]), now=NOW)
    di = Customer.objects.get(email="di@gmail.com")
    single_entry = AuditEntry.objects.get(action="customer.created", target_id=str(di.pk))
    assert (chunk_entry.actor_label, set(chunk_entry.changes)) == (
        single_entry.actor_label,
        set(single_entry.changes),
    )
    differing = {"name", "email"}
    assert {k: v for k, v in chunk_entry.changes.items() if k not in differing} == {
        k: v for k, v in single_entry.changes.items() if k not in differing
    }


def test_a_reply_in_the_same_chunk_threads_to_the_item_opened_earlier_in_it(channel):
    ids = stored(
        channel,
        make_mail(message_id="a@x.example", subject="Leak", sender="Ann <ann@new.example>"),
        make_mail(
            message_id="b@x.example",
            subject="Re: Leak",
            sender="Bo <bo@new.example>",
            in_reply_to="a@x.example",
            references=["a@x.example"],
        ),
    )

    first, reply = payloads_parse(payload_ids=ids, now=NOW)

    assert reply.message.item == first.message.item
    assert reply.message.thread_reason == ThreadReason.IN_REPLY_TO
    # Only a sender who opens an item becomes a customer.
    assert list(Customer.objects.values_list("email", flat=True)) == ["ann@new.example"]
    assert FeedbackItem.objects.get().customer.email == "ann@new.example"
    assert Message.objects.count() == 2


def test_a_customer_created_by_another_writer_meanwhile_is_found_not_changed(channel, monkeypatch):
    ids = stored(channel, make_mail(message_id="1@x.example", sender="Ann <ann@new.example>"))
    original = selectors.customer_ids_find_by_emails
    calls = []

    def racing(*, emails):
        calls.append(list(emails))
        if len(calls) == 2:
            # Between the chunk's look-up and its creating the new senders.
            CustomerFactory(email="ann@new.example", name="Ann Original")
        return original(emails=emails)

    monkeypatch.setattr(selectors, "customer_ids_find_by_emails", racing)

    (outcome,) = payloads_parse(payload_ids=ids, now=NOW)

    customer = Customer.objects.get()
    assert outcome.message.item.customer == customer
    assert customer.name == "Ann Original"
    assert not AuditEntry.objects.filter(action__startswith="customer.").exists()
