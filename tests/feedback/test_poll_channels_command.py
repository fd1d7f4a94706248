"""``manage.py poll_channels``: one complete poll in the foreground, saying what it stored."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from feedback.channels import ConnectorError
from feedback.management.commands.poll_channels import (
    NO_CHANNELS,
    NO_SUCH_CHANNEL,
    SKIPPED,
    SOME_FAILED,
)
from feedback.models import Message
from tests.feedback.factories import ChannelFactory, make_mail
from tests.feedback.fake_connector import KIND, fake_connector  # noqa: F401

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("poll_channels", *args, stdout=out)
    return out.getvalue()


def test_it_polls_every_enabled_channel_and_prints_what_it_stored(fake_connector):  # noqa: F811
    channel = ChannelFactory(kind=KIND, name="Support", config={})
    ChannelFactory(kind=KIND, name="Old", config={}, enabled=False)
    fake_connector.mails = [make_mail(message_id="a@x.example"), b"not a mail\r\n"]

    output = run()

    assert output == (
        "Support: fetched 2 in 1 batch(es); stored 2 new payload(s) (0 stored before); "
        "1 new message(s), 0 already stored, 1 quarantined\n"
    )
    assert Message.objects.filter(channel=channel).count() == 1


def test_a_channel_named_is_polled_even_when_disabled(fake_connector):  # noqa: F811
    channel = ChannelFactory(kind=KIND, name="Old", config={}, enabled=False)
    fake_connector.mails = [make_mail(message_id="a@x.example")]

    output = run("--channel", str(channel.pk))

    assert output.startswith("Old: fetched 1 in 1 batch(es); stored 1 new payload(s)")


def test_a_channel_another_worker_polls_is_skipped():
    channel = ChannelFactory(kind=KIND, name="Busy", config={}, lease_owner="worker")
    channel.lease_expires_at = channel.next_poll_at.replace(year=2100)
    channel.save()

    assert run("--channel", str(channel.pk)) == SKIPPED.format(channel="Busy") + "\n"


def test_a_failed_poll_is_printed_and_exits_non_zero(fake_connector):  # noqa: F811
    ChannelFactory(kind=KIND, name="Broken", config={})
    fake_connector.errors = [ConnectorError("authentication failed", retryable=False)]
    out = StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("poll_channels", stdout=out)

    assert str(raised.value) == SOME_FAILED.format(count=1, total=1)
    assert out.getvalue() == "Broken: failed after 0 fetched, 0 stored: authentication failed\n"


def test_an_unknown_channel_and_no_channels_at_all_are_said_so():
    with pytest.raises(CommandError) as raised:
        run("--channel", "999")
    assert str(raised.value) == NO_SUCH_CHANNEL.format(id=999)

    assert run() == NO_CHANNELS + "\n"
