"""The inbox's counts per status, kept in the cache and counted again by the worker.

The page's rows are one range of an index, but counting a team's items per status reads every
item of the team (``inbox_counts``: half a second for a team of 100,000 items, more under load).
So the page reads the counts through ``inbox_counts_cached``: kept in the cache (Redis, or the
embedded file cache that the web process shares with the worker) per team and filters. Counts
older than ``COUNTS_FRESH_FOR`` seconds are still shown while the worker counts again
(``recount_inbox_counts``, queued once per stale entry), as a help desk's view counts are: no
request waits for a recount except the first for its team and filters.

A person's own work shows at once: the triage, reply, merge and tag services call
``inbox_counts_changed`` for the team they wrote to, which starts a new generation of that
team's counts once the transaction commits, and the next page counts them itself. Items that
arrive by a channel, and snoozes that run out, show in the counts about ``COUNTS_FRESH_FOR``
seconds later (the rows show them at once).
"""

import hashlib
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils import timezone

from feedback.inbox.generations import NOT_READ, TeamGenerations
from feedback.inbox.params import InboxQuery, inbox_query_from_params
from feedback.inbox.query import inbox_counts, user_zone
from portal import access
from portal.access import User
from portal.models import Role, Team

COUNTS_FRESH_FOR = 30  # seconds
FRESH_FOR = timedelta(seconds=COUNTS_FRESH_FOR)
# How long counts are kept at all: shown while a recount is on its way, for a list nobody has
# opened for this long they are counted in the request again.
COUNTS_KEPT_FOR = 600  # seconds
GENERATIONS = TeamGenerations("inbox-counts")
_COUNTS_KEY = "inbox-counts:{team_id}:{generation}:{digest}"
_RECOUNT_KEY = "{key}:recount"


def inbox_counts_key(
    user: User, team: Team, query: InboxQuery, generation: int | None = None
) -> str:
    """Where the counts of ``query`` for ``user`` are kept, in this generation of the team's
    counts (by default the current one)."""
    # The counts do not depend on the statuses asked for nor on the order; "me" and the date
    # filters depend on who asks (their id, their time zone).
    shape = replace(query.without_statuses(), ordering="")
    who = getattr(user, "pk", None) if query.assignee_me else None
    zone = str(user_zone(user)) if query.date_from or query.date_to else ""
    digest = hashlib.sha256(repr((shape, who, zone)).encode()).hexdigest()[:32]
    if generation is None:
        generation = GENERATIONS.current(team.pk)
    return _COUNTS_KEY.format(team_id=team.pk, generation=generation, digest=digest)


def inbox_counts_cached(
    *,
    user: User,
    team: Team,
    query: InboxQuery,
    now: datetime | None = None,
    key: str | None = None,
    kept: Any = NOT_READ,
) -> dict[str, int]:
    """``inbox_counts`` for one team, as counted after the team's last change by a person:
    counted in the request the first time, then kept; once older than ``COUNTS_FRESH_FOR``
    seconds at ``now`` they are shown while the worker counts them again. ``key`` and
    ``kept``: the key and what the cache held there, when the caller read it along with
    others (``feedback.inbox.kept``)."""
    now = now or timezone.now()
    key = key or inbox_counts_key(user, team, query)
    cached = cache.get(key) if kept is NOT_READ else kept
    if cached is None:
        counts = inbox_counts(user=user, team=team, query=query, now=now)
        cache.set(key, (now, counts), COUNTS_KEPT_FOR)
        return counts
    counted_at, counts = cached
    if now - counted_at >= FRESH_FOR and cache.add(
        _RECOUNT_KEY.format(key=key), 1, COUNTS_FRESH_FOR
    ):
        from feedback.tasks import recount_inbox_counts

        recount_inbox_counts.delay(user.pk, team.pk, query.without_statuses().to_params())
    return counts


def inbox_counts_recount(
    *, user_id: int, team_id: int, params: dict[str, list[str]], now: datetime | None = None
) -> bool:
    """Count again what ``inbox_counts_cached`` showed stale, as the reader who asked would
    see it; False when that is no longer possible (the reader left the team, a filter's tag
    is gone): the page counts for itself next time. Safe to run twice."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    team = Team.objects.filter(pk=team_id).first()
    if user is None or team is None or not access.has_team_role(user, team, Role.VIEWER):
        return False
    try:
        query = inbox_query_from_params(params, user=user, team=team)
    except ValidationError:
        return False
    now = now or timezone.now()
    counts = inbox_counts(user=user, team=team, query=query, now=now)
    key = inbox_counts_key(user, team, query)
    cache.set(key, (now, counts), COUNTS_KEPT_FOR)
    cache.delete(_RECOUNT_KEY.format(key=key))
    return True


def inbox_counts_forget(team_id: int) -> None:
    """Start a new generation of the team's counts: every kept count of it is stale."""
    GENERATIONS.forget(team_id)


def inbox_counts_changed(team_id: int) -> None:
    """The team's items changed: its kept counts are stale once the transaction commits."""
    GENERATIONS.changed(team_id)
