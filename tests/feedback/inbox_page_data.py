"""A small, varied inbox for the inbox page's tests and its browser check: customers with
accounts and tiers, channels of several kinds, coloured tags, sentiments, priorities with
their reasons, SLA due times (one breached, one escalated), an assignee, a snoozed item, and
message texts in the search documents."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from feedback.models import FeedbackItem, ItemPriority, ItemStatus, Sentiment, Tag
from feedback.services.search_document import item_search_document_refresh
from tests.factories import AccountFactory, CustomerFactory
from tests.feedback.factories import (
    ChannelFactory,
    FeedbackItemFactory,
    MessageFactory,
    TagFactory,
)


@dataclass
class InboxData:
    items: dict[str, FeedbackItem]
    tags: dict[str, Tag]


def inbox_data(team, *, agent, now: datetime) -> InboxData:
    acme = AccountFactory(name="Acme Corporation", plan="enterprise", mrr=Decimal("6200"))
    globex = AccountFactory(name="Globex", plan="growth", mrr=Decimal("480"))
    alice = CustomerFactory(name="Alice Doe", email="alice@acme.test", account=acme, tier="vip")
    bob = CustomerFactory(name="Bob Roe", email="bob@globex.test", account=globex)
    carla = CustomerFactory(
        name="Carla Diaz", email="carla@acme.test", account=acme, tier="priority"
    )
    mail = ChannelFactory(team=team, kind="imap", name="Support mailbox")
    widget = ChannelFactory(team=team, kind="widget", name="Website widget")
    forum = ChannelFactory(team=team, kind="discourse", name="Community forum")
    tags = {
        "billing": TagFactory(team=team, name="billing", colour="#d9480f"),
        "export": TagFactory(team=team, name="export", colour="#1971c2"),
        "bug": TagFactory(team=team, name="bug", colour="#2f9e44"),
    }
    hour = timedelta(hours=1)

    def item(subject, text, *, customer, channel, ago, **fields) -> FeedbackItem:
        made = FeedbackItemFactory(
            team=team,
            subject=subject,
            customer=customer,
            channel=channel,
            first_message_at=now - ago - hour,
            last_message_at=now - ago,
            **fields,
        )
        MessageFactory(
            item=made, channel=channel, text=text, sent_at=now - ago, received_at=now - ago
        )
        return made

    items = {
        "invoice": item(
            "Invoice shows the wrong VAT",
            "Our March invoices show 19% VAT but we are exempt. Please correct them.",
            customer=alice,
            channel=mail,
            ago=timedelta(minutes=20),
            status=ItemStatus.OPEN,
            priority=ItemPriority.URGENT,
            priority_reason="VIP customer",
            sentiment=Sentiment.NEGATIVE,
            sentiment_score=-0.62,
            first_response_due_at=now - 2 * hour,
            first_response_breached_at=now - 2 * hour,
            escalated_at=now - hour,
        ),
        "export": item(
            "CSV export stops at 10,000 rows",
            "The export of our customer list stops after 10,000 rows without an error.",
            customer=carla,
            channel=widget,
            ago=timedelta(hours=2),
            status=ItemStatus.NEW,
            priority=ItemPriority.HIGH,
            priority_reason="plan enterprise",
            sentiment=Sentiment.NEUTRAL,
            sentiment_score=0.0,
            first_response_due_at=now + 3 * hour,
        ),
        "darkmode": item(
            "Dark mode, please",
            "Love the product! A dark mode would make late shifts easier on the eyes.",
            customer=bob,
            channel=forum,
            ago=timedelta(hours=5),
            status=ItemStatus.WAITING,
            sentiment=Sentiment.POSITIVE,
            sentiment_score=0.71,
            assignee=agent,
            first_responded_at=now - 4 * hour,
            resolution_due_at=now + 30 * hour,
        ),
        "login": item(
            "Cannot log in since the update",
            "Since yesterday's update the login page spins forever.",
            customer=bob,
            channel=mail,
            ago=timedelta(days=1),
            status=ItemStatus.RESOLVED,
            resolved_at=now - hour,
        ),
        "snoozed": item(
            "Call me back next week",
            "I'm travelling; please call me back next week about the renewal.",
            customer=alice,
            channel=mail,
            ago=timedelta(days=2),
            status=ItemStatus.OPEN,
            snoozed_until=now + timedelta(days=3),
        ),
    }
    items["invoice"].tags.add(tags["billing"], tags["bug"])
    items["export"].tags.add(tags["export"], tags["bug"])
    item_search_document_refresh([made.pk for made in items.values()])
    for made in items.values():
        made.refresh_from_db()
    return InboxData(items=items, tags=tags)
