"""What every inbox page of a team offers, kept in the cache: its members (assignee filter,
bulk assign), channels (channel filter), tags (tag filter, bulk tag, the rows' badges) and saved
views.

Reading them is five small queries, but building those queries costs more than running them:
about 6 ms of a page. They change rarely, so the page reads them through
``team_choices_cached``: kept per team until one of them changes (``team_choices_changed``,
called by the tag, saved view and channel services, by the ingestion that creates a tag on
first use, and after the commit of ``portal.membership_changed``), and for at most
``CHOICES_FRESH_FOR`` seconds, which bounds what no service announces (a person renamed in
Django's admin).

Every saved view of the team is kept, each person's own among them: ``saved_views_of`` gives a
reader the shared ones and their own, as ``feedback.selectors.saved_view_list`` does.
"""

from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from feedback import selectors
from feedback.inbox.generations import NOT_READ, TeamGenerations
from feedback.models import Channel, SavedView, Tag
from portal import access
from portal.access import User
from portal.models import Membership, Role, Team
from portal.selectors import membership_list

CHOICES_FRESH_FOR = 300  # seconds
GENERATIONS = TeamGenerations("inbox-choices")
# The key names the shape of what it holds (v2: with tags and saved views), so that a process
# of a newer release never reads an older one's pickled choices.
_CHOICES_KEY = "inbox-choices:v2:{team_id}:{generation}"


@dataclass(frozen=True)
class TeamChoices:
    """A team's members (their user and team read, by username), channels and tags (by name)
    and saved views (shared ones first, then by name; everybody's, see ``saved_views_of``)."""

    members: list[Membership]
    channels: list[Channel]
    tags: list[Tag]
    saved_views: list[SavedView]

    def saved_views_of(self, user: User) -> list[SavedView]:
        """The views shared with the team and the reader's own: nobody else's personal ones."""
        pk = getattr(user, "pk", None)
        return [view for view in self.saved_views if view.owner_id in (None, pk)]


NO_CHOICES = TeamChoices(members=[], channels=[], tags=[], saved_views=[])


def _read(user: User, team: Team) -> TeamChoices:
    # Only the columns the filter form and the rows show (a channel's settings are not read).
    members = membership_list(user=user, team=team).only(
        "role", "team__name", "user__username", "user__first_name", "user__last_name"
    )
    channels = selectors.channel_list(user=user, team=team).only("team__name", "kind", "name")
    views = (
        SavedView.objects.filter(team=team)
        .select_related("team", "owner")
        .order_by(*selectors.SAVED_VIEW_ORDER)
    )
    return TeamChoices(
        members=list(members),
        channels=list(channels),
        tags=list(selectors.tag_list(user=user, team=team)),
        saved_views=list(views),
    )


def team_choices_key(team_id: int, generation: int | None = None) -> str:
    """Where the team's choices of this generation (by default the current one) are kept."""
    if generation is None:
        generation = GENERATIONS.current(team_id)
    return _CHOICES_KEY.format(team_id=team_id, generation=generation)


def team_choices_cached(
    *, user: User, team: Team, key: str | None = None, kept: Any = NOT_READ
) -> TeamChoices:
    """The team's members, channels, tags and saved views, for a reader who may see the team
    (anyone else gets none, as the selectors answer them). ``key`` and ``kept``: the key and
    what the cache held there, when the caller read it along with others
    (``feedback.inbox.kept``)."""
    if not access.has_team_role(user, team, Role.VIEWER):
        return NO_CHOICES
    key = key or team_choices_key(team.pk)
    choices = cache.get(key) if kept is NOT_READ else kept
    if choices is None:
        choices = _read(user, team)
        cache.set(key, choices, CHOICES_FRESH_FOR)
    return choices


def team_choices_forget(team_id: int) -> None:
    """Start a new generation of the team's kept choices."""
    GENERATIONS.forget(team_id)


def team_choices_changed(team_id: int) -> None:
    """The team's channels, tags or saved views changed: its kept choices are stale once the
    transaction commits."""
    GENERATIONS.changed(team_id)
