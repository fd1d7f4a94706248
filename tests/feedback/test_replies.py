"""Replies and notes (feedback.services.replies) and response templates
(feedback.services.templates), through Django's in-memory mail backend. The same replies through
a real SMTP server and back through dovecot: test_replies_smtp.py."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from feedback import tasks
from feedback.models import (
    DeliveryStatus,
    Direction,
    ItemStatus,
    Message,
    ResponseTemplate,
)
from feedback.services import replies
from feedback.services.replies import (
    ADDRESS_NOT_ASCII,
    CHANNEL_TAKES_NO_REPLIES,
    NO_ADDRESS,
    RETRY_NOT_FAILED,
    note_add,
    reply_context,
    reply_deliver,
    reply_render,
    reply_retry,
    reply_send,
)
from feedback.services.templates import (
    TEMPLATE_NAME_TAKEN,
    template_create,
    template_delete,
    template_update,
)
from feedback.templating import UNKNOWN_PLACEHOLDER, placeholder_names
from feedback.tokens import item_id_from_token, reply_address
from portal.models import Role
from tests.factories import AccountFactory, CustomerFactory, MembershipFactory, UserFactory
from tests.feedback.factories import (
    SENT,
    SUPPORT_ADDRESS,
    ChannelFactory,
    FeedbackItemFactory,
    MessageFactory,
    sla_policies,
)

pytestmark = pytest.mark.django_db
NOW = SENT + timedelta(hours=2)


@pytest.fixture
def mailbox():
    return ChannelFactory(kind="imap", address=SUPPORT_ADDRESS)


@pytest.fixture
def agent(mailbox):
    user = UserFactory(username="sam", first_name="Sam", last_name="Agent")
    MembershipFactory(user=user, team=mailbox.team, role=Role.AGENT)
    return user


@pytest.fixture
def item(mailbox):
    account = AccountFactory(name="Haddad Trading", plan="Enterprise")
    customer = CustomerFactory(name="Omar Haddad", email="omar@haddad.example", account=account)
    item = FeedbackItemFactory(
        team=mailbox.team, channel=mailbox, customer=customer, subject="The machine leaks"
    )
    MessageFactory(
        item=item,
        channel=mailbox,
        external_id="first@haddad.example",
        sender="omar@haddad.example",
        reply_to="omar@haddad.example",
        subject="The machine leaks",
    )
    MessageFactory(
        item=item,
        channel=mailbox,
        external_id="second@haddad.example",
        references=["first@haddad.example"],
        sender="omar@haddad.example",
        reply_to="orders@haddad.example",
        subject="Re: The machine leaks",
        sent_at=SENT + timedelta(minutes=5),
    )
    return item


def send(item, agent, django_capture_on_commit_callbacks, text="We are on it.", **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        return reply_send(actor=agent, item=item, text=text, now=NOW, **kwargs)


# --- sending ------------------------------------------------------------------------------------


def test_a_reply_is_stored_threaded_and_sent_once_after_the_commit(
    item, agent, django_capture_on_commit_callbacks
):
    message = send(item, agent, django_capture_on_commit_callbacks)

    message.refresh_from_db()
    assert (message.direction, message.is_note, message.author) == (Direction.OUT, False, agent)
    assert (message.delivery, message.delivery_attempts) == (DeliveryStatus.SENT, 1)
    assert message.in_reply_to == "second@haddad.example"
    assert message.references == ["first@haddad.example", "second@haddad.example"]
    assert message.to == ["orders@haddad.example"]
    assert item_id_from_token(message.reply_to.split("+", 1)[1].split("@")[0]) == item.pk
    assert message.subject == "Re: The machine leaks"
    assert len(mail.outbox) == 1
    sent = mail.outbox[0].message()
    assert sent["Message-ID"] == f"<{message.external_id}>"
    assert sent["In-Reply-To"] == "<second@haddad.example>"
    assert sent["References"] == "<first@haddad.example> <second@haddad.example>"
    assert sent["Reply-To"] == reply_address(SUPPORT_ADDRESS, item.pk)
    assert sent["To"] == "orders@haddad.example"
    assert SUPPORT_ADDRESS in sent["From"]


def test_a_reply_to_a_resolved_item_reopens_it_with_a_fresh_resolution_period(
    item, agent, django_capture_on_commit_callbacks
):
    sla_policies(item.team)
    item.status, item.resolved_at = ItemStatus.RESOLVED, NOW - timedelta(days=20)
    item.resolution_due_at = NOW - timedelta(days=25)
    item.save()
    before = timezone.now()

    send(item, agent, django_capture_on_commit_callbacks)

    item.refresh_from_db()
    assert (item.status, item.resolved_at) == (ItemStatus.WAITING, None)
    due = item.resolution_due_at
    assert before + timedelta(hours=8) <= due <= timezone.now() + timedelta(hours=48)


def test_a_reply_makes_the_item_wait_and_records_the_first_response_once(
    item, agent, django_capture_on_commit_callbacks
):
    send(item, agent, django_capture_on_commit_callbacks)
    item.refresh_from_db()
    first = item.first_responded_at

    item.status = ItemStatus.OPEN
    item.save()
    with django_capture_on_commit_callbacks(execute=True):
        reply_send(actor=agent, item=item, text="More", now=NOW + timedelta(hours=1))
    item.refresh_from_db()

    assert first == NOW
    assert (item.status, item.first_responded_at) == (ItemStatus.WAITING, NOW)
    assert "We are on it." in item.search_document


def test_running_the_send_task_again_sends_nothing_more(
    item, agent, django_capture_on_commit_callbacks
):
    message = send(item, agent, django_capture_on_commit_callbacks)

    assert tasks.send_reply(message.pk) == DeliveryStatus.SENT
    assert reply_deliver(message_id=message.pk) == DeliveryStatus.SENT
    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.delivery_attempts == 1


def test_a_failed_send_is_recorded_and_a_retry_sends_the_same_mail(
    item, agent, django_capture_on_commit_callbacks, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    message = send(item, agent, django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert message.delivery == DeliveryStatus.FAILED
    assert message.delivery_error.startswith("Sending failed: ConnectionRefusedError")
    assert tasks.send_reply(message.pk) == DeliveryStatus.FAILED  # a repeated task does nothing

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        reply_retry(actor=agent, message=message)
    message.refresh_from_db()

    assert (message.delivery, message.delivery_attempts, message.delivery_error) == (
        DeliveryStatus.SENT,
        2,
        "",
    )
    assert mail.outbox[0].message()["Message-ID"] == f"<{message.external_id}>"
    with pytest.raises(ValidationError) as error:
        reply_retry(actor=agent, message=message)
    assert error.value.messages == [RETRY_NOT_FAILED.format(status="sent")]


def test_the_identity_of_a_reply_is_that_of_its_mail_read_back(
    item, agent, django_capture_on_commit_callbacks
):
    from feedback.mail import parse_message

    message = send(item, agent, django_capture_on_commit_callbacks)
    raw = mail.outbox[0].message().as_bytes(linesep="\r\n")

    assert parse_message(raw, received_at=NOW).identity_hash == message.identity_hash


def test_a_feed_item_takes_no_replies(agent, mailbox, django_capture_on_commit_callbacks):
    feed = ChannelFactory(team=mailbox.team, kind="feed", address="", name="App Store")
    item = FeedbackItemFactory(team=mailbox.team, channel=feed)
    MessageFactory(item=item, channel=feed, sender="", reply_to="")

    with pytest.raises(ValidationError) as error:
        send(item, agent, django_capture_on_commit_callbacks)

    assert error.value.messages == [
        CHANNEL_TAKES_NO_REPLIES.format(channel=feed, kind="RSS / Atom feed")
    ]
    assert not Message.objects.filter(direction=Direction.OUT).exists()
    assert mail.outbox == []


def test_a_widget_item_is_answered_by_mail_from_the_teams_mailbox(
    agent, mailbox, django_capture_on_commit_callbacks
):
    widget = ChannelFactory(team=mailbox.team, kind="widget", address="", name="Website")
    item = FeedbackItemFactory(team=mailbox.team, channel=widget)
    MessageFactory(item=item, channel=widget, sender="visitor@shop.example", reply_to="")

    message = send(item, agent, django_capture_on_commit_callbacks)

    assert message.to == ["visitor@shop.example"]
    assert message.channel == mailbox
    assert mail.outbox[0].message()["Reply-To"] == reply_address(SUPPORT_ADDRESS, item.pk)


def test_an_item_without_any_address_says_so(agent, mailbox, django_capture_on_commit_callbacks):
    item = FeedbackItemFactory(team=mailbox.team, channel=None)
    MessageFactory(item=item, channel=None, sender="", reply_to="")

    with pytest.raises(ValidationError) as error:
        send(item, agent, django_capture_on_commit_callbacks)

    assert error.value.message_dict == {"to": [NO_ADDRESS]}


def test_an_address_with_letters_beyond_ascii_before_the_at_says_what_to_do(
    agent, mailbox, django_capture_on_commit_callbacks
):
    # Mail lets such a sender in; the mail server cannot send to them (no SMTPUTF8), and
    # "correct it" asked the agent for the impossible (outside QA report).
    item = FeedbackItemFactory(team=mailbox.team, channel=mailbox)
    MessageFactory(item=item, channel=mailbox, sender="bücher@bücher.example", reply_to="")

    with pytest.raises(ValidationError) as error:
        send(item, agent, django_capture_on_commit_callbacks)

    assert error.value.message_dict == {
        "to": [ADDRESS_NOT_ASCII.format(address="bücher@bücher.example")]
    }


def test_viewers_may_not_reply_or_add_notes(item, django_capture_on_commit_callbacks):
    viewer = UserFactory()
    MembershipFactory(user=viewer, team=item.team, role=Role.VIEWER)

    with pytest.raises(PermissionDenied):
        send(item, viewer, django_capture_on_commit_callbacks)
    with pytest.raises(PermissionDenied):
        note_add(actor=viewer, item=item, text="psst")


def test_an_empty_reply_is_refused(item, agent, django_capture_on_commit_callbacks):
    with pytest.raises(ValidationError) as error:
        send(item, agent, django_capture_on_commit_callbacks, text="  \n ")

    assert error.value.message_dict == {"text": [replies.REPLY_TEXT_REQUIRED]}


def test_a_note_is_kept_internal_and_never_sent(item, agent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        note = note_add(actor=agent, item=item, text="Customer is on the phone with sales.")
        second = note_add(actor=agent, item=item, text="Customer is on the phone with sales.")

    assert (note.is_note, note.delivery, note.author) == (True, "", agent)
    assert note.pk != second.pk
    assert mail.outbox == []
    item.refresh_from_db()
    assert item.status == ItemStatus.NEW
    assert "phone with sales" not in item.search_document


def test_a_subject_stored_with_a_line_break_is_answered_on_one_line(
    item, agent, django_capture_on_commit_callbacks
):
    # A Zendesk ticket's subject held "\r\n" (stored before subjects were made one line):
    # the reply was a 500 (Django refuses a header with a line break) and could never be sent.
    item.messages.update(subject="Refund please\r\nBcc: evil@x.example")

    reply = send(item, agent, django_capture_on_commit_callbacks)

    assert reply.subject == "Re: Refund please Bcc: evil@x.example"
    [sent] = mail.outbox
    assert sent.subject == reply.subject
    assert sent.bcc == [] and "evil@x.example" not in sent.to


# --- personalising --------------------------------------------------------------------------


def test_the_reply_context_fills_every_built_in_placeholder(item, agent):
    context = reply_context(item, agent)

    assert set(placeholder_names()) <= set(context)
    assert context == {
        "customer.first_name": "Omar",
        "customer.name": "Omar Haddad",
        "customer.email": "omar@haddad.example",
        "account.name": "Haddad Trading",
        "account.plan": "Enterprise",
        "item.subject": "The machine leaks",
        "item.id": str(item.pk),
        "agent.name": "Sam Agent",
        "agent.first_name": "Sam",
        "team.name": item.team.name,
    }


def test_a_template_is_personalised_for_the_item(item, agent):
    body = 'Hi {{ customer.first_name|default:"there" }}, {{ agent.first_name }} here ({{ x }}).'

    assert reply_render(item=item, agent=agent, body=body) == "Hi Omar, Sam here ()."


def test_a_reply_greets_whoever_wrote_last_when_the_directory_knows_them(item, agent):
    # After a merge of two customers' items the latest message may be the other customer's:
    # the reply goes to them, so the greeting names them, not the item's customer.
    CustomerFactory(name="Hannah Byrne", email="hannah@brightmoor.example")
    MessageFactory(
        item=item,
        channel=item.channel,
        external_id="hannah@brightmoor.example.test",
        sender="Hannah@Brightmoor.example",
        sent_at=SENT + timedelta(hours=1),
    )
    body = 'Hi {{ customer.first_name|default:"there" }} ({{ customer.email }})'

    assert reply_render(item=item, agent=agent, body=body) == (
        "Hi Hannah (hannah@brightmoor.example)"
    )


def test_a_reply_to_an_unknown_colleague_keeps_the_items_customer(item, agent):
    MessageFactory(
        item=item,
        channel=item.channel,
        external_id="colleague@haddad.example.test",
        sender="colleague@haddad.example",
        sent_at=SENT + timedelta(hours=1),
    )

    assert reply_render(item=item, agent=agent, body="Hi {{ customer.first_name }}") == "Hi Omar"


# --- templates ------------------------------------------------------------------------------


def test_leads_manage_their_teams_templates_and_placeholders_are_checked(item):
    lead = UserFactory()
    MembershipFactory(user=lead, team=item.team, role=Role.LEAD)

    template = template_create(
        actor=lead, team=item.team, name="Thanks", body="Hi {{ customer.name }}"
    )
    with pytest.raises(ValidationError) as error:
        template_update(actor=lead, template=template, body="Hi {{ customer.shoe_size }}")
    known = ", ".join(placeholder_names())
    assert error.value.message_dict == {
        "body": [UNKNOWN_PLACEHOLDER.format(name="customer.shoe_size", known=known)]
    }
    with pytest.raises(ValidationError) as error:
        template_create(actor=lead, team=item.team, name=" thanks ", body="Hello")
    assert error.value.message_dict == {
        "name": [TEMPLATE_NAME_TAKEN.format(name="thanks", scope=item.team)]
    }
    template_delete(actor=lead, template=template)
    assert not ResponseTemplate.objects.exists()


def test_agents_use_templates_but_only_superusers_manage_shared_ones(item, agent):
    lead = UserFactory()
    MembershipFactory(user=lead, team=item.team, role=Role.LEAD)
    root = UserFactory(is_superuser=True)

    with pytest.raises(PermissionDenied):
        template_create(actor=agent, team=item.team, name="Mine", body="Hi")
    with pytest.raises(PermissionDenied):
        template_create(actor=lead, team=None, name="Shared", body="Hi")
    shared = template_create(actor=root, team=None, name="Shared", body="Hi")

    assert shared.team is None


def test_a_reply_a_stopped_worker_left_sending_may_be_retried_once_stalled(
    item, agent, django_capture_on_commit_callbacks, client
):
    message = send(item, agent, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    started = NOW - timedelta(minutes=5)
    # A worker that died between handing the mail over and recording it.
    Message.objects.filter(pk=message.pk).update(
        delivery=DeliveryStatus.SENDING, delivery_started_at=started
    )
    message.refresh_from_db()

    with pytest.raises(ValidationError) as error:
        reply_retry(actor=agent, message=message, now=started + timedelta(minutes=5))
    assert error.value.messages == [RETRY_NOT_FAILED.format(status="sending")]
    assert not replies.delivery_stalled(message, started + timedelta(minutes=5))

    later = started + replies.SENDING_STALLED + timedelta(seconds=1)
    assert replies.delivery_stalled(message, later)
    with django_capture_on_commit_callbacks(execute=True):
        reply_retry(actor=agent, message=message, now=later)
    message.refresh_from_db()
    assert (message.delivery, message.delivery_attempts) == (DeliveryStatus.SENT, 2)
    assert len(mail.outbox) == 1
