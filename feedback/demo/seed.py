"""Writing the feedback part of the demo: Customer Care's channels, and its mail fed through
the same pipeline a mail provider's posts take (``payload_receive``, then ``payload_parse``),
so that every item, message, lane, thread and quarantine row is one the portal made itself.

Like every demo part it is built once (``portal.demo.parts``) and only creates what is missing:
a channel that exists under its name is kept as it is, and a mail whose bytes the channel
stored before is not parsed again, so an item people changed or deleted stays that way. The
mail is parsed here, in the seeding process, rather than queued: the demo has its items
whether or not a worker runs.
"""

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from feedback.channels.imap.config import DEFAULT_PORTS
from feedback.demo.mails import DemoMail, build_mails
from feedback.models import Channel
from feedback.services import channel_create, payload_parse, payload_receive
from portal.demo.data import SEED, STAFF_DOMAIN, build_accounts, build_customers
from portal.demo.parts import DemoContext
from portal.fields import normalised_key
from portal.models import Team

TEAM_SLUG = "customer-care"
WEBHOOK_CHANNEL = "Support inbox"
IMAP_CHANNEL = "Help mailbox"
SUPPORT_ADDRESS = f"support@{STAFF_DOMAIN}"
HELP_ADDRESS = f"help@{STAFF_DOMAIN}"
# Known, like the demo's passwords, so that people can post signed mail to a demo they run
# (docs/webhooks.md shows how); a real channel gets a random one.
DEMO_WEBHOOK_SECRET = "kitewire-demo-webhook-secret"
IMAP_CONFIG = {
    "host": "imap.example.com",
    "port": DEFAULT_PORTS["tls"],
    "security": "tls",
    "username": HELP_ADDRESS,
    "password": "demo-password-for-an-example-host",
    "folder": "INBOX",
    "address": HELP_ADDRESS,
}
# The mail has its own generator, so it is the same whichever parts a run builds before it.
MAIL_SEED = SEED + 8


def demo_mails(today: date) -> list[DemoMail]:
    """The demo's mail for a seed run on ``today``: from the demo directory's customers (the
    directory part's specs, rebuilt from the same seed), all arrived before yesterday began
    (in UTC, so that none is in the future in any time zone)."""
    rng = random.Random(SEED)
    customers = build_customers(rng, build_accounts(rng))
    end = datetime.combine(today - timedelta(days=1), time(), tzinfo=UTC)
    return build_mails(random.Random(MAIL_SEED), customers, support=SUPPORT_ADDRESS, end=end)


def channel_ensure(
    ctx: DemoContext, team: Team, *, name: str, kind: str, config: dict[str, Any], enabled: bool
) -> Channel | None:
    """The team's channel called ``name``, created when missing; None when a channel of
    another kind has the name (people made it: it is theirs, and the demo leaves it be)."""
    existing = Channel.objects.filter(team=team, name_key=normalised_key(name)).first()
    if existing is not None:
        ctx.report.note("feedback channels", "kept")
        return existing if existing.kind == kind else None
    channel = channel_create(
        actor=ctx.actor, team=team, kind=kind, name=name, config=config, enabled=enabled
    )
    ctx.report.note("feedback channels", "created")
    return channel


def seed_feedback(ctx: DemoContext) -> None:
    """Customer Care's inbound e-mail webhook with its mail, and a disabled IMAP mailbox
    (created disabled, so nothing ever polls imap.example.com)."""
    team = Team.objects.filter(slug=TEAM_SLUG).first()
    if team is None:
        # People deleted the team the demo's feedback belongs to: nothing to attach it to.
        return
    webhook = channel_ensure(
        ctx,
        team,
        name=WEBHOOK_CHANNEL,
        kind="webhook",
        config={"address": SUPPORT_ADDRESS, "secret": DEMO_WEBHOOK_SECRET},
        enabled=True,
    )
    channel_ensure(ctx, team, name=IMAP_CHANNEL, kind="imap", config=IMAP_CONFIG, enabled=False)
    if webhook is None:
        return
    for mail in demo_mails(ctx.today):
        payload, created = payload_receive(
            channel=webhook,
            raw=mail.raw,
            received_at=mail.received_at,
            metadata={"via": "demo"},
            queue_parse=False,
            now=mail.received_at,
        )
        if not created:
            ctx.report.note("feedback mails", "kept")
            continue
        outcome = payload_parse(payload=payload, now=mail.received_at)
        ctx.report.note("feedback mails", "created")
        if outcome.quarantine is not None:
            ctx.report.note("quarantined", "created")
