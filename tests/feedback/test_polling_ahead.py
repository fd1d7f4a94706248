"""A poll that fetches one batch ahead, and a remote's ``Retry-After`` in the backoff, with an
injected clock and the connector that serves mail from a list."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from feedback import services
from feedback.channels import ConnectorError
from feedback.models import Channel, Message, RawPayload
from feedback.services import LEASE_LOST, channel_claim, channel_poll
from tests.feedback.factories import ChannelFactory, make_mail
from tests.feedback.fake_connector import KIND, fake_connector  # noqa: F401

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
SLOW_DOWN = "forum.example.test asks us to slow down (HTTP 429); trying again in 900 seconds"


class FixedRandom(random.Random):
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
    return channel_poll(channel_id=channel.pk, owner=owner, now=now, **options)


def mails(count: int) -> list[bytes]:
    return [make_mail(message_id=f"ahead-{n}@x.example") for n in range(count)]


def test_a_failed_fetch_ahead_keeps_the_batch_before_it_and_stores_nothing_of_its_own(
    fake_connector,  # noqa: F811
):
    channel = fake_channel()
    fake_connector.mails = mails(3)

    def fail_next_fetch(point: str) -> None:
        # Called once the first batch is in hand, before the next one is fetched ahead.
        if point == "fetched" and fake_connector.fetches == 1:
            fake_connector.errors = [ConnectorError("the connection was lost")]

    report = claimed_poll(channel, batch_limit=2, pause=fail_next_fetch)

    channel.refresh_from_db()
    assert (report.stored, report.error) == (2, "the connection was lost")
    assert channel.cursor == {"position": 2}
    assert channel.error_streak == 1
    assert sorted(RawPayload.objects.values_list("source_id", flat=True)) == ["fake:1", "fake:2"]
    assert Message.objects.filter(channel=channel).count() == 2


def test_a_batch_fetched_ahead_is_dropped_when_the_poll_loses_its_lease(
    fake_connector,  # noqa: F811
):
    channel = fake_channel()
    fake_connector.mails = mails(4)

    def taken_over(point: str) -> None:
        if point == "fetched":
            Channel.objects.filter(pk=channel.pk).update(lease_owner="someone else")

    report = claimed_poll(channel, batch_limit=2, pause=taken_over)

    channel.refresh_from_db()
    assert (report.stored, report.error) == (2, LEASE_LOST)
    # The second batch was fetched ahead, and nothing of it is stored.
    assert fake_connector.fetches == 2
    assert RawPayload.objects.count() == 2
    assert channel.cursor is None


def test_a_poll_fetches_no_batch_ahead_beyond_its_last_one(fake_connector):  # noqa: F811
    channel = fake_channel()
    fake_connector.mails = mails(6)

    report = claimed_poll(channel, batch_limit=2, max_batches=2)

    channel.refresh_from_db()
    assert (report.batches, report.stored, report.more) == (2, 4, True)
    assert fake_connector.fetches == 2
    assert fake_connector.stored_batches == [["fake:1", "fake:2"], ["fake:3", "fake:4"]]
    assert channel.cursor == {"position": 4}
    assert channel.next_poll_at == NOW


def test_a_remote_that_asks_to_wait_is_not_polled_before_its_retry_after(
    fake_connector,  # noqa: F811
):
    channel = fake_channel(poll_interval=60)
    fake_connector.errors = [ConnectorError(SLOW_DOWN, retry_after=900)]

    report = claimed_poll(channel, rng=FixedRandom(0.0))

    channel.refresh_from_db()
    assert report.error == SLOW_DOWN
    # The backoff alone would have waited 60 seconds.
    assert channel.next_poll_at == NOW + timedelta(seconds=900)
    assert channel.last_error == SLOW_DOWN
    assert (channel.error_streak, channel.healthy) == (1, True)


def test_a_short_retry_after_does_not_shorten_the_backoff(fake_connector):  # noqa: F811
    channel = fake_channel(poll_interval=60, error_streak=2)
    fake_connector.errors = [ConnectorError("busy; trying again in 5 seconds", retry_after=5)]

    claimed_poll(channel, rng=FixedRandom(0.0))

    channel.refresh_from_db()
    # Third failure in a row: 60 * 2**3 = 480 s, half of it without jitter.
    assert channel.next_poll_at == NOW + timedelta(seconds=240)
