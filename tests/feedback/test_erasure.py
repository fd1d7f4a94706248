"""A customer's erasure (portal.customer_erased) reaches what the feedback app holds."""

import pytest

from feedback.models import Attachment, FeedbackItem, Message
from feedback.services import customer_feedback_erase, payload_parse, payload_receive
from portal.services import ERASED_VALUE, customer_erase
from tests.feedback.factories import ChannelFactory, make_mail
from tests.feedback.ingestion import fixture_mail

pytestmark = pytest.mark.django_db


def receive(channel, raw: bytes) -> Message:
    payload, _ = payload_receive(channel=channel, raw=raw, queue_parse=False)
    return payload_parse(payload=payload).message


def test_erasing_a_customer_erases_their_messages_attachments_and_raw_mail(
    world, settings, django_capture_on_commit_callbacks
):
    channel = ChannelFactory(team=world.team_a)
    theirs = receive(channel, fixture_mail("rfc2231_filename.eml"))
    raw_name = theirs.payloads.get().file.name
    attachment_names = list(theirs.attachments.values_list("file", flat=True))
    other = receive(channel, make_mail(message_id="other@x.example", sender="kim@kim.example"))
    # What channels without e-mail add (a handle, a link to the post) identifies them too.
    Message.objects.filter(pk=theirs.pk).update(
        sender_handle="forum.example.com/theirs",
        external_url="https://forum.example.com/t/1/2",
        sentiment="negative",
        sentiment_score=-0.6,
    )
    FeedbackItem.objects.filter(pk=theirs.item_id).update(search_document="their words")

    with django_capture_on_commit_callbacks(execute=True):
        customer_erase(actor=world.agent_a, customer=theirs.item.customer)

    theirs.refresh_from_db()
    assert (theirs.sender, theirs.sender_name, theirs.text, theirs.subject) == (
        "",
        "",
        ERASED_VALUE,
        ERASED_VALUE,
    )
    assert (theirs.sender_handle, theirs.external_url, theirs.sentiment_score) == ("", "", None)
    item = FeedbackItem.objects.get(pk=theirs.item_id)
    assert (item.subject, item.search_document) == (ERASED_VALUE, "")
    assert not Attachment.objects.filter(message=theirs).exists()
    assert theirs.payloads.get().file.name == ""
    for name in [raw_name, *attachment_names]:
        assert not (settings.MEDIA_ROOT / name).exists()
    other.refresh_from_db()
    assert other.text == "The coffee machine you sold us leaks water."


def test_a_file_another_message_shares_stays_and_erasing_again_is_harmless(
    world, settings, django_capture_on_commit_callbacks
):
    channel = ChannelFactory(team=world.team_a)
    raw = fixture_mail("rfc2231_filename.eml")
    theirs = receive(channel, raw)
    # Someone else forwards the same attachments.
    forwarded = raw.replace(b"eva.schulz@contoso.de", b"someone@else.example").replace(
        b"rfc2231-1@contoso.de", b"forward-1@else.example"
    )
    kept = receive(channel, forwarded)

    with django_capture_on_commit_callbacks(execute=True):
        customer_feedback_erase(customer_id=theirs.item.customer_id)
        assert customer_feedback_erase(customer_id=theirs.item.customer_id) == 1

    for attachment in kept.attachments.all():
        assert (settings.MEDIA_ROOT / attachment.file.name).exists()
