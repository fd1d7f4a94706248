"""Helpers for the ingestion tests: channels on the test dovecot and one-call polls."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from feedback import services
from feedback.models import Channel
from feedback.services import PollReport
from portal.actors import SYSTEM
from tests.feedback.dovecot import ImapAccount

MAIL_FIXTURES = Path(__file__).parent / "fixtures" / "mail"


def fixture_mail(name: str) -> bytes:
    return (MAIL_FIXTURES / name).read_bytes()


def imap_channel(
    account: ImapAccount, team, *, name: str | None = None, **config: object
) -> Channel:
    """An IMAP channel of ``team`` reading ``account``'s INBOX, made by the service."""
    return services.channel_create(
        actor=SYSTEM,
        team=team,
        kind="imap",
        name=name or f"Mailbox of {account.username}",
        config=account.config(**config),
    )


def poll(channel: Channel, *, now: datetime | None = None, **options) -> PollReport:
    """Claim and poll the channel once in this process; the report must say it polled."""
    report = services.channel_poll_now(channel_id=channel.pk, now=now, **options)
    assert report.claimed, "the channel's lease was taken"
    return report
