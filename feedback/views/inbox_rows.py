"""What each row of the inbox list shows, read for a whole page at once: the item, its likely
duplicates (one query for the page), its channel kind as a badge, its next SLA due time
relative to now (red once breached), and the start of the conversation."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.urls import reverse

from feedback import selectors
from feedback.forms import kind_label
from feedback.inbox.params import API_KIND
from feedback.models import FeedbackItem, ItemStatus

SNIPPET_LENGTH = 120
# The name under which a list may annotate the start of each item's search document.
SNIPPET_ANNOTATION = "inbox_snippet"

# Each channel kind's glyph (in every font the portal's pages fall back to) and short name;
# the title says the whole kind.
KIND_BADGES = {
    "imap": ("✉", "Mail"),
    "webhook": ("✉", "Mail"),
    "widget": ("✎", "Widget"),
    "feed": ("★", "Feed"),
    "discourse": ("☰", "Forum"),
    "mastodon": ("@", "Mastodon"),
    "zendesk": ("☎", "Zendesk"),
    API_KIND: ("⇄", "API"),
}
KIND_LABEL_API = "API or import"


@dataclass(frozen=True)
class InboxRow:
    item: FeedbackItem
    duplicates: list[tuple[int, float]]
    url: str
    kind: str
    kind_icon: str
    kind_short: str
    kind_label: str
    sla_due: datetime | None
    sla_what: str
    sla_relative: str
    sla_breached: bool
    snippet: str = ""
    errors: list[str] = field(default_factory=list)


def relative(moment: datetime, now: datetime) -> str:
    """How far a due time is ("in 3 h", "45 min overdue"), in the coarsest useful unit."""
    delta = moment - now
    seconds = abs(delta.total_seconds())
    if seconds < 60:
        amount = "now"
    elif seconds < 3600:
        amount = f"{int(seconds // 60)} min"
    elif seconds < 2 * 86400:
        amount = f"{int(seconds // 3600)} h"
    else:
        amount = f"{int(seconds // 86400)} d"
    if amount == "now":
        return "due now"
    return f"in {amount}" if delta > timedelta(0) else f"{amount} overdue"


def _sla(item: FeedbackItem, now: datetime) -> tuple[datetime | None, str, bool]:
    """The next due time (the first response's while nobody has answered, else the
    resolution's), what it is for, and whether it is breached; none once resolved or spam."""
    if item.status in (ItemStatus.RESOLVED, ItemStatus.SPAM):
        return None, "", False
    if item.first_responded_at is None and item.first_response_due_at is not None:
        due, marked = item.first_response_due_at, item.first_response_breached_at
        what = "First response"
    else:
        due, marked = item.resolution_due_at, item.resolution_breached_at
        what = "Resolution"
    if due is None:
        return None, "", False
    return due, what, marked is not None or due <= now


def snippet(item: FeedbackItem) -> str:
    """The start of the conversation's text after its subject, from the search document: its
    first characters when the list annotates them (``SNIPPET_ANNOTATION``, so that a page need
    not read whole documents), else the document; nothing when the list deferred it."""
    text = getattr(item, SNIPPET_ANNOTATION, None)
    if text is None:
        if "search_document" in item.get_deferred_fields():
            return ""
        text = item.search_document
    if item.subject and text.startswith(item.subject):
        text = text[len(item.subject) :]
    text = " ".join(text[: SNIPPET_LENGTH * 2].split())
    return text if len(text) <= SNIPPET_LENGTH else text[: SNIPPET_LENGTH - 1].rstrip() + "…"


def item_url(item_id: int) -> str:
    """The item page, ``/inbox/<id>/``."""
    return reverse("feedback:item", args=[item_id])


def inbox_rows(items: list[FeedbackItem], now: datetime) -> list[InboxRow]:
    """What each row shows; the likely duplicates of the whole page in one query."""
    duplicates = selectors.items_likely_duplicates(item_ids=[item.pk for item in items])
    rows = []
    for item in items:
        kind = item.channel.kind if item.channel_id else API_KIND
        icon, short = KIND_BADGES.get(kind, ("•", kind))
        due, what, breached = _sla(item, now)
        rows.append(
            InboxRow(
                item=item,
                duplicates=duplicates[item.pk],
                url=item_url(item.pk),
                kind=kind,
                kind_icon=icon,
                kind_short=short,
                kind_label=KIND_LABEL_API if kind == API_KIND else kind_label(kind),
                sla_due=due,
                sla_what=what,
                sla_relative=relative(due, now) if due else "",
                sla_breached=breached,
                snippet=snippet(item),
            )
        )
    return rows
