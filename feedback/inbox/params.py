"""The inbox query: which items a person sees in the inbox and in the items API, in which
order, and in pages that stay fast however deep.

``inbox_query_from_params`` reads a query string (the inbox page's form, the API's parameters,
a saved view's ``params``) into an :class:`InboxQuery`, refusing a bad value with
``ValidationError({parameter: [message naming the value]})``; the query keeps "me" and dates as
they were asked, so that a saved view means "mine" for whoever opens it and days in their time
zone. ``inbox_items`` turns a query into a team-scoped queryset; ``inbox_page``,
``inbox_counts`` and ``inbox_export_rows`` read it a page, a count per status or a CSV row at a
time.

Parameters (each may repeat where it says so; several values of one parameter are any of them,
different parameters all apply):

- ``status``, ``priority``, ``sentiment``, ``tier`` (the customer's): repeatable choices;
- ``assignee``: ``me``, ``none`` or a member's id, repeatable; ``mine`` and ``unassigned``
  (``1``/``true``) are shortcuts for ``assignee=me`` and ``assignee=none``;
- ``tag``: a tag's id or name, repeatable, the items carrying any of them;
- ``channel``: a channel's id or a kind (``imap``, ``widget``, … ``api`` for none),
  repeatable; ``channel_kind`` takes kinds only;
- ``customer``, ``account``: ids; ``team``: an id (the API's lists span the user's teams);
- ``from``, ``to``: inclusive dates (``YYYY-MM-DD``) of the item's first message, in the
  user's time zone (their profile's);
- ``snoozed``: ``hide`` (the default: items snoozed until a later time are left out),
  ``include`` or ``only``;
- ``q`` or ``search``: words to find in subjects and the customer-visible message texts (an
  e-mail address among them: the items of that customer);
- ``ordering``: one of :data:`ORDERINGS` (default ``priority``: escalated items first, then
  urgent, high, normal, each by latest activity); a leading ``-`` reverses it.

How the items are searched and ordered: ``feedback.inbox.query`` and ``feedback.inbox.ordering``.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from feedback.channels import CONNECTORS
from feedback.inbox.ordering import DEFAULT_ORDERING, ORDERINGS
from feedback.models import Channel, ItemPriority, ItemStatus, Sentiment, Tag
from portal.access import User
from portal.fields import normalised_key
from portal.models import Membership, Team, Tier
from portal.selectors import team_scope
from portal.validation import (
    MAX_ID,
    NUL_CHARACTER,
    SEARCH_TOO_LONG,
    parse_id,
    validate_search,
)

# The kind of an item that came through no channel (pushed through the API, imported).
API_KIND = "api"

SNOOZED_HIDE, SNOOZED_INCLUDE, SNOOZED_ONLY = "hide", "include", "only"
SNOOZED_CHOICES = (SNOOZED_HIDE, SNOOZED_INCLUDE, SNOOZED_ONLY)
ASSIGNEE_ME, ASSIGNEE_NONE = "me", "none"
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")

# Messages naming the value refused.
VALUE_MISSING = "Give a value, or leave the parameter out."
MAX_VALUES = 50
TOO_MANY_VALUES = f"Give at most {MAX_VALUES} values."
UNKNOWN_CHOICE = "{value!r} is not a {what}; choose from: {choices}."
NOT_AN_ID = "{value!r} is not an id: an id is a whole number from 1 to " + str(MAX_ID) + "."
NO_SUCH_TAG = "No tag {value!r} in {where}."
NO_SUCH_TEAM = "You are not a member of a team {value!r}; give the id of one of your teams."
NO_SUCH_CHANNEL = "No channel {value!r} in {where}: give a channel's id or a kind ({kinds})."
NO_SUCH_ASSIGNEE = "{value!r} is no member of {where}; give me, none or a member's id."
NOT_AN_ASSIGNEE = "{value!r} is not an assignee; give me, none or a member's id."
NOT_A_DATE = "{value!r} is not a date; write it as YYYY-MM-DD."
# Dates a day's start can be computed for in every time zone (the day after 9999-12-31 does not
# exist, and 0001-01-01 starts before the first instant Python knows east of UTC).
EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(9998, 12, 31)
DATE_OUT_OF_RANGE = (
    f"{{value!r}} is out of range: give a date from {EARLIEST_DATE} to {LATEST_DATE}."
)
DATES_REVERSED = "The range ends ({to}) before it starts ({start}); swap the dates."
NOT_A_FLAG = "{value!r} is neither yes nor no; give 1 or 0."
ONE_VALUE = "Give one value, not {count}."
# The words of every API list's (portal.api.filters.UNKNOWN_ORDERING): the items list is one.
UNKNOWN_ORDERING = "Cannot order by {value!r}; choose from: {choices}."
THIS_TEAM, YOUR_TEAMS = "this team", "your teams"


def _kinds() -> list[str]:
    return sorted([*CONNECTORS, API_KIND])


@dataclass(frozen=True)
class InboxQuery:
    """What the inbox shows: the filters as asked (``me`` stays "me", dates stay dates),
    validated against the user's teams when read. Empty tuples filter nothing."""

    team_id: int | None = None
    statuses: tuple[str, ...] = ()
    assignee_me: bool = False
    unassigned: bool = False
    assignee_ids: tuple[int, ...] = ()
    tag_ids: tuple[int, ...] = ()
    channel_ids: tuple[int, ...] = ()
    channel_kinds: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    sentiments: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    customer_id: int | None = None
    account_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    snoozed: str = SNOOZED_HIDE
    search: str = ""
    ordering: str = DEFAULT_ORDERING

    def to_params(self) -> dict[str, list[str]]:
        """The query as a query string's dict of lists, only what differs from the defaults:
        what a saved view stores and links carry."""
        params: dict[str, list[str]] = {}

        def put(name: str, values: Any) -> None:
            values = [str(value) for value in values if value not in (None, "")]
            if values:
                params[name] = values

        put("team", [self.team_id])
        put("status", self.statuses)
        put(
            "assignee",
            [
                *([ASSIGNEE_ME] if self.assignee_me else []),
                *([ASSIGNEE_NONE] if self.unassigned else []),
                *self.assignee_ids,
            ],
        )
        put("tag", self.tag_ids)
        put("channel", [*self.channel_ids, *self.channel_kinds])
        put("priority", self.priorities)
        put("sentiment", self.sentiments)
        put("tier", self.tiers)
        put("customer", [self.customer_id])
        put("account", [self.account_id])
        put("from", [self.date_from.isoformat() if self.date_from else None])
        put("to", [self.date_to.isoformat() if self.date_to else None])
        put("snoozed", [self.snoozed if self.snoozed != SNOOZED_HIDE else None])
        put("q", [self.search])
        put("ordering", [self.ordering if self.ordering != DEFAULT_ORDERING else None])
        return params

    def without_statuses(self) -> "InboxQuery":
        return replace(self, statuses=())


# Reading the parameters ----------------------------------------------------------------------


class _Reader:
    """Reads one parameter after another, collecting every refusal before raising them all."""

    def __init__(self, params: Mapping[str, Any], *, ignore_blank: bool) -> None:
        self.params = params
        self.ignore_blank = ignore_blank
        self.errors: dict[str, list[str]] = {}
        self.read: dict[str, list[str]] = {}

    def values(self, name: str) -> list[str]:
        """The distinct values given for ``name``, read (and refused) once per parameter."""
        if name not in self.read:
            self.read[name] = self._values(name)
        return self.read[name]

    def _values(self, name: str) -> list[str]:
        if hasattr(self.params, "getlist"):
            raw = self.params.getlist(name)
        else:
            raw = self.params.get(name)
            raw = [] if raw is None else list(raw) if isinstance(raw, list | tuple) else [raw]
        values = [str(value).strip() for value in raw]
        given = list(dict.fromkeys(value for value in values if value))
        if values and not given and not self.ignore_blank:
            self.refuse(name, VALUE_MISSING)
        if any("\x00" in value for value in given):
            # PostgreSQL refuses NUL in any text it is sent.
            self.refuse(name, NUL_CHARACTER)
            return []
        if len(given) > MAX_VALUES:
            # Each value is a bound parameter of the query; a person never picks this many.
            self.refuse(name, TOO_MANY_VALUES)
            return []
        return given

    def one(self, name: str) -> str | None:
        values = self.values(name)
        if len(values) > 1:
            self.refuse(name, ONE_VALUE.format(count=len(values)))
            return None
        return values[0] if values else None

    def refuse(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def choices(self, name: str, allowed: list[str], what: str) -> tuple[str, ...]:
        found = []
        for value in self.values(name):
            if value in allowed:
                found.append(value)
            else:
                self.refuse(
                    name,
                    UNKNOWN_CHOICE.format(value=value[:60], what=what, choices=", ".join(allowed)),
                )
        return tuple(found)

    def id(self, name: str, value: str) -> int | None:
        try:
            return parse_id(value)
        except ValidationError:
            self.refuse(name, NOT_AN_ID.format(value=value[:60]))
            return None

    def flag(self, name: str) -> bool:
        value = self.one(name)
        if value is None or value.lower() in FALSE_WORDS:
            return False
        if value.lower() in TRUE_WORDS:
            return True
        self.refuse(name, NOT_A_FLAG.format(value=value[:60]))
        return False

    def date(self, name: str) -> date | None:
        value = self.one(name)
        if value is None:
            return None
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            try:
                day = date.fromisoformat(value)
            except ValueError:
                pass
            else:
                if EARLIEST_DATE <= day <= LATEST_DATE:
                    return day
                self.refuse(name, DATE_OUT_OF_RANGE.format(value=value))
                return None
        self.refuse(name, NOT_A_DATE.format(value=value[:60]))
        return None


def inbox_query_from_params(
    params: Mapping[str, Any], *, user: User, team: Team | None, ignore_blank: bool = False
) -> InboxQuery:
    """The inbox query these parameters ask for, or ``ValidationError`` naming each refused
    value under its parameter. ``team``: the team being worked in (the inbox page's); None
    for a list across the user's teams (the API), where ``team=<id>`` narrows it.
    ``ignore_blank``: an empty value (a form's "any" option) means "not given" instead of a
    refusal (the API refuses it, as it does for its other filters)."""
    read = _Reader(params, ignore_blank=ignore_blank)
    team_id = None
    raw_team = read.one("team")
    if team is None and raw_team is not None:
        team_id = read.id("team", raw_team)
    teams = Team.objects.filter(pk=team.pk) if team is not None else None
    if teams is None:
        teams = Team.objects.filter(team_scope(user, field=""))
        if team_id is not None:
            teams = teams.filter(pk=team_id)
            if not teams.exists():
                read.refuse("team", NO_SUCH_TEAM.format(value=str(team_id)))
    where = THIS_TEAM if team is not None else YOUR_TEAMS

    assignee_me = read.flag("mine")
    unassigned = read.flag("unassigned")
    assignee_ids: list[int] = []
    for value in read.values("assignee"):
        if value.lower() == ASSIGNEE_ME:
            assignee_me = True
        elif value.lower() == ASSIGNEE_NONE:
            unassigned = True
        elif value.strip().isdigit():
            if (pk := read.id("assignee", value)) is not None:
                assignee_ids.append(pk)
        else:
            read.refuse("assignee", NOT_AN_ASSIGNEE.format(value=value[:60]))
    if assignee_ids:
        members = set(
            Membership.objects.filter(team__in=teams, user_id__in=assignee_ids).values_list(
                "user_id", flat=True
            )
        )
        for pk in assignee_ids:
            if pk not in members:
                read.refuse("assignee", NO_SUCH_ASSIGNEE.format(value=str(pk), where=where))

    tag_ids = _tags(read, teams, where)
    channel_ids, channel_kinds = _channels(read, teams, where)

    customer = read.one("customer")
    account = read.one("account")
    date_from, date_to = read.date("from"), read.date("to")
    if date_from and date_to and date_to < date_from:
        read.refuse("to", DATES_REVERSED.format(start=date_from, to=date_to))
    search = _search(read)
    ordering = read.one("ordering") or DEFAULT_ORDERING
    if ordering.removeprefix("-") not in ORDERINGS:
        read.refuse(
            "ordering",
            UNKNOWN_ORDERING.format(value=ordering[:60], choices=", ".join(ORDERINGS)),
        )
    snoozed = read.choices("snoozed", list(SNOOZED_CHOICES), "choice of snoozed items")
    query = InboxQuery(
        team_id=team_id,
        statuses=read.choices("status", list(ItemStatus.values), "status"),
        assignee_me=assignee_me,
        unassigned=unassigned,
        assignee_ids=tuple(assignee_ids),
        tag_ids=tag_ids,
        channel_ids=channel_ids,
        channel_kinds=channel_kinds,
        priorities=read.choices("priority", list(ItemPriority.values), "priority"),
        sentiments=read.choices("sentiment", list(Sentiment.values), "sentiment"),
        tiers=read.choices("tier", list(Tier.values), "tier"),
        customer_id=read.id("customer", customer) if customer else None,
        account_id=read.id("account", account) if account else None,
        date_from=date_from,
        date_to=date_to,
        snoozed=snoozed[0] if snoozed else SNOOZED_HIDE,
        search=search,
        ordering=ordering,
    )
    if read.errors:
        raise ValidationError(read.errors)
    return query


def _tags(read: _Reader, teams: QuerySet, where: str) -> tuple[int, ...]:
    """Tags by id or by name, of the team (or the user's teams); one query for all. A number
    is a tag's id, or the name of a tag when none of the teams' tags has that id (a tag a
    push or an import named "2027")."""
    values = read.values("tag")
    if not values:
        return ()
    ids = [int(value) for value in values if value.isascii() and value.isdigit()]
    ids = [pk for pk in ids if pk <= MAX_ID]
    keys = [normalised_key(value) for value in values]
    found = Tag.objects.filter(team__in=teams).filter(Q(pk__in=ids) | Q(name_key__in=keys))
    rows = list(found.values_list("pk", "name_key"))
    by_id = {pk for pk, _ in rows}
    by_key: dict[str, set[int]] = {}
    for pk, key in rows:
        by_key.setdefault(key, set()).add(pk)  # one name may be a tag in each team
    chosen: set[int] = set()
    for value in values:
        number = int(value) if value.isascii() and value.isdigit() else None
        if number is not None and number in by_id:
            chosen.add(number)
        elif normalised_key(value) in by_key:
            chosen |= by_key[normalised_key(value)]
        else:
            read.refuse("tag", NO_SUCH_TAG.format(value=value[:60], where=where))
    return tuple(sorted(chosen))


def _channels(
    read: _Reader, teams: QuerySet, where: str
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    kinds = _kinds()
    ids: list[int] = []
    found_kinds: list[str] = []
    for value in read.values("channel"):
        if value in kinds:
            found_kinds.append(value)
        elif value.isascii() and value.isdigit():
            if (pk := read.id("channel", value)) is not None:
                ids.append(pk)
        else:
            read.refuse(
                "channel",
                NO_SUCH_CHANNEL.format(value=value[:60], where=where, kinds=", ".join(kinds)),
            )
    found_kinds.extend(read.choices("channel_kind", kinds, "kind of channel"))
    if ids:
        known = set(Channel.objects.filter(team__in=teams, pk__in=ids).values_list("pk", flat=True))
        for pk in ids:
            if pk not in known:
                read.refuse(
                    "channel",
                    NO_SUCH_CHANNEL.format(value=str(pk), where=where, kinds=", ".join(kinds)),
                )
    return tuple(ids), tuple(dict.fromkeys(found_kinds))


def _search(read: _Reader) -> str:
    names = [name for name in ("q", "search") if read.values(name)]
    words = " ".join(value for name in names for value in read.values(name))
    try:
        return validate_search(words)
    except ValidationError as error:
        read.refuse(
            names[0] if names else "q", error.messages[0] if error.messages else SEARCH_TOO_LONG
        )
        return ""
