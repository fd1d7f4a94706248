"""The orders of the inbox, as terms that all run one way, the id last.

Ranks are numbers that grow with urgency (escalated 1 or 0; urgent 2, high 1, normal 0), so that
"escalated first, then urgent, high, normal, then latest activity" is one descending row
``(escalated, rank, last_message_at, id)``: a keyset page is then one row comparison, which
PostgreSQL reads as a range of the composite index on the same expressions
(``FeedbackItem.Meta.indexes``, migration 0006). The expressions are built here, without the
models (which import them for their indexes).
"""

from datetime import UTC, datetime

from django.db.models import Case, DateTimeField, F, IntegerField, Value, When
from django.db.models.functions import Coalesce

DEFAULT_ORDERING = "priority"
# PostgreSQL's text search configuration: English word forms ("invoices" -> "invoic"). The
# GIN index of migration 0006 is built with it; a search with another would not use it.
SEARCH_CONFIG = "english"
# ItemPriority's values (feedback.models imports this module; a test checks they agree).
URGENT, HIGH = "urgent", "high"

# Ordering terms that are expressions, as annotations named here (never null, so keyset
# pages can key on them). The same expressions make the indexes in FeedbackItem.Meta.
ESCALATED = "inbox_escalated"
PRIORITY_RANK = "inbox_priority_rank"
SLA_DUE = "inbox_sla_due"
# An item without a due time sorts after every item with one (and before, reversed).
NO_DUE_TIME = datetime(9999, 12, 31, tzinfo=UTC)


def escalated_expression() -> Case:
    return Case(
        When(escalated_at__isnull=False, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )


def priority_rank_expression() -> Case:
    return Case(
        When(priority=URGENT, then=Value(2)),
        When(priority=HIGH, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )


def sla_due_expression() -> Coalesce:
    """The next due time of an item: its first response's while nobody has answered, else its
    resolution's; items without one last."""
    return Coalesce(
        Case(
            When(
                first_responded_at__isnull=True,
                first_response_due_at__isnull=False,
                then=F("first_response_due_at"),
            ),
            default=F("resolution_due_at"),
            output_field=DateTimeField(),
        ),
        Value(NO_DUE_TIME, output_field=DateTimeField()),
        output_field=DateTimeField(),
    )


# name -> (terms, descending) for the unprefixed name; "-name" runs the terms the other way.
ORDERINGS: dict[str, tuple[tuple[str, ...], bool]] = {
    "priority": ((ESCALATED, PRIORITY_RANK, "last_message_at", "id"), True),
    "last_message_at": (("last_message_at", "id"), False),
    "first_message_at": (("first_message_at", "id"), False),
    "created_at": (("created_at", "id"), False),
    "sla_due": ((SLA_DUE, "id"), False),
}
ORDERING_ANNOTATIONS = {
    ESCALATED: escalated_expression,
    PRIORITY_RANK: priority_rank_expression,
    SLA_DUE: sla_due_expression,
}
