"""Writing the demo's channels beyond e-mail (the demo part "feedback channels"): an App Store
review feed, the community forum, mentions on Mastodon, the Zendesk help desk that billing
questions still go to and the widget in the product, each fed through the pipeline a real one
takes, so that the inbox shows every channel.

The polled channels (feed, Discourse, Mastodon, Zendesk) are created disabled: their addresses
are on reserved example hosts that nothing ever polls. Their posts are what a poll of the remote
would store (``feedback.demo.remote`` and ``feedback.demo.desk`` cut them with the connectors'
own code), stored with
``payloads_store`` and parsed in this process, as the mail is. The widget is a push channel and
works in the demo: its messages enter through the widget's own submission service.

Like every demo part it only creates what is missing: a payload stored before is not stored or
parsed again, and the widget's messages, which get a fresh id each time they are sent, are sent
only by the run that creates the widget channel. Directory customers who post on the forum or on
Mastodon get that handle first (unless someone else holds it), so that their posts join their
customer; new handles become new customers without an e-mail address, as in production.

The part ends the way the background work that follows a commit would end it: the demo's
messages scored for sentiment and its new items compared for likely duplicates (a few customers
repeat a mail on the forum or through the widget the next day), so the demo has both whether or
not a worker runs.
"""

import random
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from django.core.exceptions import ValidationError

from feedback.channels import FetchedItem, FetchResult, social
from feedback.channels.discourse import KIND as DISCOURSE
from feedback.channels.mastodon import KIND as MASTODON
from feedback.demo import desk, remote, voices
from feedback.demo.seed import (
    SUPPORT_ADDRESS,
    TEAM_SLUG,
    WEBHOOK_CHANNEL,
    channel_ensure,
    demo_mails,
)
from feedback.models import Channel, Message
from feedback.services import (
    messages_sentiment_score,
    payload_parse,
    payloads_parse,
    payloads_store,
)
from feedback.services.duplicates import item_duplicates_find
from feedback.services.widget import widget_submission_receive
from portal import services as portal_services
from portal.demo.data import SEED, CustomerSpec, build_accounts, build_customers
from portal.demo.parts import DemoContext
from portal.fields import normalised_key
from portal.models import Customer, Team

FEED_CHANNEL = "App Store reviews"
FORUM_CHANNEL = "Community forum"
MASTODON_CHANNEL = "@kitewire mentions"
ZENDESK_CHANNEL = "Billing help desk"
WIDGET_CHANNEL = "Website widget"
# Known placeholders, like the IMAP channel's password: the channels are disabled.
FORUM_CONFIG = {
    "base_url": remote.FORUM_URL,
    "api_key": "demo-api-key-for-an-example-forum",
    "api_username": "kitewire_support",
    "categories": [],
}
MASTODON_CONFIG = {
    "base_url": remote.MASTODON_URL,
    "access_token": "demo-token-for-an-example-instance",
    "source": "mentions",
}
FEED_CONFIG = {"url": remote.FEED_URL}
WIDGET_CONFIG = {"allowed_origins": ["https://app.kitewire.example"], "address": SUPPORT_ADDRESS}
DEMO_CHANNELS = (
    WEBHOOK_CHANNEL,
    FEED_CHANNEL,
    FORUM_CHANNEL,
    MASTODON_CHANNEL,
    ZENDESK_CHANNEL,
    WIDGET_CHANNEL,
)
# The channels' own generator, so that a run is the same whichever parts it builds before.
CHANNELS_SEED = SEED + 9


def history_end(today: date) -> datetime:
    """Where the demo's history ends: the start of yesterday, in UTC (as for the mail)."""
    return datetime.combine(today - timedelta(days=1), time(), tzinfo=UTC)


def _customers() -> list[CustomerSpec]:
    rng = random.Random(SEED)
    return build_customers(rng, build_accounts(rng))


def _give_handles(ctx: DemoContext, kind: str, people: Iterable[remote.Person]) -> None:
    """The directory customers among ``people`` get their handle on ``kind``; a customer who
    is gone, or a handle another customer holds, is left as it is."""
    given = set()
    for person in people:
        if person.customer is None or person.handle in given:
            continue
        given.add(person.handle)
        customer = Customer.objects.filter(
            email_key=normalised_key(person.customer.email), merged_into__isnull=True
        ).first()
        if customer is None:
            continue
        held = list(customer.identities.values_list("kind", "handle"))
        handle = _handle(kind, person.handle)
        if (kind, handle) in held:
            ctx.report.note("identities", "kept")
            continue
        try:
            portal_services.customer_update(
                actor=ctx.actor, customer=customer, identities=[*held, (kind, handle)]
            )
        except ValidationError:
            ctx.report.note("identities", "kept")
            continue
        ctx.report.note("identities", "created")


def _handle(kind: str, handle: str) -> str:
    if kind == DISCOURSE:
        return f"{social.host_of(remote.FORUM_URL)}/{handle}"
    return remote.qualified_acct(handle)


def _store_and_parse(
    ctx: DemoContext, channel: Channel, items: list[FetchedItem], kind: str
) -> list[int]:
    """Store the items as a poll's batch (the channel's cursor left where it is) and parse the
    new ones, oldest first; the ids of the items their messages joined or opened."""
    result = FetchResult(items=items, cursor=channel.cursor or {}, more=False)
    report = payloads_store(channel=channel, result=result, queue_parse=False)
    for _ in range(report.duplicates):
        ctx.report.note(kind, "kept")
    # Parsed in chunks, as a poll's worker parses them, in the order stored (oldest first, so
    # a reply finds its topic); the last payload's arrival is the parse's "now".
    stored = [payload.pk for payload in report.payloads]
    last = max((payload.received_at for payload in report.payloads), default=None)
    opened = []
    for outcome in payloads_parse(payload_ids=stored, now=last):
        ctx.report.note(kind, "created")
        if outcome.created and outcome.message is not None and outcome.message.item_id:
            opened.append(outcome.message.item_id)
    return opened


def _send_widget_messages(
    ctx: DemoContext, channel: Channel, submissions: list[tuple]
) -> list[int]:
    opened = []
    for submission, sent_at in submissions:
        payload = widget_submission_receive(channel=channel, submission=submission, now=sent_at)
        outcome = payload_parse(payload=payload, now=sent_at)
        ctx.report.note("widget messages", "created")
        if outcome.created and outcome.message is not None and outcome.message.item_id:
            opened.append(outcome.message.item_id)
    return opened


def _finish(ctx: DemoContext, team: Team, opened: list[int]) -> None:
    """Score the team's unscored demo messages and compare the items the part opened with the
    customers' other items, as the tasks queued after the commit would."""
    unscored = Message.objects.filter(
        team=team, channel__name__in=DEMO_CHANNELS, sentiment_score__isnull=True
    )
    scored = messages_sentiment_score(message_ids=list(unscored.values_list("pk", flat=True)))
    for _ in range(scored):
        ctx.report.note("sentiment scores", "created")
    pairs = set()
    for item_id in sorted(set(opened)):
        pairs.update(pair.pk for pair in item_duplicates_find(item_id=item_id))
    for _ in pairs:
        ctx.report.note("likely duplicates", "created")


def seed_feedback_channels(ctx: DemoContext) -> None:
    """Customer Care's review feed, forum, Mastodon mentions and widget, with what customers
    said on each (see the module's docstring)."""
    team = Team.objects.filter(slug=TEAM_SLUG).first()
    if team is None:
        return
    rng = random.Random(CHANNELS_SEED)
    end = history_end(ctx.today)
    customers = _customers()
    mails = demo_mails(ctx.today)
    on_forum = remote.repeats(mails, customers, voices.REPEATED_ON_FORUM)
    by_widget = remote.repeats(mails, customers, voices.REPEATED_BY_WIDGET)
    opened: list[int] = []

    feed = channel_ensure(
        ctx, team, name=FEED_CHANNEL, kind="feed", config=FEED_CONFIG, enabled=False
    )
    if feed is not None:
        opened += _store_and_parse(ctx, feed, remote.review_items(rng, end), "feed entries")

    forum = channel_ensure(
        ctx, team, name=FORUM_CHANNEL, kind=DISCOURSE, config=FORUM_CONFIG, enabled=False
    )
    if forum is not None:
        _give_handles(ctx, DISCOURSE, remote.forum_people(customers))
        _give_handles(ctx, DISCOURSE, remote.forum_repeaters(on_forum))
        items = remote.forum_items(rng, end, customers, on_forum)
        opened += _store_and_parse(ctx, forum, items, "forum posts")

    mastodon = channel_ensure(
        ctx, team, name=MASTODON_CHANNEL, kind=MASTODON, config=MASTODON_CONFIG, enabled=False
    )
    if mastodon is not None:
        _give_handles(ctx, MASTODON, remote.mastodon_people(customers))
        items = remote.mastodon_items(rng, end, customers)
        opened += _store_and_parse(ctx, mastodon, items, "mentions")

    zendesk = channel_ensure(
        ctx, team, name=ZENDESK_CHANNEL, kind="zendesk", config=desk.ZENDESK_CONFIG, enabled=False
    )
    if zendesk is not None:
        # Requesters come with their address: a directory customer's is found by it and gets
        # the requester id as a handle from the pipeline itself.
        items = desk.zendesk_items(end, customers)
        opened += _store_and_parse(ctx, zendesk, items, "help desk comments")

    widget_created = not Channel.objects.filter(
        team=team, name_key=normalised_key(WIDGET_CHANNEL)
    ).exists()
    widget = channel_ensure(
        ctx, team, name=WIDGET_CHANNEL, kind="widget", config=WIDGET_CONFIG, enabled=True
    )
    if widget is not None and widget_created:
        submissions = desk.widget_submissions(end, customers, by_widget)
        opened += _send_widget_messages(ctx, widget, submissions)

    _finish(ctx, team, opened)
