"""The inbox's counts per status, kept in the cache for a short while.

The page's rows are one range of an index, but counting a team's items per status reads every
item of the team (``inbox_counts``: half a second for a team of 100,000 items, most of the
page's time). So the page reads the counts through ``inbox_counts_cached``: kept in the cache
(Redis, or the embedded file cache that the web process shares with the worker) per team and
filters for ``COUNTS_FRESH_FOR`` seconds, as a help desk's view counts are.

A person's own work shows at once: the triage, reply, merge and tag services call
``inbox_counts_changed`` for the team they wrote to, which starts a new generation of that
team's counts once the transaction commits. Items that arrive by a channel, and snoozes that
run out, show in the counts within ``COUNTS_FRESH_FOR`` seconds (the rows show them at once).
"""

import hashlib
import time
from dataclasses import replace
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from feedback.inbox.params import InboxQuery
from feedback.inbox.query import inbox_counts, user_zone
from portal.access import User
from portal.models import Team

COUNTS_FRESH_FOR = 30  # seconds
FRESH_FOR = timedelta(seconds=COUNTS_FRESH_FOR)
_GENERATION_KEY = "inbox-counts-generation:{team_id}"
_COUNTS_KEY = "inbox-counts:{team_id}:{generation}:{digest}"


def _key(user: User, team: Team, query: InboxQuery) -> str:
    # The counts do not depend on the statuses asked for nor on the order; "me" and the date
    # filters depend on who asks (their id, their time zone).
    shape = replace(query.without_statuses(), ordering="")
    who = getattr(user, "pk", None) if query.assignee_me else None
    zone = str(user_zone(user)) if query.date_from or query.date_to else ""
    digest = hashlib.sha256(repr((shape, who, zone)).encode()).hexdigest()[:32]
    generation = cache.get(_GENERATION_KEY.format(team_id=team.pk), 0)
    return _COUNTS_KEY.format(team_id=team.pk, generation=generation, digest=digest)


def inbox_counts_cached(
    *, user: User, team: Team, query: InboxQuery, now: datetime | None = None
) -> dict[str, int]:
    """``inbox_counts`` for one team, as counted at most ``COUNTS_FRESH_FOR`` seconds before
    ``now`` and after the team's last change by a person."""
    now = now or timezone.now()
    key = _key(user, team, query)
    cached = cache.get(key)
    if cached is not None and now - cached[0] < FRESH_FOR:
        return cached[1]
    counts = inbox_counts(user=user, team=team, query=query, now=now)
    cache.set(key, (now, counts), COUNTS_FRESH_FOR)
    return counts


def inbox_counts_forget(team_id: int) -> None:
    """Start a new generation of the team's counts: every kept count of it is stale."""
    cache.set(_GENERATION_KEY.format(team_id=team_id), time.time_ns(), None)


def inbox_counts_changed(team_id: int) -> None:
    """The team's items changed: its kept counts are stale once the transaction commits."""
    transaction.on_commit(lambda: inbox_counts_forget(team_id))
