"""The feedback services: channels (config checked, encrypted, secrets write-only), storing
raw payloads with the cursor, quarantine retry and discard, pushed items and tags."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from feedback import services
from feedback.channels import FetchedItem, FetchResult
from feedback.channels.imap.config import FIELD_REQUIRED, PLAINTEXT_REFUSED
from feedback.models import (
    Channel,
    FeedbackItem,
    Message,
    PayloadStatus,
    Quarantine,
    QuarantineStatus,
    RawPayload,
    Tag,
)
from feedback.services import (
    CHANNEL_NAME_TAKEN,
    POLL_INTERVAL_INVALID,
    QUARANTINE_CLOSED,
    TEXT_REQUIRED,
    TOO_MANY_TAGS,
    channel_create,
    channel_update,
    item_ingest,
    payload_receive,
    payloads_store,
    quarantine_discard,
    quarantine_retry,
    tags_ensure,
)
from feedback.services.channels import SECRET_SET
from feedback.services.storage import blob_name, blob_read, blob_store
from portal.actors import SYSTEM
from portal.models import AuditEntry, Customer
from tests.feedback.factories import ChannelFactory, make_mail
from tests.feedback.fake_connector import KIND, fake_connector  # noqa: F401

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
IMAP_CONFIG = {
    "host": "127.0.0.1",
    "port": 1143,
    "username": "support",
    "password": "s3cret-password",
    "security": "none",
    "address": "Support@Example.test",
}


def imap(world, **overrides) -> Channel:
    return channel_create(
        actor=world.admin_a,
        team=world.team_a,
        kind="imap",
        name=overrides.pop("name", "Support mailbox"),
        config={**IMAP_CONFIG, **overrides},
        now=NOW,
    )


def batch(*raws: bytes, start: int = 0) -> FetchResult:
    items = [
        FetchedItem(source_id=f"1:{start + n + 1}", raw=raw, received_at=NOW, metadata={})
        for n, raw in enumerate(raws)
    ]
    return FetchResult(items, {"last_uid": start + len(raws)}, more=False)


# --- channels -------------------------------------------------------------------------------


def test_a_channel_stores_its_config_encrypted_and_is_due_at_once(world):
    channel = imap(world)

    assert "s3cret-password" not in channel.config_encrypted
    assert channel.read_config()["password"] == "s3cret-password"
    assert channel.address == "support@example.test"
    assert (channel.next_poll_at, channel.enabled, channel.healthy) == (NOW, True, True)


def test_the_audit_log_of_a_channel_never_holds_its_secret(world):
    channel = imap(world)
    channel_update(actor=world.admin_a, channel=channel, config={"password": "other-secret"})
    channel_update(actor=world.admin_a, channel=channel, config={"username": "desk"})

    entries = AuditEntry.objects.filter(target_id=channel.pk, action__startswith="channel.")
    assert [entry.action for entry in entries.order_by("pk")] == [
        "channel.created",
        "channel.updated",
    ]
    text = json.dumps([entry.changes for entry in entries])
    assert "s3cret-password" not in text and "other-secret" not in text
    created = entries.get(action="channel.created").changes
    assert created["config"]["after"]["password"] == SECRET_SET


def test_only_team_admins_create_and_change_channels(world):
    with pytest.raises(PermissionDenied):
        channel_create(
            actor=world.lead_a, team=world.team_a, kind="imap", name="x", config=IMAP_CONFIG
        )
    channel = imap(world)
    with pytest.raises(PermissionDenied):
        channel_update(actor=world.member_b, channel=channel, enabled=False)


def test_a_config_the_connector_refuses_names_what_is_wrong(world):
    with pytest.raises(ValidationError) as raised:
        imap(world, host="")

    assert raised.value.message_dict == {"config": [FIELD_REQUIRED.format(field="host")]}


def test_plaintext_imap_to_another_host_needs_the_setting(world, settings):
    with pytest.raises(ValidationError) as raised:
        imap(world, host="mail.example.com")
    assert raised.value.message_dict == {
        "config": [PLAINTEXT_REFUSED.format(host="mail.example.com")]
    }

    settings.PORTAL_ALLOW_PLAINTEXT_IMAP = True
    assert imap(world, host="mail.example.com").read_config()["host"] == "mail.example.com"


def test_an_unknown_kind_and_a_bad_poll_interval_are_refused(world):
    with pytest.raises(ValidationError) as raised:
        channel_create(actor=world.admin_a, team=world.team_a, kind="fax", name="x", config={})
    assert "fax" in raised.value.message_dict["kind"][0]

    channel = imap(world)
    with pytest.raises(ValidationError) as raised:
        channel_update(actor=world.admin_a, channel=channel, poll_interval=1)
    assert raised.value.message_dict == {"poll_interval": [POLL_INTERVAL_INVALID]}


def test_channel_names_are_unique_per_team_whatever_their_case(world):
    imap(world, name="Support")

    with pytest.raises(ValidationError) as raised:
        imap(world, name="  SUPPORT ")

    assert raised.value.message_dict == {
        "name": [CHANNEL_NAME_TAKEN.format(name="SUPPORT", team=world.team_a)]
    }


def test_an_update_without_the_secret_keeps_it_and_merges_the_rest(world):
    channel = imap(world)

    channel = channel_update(
        actor=world.admin_a,
        channel=channel,
        config={"password": "", "folder": "Support"},
        now=NOW + timedelta(hours=1),
    )

    config = channel.read_config()
    assert (config["password"], config["folder"], config["host"]) == (
        "s3cret-password",
        "Support",
        "127.0.0.1",
    )
    # A changed config is tried at once.
    assert channel.next_poll_at == NOW + timedelta(hours=1)


def test_a_channel_enabled_again_is_due_at_once(world):
    channel = imap(world)
    channel = channel_update(actor=world.admin_a, channel=channel, enabled=False)

    channel = channel_update(
        actor=world.admin_a, channel=channel, enabled=True, now=NOW + timedelta(days=2)
    )

    assert channel.next_poll_at == NOW + timedelta(days=2)


def test_a_shorter_poll_interval_brings_the_next_poll_forward(world):
    channel = imap(world)
    Channel.objects.filter(pk=channel.pk).update(
        poll_interval=86400, next_poll_at=NOW + timedelta(days=1)
    )

    channel = channel_update(
        actor=world.admin_a,
        channel=Channel.objects.get(pk=channel.pk),
        poll_interval=60,
        now=NOW + timedelta(hours=1),
    )

    assert channel.next_poll_at == NOW + timedelta(hours=1, seconds=60)
    assert Channel.objects.get(pk=channel.pk).next_poll_at == channel.next_poll_at


def test_a_longer_poll_interval_keeps_the_next_poll_planned(world):
    channel = imap(world)
    Channel.objects.filter(pk=channel.pk).update(next_poll_at=NOW + timedelta(seconds=30))

    channel = channel_update(
        actor=world.admin_a,
        channel=Channel.objects.get(pk=channel.pk),
        poll_interval=3600,
        now=NOW,
    )

    assert channel.next_poll_at == NOW + timedelta(seconds=30)


# --- storage --------------------------------------------------------------------------------


def test_blobs_are_content_addressed_and_stored_once():
    first = blob_store("raw", b"same bytes")
    second = blob_store("raw", b"same bytes")

    assert first == second
    assert first.startswith("raw/") and first.count("/") == 3
    assert blob_read(first) == b"same bytes"


def test_a_blob_cut_short_by_a_killed_writer_is_written_again(settings):
    from hashlib import sha256

    digest = sha256(b"the whole mail").hexdigest()
    path = settings.MEDIA_ROOT / blob_name("raw", digest)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"the wh")

    blob_store("raw", b"the whole mail")

    assert path.read_bytes() == b"the whole mail"


# --- storing payloads -----------------------------------------------------------------------


def test_a_batch_is_stored_with_its_cursor_and_stored_again_changes_nothing():
    channel = ChannelFactory()
    result = batch(make_mail(message_id="a@x.example"), make_mail(message_id="b@x.example"))

    first = payloads_store(channel=channel, result=result, queue_parse=False, now=NOW)
    second = payloads_store(channel=channel, result=result, queue_parse=False, now=NOW)

    assert (len(first.payloads), first.duplicates, first.cursor_moved) == (2, 0, True)
    assert (len(second.payloads), second.duplicates) == (0, 2)
    assert RawPayload.objects.filter(channel=channel).count() == 2
    channel.refresh_from_db()
    assert channel.cursor == {"last_uid": 2}
    assert {p.status for p in RawPayload.objects.all()} == {PayloadStatus.PENDING}


def test_the_cursor_moves_only_with_the_stored_batch():
    channel = ChannelFactory(cursor={"last_uid": 0})

    def crash() -> None:
        raise RuntimeError("killed before the commit")

    with pytest.raises(RuntimeError):
        payloads_store(
            channel=channel, result=batch(make_mail(message_id="a@x.example")), before_commit=crash
        )

    channel.refresh_from_db()
    assert channel.cursor == {"last_uid": 0}
    assert not RawPayload.objects.exists()


def test_a_store_queues_the_parse_after_its_commit(django_capture_on_commit_callbacks):
    channel = ChannelFactory()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        payloads_store(channel=channel, result=batch(make_mail(message_id="q@x.example")))

    # The parse, queued after the store's commit; then the sentiment, after the parse's (and
    # the events' batched handlers: the duplicate check).
    assert [
        name
        for name in (callback.__qualname__.split(".")[0] for callback in callbacks)
        if name not in ("emit", "_batch")
    ] == ["_store", "sentiment_queue", "duplicates_queue"]
    assert Message.objects.get().external_id == "q@x.example"


def test_a_rolled_back_store_queues_nothing(django_capture_on_commit_callbacks):
    channel = ChannelFactory()

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        payloads_store(channel=channel, result=batch(make_mail(message_id="r@x.example")))
        raise RuntimeError("rolled back")

    assert callbacks == []
    assert not RawPayload.objects.exists()


def test_a_pushed_payload_is_stored_once_by_its_content():
    channel = ChannelFactory()
    raw = make_mail(message_id="push@x.example")

    first, created = payload_receive(channel=channel, raw=raw, queue_parse=False, now=NOW)
    again, created_again = payload_receive(channel=channel, raw=raw, queue_parse=False, now=NOW)

    assert (created, created_again) == (True, False)
    assert again == first
    assert first.source_id == f"sha256:{first.sha256}"
    assert (first.received_at, first.size) == (NOW, len(raw))


# --- quarantine -----------------------------------------------------------------------------


def quarantined(world) -> Quarantine:
    channel = ChannelFactory(team=world.team_a)
    payload, _ = payload_receive(channel=channel, raw=b"no headers here\r\n", queue_parse=False)
    services.payload_parse(payload=payload)
    return Quarantine.objects.get(payload=payload)


def test_a_quarantined_payload_retried_after_the_cause_is_gone_leaves_quarantine(
    world, monkeypatch
):
    quarantine = quarantined(world)
    good = make_mail(message_id="fixed@x.example")
    monkeypatch.setattr("feedback.services.parsing.blob_read", lambda name: good)

    outcome = quarantine_retry(actor=world.agent_a, quarantine=quarantine)

    quarantine.refresh_from_db()
    assert outcome.message.external_id == "fixed@x.example"
    assert (quarantine.status, quarantine.retry_count, quarantine.closed_by) == (
        QuarantineStatus.RESOLVED,
        1,
        world.agent_a,
    )
    assert quarantine.payload.status == PayloadStatus.PARSED
    assert AuditEntry.objects.filter(action="quarantine.retried").count() == 1


def test_a_retry_that_fails_again_stays_in_quarantine_with_the_count(world):
    quarantine = quarantined(world)

    outcome = quarantine_retry(actor=world.agent_a, quarantine=quarantine)

    quarantine.refresh_from_db()
    assert outcome.message is None
    assert (quarantine.status, quarantine.retry_count) == (QuarantineStatus.OPEN, 1)
    assert quarantine.error == "the message has no header block"


def test_a_discarded_payload_keeps_its_raw_bytes(world):
    quarantine = quarantined(world)

    quarantine_discard(actor=world.agent_a, quarantine=quarantine)

    quarantine.refresh_from_db()
    assert (quarantine.status, quarantine.closed_by) == (QuarantineStatus.DISCARDED, world.agent_a)
    assert blob_read(quarantine.payload.file.name) == b"no headers here\r\n"
    with pytest.raises(ValidationError) as raised:
        quarantine_retry(actor=world.agent_a, quarantine=quarantine)
    assert raised.value.messages == [QUARANTINE_CLOSED.format(status="discarded")]


def test_viewers_and_other_teams_may_not_retry_or_discard(world):
    quarantine = quarantined(world)

    for actor in (world.viewer_a, world.member_b):
        with pytest.raises(PermissionDenied):
            quarantine_retry(actor=actor, quarantine=quarantine)
        with pytest.raises(PermissionDenied):
            quarantine_discard(actor=actor, quarantine=quarantine)


# --- pushed items and tags ------------------------------------------------------------------


def test_a_pushed_item_with_its_external_id_is_stored_once(world):
    first, created = item_ingest(
        actor=world.agent_a,
        team=world.team_a,
        customer_email="Kim@Example.test",
        customer_name="Kim Lee",
        subject="Export is slow",
        text="It takes minutes.",
        external_id="crm-17",
        tags=["Export", "export ", "speed"],
        now=NOW,
    )
    again, created_again = item_ingest(
        actor=world.agent_a,
        team=world.team_a,
        customer_email="kim@example.test",
        text="Different text, same id",
        external_id="crm-17",
    )

    assert (created, created_again, again) == (True, False, first)
    assert first.customer == Customer.objects.get(email="kim@example.test")
    assert [tag.name for tag in first.tags.order_by("name")] == ["Export", "speed"]
    message = Message.objects.get(item=first)
    assert (message.text, message.sender, message.sent_at) == (
        "It takes minutes.",
        "kim@example.test",
        NOW,
    )


def test_pushed_feedback_without_text_or_with_too_many_tags_is_refused(world):
    with pytest.raises(ValidationError) as raised:
        item_ingest(actor=world.agent_a, team=world.team_a, customer_email="a@example.test")
    assert raised.value.message_dict == {"text": [TEXT_REQUIRED]}

    with pytest.raises(ValidationError) as raised:
        item_ingest(
            actor=world.agent_a,
            team=world.team_a,
            customer_email="a@example.test",
            text="x",
            tags=[f"t{n}" for n in range(30)],
        )
    assert raised.value.message_dict == {"tags": [TOO_MANY_TAGS]}
    assert not FeedbackItem.objects.exists()


def test_viewers_may_not_push_feedback(world):
    with pytest.raises(PermissionDenied):
        item_ingest(
            actor=world.viewer_a, team=world.team_a, customer_email="a@example.test", text="x"
        )


def test_tags_are_the_teams_own_and_created_on_first_use(world):
    [mine] = tags_ensure(team=world.team_a, names=["Billing"])
    [same] = tags_ensure(team=world.team_a, names=[" billing"])
    [theirs] = tags_ensure(team=world.team_b, names=["Billing"])

    assert same == mine
    assert theirs != mine
    assert Tag.objects.count() == 2


def test_the_system_actor_may_push_for_any_team(world):
    item, created = item_ingest(
        actor=SYSTEM,
        team=world.team_b,
        customer_email="widget@example.test",
        text="From the widget",
    )

    assert created and item.team == world.team_b


@pytest.mark.usefixtures("fake_connector")
def test_a_channel_of_a_registered_kind_uses_its_connector_to_check_the_config(world):
    with pytest.raises(ValidationError) as raised:
        channel_create(
            actor=world.admin_a,
            team=world.team_a,
            kind=KIND,
            name="Fake",
            config={"address": "nope"},
        )

    assert raised.value.message_dict == {"config": ["address must be an e-mail address"]}
