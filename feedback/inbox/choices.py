"""The inbox filter form's people and channels for a team, kept in the cache.

Every inbox page offers the team's members (assignee filter, bulk assign) and channels (channel
filter). Reading them is three small queries, but building those queries costs more than
running them: about 4 ms of a page. They change rarely, so the page reads them through
``team_choices_cached``: kept per team until the team's memberships or channels change
(``team_choices_forget``, called after the commit of ``portal.membership_changed`` and of the
channel services), and for at most ``CHOICES_FRESH_FOR`` seconds, which bounds what no service
announces (a person renamed in Django's admin).

The team's tags are not kept: the rows show them, and a tag made by an import must show at once.
"""

from dataclasses import dataclass

from django.core.cache import cache

from feedback import selectors
from feedback.inbox.generations import TeamGenerations
from feedback.models import Channel
from portal import access
from portal.access import User
from portal.models import Membership, Role, Team
from portal.selectors import membership_list

CHOICES_FRESH_FOR = 300  # seconds
GENERATIONS = TeamGenerations("inbox-choices")
_CHOICES_KEY = "inbox-choices:{team_id}:{generation}"


@dataclass(frozen=True)
class TeamChoices:
    """A team's members (their user and team read, by username) and channels (by name)."""

    members: list[Membership]
    channels: list[Channel]


def _read(user: User, team: Team) -> TeamChoices:
    # Only the columns the filter form and the rows show (a channel's settings are not read).
    members = membership_list(user=user, team=team).only(
        "role", "team__name", "user__username", "user__first_name", "user__last_name"
    )
    channels = selectors.channel_list(user=user, team=team).only("team__name", "kind", "name")
    return TeamChoices(members=list(members), channels=list(channels))


def team_choices_cached(*, user: User, team: Team) -> TeamChoices:
    """The team's members and channels, for a reader who may see the team (anyone else gets
    none, as the selectors answer them)."""
    if not access.has_team_role(user, team, Role.VIEWER):
        return TeamChoices(members=[], channels=[])
    generation = GENERATIONS.current(team.pk)
    key = _CHOICES_KEY.format(team_id=team.pk, generation=generation)
    choices = cache.get(key)
    if choices is None:
        choices = _read(user, team)
        cache.set(key, choices, CHOICES_FRESH_FOR)
    return choices


def team_choices_forget(team_id: int) -> None:
    """Start a new generation of the team's kept choices."""
    GENERATIONS.forget(team_id)


def team_choices_changed(team_id: int) -> None:
    """The team's channels changed: its kept choices are stale once the transaction commits."""
    GENERATIONS.changed(team_id)
