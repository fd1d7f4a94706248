"""The inbound e-mail webhook (issue 8, channel 2): a signed POST of raw MIME is stored byte for
byte before it is answered 202, then parsed like polled mail; anything unsigned, signed wrongly,
too old, too new or too large stores nothing."""

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from feedback.channels.webhook import (
    MAX_SKEW,
    SIGNATURE_HEADER,
    SIGNATURE_MISSING,
    SIGNATURE_WRONG,
    TIMESTAMP_FUTURE,
    TIMESTAMP_HEADER,
    TIMESTAMP_STALE,
    signed_headers,
)
from feedback.mail.parse import MAX_MESSAGE_BYTES
from feedback.models import (
    Channel,
    FeedbackItem,
    Message,
    PayloadStatus,
    Quarantine,
    RawPayload,
    ThreadReason,
)
from feedback.services import channel_create, channel_update, channels_dispatch
from feedback.services.storage import blob_read
from feedback.webhooks import (
    CHANNEL_DISABLED,
    CONTENT_LENGTH_INVALID,
    EMPTY_BODY,
    NO_SUCH_WEBHOOK,
    STORED,
    STORED_BEFORE,
    TOO_LARGE,
    TOO_LARGE_UNKNOWN,
    email_webhook,
    webhook_url,
)
from portal.actors import SYSTEM
from portal.models import AuditEntry, Customer
from tests.factories import TeamFactory
from tests.feedback.factories import ChannelFactory, make_mail

pytestmark = pytest.mark.django_db

SECRET = "kitewire-test-webhook-secret"
ADDRESS = "support@kitewire.example"
NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
MAIL = make_mail(
    message_id="first@customer.example",
    sender="Nadia Kelly <nadia.kelly@alderfinch.example>",
    to=f"Kitewire Support <{ADDRESS}>",
    subject="Dispatch board freezes",
    body="Since Monday the dispatch board freezes when I drag a job.\r\n\r\n\xe9",
).replace(b"\xc3\xa9", b"\xe9")  # one raw Latin-1 byte: stored as sent, never decoded first


@pytest.fixture
def channel() -> Channel:
    return channel_create(
        actor=SYSTEM,
        team=TeamFactory(),
        kind="webhook",
        name="Inbound mail",
        config={"address": ADDRESS, "secret": SECRET},
    )


def hook_url(channel_or_pk) -> str:
    pk = getattr(channel_or_pk, "pk", channel_or_pk)
    return reverse("feedback:email_webhook", kwargs={"pk": pk})


def http_headers(headers: dict[str, str]) -> dict[str, str]:
    return {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}


def post(channel, body: bytes = MAIL, *, signed_at=None, secret=SECRET, headers=None, **extra):
    if headers is None:
        headers = signed_headers(secret, body, now=signed_at or timezone.now())
    return Client().post(
        hook_url(channel),
        data=body,
        content_type="message/rfc822",
        **http_headers(headers),
        **extra,
    )


def call(channel, body: bytes = MAIL, *, signed_at=NOW, now=NOW, max_bytes=MAX_MESSAGE_BYTES):
    """The view called directly, with the clock and the cap injected."""
    request = RequestFactory().post(
        hook_url(channel),
        data=body,
        content_type="message/rfc822",
        **http_headers(signed_headers(SECRET, body, now=signed_at)),
    )
    return email_webhook(request, pk=channel.pk, now=now, max_bytes=max_bytes)


def detail(response) -> str:
    return json.loads(response.content)["detail"]


def nothing_stored() -> bool:
    return not RawPayload.objects.exists() and not Message.objects.exists()


# --- accepted ---------------------------------------------------------------------------------


def test_a_signed_mail_is_stored_byte_for_byte_then_parsed_into_an_item(
    channel, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post(channel)

    assert response.status_code == 202
    payload = RawPayload.objects.get()
    assert response.json() == {"detail": STORED, "payload": payload.pk}
    assert blob_read(payload.file.name) == MAIL
    assert (payload.size, payload.channel, payload.metadata["via"]) == (
        len(MAIL),
        channel,
        "webhook",
    )
    # The parse, queued after the commit; then the sentiment, after the parse's (and the
    # events' handlers, the duplicate check among them).
    assert [
        name
        for name in (callback.__qualname__.split(".")[0] for callback in callbacks)
        if name not in ("emit", "_batch")
    ] == ["_store", "sentiment_queue", "duplicates_queue"]
    payload.refresh_from_db()
    assert payload.status == PayloadStatus.PARSED
    message = Message.objects.get()
    item = FeedbackItem.objects.get()
    assert (message.item, message.channel, message.thread_reason) == (
        item,
        channel,
        ThreadReason.NEW,
    )
    assert message.external_id == "first@customer.example"
    assert message.sender == "nadia.kelly@alderfinch.example"
    assert item.subject == "Dispatch board freezes"
    assert item.customer == Customer.objects.get(email="nadia.kelly@alderfinch.example")
    assert item.team == channel.team


def test_the_answer_comes_after_the_commit_with_the_parse_still_queued(channel):
    # Without running the on-commit callbacks: the bytes are stored, the parse is pending.
    response = post(channel)

    assert response.status_code == 202
    assert RawPayload.objects.get().status == PayloadStatus.PENDING


def test_the_same_bytes_posted_twice_are_stored_once(channel, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = post(channel, signed_at=timezone.now() - timedelta(seconds=30))
        again = post(channel)

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == {"detail": STORED_BEFORE, "payload": first.json()["payload"]}
    assert RawPayload.objects.count() == 1
    assert Message.objects.count() == 1


def test_a_replay_within_the_window_stores_nothing_new(channel):
    headers = signed_headers(SECRET, MAIL, now=timezone.now())

    answers = [post(channel, headers=headers).status_code for _ in range(3)]

    assert answers == [202, 200, 200]
    assert RawPayload.objects.count() == 1


def test_a_reply_posted_later_joins_its_conversation(channel, django_capture_on_commit_callbacks):
    reply = make_mail(
        message_id="second@customer.example",
        sender="Nadia Kelly <nadia.kelly@alderfinch.example>",
        to=ADDRESS,
        subject="Re: Dispatch board freezes",
        body="It happens on Firefox too.",
        in_reply_to="first@customer.example",
    )
    with django_capture_on_commit_callbacks(execute=True):
        post(channel)
        post(channel, reply)

    item = FeedbackItem.objects.get()
    assert list(item.messages.values_list("thread_reason", flat=True)) == [
        ThreadReason.NEW,
        ThreadReason.IN_REPLY_TO,
    ]


def test_bytes_the_parser_refuses_are_accepted_and_quarantined_not_lost(
    channel, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(channel, b"no headers here\r\n")

    assert response.status_code == 202
    quarantine = Quarantine.objects.get()
    assert blob_read(quarantine.payload.file.name) == b"no headers here\r\n"
    assert not Message.objects.exists()


def test_the_webhook_needs_no_csrf_token(channel):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        hook_url(channel),
        data=MAIL,
        content_type="message/rfc822",
        **http_headers(signed_headers(SECRET, MAIL, now=timezone.now())),
    )

    assert response.status_code == 202


def test_a_body_larger_than_forms_may_be_is_taken(channel, settings):
    # DATA_UPLOAD_MAX_MEMORY_SIZE guards form posts; a mail may be larger.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    attachment = b"A" * 4000
    body = MAIL.replace(b"\xe9", attachment)

    response = post(channel, body)

    assert response.status_code == 202
    assert blob_read(RawPayload.objects.get().file.name) == body


# --- refused ----------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", [TIMESTAMP_HEADER, SIGNATURE_HEADER, "both"])
def test_an_unsigned_post_is_401_and_stores_nothing(channel, missing):
    headers = signed_headers(SECRET, MAIL, now=timezone.now())
    for name in (TIMESTAMP_HEADER, SIGNATURE_HEADER):
        if missing in (name, "both"):
            del headers[name]

    response = post(channel, headers=headers)

    assert (response.status_code, detail(response)) == (401, SIGNATURE_MISSING)
    assert nothing_stored()


def test_a_wrong_signature_is_403_and_stores_nothing(channel):
    response = post(channel, secret="somebody-elses-secret-value")

    assert (response.status_code, detail(response)) == (403, SIGNATURE_WRONG)
    assert nothing_stored()


def test_a_signed_body_changed_on_the_way_is_403(channel):
    headers = signed_headers(SECRET, MAIL, now=timezone.now())

    response = post(channel, MAIL + b"P.S. transfer the money\r\n", headers=headers)

    assert (response.status_code, detail(response)) == (403, SIGNATURE_WRONG)
    assert nothing_stored()


def test_a_request_replayed_after_five_minutes_is_403(channel):
    assert call(channel, signed_at=NOW, now=NOW).status_code == 202
    RawPayload.objects.all().delete()

    late = call(channel, signed_at=NOW, now=NOW + MAX_SKEW + timedelta(seconds=1))

    assert (late.status_code, detail(late)) == (403, TIMESTAMP_STALE)
    assert nothing_stored()


def test_a_signature_five_minutes_old_is_still_taken(channel):
    assert call(channel, signed_at=NOW - MAX_SKEW, now=NOW).status_code == 202


def test_a_stale_signature_through_http_is_403(channel):
    response = post(channel, signed_at=timezone.now() - timedelta(minutes=6))

    assert (response.status_code, detail(response)) == (403, TIMESTAMP_STALE)
    assert nothing_stored()


def test_a_timestamp_from_the_future_is_403(channel):
    response = call(channel, signed_at=NOW + MAX_SKEW + timedelta(seconds=1), now=NOW)

    assert (response.status_code, detail(response)) == (403, TIMESTAMP_FUTURE)
    assert nothing_stored()


def test_a_body_over_the_parsers_cap_is_413_before_it_is_read(channel):
    length = MAX_MESSAGE_BYTES + 1

    response = post(channel, b"tiny", CONTENT_LENGTH=str(length))

    assert response.status_code == 413
    assert detail(response) == TOO_LARGE.format(size=length, limit=MAX_MESSAGE_BYTES)
    assert nothing_stored()


def test_a_body_one_byte_over_the_cap_is_413(channel):
    body = MAIL + b"x" * 100

    at_cap = call(channel, body, max_bytes=len(body))
    over = call(channel, body, max_bytes=len(body) - 1)

    assert at_cap.status_code == 202
    assert over.status_code == 413
    assert detail(over) == TOO_LARGE.format(size=len(body), limit=len(body) - 1)


def test_a_body_longer_than_announced_by_no_length_is_413_while_reading(channel):
    body = MAIL + b"x" * 100
    request = RequestFactory().post(
        hook_url(channel),
        data=b"",
        content_type="message/rfc822",
        **http_headers(signed_headers(SECRET, body, now=NOW)),
    )
    # A server that passes a body without Content-Length (chunked) to the view.
    request.META.pop("CONTENT_LENGTH", None)
    request._stream = io.BytesIO(body)

    response = email_webhook(request, pk=channel.pk, now=NOW, max_bytes=len(MAIL))

    assert (response.status_code, detail(response)) == (
        413,
        TOO_LARGE_UNKNOWN.format(limit=len(MAIL)),
    )
    assert nothing_stored()


def test_a_content_length_that_is_no_number_is_400(channel):
    response = post(channel, CONTENT_LENGTH="12abc")

    assert (response.status_code, detail(response)) == (400, CONTENT_LENGTH_INVALID)


def test_an_empty_signed_body_is_400(channel):
    response = post(channel, b"")

    assert (response.status_code, detail(response)) == (400, EMPTY_BODY)
    assert nothing_stored()


def test_a_disabled_channel_refuses_signed_mail_with_403(channel):
    channel_update(actor=SYSTEM, channel=channel, enabled=False)

    signed = post(channel)
    unsigned = post(channel, headers={})

    assert (signed.status_code, detail(signed)) == (403, CHANNEL_DISABLED)
    assert unsigned.status_code == 401
    assert nothing_stored()


def test_an_unknown_id_or_another_kind_of_channel_is_404(channel):
    imap = ChannelFactory(team=channel.team)

    for target in (imap.pk, channel.pk + 1000, 2**63 - 1):
        response = post(target)
        assert (response.status_code, detail(response)) == (404, NO_SUCH_WEBHOOK)
    assert nothing_stored()


def test_get_is_405(channel):
    assert Client().get(hook_url(channel)).status_code == 405
    assert Client().put(hook_url(channel), data=MAIL).status_code == 405


# --- the channel ------------------------------------------------------------------------------


def test_the_dispatcher_never_claims_a_webhook_channel(channel):
    Channel.objects.filter(pk=channel.pk).update(next_poll_at=None)
    due_imap = ChannelFactory(next_poll_at=NOW - timedelta(seconds=1))
    ChannelFactory(kind="webhook", next_poll_at=NOW - timedelta(days=1))

    claimed = channels_dispatch(now=NOW)

    assert [channel_id for channel_id, _owner in claimed] == [due_imap.pk]


def test_a_webhook_channel_is_never_due_for_a_poll(channel):
    assert channel.next_poll_at is None

    channel_update(actor=SYSTEM, channel=channel, enabled=False)
    channel = channel_update(actor=SYSTEM, channel=channel, enabled=True, config={"address": ""})

    assert channel.next_poll_at is None
    assert channel.address == ""


def test_the_secret_is_generated_write_only_and_kept_by_an_update_without_it():
    channel = channel_create(
        actor=SYSTEM, team=TeamFactory(), kind="webhook", name="Hook", config={}
    )
    generated = channel.read_config()["secret"]

    channel = channel_update(actor=SYSTEM, channel=channel, config={"address": ADDRESS})

    assert len(generated) >= 40
    assert channel.read_config() == {"address": ADDRESS, "secret": generated}
    logged = " ".join(str(entry.changes) for entry in AuditEntry.objects.all())
    assert generated not in logged
    assert "(set)" in logged


def test_the_webhook_url_is_absolute_under_the_base_url(channel, settings):
    settings.PORTAL_BASE_URL = "https://portal.kitewire.example"

    assert webhook_url(channel) == f"https://portal.kitewire.example/hooks/email/{channel.pk}/"
