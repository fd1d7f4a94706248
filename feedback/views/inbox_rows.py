"""What each row of the inbox list shows, read for a whole page at once: the item, its tags and
likely duplicates (one query for the page), its channel kind as a badge, its next SLA due time
relative to now (red once breached), and the start of the conversation."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from feedback import selectors
from feedback.channels import kind_label
from feedback.inbox.params import API_KIND
from feedback.models import FeedbackItem, ItemPriority, ItemStatus, Sentiment, Tag
from portal.actors import person_name
from portal.models import Tier

SNIPPET_LENGTH = 120
SUBJECT_LENGTH = 90
NO_SUBJECT = "(no subject)"
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
class Stamp:
    """A moment as a row shows it, in the reader's zone: ISO 8601 for ``<time datetime>``,
    whole in a title ("7 Dec 2026, 09:30 CET") and short in the cell ("7 Dec, 09:30")."""

    iso: str
    title: str
    short: str


@dataclass(frozen=True)
class InboxRow:
    """A row's values ready to show: a list page renders 25 to 100 of them, and every lookup
    and filter the template need not do is time saved on each page."""

    item: FeedbackItem
    tags: list[Tag]
    # Each likely duplicate's id and its similarity, as the row shows it ("0.87").
    duplicates: list[tuple[int, str]]
    url: str
    action_url: str
    kind: str
    kind_icon: str
    kind_short: str
    kind_label: str
    sla_due: Stamp | None
    sla_what: str
    sla_relative: str
    sla_breached: bool
    last_activity: Stamp
    snoozed: Stamp | None = None
    escalated: Stamp | None = None
    customer_label: str = ""
    customer_url: str = ""
    tier_label: str = ""
    account_name: str = ""
    account_url: str = ""
    assignee_name: str = ""
    mine: bool = False
    # The row's status select's options, the item's status selected.
    status_options: str = ""
    snippet: str = ""
    # The item's fields as the row shows them.
    subject: str = ""
    status_label: str = ""
    priority_label: str = ""
    sentiment_label: str = ""
    sentiment_score: str = ""
    channel_name: str = ""
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


class _Stamps:
    """Moments as ``Stamp``s in the active zone, with the month names of the active language
    read once (what ``|date:"c"``, ``"j M Y, H:i T"`` and ``"j M, H:i"`` give)."""

    def __init__(self) -> None:
        self.months = [""] + [MONTHS_3[number].title() for number in range(1, 13)]

    def __call__(self, moment: datetime | None) -> Stamp | None:
        if moment is None:
            return None
        local = timezone.localtime(moment)
        day = f"{local.day} {self.months[local.month]}"
        clock = f"{local.hour:02d}:{local.minute:02d}"
        return Stamp(
            iso=local.isoformat(),
            title=f"{day} {local.year}, {clock} {local.tzname()}",
            short=f"{day}, {clock}",
        )


def _url_of(name: str) -> Callable[[int], str]:
    """``reverse(name, args=[pk])`` for a page's many ids at the cost of one reverse."""
    head, tail = reverse(name, args=[_PLACEHOLDER]).split(str(_PLACEHOLDER))
    return lambda pk: f"{head}{pk}{tail}"


# An id no row has, to cut a reversed path around.
_PLACEHOLDER = 987654321


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
        text = _after_subject(item.subject, text[len(item.subject) :].lstrip())
    text = " ".join(text[: SNIPPET_LENGTH * 2].split())
    return text if len(text) <= SNIPPET_LENGTH else text[: SNIPPET_LENGTH - 1].rstrip() + "…"


def _after_subject(subject: str, text: str) -> str:
    """The conversation's text without its start when the subject was made from it (the
    widget's and the social channels' subjects are the message's first line, cut with "…"),
    so that a row does not say it twice: the text goes on where the subject stopped."""
    head = subject.removesuffix("…").rstrip()
    if head != subject and text.startswith(head):
        return "…" + text[len(head) :]
    first_line, _, rest = text.partition("\n")
    return rest if first_line.strip() == subject.strip() else text


def item_url(item_id: int) -> str:
    """The item page, ``/inbox/<id>/``."""
    return reverse("feedback:item", args=[item_id])


def _subject(subject: str) -> str:
    """The subject as a row shows it: cut at ``SUBJECT_LENGTH`` characters (as
    ``|truncatechars`` does; most subjects are shorter and need no Truncator)."""
    if not subject:
        return NO_SUBJECT
    return subject if len(subject) <= SUBJECT_LENGTH else Truncator(subject).chars(SUBJECT_LENGTH)


def inbox_rows(
    items: list[FeedbackItem], *, now: datetime, team_tags: list[Tag], reader
) -> list[InboxRow]:
    """What each row shows; the tags and likely duplicates of the whole page in one query.
    ``team_tags``: the tags of the items' team (the filter form's), by name; ``reader``: who
    reads the list (their own items offer no "assign to me")."""
    tag_ids, duplicates = selectors.items_tags_and_duplicates(item_ids=[item.pk for item in items])
    stamp = _Stamps()
    item_path, action_path = _url_of("feedback:item"), _url_of("feedback:inbox_row_action")
    inbox = reverse("feedback:inbox")
    # The status select's options, rendered once for each status a row may have, and the
    # choices' labels read once (a model's get_<field>_display builds its dict at each call).
    status_options = {
        status: format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (value, mark_safe(" selected") if value == status else "", label)
                for value, label in ItemStatus.choices
            ),
        )
        for status in ItemStatus.values
    }
    labels = {
        field: {value: str(label) for value, label in choices}
        for field, choices in (
            ("status", ItemStatus.choices),
            ("priority", ItemPriority.choices),
            ("sentiment", Sentiment.choices),
            ("tier", Tier.choices),
        )
    }
    rows = []
    for item in items:
        tagged = set(tag_ids[item.pk])
        kind = item.channel.kind if item.channel_id else API_KIND
        icon, short = KIND_BADGES.get(kind, ("•", kind))
        due, what, breached = _sla(item, now)
        customer = item.customer
        account = customer.account if customer is not None else None
        rows.append(
            InboxRow(
                item=item,
                tags=[tag for tag in team_tags if tag.pk in tagged],
                duplicates=[(other, floatformat(score, 2)) for other, score in duplicates[item.pk]],
                url=item_path(item.pk),
                action_url=action_path(item.pk),
                kind=kind,
                kind_icon=icon,
                kind_short=short,
                kind_label=KIND_LABEL_API if kind == API_KIND else kind_label(kind),
                sla_due=stamp(due),
                sla_what=what,
                sla_relative=relative(due, now) if due else "",
                sla_breached=breached,
                last_activity=stamp(item.last_message_at),
                snoozed=stamp(item.snoozed_until)
                if item.snoozed_until and item.snoozed_until > now
                else None,
                escalated=stamp(item.escalated_at),
                customer_label=(customer.name or customer.email or "—") if customer else "",
                customer_url=f"{inbox}?customer={customer.pk}" if customer else "",
                tier_label=labels["tier"].get(customer.tier, customer.tier)
                if customer and customer.tier != Tier.STANDARD
                else "",
                account_name=account.name if account else "",
                account_url=f"{inbox}?account={account.pk}" if account else "",
                assignee_name=person_name(item.assignee) if item.assignee_id else "",
                mine=item.assignee_id is not None and item.assignee_id == reader.pk,
                status_options=status_options.get(item.status, ""),
                snippet=snippet(item),
                subject=_subject(item.subject),
                status_label=labels["status"].get(item.status, item.status),
                priority_label=labels["priority"].get(item.priority, item.priority),
                sentiment_label=labels["sentiment"].get(item.sentiment, item.sentiment),
                sentiment_score=floatformat(item.sentiment_score, 2) if item.sentiment else "",
                channel_name=item.channel.name if item.channel_id else "",
            )
        )
    return rows
