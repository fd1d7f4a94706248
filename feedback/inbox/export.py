"""The inbox's current view as CSV rows, streamed: every item of the query in its order,
read in chunks, not one page."""

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from feedback.inbox.ordering import NO_DUE_TIME, SLA_DUE, sla_due_expression
from feedback.inbox.params import API_KIND, InboxQuery
from feedback.inbox.query import inbox_items, user_zone
from portal.access import User
from portal.models import Team

EXPORT_HEADER = (
    "id",
    "team",
    "status",
    "priority",
    "priority_reason",
    "subject",
    "customer_email",
    "customer_name",
    "account",
    "tier",
    "assignee",
    "tags",
    "channel",
    "sentiment",
    "first_message_at",
    "last_message_at",
    "sla_due_at",
    "escalated_at",
    "snoozed_until",
)
EXPORT_CHUNK = 500


def inbox_export_rows(
    *, user: User, team: Team | None, query: InboxQuery, now: datetime | None = None
) -> Iterator[list[Any]]:
    """The header, then one row per item of the query in its order, read in chunks (the
    whole view streams, not one page). Times in the user's time zone, ISO 8601; the caller
    writes the rows through ``portal.imports.csvfile`` (formula-safe cells)."""
    zone = user_zone(user)

    def shown(moment: datetime | None) -> str:
        return moment.astimezone(zone).isoformat(timespec="seconds") if moment else ""

    yield list(EXPORT_HEADER)
    items = inbox_items(user=user, team=team, query=query, now=now).annotate(
        **{SLA_DUE: sla_due_expression()}
    )
    for item in items.iterator(chunk_size=EXPORT_CHUNK):
        customer = item.customer
        due = getattr(item, SLA_DUE)
        yield [
            item.pk,
            item.team.name,
            item.status,
            item.priority,
            item.priority_reason,
            item.subject,
            customer.email if customer else "",
            customer.name if customer else "",
            customer.account.name if customer and customer.account else "",
            customer.tier if customer else "",
            item.assignee.get_username() if item.assignee else "",
            ", ".join(tag.name for tag in item.tags.all()),
            item.channel.kind if item.channel else API_KIND,
            item.sentiment,
            shown(item.first_message_at),
            shown(item.last_message_at),
            shown(due if due != NO_DUE_TIME else None),
            shown(item.escalated_at),
            shown(item.snoozed_until),
        ]
