"""The inbox's items for an :class:`~feedback.inbox.params.InboxQuery`: team-scoped, filtered,
searched and ordered (``inbox_items``), a keyset page at a time (``inbox_page``), counted per
status (``inbox_counts``). The page and the API's items list read them alike.

Full-text search: on PostgreSQL ``websearch_to_tsquery`` against the English ``to_tsvector`` of
``search_document`` (so "invoices" finds "invoice"; quoted phrases and ``-word`` work as on a
search engine), written exactly as the GIN expression index of migration 0006 so that it is read
through it; elsewhere (SQLite, the embedded default) every word must occur in the document, a
plural "s" dropped, and no ``-word`` may.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, Count, F, Func, Q, QuerySet, Value
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.text import smart_split, unescape_string_literal

from feedback.inbox.keyset import Keyset
from feedback.inbox.ordering import ORDERING_ANNOTATIONS, ORDERINGS, SEARCH_CONFIG
from feedback.inbox.params import API_KIND, SNOOZED_HIDE, SNOOZED_ONLY, InboxQuery
from feedback.models import FeedbackItem, ItemStatus
from portal import access
from portal.access import User
from portal.actors import is_system
from portal.fields import normalised_key
from portal.models import Team
from portal.selectors import profile_get

# Rows of an inbox page; the API takes its own page_size.
DEFAULT_PAGE_SIZE = 25
# Characters of the search document a list row reads (its subject, then the snippet's start).
SNIPPET_READ = 1200

# The items -----------------------------------------------------------------------------------


def user_zone(user: User) -> ZoneInfo:
    try:
        return ZoneInfo(profile_get(user=user).effective_time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


class _FullTextMatch(Func):
    """``to_tsvector(config, document) @@ websearch_to_tsquery(config, words)``: written as the
    GIN index of migration 0006 is, so that PostgreSQL reads it through that index."""

    output_field = BooleanField()

    def as_sql(self, compiler, connection, **extra):
        document, words = (compiler.compile(expression) for expression in self.source_expressions)
        sql = (
            f"to_tsvector('{SEARCH_CONFIG}'::regconfig, {document[0]}) @@ "
            f"websearch_to_tsquery('{SEARCH_CONFIG}'::regconfig, {words[0]})"
        )
        return sql, (*document[1], *words[1])


def _fallback_terms(search: str) -> tuple[list[str], list[str]]:
    """Words to find and words to leave out (``-word``), quoted phrases kept whole, a plural
    "s" dropped so that "invoices" finds "invoice"; a word to find also loses a common ending
    ("crashes", "crashed" and "crashing" find "crash"), which a word left out keeps, so that it
    hides no more than it names."""
    wanted, unwanted = [], []
    for raw in smart_split(search):
        excluded = raw.startswith("-") and len(raw) > 1
        word = raw[1:] if excluded else raw
        quoted = word[:1] in "\"'" and word[-1:] == word[:1] and len(word) > 1
        if quoted:
            word = unescape_string_literal(word)
        word = word.strip()
        if re.fullmatch(r"\w{4,}s", word) and not word.endswith("ss"):
            word = word[:-1]
        if not excluded and not quoted:
            word = _without_ending(word)
        if word:
            (unwanted if excluded else wanted).append(word)
    return wanted, unwanted


# Endings taken off a searched word when at least four letters stay ("es" after the plural
# "s" above has left an "e": "crashes" -> "crashe" -> "crash").
_ENDINGS = ("ing", "ed", "e")


def _without_ending(word: str) -> str:
    if not re.fullmatch(r"\w+", word):
        return word
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 4:
            return word[: -len(ending)]
    return word


def _addresses(search: str) -> tuple[list[str], str]:
    """E-mail addresses in a search (a word with an "@"), and the search without them: an
    address finds the items of the customer it belongs to, which no message text may hold."""
    addresses, rest = [], []
    for word in smart_split(search):
        if "@" in word and word[:1] not in "-\"'":
            addresses.append(normalised_key(word))
        else:
            rest.append(word)
    return addresses, " ".join(rest)


def search_filter(items: QuerySet, search: str) -> QuerySet:
    """Items whose search document holds every word (and no ``-word``), and whose customer has
    each address searched for."""
    addresses, search = _addresses(search)
    for address in addresses:
        items = items.filter(customer__email_key=address)
    if not search:
        return items
    if connection.vendor == "postgresql":
        return items.filter(_FullTextMatch(F("search_document"), Value(search)))
    wanted, unwanted = _fallback_terms(search)
    for word in wanted:
        items = items.filter(search_document__icontains=word)
    for word in unwanted:
        items = items.exclude(search_document__icontains=word)
    return items


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def _single_team(user: User) -> int | None:
    """The team of a person who belongs to exactly one (None for several, superusers and the
    system, whose scope is every team)."""
    if not user.is_authenticated or user.is_superuser or is_system(user):
        return None
    teams = access.team_roles(user)
    return next(iter(teams)) if len(teams) == 1 else None


def inbox_filter(
    items: QuerySet,
    query: InboxQuery,
    *,
    user: User,
    team: Team | None = None,
    now: datetime | None = None,
) -> QuerySet:
    """``items`` narrowed by every filter of ``query`` (not ordered). ``team``: the team the
    items are already narrowed to, if any."""
    now = now or timezone.now()
    if query.team_id is not None:
        items = items.filter(team_id=query.team_id)
    elif team is None and (only := _single_team(user)) is not None:
        # Said again as an equality (the scope is a subquery the planner cannot read): the
        # list of a member of one team is then a range of the inbox indexes, not a sort.
        items = items.filter(team_id=only)
    if query.statuses:
        items = items.filter(status__in=query.statuses)
    assignees = Q(assignee_id__in=query.assignee_ids) if query.assignee_ids else Q(pk__in=[])
    if query.assignee_me:
        assignees |= Q(assignee_id=getattr(user, "pk", None))
    if query.unassigned:
        assignees |= Q(assignee__isnull=True)
    if query.assignee_ids or query.assignee_me or query.unassigned:
        items = items.filter(assignees)
    if query.tag_ids:
        tagged = FeedbackItem.tags.through.objects.filter(tag_id__in=query.tag_ids)
        items = items.filter(pk__in=tagged.values("feedbackitem_id"))
    if query.channel_ids or query.channel_kinds:
        channels = Q(channel_id__in=query.channel_ids)
        kinds = [kind for kind in query.channel_kinds if kind != API_KIND]
        if kinds:
            channels |= Q(channel__kind__in=kinds)
        if API_KIND in query.channel_kinds:
            channels |= Q(channel__isnull=True)
        items = items.filter(channels)
    if query.priorities:
        items = items.filter(priority__in=query.priorities)
    if query.sentiments:
        items = items.filter(sentiment__in=query.sentiments)
    if query.tiers:
        items = items.filter(customer__tier__in=query.tiers)
    if query.customer_id is not None:
        items = items.filter(customer_id=query.customer_id)
    if query.account_id is not None:
        items = items.filter(customer__account_id=query.account_id)
    if query.date_from or query.date_to:
        zone = user_zone(user)
        if query.date_from:
            items = items.filter(first_message_at__gte=_day_start(query.date_from, zone))
        if query.date_to:
            end = _day_start(query.date_to + timedelta(days=1), zone)
            items = items.filter(first_message_at__lt=end)
    if query.snoozed == SNOOZED_HIDE:
        items = items.filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now))
    elif query.snoozed == SNOOZED_ONLY:
        items = items.filter(snoozed_until__gt=now)
    return search_filter(items, query.search)


def inbox_order(items: QuerySet, ordering: str) -> QuerySet:
    """``items`` in the order named (see :data:`ORDERINGS`), the id last."""
    reverse = ordering.startswith("-")
    terms, descending = ORDERINGS[ordering.removeprefix("-")]
    annotations = {
        name: ORDERING_ANNOTATIONS[name]() for name in terms if name in ORDERING_ANNOTATIONS
    }
    if annotations:
        items = items.annotate(**annotations)
    sign = "-" if descending != reverse else ""
    return items.order_by(*(f"{sign}{name}" for name in terms))


def inbox_items(
    *, user: User, team: Team | None, query: InboxQuery, now: datetime | None = None
) -> QuerySet[FeedbackItem]:
    """The items of ``team`` (or of all the user's teams) that ``query`` asks for, in its
    order, with what a row shows read along (customer, account, channel, assignee, tags)."""
    from feedback.selectors import item_list

    items = _with_snippet(item_list(user=user, team=team).select_related("assignee"))
    return inbox_order(inbox_filter(items, query, user=user, team=team, now=now), query.ordering)


def _with_snippet(items: QuerySet[FeedbackItem]) -> QuerySet[FeedbackItem]:
    """A row shows the start of the conversation, never the whole search document (up to
    MAX_SEARCH_DOCUMENT characters a row): only its first characters are read."""
    return items.defer("search_document").annotate(
        inbox_snippet=Substr("search_document", 1, SNIPPET_READ)
    )


@dataclass(frozen=True)
class InboxPage:
    items: list[FeedbackItem]
    next_cursor: str | None
    previous_cursor: str | None
    # The page before is the first (link to the list without a cursor).
    previous_is_first: bool = False
    next_is_first: bool = False


# What a page's rows show of each item's customer, account, channel and assignee: their other
# columns (a customer's attributes, a channel's encrypted settings, a password hash) are not read.
PAGE_RELATED_COLUMNS = (
    "customer__name",
    "customer__email",
    "customer__tier",
    "customer__account__name",
    "channel__kind",
    "channel__name",
    "assignee__username",
    "assignee__first_name",
    "assignee__last_name",
)


def _page_columns() -> tuple[str, ...]:
    own = (
        field.name
        for field in FeedbackItem._meta.concrete_fields
        if field.name != "search_document"
    )
    return (*own, *PAGE_RELATED_COLUMNS)


def inbox_page(
    *,
    user: User,
    team: Team | None,
    query: InboxQuery,
    cursor: str | None,
    size: int = DEFAULT_PAGE_SIZE,
    now: datetime | None = None,
) -> InboxPage:
    """One keyset page of the inbox; a cursor this list did not give out for this order
    raises ``CursorInvalid`` (the page starts again from the first, the API answers 404).
    The tags are not read along: the page reads them with its rows' likely duplicates
    (``items_tags_and_duplicates``); of the related rows only what a row shows is read."""
    from feedback.selectors import item_list

    # The filtered items give the page's ids (nothing of theirs is read but the order's
    # terms); the rows are read by those ids, in the same order, so the filters (team scope,
    # statuses, search…) are written once, in the ids' subquery.
    scoped = item_list(user=user, team=team).prefetch_related(None).select_related(None)
    ids = inbox_order(inbox_filter(scoped, query, user=user, team=team, now=now), query.ordering)
    shown = inbox_order(
        _with_snippet(
            FeedbackItem.objects.select_related("customer__account", "channel", "assignee")
        ).only(*_page_columns()),
        query.ordering,
    )
    page = Keyset(ids, owner="The inbox", rows=shown).page(cursor or None, size)
    return InboxPage(
        items=page.rows,
        next_cursor=page.next_cursor,
        previous_cursor=page.previous_cursor,
        previous_is_first=page.previous_is_first,
        next_is_first=page.next_is_first,
    )


def inbox_counts(
    *, user: User, team: Team | None, query: InboxQuery, now: datetime | None = None
) -> dict[str, int]:
    """How many items each status holds under the query's other filters: one GROUP BY."""
    from feedback.selectors import item_list

    items = inbox_filter(
        item_list(user=user, team=team), query.without_statuses(), user=user, team=team, now=now
    )
    rows = items.order_by().values_list("status").annotate(count=Count("pk"))
    counts = dict.fromkeys(ItemStatus.values, 0)
    counts.update(dict(rows.values_list("status", "count")))
    return counts
