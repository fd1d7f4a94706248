"""Ingestion end to end against a real dovecot: mail APPENDed to a mailbox, polled through the
IMAP connector, stored raw, parsed into items and messages.

What the tests prove is ARCHITECTURE.md's promise: nothing a customer sends is lost or
stored twice, machine mail opens no item, and a reply finds its conversation without ever
being threaded by its subject."""

import os
from pathlib import Path

import pytest

from feedback.mail import LANE_CUSTOMER
from feedback.models import (
    Direction,
    FeedbackItem,
    ItemStatus,
    Lane,
    Message,
    PayloadStatus,
    Quarantine,
    RawPayload,
    ThreadReason,
)
from feedback.services.storage import blob_read
from feedback.tokens import reply_address
from portal.models import Customer
from tests.conftest import require_service
from tests.factories import AccountFactory, TeamFactory
from tests.feedback.factories import MessageFactory, make_mail
from tests.feedback.ingestion import fixture_mail, imap_channel, poll

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return TeamFactory()


def messages(team) -> list[Message]:
    return list(Message.objects.filter(team=team).order_by("pk"))


# --- exactly once ---------------------------------------------------------------------------


def test_poll_twice_stores_each_message_once(imap_account, team):
    channel = imap_channel(imap_account, team)
    imap_account.append_many(
        "INBOX", [make_mail(message_id="one@haddad.example"), make_mail(message_id="two@x.example")]
    )

    first = poll(channel)
    second = poll(channel)

    assert (first.stored, first.messages_created) == (2, 2)
    assert (second.fetched, second.stored) == (0, 0)
    assert [m.external_id for m in messages(team)] == ["one@haddad.example", "two@x.example"]
    assert RawPayload.objects.filter(channel=channel).count() == 2


def test_mail_arriving_between_polls_is_stored_by_the_next_poll(imap_account, team):
    channel = imap_channel(imap_account, team)
    imap_account.append("INBOX", make_mail(message_id="early@x.example"))
    poll(channel)
    imap_account.append("INBOX", make_mail(message_id="late@x.example"))

    report = poll(channel)

    assert (report.fetched, report.stored) == (1, 1)
    assert [m.external_id for m in messages(team)] == ["early@x.example", "late@x.example"]


def test_a_poll_fetches_in_batches_until_the_mailbox_is_read(imap_account, team):
    channel = imap_channel(imap_account, team)
    imap_account.append_many("INBOX", [make_mail(message_id=f"m{n}@x.example") for n in range(7)])

    report = poll(channel, batch_limit=3)

    assert (report.batches, report.stored, report.more) == (3, 7, False)
    assert len(messages(team)) == 7


def test_a_poll_stops_at_its_batch_cap_and_the_channel_is_due_again_at_once(imap_account, team):
    channel = imap_channel(imap_account, team)
    imap_account.append_many("INBOX", [make_mail(message_id=f"m{n}@x.example") for n in range(5)])

    report = poll(channel, batch_limit=2, max_batches=1)

    channel.refresh_from_db()
    assert (report.stored, report.more) == (2, True)
    assert channel.next_poll_at == channel.last_success_at
    assert poll(channel, batch_limit=2, max_batches=5).stored == 3


def test_the_same_mail_through_two_channels_of_one_team_is_one_message(dovecot, team):
    first_box, second_box = dovecot.add_user(), dovecot.add_user()
    first = imap_channel(first_box, team)
    second = imap_channel(second_box, team)
    raw = make_mail(message_id="shared@haddad.example")
    first_box.append("INBOX", raw)
    second_box.append("INBOX", raw)

    poll(first)
    report = poll(second)

    assert (report.stored, report.messages_created, report.already_stored) == (1, 0, 1)
    assert len(messages(team)) == 1
    assert FeedbackItem.objects.filter(team=team).count() == 1
    payloads = RawPayload.objects.filter(channel__team=team)
    assert {payload.message_id for payload in payloads} == {messages(team)[0].pk}


def test_the_same_mail_to_two_teams_is_one_message_in_each(dovecot):
    team_a, team_b = TeamFactory(), TeamFactory()
    box_a, box_b = dovecot.add_user(), dovecot.add_user()
    raw = make_mail(message_id="both@haddad.example")
    box_a.append("INBOX", raw)
    box_b.append("INBOX", raw)

    poll(imap_channel(box_a, team_a))
    poll(imap_channel(box_b, team_b))

    assert len(messages(team_a)) == len(messages(team_b)) == 1
    # One customer in the organisation-wide directory, one item in each team.
    assert Customer.objects.filter(email="omar@haddad.example").count() == 1


def test_a_redelivered_mail_with_other_transport_headers_is_one_message(imap_account, team):
    channel = imap_channel(imap_account, team)
    imap_account.append_many(
        "INBOX", [fixture_mail("plain_message.eml"), fixture_mail("plain_message_redelivered.eml")]
    )

    report = poll(channel)

    assert (report.stored, report.messages_created, report.already_stored) == (2, 1, 1)
    assert [m.external_id for m in messages(team)] == ["msg-1001@haddad.example"]


def test_two_different_mails_sharing_a_message_id_are_both_kept(imap_account, team):
    channel = imap_channel(imap_account, team)
    imap_account.append_many(
        "INBOX", [fixture_mail("plain_message.eml"), fixture_mail("same_message_id_different.eml")]
    )

    poll(channel)

    stored = messages(team)
    assert [m.external_id for m in stored] == ["msg-1001@haddad.example"] * 2
    assert stored[0].identity_hash != stored[1].identity_hash
    assert {m.text for m in stored} == {
        "The café machine you sold us leaks water.",
        "The café machine you sold us makes a loud noise.",
    }


def test_a_folder_recreated_with_a_new_uidvalidity_stores_nothing_again(imap_account, team):
    imap_account.create_folder("Support")
    channel = imap_channel(imap_account, team, folder="Support")
    raws = [make_mail(message_id=f"r{n}@x.example") for n in range(3)]
    imap_account.append_many("Support", raws)
    poll(channel)
    imap_account.delete_folder("Support")
    imap_account.append_many("Support", raws)

    report = poll(channel)

    assert (report.fetched, report.messages_created, report.already_stored) == (3, 0, 3)
    assert len(messages(team)) == 3


def test_stored_mail_is_moved_to_move_to_after_it_is_stored(imap_account, team):
    imap_account.create_folder("Done")
    channel = imap_channel(imap_account, team, move_to="Done")
    imap_account.append_many("INBOX", [make_mail(message_id=f"mv{n}@x.example") for n in range(2)])

    poll(channel)

    assert imap_account.uids("INBOX") == []
    assert len(imap_account.uids("Done")) == 2
    assert len(messages(team)) == 2


# --- raw first ------------------------------------------------------------------------------


def test_the_raw_mail_is_kept_byte_for_byte(imap_account, team):
    channel = imap_channel(imap_account, team)
    # CRLF line endings, as a mailbox holds mail (APPEND turns bare LF into CRLF).
    raw = fixture_mail("iphone_mixed.eml").replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    imap_account.append("INBOX", raw)

    poll(channel)

    payload = RawPayload.objects.get(channel=channel)
    assert blob_read(payload.file.name) == raw
    assert payload.file.name == f"raw/{payload.sha256[:2]}/{payload.sha256[2:4]}/{payload.sha256}"
    assert payload.status == PayloadStatus.PARSED


def test_attachments_are_stored_byte_for_byte_with_their_decoded_names(imap_account, team):
    channel = imap_channel(imap_account, team)
    imap_account.append("INBOX", fixture_mail("rfc2231_filename.eml"))

    poll(channel)

    attachments = list(messages(team)[0].attachments.order_by("pk"))
    assert [a.filename for a in attachments] == ["€ Rechnung März.pdf", "Positionen übersicht.csv"]
    assert blob_read(attachments[1].file.name) == b"seat;price\r\n1;10.00\r\n"
    assert attachments[1].size == len(b"seat;price\r\n1;10.00\r\n")


def test_an_unreadable_mail_is_quarantined_with_its_raw_bytes_and_the_batch_goes_on(
    imap_account, team
):
    channel = imap_channel(imap_account, team)
    garbage = b"this is no mail at all\r\nnot a single header\r\n"
    imap_account.append_many(
        "INBOX",
        [
            make_mail(message_id="before@x.example"),
            garbage,
            make_mail(message_id="after@x.example"),
        ],
    )

    report = poll(channel)

    assert (report.ok, report.messages_created, report.quarantined) == (True, 2, 1)
    quarantine = Quarantine.objects.get(payload__channel=channel)
    assert quarantine.error == "the message has no header block"
    assert blob_read(quarantine.payload.file.name) == garbage
    assert [m.external_id for m in messages(team)] == ["before@x.example", "after@x.example"]
    assert poll(channel).stored == 0


# --- threading ------------------------------------------------------------------------------


def test_a_reply_threads_by_in_reply_to_to_our_outbound_message(imap_account, team):
    channel = imap_channel(imap_account, team)
    ours = MessageFactory(
        item__team=team,
        item__status=ItemStatus.WAITING,
        direction=Direction.OUT,
        external_id="reply-41@support.example.com",
    )
    imap_account.append("INBOX", fixture_mail("gmail_reply.eml"))

    poll(channel)

    reply = Message.objects.get(team=team, direction=Direction.IN)
    assert (reply.item_id, reply.thread_reason) == (ours.item_id, ThreadReason.IN_REPLY_TO)
    ours.item.refresh_from_db()
    assert ours.item.status == ItemStatus.OPEN


def test_a_reply_threads_by_references_when_in_reply_to_is_unknown(imap_account, team):
    channel = imap_channel(imap_account, team)
    imap_account.append("INBOX", make_mail(message_id="start@haddad.example"))
    poll(channel)
    imap_account.append(
        "INBOX",
        make_mail(
            message_id="second@haddad.example",
            subject="Something else entirely",
            in_reply_to="lost@elsewhere.example",
            references=["start@haddad.example", "lost@elsewhere.example"],
        ),
    )

    poll(channel)

    first, second = messages(team)
    assert second.item_id == first.item_id
    assert second.thread_reason == ThreadReason.REFERENCES


def test_a_reply_to_the_signed_reply_address_threads_without_any_headers(imap_account, team):
    channel = imap_channel(imap_account, team)
    imap_account.append("INBOX", make_mail(message_id="start@kim.example"))
    poll(channel)
    item = FeedbackItem.objects.get(team=team)
    imap_account.append(
        "INBOX",
        make_mail(
            message_id="answer@kim.example",
            subject="New subject, no headers",
            to=reply_address(channel.address, item.pk),
        ),
    )

    poll(channel)

    answer = Message.objects.get(external_id="answer@kim.example")
    assert (answer.item_id, answer.thread_reason) == (item.pk, ThreadReason.REPLY_TOKEN)


def test_a_forged_reply_token_opens_a_new_item(imap_account, team):
    channel = imap_channel(imap_account, team)
    imap_account.append("INBOX", make_mail(message_id="start@kim.example"))
    poll(channel)
    item = FeedbackItem.objects.get(team=team)
    local, domain = channel.address.split("@")
    imap_account.append(
        "INBOX", make_mail(message_id="forged@kim.example", to=f"{local}+{item.pk}.AAAA@{domain}")
    )

    poll(channel)

    forged = Message.objects.get(external_id="forged@kim.example")
    assert forged.thread_reason == ThreadReason.NEW
    assert forged.item_id != item.pk


def test_the_same_subject_never_threads_two_customers_together(imap_account, team):
    channel = imap_channel(imap_account, team)
    imap_account.append_many(
        "INBOX",
        [
            make_mail(message_id="a@a.example", sender="a@a.example", subject="Invoice"),
            make_mail(message_id="b@b.example", sender="b@b.example", subject="Invoice"),
            make_mail(message_id="c@b.example", sender="b@b.example", subject="Re: Invoice"),
        ],
    )

    poll(channel)

    items = FeedbackItem.objects.filter(team=team)
    assert items.count() == 3
    assert {m.thread_reason for m in messages(team)} == {ThreadReason.NEW}


# --- machine mail ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "lane"),
    [
        ("auto_reply_rfc3834.eml", Lane.AUTO_REPLY),
        ("auto_reply_exchange_oof.eml", Lane.AUTO_REPLY),
        ("auto_reply_gmail_vacation.eml", Lane.AUTO_REPLY),
        ("dsn_bounce.eml", Lane.BOUNCE),
        ("mdn_read_receipt.eml", Lane.READ_RECEIPT),
        ("arf_complaint.eml", Lane.COMPLAINT),
        ("list_mail.eml", Lane.BULK),
    ],
)
def test_machine_mail_is_stored_in_its_lane_and_opens_no_item(imap_account, team, fixture, lane):
    channel = imap_channel(imap_account, team)
    imap_account.append("INBOX", fixture_mail(fixture))

    report = poll(channel)

    message = Message.objects.get(team=team)
    assert (report.messages_created, message.lane, message.item) == (1, lane, None)
    assert message.thread_reason == ThreadReason.UNATTACHED
    assert not FeedbackItem.objects.filter(team=team).exists()
    assert not Customer.objects.exists()


def test_a_bounce_of_our_mail_attaches_to_its_item_without_reopening_it(imap_account, team):
    channel = imap_channel(imap_account, team)
    ours = MessageFactory(
        item__team=team,
        item__status=ItemStatus.RESOLVED,
        direction=Direction.OUT,
        external_id="reply-4711@support.example.com",
    )
    imap_account.append("INBOX", fixture_mail("dsn_bounce.eml"))

    poll(channel)

    bounce = Message.objects.get(team=team, lane=Lane.BOUNCE)
    assert (bounce.item_id, bounce.thread_reason) == (ours.item_id, ThreadReason.ORIGINAL_MESSAGE)
    ours.item.refresh_from_db()
    assert ours.item.status == ItemStatus.RESOLVED
    assert ours.item.last_message_at == ours.sent_at


def test_an_auto_reply_to_our_reply_joins_the_item_and_leaves_it_waiting(imap_account, team):
    channel = imap_channel(imap_account, team)
    ours = MessageFactory(
        item__team=team,
        item__status=ItemStatus.WAITING,
        direction=Direction.OUT,
        external_id="reply-41@support.example.com",
    )
    imap_account.append("INBOX", fixture_mail("auto_reply_rfc3834.eml"))

    poll(channel)

    auto_reply = Message.objects.get(team=team, lane=Lane.AUTO_REPLY)
    assert auto_reply.item_id == ours.item_id
    ours.item.refresh_from_db()
    assert ours.item.status == ItemStatus.WAITING


# --- customers ------------------------------------------------------------------------------


def test_the_sender_becomes_a_customer_of_their_companys_account(imap_account, team):
    account = AccountFactory(name="Haddad Trading")
    account.domains.create(domain="haddad.example")
    channel = imap_channel(imap_account, team)
    imap_account.append("INBOX", fixture_mail("plain_message.eml"))

    poll(channel)

    item = FeedbackItem.objects.get(team=team)
    assert item.customer.email == "omar.haddad@haddad.example"
    assert item.customer.name == "Omar Haddad"
    assert item.customer.account == account
    message = messages(team)[0]
    assert (message.sender, message.reply_to) == (
        "omar.haddad@haddad.example",
        "desk@haddad.example",
    )
    # Addresses in To and Cc never become customers.
    assert list(Customer.objects.values_list("email", flat=True)) == ["omar.haddad@haddad.example"]


def test_a_free_mail_sender_is_attached_to_no_account(imap_account, team):
    account = AccountFactory(name="Google")
    account.domains.create(domain="gmail.com")
    channel = imap_channel(imap_account, team)
    imap_account.append("INBOX", make_mail(message_id="f@gmail.com", sender="Jo <jo@gmail.com>"))

    poll(channel)

    assert Customer.objects.get(email="jo@gmail.com").account is None


def test_a_known_customer_is_found_by_any_of_their_addresses(imap_account, team):
    from tests.factories import CustomerFactory

    known = CustomerFactory(email="omar@haddad.example")
    known.other_emails.create(email="o.haddad@haddad.example")
    channel = imap_channel(imap_account, team)
    imap_account.append(
        "INBOX", make_mail(message_id="o@x.example", sender="O. Haddad <O.Haddad@Haddad.example>")
    )

    poll(channel)

    assert FeedbackItem.objects.get(team=team).customer == known
    assert Customer.objects.count() == 1


# --- the shared corpus ----------------------------------------------------------------------


def corpus_files() -> list[Path]:
    folder = os.environ.get("PORTAL_EMAIL_CORPUS", "")
    require_service(bool(folder), "PORTAL_EMAIL_CORPUS is not set")
    files = sorted(Path(folder).glob("*.eml"))
    require_service(bool(files), f"no .eml files in PORTAL_EMAIL_CORPUS={folder}")
    return files


def test_every_corpus_mail_is_stored_or_quarantined_and_machine_mail_opens_no_item(
    imap_account, team
):
    files = corpus_files()
    channel = imap_channel(imap_account, team)
    imap_account.append_many("INBOX", [path.read_bytes() for path in files])

    report = poll(channel, batch_limit=25)

    assert report.ok, report.error
    payloads = RawPayload.objects.filter(channel=channel)
    assert payloads.count() == len(files)
    assert not payloads.filter(status=PayloadStatus.PENDING).exists()
    assert report.messages_created + report.already_stored + report.quarantined == len(files)
    # Every item was opened by a customer's mail; machine mail joined none of its own.
    assert not FeedbackItem.objects.filter(team=team).exclude(messages__lane=LANE_CUSTOMER).exists()
    machine = Message.objects.filter(team=team).exclude(lane=LANE_CUSTOMER)
    assert machine.exists()
    assert not machine.filter(item__isnull=False).exists()

    again = poll(channel)
    assert (again.fetched, again.stored) == (0, 0)
