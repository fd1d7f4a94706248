"""Reply threading end to end with real components: a customer's mail is APPENDed to dovecot
and polled into an item, the agent's reply goes out through a local SMTP server (aiosmtpd) whose
received headers are asserted, and the customer's answer to it, APPENDed to dovecot and polled,
joins the same item and reopens it."""

from collections.abc import Iterator
from datetime import timedelta

import pytest

from feedback import tasks
from feedback.models import (
    DeliveryStatus,
    Direction,
    FeedbackItem,
    ItemStatus,
    Message,
    ThreadReason,
)
from feedback.services.replies import reply_retry, reply_send
from feedback.tokens import reply_address
from portal.models import Role
from tests.factories import MembershipFactory, TeamFactory, UserFactory
from tests.feedback.factories import SENT, make_mail
from tests.feedback.ingestion import imap_channel, poll
from tests.feedback.smtp import SmtpServer

pytestmark = pytest.mark.django_db
CUSTOMER = "Omar Haddad <omar@haddad.example>"
CUSTOMER_REPLY_TO = "orders@haddad.example"


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    """One SMTP server per test worker, on a port the kernel picks."""
    server = SmtpServer.start()
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_server, settings) -> SmtpServer:
    smtp_server.clear()
    for name, value in smtp_server.settings_for().items():
        setattr(settings, name, value)
    return smtp_server


@pytest.fixture
def conversation(imap_account):
    """A team's mailbox on dovecot, an agent, and the item the customer's first mail opened."""
    team = TeamFactory()
    agent = UserFactory(first_name="Sam", last_name="Agent")
    MembershipFactory(user=agent, team=team, role=Role.AGENT)
    channel = imap_channel(imap_account, team)
    imap_account.append(
        "INBOX",
        make_mail(
            message_id="question@haddad.example",
            sender=CUSTOMER,
            to=imap_account.address,
            subject="The coffee machine leaks",
            headers={"Reply-To": CUSTOMER_REPLY_TO},
        ),
    )
    poll(channel)
    item = FeedbackItem.objects.get(team=team)
    return channel, agent, item


def reply(item, agent, capture, text="We are sending a technician.") -> Message:
    with capture(execute=True):
        message = reply_send(actor=agent, item=item, text=text, now=SENT + timedelta(hours=1))
    message.refresh_from_db()
    return message


def test_the_reply_goes_out_threaded_and_the_answer_joins_the_same_item(
    imap_account, smtp, conversation, django_capture_on_commit_callbacks
):
    channel, agent, item = conversation

    message = reply(item, agent, django_capture_on_commit_callbacks)

    assert message.delivery == DeliveryStatus.SENT
    [received] = smtp.received
    sent = received.message
    signed = reply_address(imap_account.address, item.pk)
    assert received.recipients == [CUSTOMER_REPLY_TO]
    assert sent["Message-ID"] == f"<{message.external_id}>"
    assert sent["In-Reply-To"] == "<question@haddad.example>"
    assert sent["References"] == "<question@haddad.example>"
    assert sent["Reply-To"] == signed
    assert sent["To"] == CUSTOMER_REPLY_TO
    assert sent["Subject"] == "Re: The coffee machine leaks"
    assert imap_account.address in sent["From"]
    assert sent.get_content().strip() == "We are sending a technician."
    item.refresh_from_db()
    assert item.status == ItemStatus.WAITING

    imap_account.append(
        "INBOX",
        make_mail(
            message_id="answer@haddad.example",
            sender=CUSTOMER,
            to=signed,
            subject="Re: The coffee machine leaks",
            body="Thank you, Tuesday works.",
            date=SENT + timedelta(hours=2),
            in_reply_to=message.external_id,
            references=["question@haddad.example", message.external_id],
        ),
    )
    poll(channel)

    answer = Message.objects.get(external_id="answer@haddad.example")
    item.refresh_from_db()
    assert answer.item_id == item.pk
    assert answer.thread_reason == ThreadReason.IN_REPLY_TO
    assert item.status == ItemStatus.OPEN
    assert FeedbackItem.objects.filter(team=item.team).count() == 1


def test_an_answer_without_threading_headers_finds_the_item_by_its_signed_address(
    imap_account, smtp, conversation, django_capture_on_commit_callbacks
):
    channel, agent, item = conversation
    reply(item, agent, django_capture_on_commit_callbacks)
    signed = smtp.received[0].message["Reply-To"]

    imap_account.append(
        "INBOX",
        make_mail(
            message_id="bare@haddad.example",
            sender=CUSTOMER,
            to=signed,
            subject="about the visit",
            date=SENT + timedelta(hours=2),
        ),
    )
    poll(channel)

    answer = Message.objects.get(external_id="bare@haddad.example")
    assert (answer.item_id, answer.thread_reason) == (item.pk, ThreadReason.REPLY_TOKEN)


def test_a_copy_of_the_sent_reply_read_back_from_the_mailbox_is_stored_once(
    imap_account, smtp, conversation, django_capture_on_commit_callbacks
):
    channel, agent, item = conversation
    message = reply(item, agent, django_capture_on_commit_callbacks)

    imap_account.append("INBOX", smtp.received[0].raw)
    poll(channel)

    assert list(
        Message.objects.filter(external_id=message.external_id).values_list("pk", "direction")
    ) == [(message.pk, Direction.OUT)]


def test_the_send_task_run_twice_sends_one_mail(
    smtp, conversation, django_capture_on_commit_callbacks
):
    _, agent, item = conversation
    message = reply(item, agent, django_capture_on_commit_callbacks)

    tasks.send_reply.delay(message.pk)
    tasks.send_reply(message.pk)

    assert len(smtp.received) == 1
    message.refresh_from_db()
    assert message.delivery_attempts == 1


def test_a_refused_mail_is_visible_on_the_item_and_a_retry_sends_it(
    smtp, conversation, django_capture_on_commit_callbacks
):
    _, agent, item = conversation
    smtp.reject("554 5.7.1 Relaying denied")

    message = reply(item, agent, django_capture_on_commit_callbacks)

    assert message.delivery == DeliveryStatus.FAILED
    assert "554" in message.delivery_error and "Relaying denied" in message.delivery_error
    assert smtp.received == []
    failed = item.messages.filter(delivery=DeliveryStatus.FAILED)
    assert list(failed.values_list("pk", flat=True)) == [message.pk]

    smtp.reject(None)
    with django_capture_on_commit_callbacks(execute=True):
        reply_retry(actor=agent, message=message)
    message.refresh_from_db()

    assert (message.delivery, message.delivery_attempts) == (DeliveryStatus.SENT, 2)
    [received] = smtp.received
    assert received.message["Message-ID"] == f"<{message.external_id}>"
