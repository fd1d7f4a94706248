"""What an inbox page reads from the cache, in two round trips instead of four: the current
generations of the team's choices and counts together, then both kept values together (each
round trip to Redis is about 2 % of a page under load)."""

from datetime import datetime

from django.core.cache import cache

from feedback.inbox import choices as kept_choices
from feedback.inbox import counts as kept_counts
from feedback.inbox.generations import current_generations
from feedback.inbox.params import InboxQuery
from portal.access import User
from portal.models import Team


def inbox_kept(
    *, user: User, team: Team, query: InboxQuery | None, now: datetime
) -> tuple[kept_choices.TeamChoices, dict[str, int] | None]:
    """The team's choices (``team_choices_cached``) and, for a query, its counts per status
    (``inbox_counts_cached``), each read or made as those functions say."""
    counts_generation, choices_generation = current_generations(
        team.pk, kept_counts.GENERATIONS, kept_choices.GENERATIONS
    )
    choices_key = kept_choices.team_choices_key(team.pk, choices_generation)
    counts_key = (
        kept_counts.inbox_counts_key(user, team, query, counts_generation) if query else None
    )
    found = cache.get_many([key for key in (choices_key, counts_key) if key])
    choices = kept_choices.team_choices_cached(
        user=user, team=team, key=choices_key, kept=found.get(choices_key)
    )
    if query is None:
        return choices, None
    counts = kept_counts.inbox_counts_cached(
        user=user, team=team, query=query, now=now, key=counts_key, kept=found.get(counts_key)
    )
    return choices, counts
