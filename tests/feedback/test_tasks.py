"""The dispatcher, the poll task and channel health, with an injected clock and a connector
that serves mail from a list (``tests/feedback/fake_connector.py``)."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from feedback import services, tasks
from feedback.channels import ConnectorError
from feedback.models import Channel, Message, PayloadStatus, RawPayload
from feedback.services import (
    LEASE_LOST,
    LEASE_SECONDS,
    POLL_INTERNAL_ERROR,
    UNHEALTHY_AFTER,
    UNHEALTHY_KIND,
    backoff_seconds,
    channel_claim,
    channel_poll,
    channels_dispatch,
)
from feedback.services.polling import BACKOFF_CAP_SECONDS
from portal import events
from portal.actors import SYSTEM
from portal.models import Notification
from tests.feedback.factories import ChannelFactory, make_mail
from tests.feedback.fake_connector import KIND, fake_connector  # noqa: F401

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


class FixedRandom(random.Random):
    """random() always answers ``value``: jitter at a chosen point."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


def fake_channel(**fields) -> Channel:
    return ChannelFactory(kind=KIND, config={"address": "support@example.test"}, **fields)


def claimed_poll(channel: Channel, now: datetime = NOW, **options):
    owner = services.new_lease_owner()
    assert channel_claim(channel_id=channel.pk, owner=owner, now=now)
    return channel_poll(channel_id=channel.pk, owner=owner, now=now, **options), owner


# --- the dispatcher -------------------------------------------------------------------------


def test_the_dispatcher_claims_only_enabled_due_channels_with_a_free_lease():
    due = fake_channel(next_poll_at=NOW - timedelta(seconds=1))
    never_polled = fake_channel(next_poll_at=None)
    fake_channel(next_poll_at=NOW + timedelta(seconds=1))
    fake_channel(next_poll_at=NOW, enabled=False)
    fake_channel(next_poll_at=NOW, lease_owner="busy", lease_expires_at=NOW + timedelta(minutes=1))

    claimed = channels_dispatch(now=NOW)

    assert sorted(channel_id for channel_id, _ in claimed) == sorted([due.pk, never_polled.pk])
    for channel_id, owner in claimed:
        channel = Channel.objects.get(pk=channel_id)
        assert channel.lease_owner == owner
        assert channel.lease_expires_at == NOW + timedelta(seconds=LEASE_SECONDS)


def test_a_claimed_channel_is_claimed_again_only_once_its_lease_has_run_out():
    channel = fake_channel(next_poll_at=NOW)
    [(_, first_owner)] = channels_dispatch(now=NOW)

    assert channels_dispatch(now=NOW + timedelta(seconds=LEASE_SECONDS - 1)) == []
    [(channel_id, second_owner)] = channels_dispatch(now=NOW + timedelta(seconds=LEASE_SECONDS + 1))

    assert channel_id == channel.pk
    assert second_owner != first_owner


def test_the_dispatch_task_queues_one_poll_per_claimed_channel(fake_connector):  # noqa: F811
    channel = fake_channel(next_poll_at=NOW)
    fake_connector.mails = [make_mail(message_id="queued@x.example")]

    assert tasks.dispatch_due_channels.delay().get() == 1

    assert Message.objects.filter(channel=channel).count() == 1
    channel.refresh_from_db()
    assert (channel.lease_owner, channel.lease_expires_at) == ("", None)


def test_the_beat_runs_the_dispatcher_every_few_seconds():
    entry = settings.CELERY_BEAT_SCHEDULE["feedback-dispatch-due-channels"]

    assert entry["task"] == "feedback.tasks.dispatch_due_channels"
    assert entry["schedule"] <= 10


# --- leases ---------------------------------------------------------------------------------


def test_a_poll_task_whose_lease_was_taken_over_does_nothing(fake_connector):  # noqa: F811
    channel = fake_channel()
    # The task reads the real clock: the second lease is fresh, the first ran out.
    now = timezone.now()
    assert channel_claim(channel_id=channel.pk, owner="first", now=now - timedelta(hours=1))
    assert channel_claim(channel_id=channel.pk, owner="second", now=now)

    result = tasks.poll_channel.delay(channel.pk, "first").get()

    assert result == {"channel_id": channel.pk, "claimed": False}
    assert fake_connector.fetches == 0
    assert Channel.objects.get(pk=channel.pk).lease_owner == "second"


def test_a_poll_task_delivered_again_takes_its_own_lease_again():
    channel = fake_channel()
    assert channel_claim(channel_id=channel.pk, owner="mine", now=NOW)

    assert channel_claim(channel_id=channel.pk, owner="mine", now=NOW + timedelta(seconds=5))
    assert not channel_claim(channel_id=channel.pk, owner="other", now=NOW + timedelta(seconds=5))


def test_a_poll_that_lost_its_lease_stores_its_batch_but_leaves_the_cursor(
    fake_connector,  # noqa: F811
):
    channel = fake_channel()
    fake_connector.mails = [make_mail(message_id=f"l{n}@x.example") for n in range(2)]

    def taken_over(point: str) -> None:
        if point == "fetched":
            Channel.objects.filter(pk=channel.pk).update(lease_owner="someone else")

    report, _ = claimed_poll(channel, pause=taken_over)

    channel.refresh_from_db()
    assert (report.stored, report.error) == (2, LEASE_LOST)
    assert channel.cursor is None
    assert channel.lease_owner == "someone else"
    # The new holder fetches the same mail again and stores nothing twice.
    Channel.objects.filter(pk=channel.pk).update(lease_owner="", lease_expires_at=None)
    again, _ = claimed_poll(channel)
    assert (again.stored, again.duplicates) == (0, 2)
    assert Message.objects.filter(channel=channel).count() == 2


# --- success and failure --------------------------------------------------------------------


def test_a_successful_poll_resets_the_streak_and_schedules_the_next_poll(
    fake_connector,  # noqa: F811
):
    channel = fake_channel(poll_interval=90, error_streak=3, last_error="timed out after 2 s")

    report, _ = claimed_poll(channel)

    channel.refresh_from_db()
    assert report.ok
    assert (channel.error_streak, channel.healthy) == (0, True)
    assert channel.last_success_at == NOW
    assert channel.next_poll_at == NOW + timedelta(seconds=90)
    assert (channel.lease_owner, channel.lease_expires_at) == ("", None)
    # The last error stays for the health page; the streak says it is over.
    assert channel.last_error == "timed out after 2 s"


def test_backoff_doubles_per_failure_with_jitter_and_is_capped():
    assert backoff_seconds(60, 1, FixedRandom(0.0)) == 60
    assert backoff_seconds(60, 1, FixedRandom(0.999999)) == pytest.approx(120, abs=0.001)
    assert backoff_seconds(60, 2, FixedRandom(0.0)) == 120
    assert backoff_seconds(60, 3, FixedRandom(0.5)) == 360
    assert backoff_seconds(60, 40, FixedRandom(0.0)) == BACKOFF_CAP_SECONDS / 2
    assert backoff_seconds(60, 40, FixedRandom(0.999999)) <= BACKOFF_CAP_SECONDS


def test_failed_polls_back_off_and_count_the_streak(fake_connector):  # noqa: F811
    channel = fake_channel(poll_interval=60)
    fake_connector.errors = [ConnectorError("timed out after 2 s") for _ in range(3)]

    delays = []
    for attempt in range(3):
        now = NOW + timedelta(hours=attempt)
        report, _ = claimed_poll(channel, now=now, rng=FixedRandom(0.0))
        channel.refresh_from_db()
        delays.append((channel.next_poll_at - now).total_seconds())
        assert report.error == "timed out after 2 s"

    assert delays == [60, 120, 240]
    assert channel.error_streak == 3
    assert channel.last_error_at == NOW + timedelta(hours=2)
    assert channel.healthy
    assert (channel.lease_owner, channel.lease_expires_at) == ("", None)


def test_a_failed_poll_stores_nothing_and_keeps_the_cursor(fake_connector):  # noqa: F811
    channel = fake_channel(cursor={"position": 0})
    fake_connector.mails = [make_mail(message_id="kept@x.example")]
    fake_connector.errors = [ConnectorError("the connection was lost")]

    claimed_poll(channel)

    channel.refresh_from_db()
    assert channel.cursor == {"position": 0}
    assert not RawPayload.objects.exists()


def test_a_channel_failing_again_and_again_turns_unhealthy_and_its_admins_are_told_once(
    world,
    fake_connector,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    channel = fake_channel(team=world.team_a, name="Support inbox")
    fake_connector.errors = [
        ConnectorError("could not connect to mail.example.com:993 (connection refused)")
        for _ in range(UNHEALTHY_AFTER + 2)
    ]
    unhealthy, recovered = [], []
    events.register("feedback.channel_unhealthy", unhealthy.append)
    events.register("feedback.channel_recovered", recovered.append)
    try:
        for attempt in range(UNHEALTHY_AFTER + 2):
            with django_capture_on_commit_callbacks(execute=True):
                claimed_poll(channel, now=NOW + timedelta(hours=attempt))
            channel.refresh_from_db()
            assert channel.healthy == (attempt + 1 < UNHEALTHY_AFTER)
        notifications = Notification.objects.filter(kind=UNHEALTHY_KIND)
        assert [n.user for n in notifications] == [world.admin_a]
        assert notifications[0].subject.startswith("Channel Support inbox of Team A is failing")
        assert unhealthy == [{"channel_id": channel.pk}]

        with django_capture_on_commit_callbacks(execute=True):
            claimed_poll(channel, now=NOW + timedelta(days=1))
    finally:
        events.unregister("feedback.channel_unhealthy", unhealthy.append)
        events.unregister("feedback.channel_recovered", recovered.append)

    channel.refresh_from_db()
    assert channel.healthy
    assert recovered == [{"channel_id": channel.pk}]


def test_an_error_retrying_cannot_fix_makes_the_channel_unhealthy_at_once(
    world,
    fake_connector,  # noqa: F811
):
    channel = fake_channel(team=world.team_a)
    fake_connector.errors = [ConnectorError("authentication failed", retryable=False)]

    claimed_poll(channel)

    channel.refresh_from_db()
    assert (channel.healthy, channel.error_streak, channel.last_error) == (
        False,
        1,
        "authentication failed",
    )
    assert channel.next_poll_at == NOW + timedelta(seconds=BACKOFF_CAP_SECONDS)
    assert Notification.objects.filter(user=world.admin_a, kind=UNHEALTHY_KIND).count() == 1


def test_an_internal_error_is_recorded_as_a_failure_and_raised(fake_connector):  # noqa: F811
    channel = fake_channel()
    fake_connector.errors = [RuntimeError("a bug")]
    owner = services.new_lease_owner()
    assert channel_claim(channel_id=channel.pk, owner=owner, now=NOW)

    with pytest.raises(RuntimeError):
        channel_poll(channel_id=channel.pk, owner=owner, now=NOW)

    channel.refresh_from_db()
    assert channel.last_error == POLL_INTERNAL_ERROR.format(error="RuntimeError")
    assert (channel.error_streak, channel.lease_owner) == (1, "")


def test_a_failing_follow_up_keeps_the_stored_batch_parsed_and_counts_as_a_failure(
    fake_connector,  # noqa: F811
):
    channel = fake_channel()
    fake_connector.mails = [make_mail(message_id="moved@x.example")]
    fake_connector.after_store_errors = [
        ConnectorError("folder Done does not exist", retryable=False)
    ]

    report, _ = claimed_poll(channel)

    channel.refresh_from_db()
    assert report.error == "folder Done does not exist"
    assert channel.cursor == {"position": 1}
    assert Message.objects.filter(channel=channel).count() == 1


def connector_error_with_config_updates(message: str, updates: dict) -> ConnectorError:
    """A failure after the connector changed its config (IMAP: a rotated refresh token)."""
    error = ConnectorError(message)
    error.config_updates = updates
    return error


def test_a_failed_poll_stores_what_its_connector_changed_in_the_config_before_failing(
    fake_connector,  # noqa: F811
):
    channel = fake_channel()
    fake_connector.errors = [
        connector_error_with_config_updates("the connection was lost", {"token": "rotated"})
    ]

    report, _ = claimed_poll(channel)

    channel.refresh_from_db()
    assert report.error == "the connection was lost"
    assert channel.read_config() == {"address": "support@example.test", "token": "rotated"}
    assert "rotated" not in channel.config_encrypted
    assert (channel.error_streak, channel.lease_owner) == (1, "")


def test_an_admins_config_saved_during_a_failed_poll_wins_over_its_connectors_change(
    fake_connector,  # noqa: F811
):
    channel = fake_channel()
    fake_connector.mails = [make_mail(message_id=f"a{n}@x.example") for n in range(2)]

    def admin_saves(point: str) -> None:
        # The first batch is in hand; the next fetch fails after changing the config.
        if point == "fetched" and fake_connector.fetches == 1:
            services.channel_update(actor=SYSTEM, channel=channel, config={"token": "admin's"})
            fake_connector.errors = [
                connector_error_with_config_updates("the connection was lost", {"token": "old"})
            ]

    report, _ = claimed_poll(channel, batch_limit=1, pause=admin_saves)

    channel.refresh_from_db()
    assert (report.stored, report.error) == (1, "the connection was lost")
    assert channel.read_config()["token"] == "admin's"


# --- parsing tasks --------------------------------------------------------------------------


def test_the_sweeper_parses_payloads_whose_parse_was_lost(fake_connector):  # noqa: F811
    channel = fake_channel()
    fake_connector.mails = [make_mail(message_id="lost@x.example")]
    result = fake_connector.fetch({}, None)
    services.payloads_store(channel=channel, result=result, queue_parse=False)
    payload = RawPayload.objects.get()
    assert services.payloads_stale(older_than=600) == []
    RawPayload.objects.update(created_at=payload.created_at - timedelta(minutes=11))

    assert tasks.parse_stale_payloads.delay().get() == 1

    payload.refresh_from_db()
    assert payload.status == PayloadStatus.PARSED
    assert payload.message.external_id == "lost@x.example"


def test_the_parse_task_leaves_parsed_payloads_alone(fake_connector):  # noqa: F811
    channel = fake_channel()
    fake_connector.mails = [make_mail(message_id="once@x.example")]
    services.payloads_store(
        channel=channel, result=fake_connector.fetch({}, None), queue_parse=False
    )
    payload_id = RawPayload.objects.get().pk

    tasks.parse_payloads.delay([payload_id]).get()
    tasks.parse_payloads.delay([payload_id]).get()

    assert Message.objects.count() == 1
