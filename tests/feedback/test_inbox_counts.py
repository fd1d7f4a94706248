"""The inbox's counts per status, kept in the cache for a short while (feedback.inbox.counts):
fresh again after ``COUNTS_FRESH_FOR`` seconds (an injected clock) or after a person's change to
the team's items, kept apart per team, filters and reader where the filters depend on who reads."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import caches
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from feedback.inbox.counts import COUNTS_FRESH_FOR, inbox_counts_cached, inbox_counts_recount
from feedback.inbox.kept import inbox_kept
from feedback.inbox.params import inbox_query_from_params
from feedback.models import ItemStatus
from feedback.services import item_update
from feedback.services.tags import tag_merge
from feedback.tasks import recount_inbox_counts
from tests.feedback.factories import FeedbackItemFactory, TagFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def recounts(monkeypatch) -> list[tuple]:
    """The recounts queued, instead of running them."""
    queued: list[tuple] = []
    monkeypatch.setattr(recount_inbox_counts, "delay", lambda *args: queued.append(args))
    return queued


def counts(user, team, text: str = "", now: datetime = NOW) -> dict[str, int]:
    query = inbox_query_from_params(QueryDict(text), user=user, team=team)
    return inbox_counts_cached(user=user, team=team, query=query, now=now)


def test_counts_are_read_once_then_kept_until_they_are_too_old(world, recounts):
    team, agent = world.team_a, world.agent_a
    FeedbackItemFactory(team=team, status=ItemStatus.NEW)
    first = counts(agent, team)
    # Written behind the services' back (as a channel's new item would arrive).
    FeedbackItemFactory(team=team, status=ItemStatus.NEW)

    with CaptureQueriesContext(connection) as queries:
        kept = counts(agent, team, now=NOW + timedelta(seconds=COUNTS_FRESH_FOR - 1))
    assert first["new"] == 1 and kept == first and len(queries) == 0 and recounts == []

    # Too old: shown once more while the worker counts again, and only one recount queued.
    with CaptureQueriesContext(connection) as queries:
        stale = counts(agent, team, now=NOW + timedelta(seconds=COUNTS_FRESH_FOR))
        again = counts(agent, team, now=NOW + timedelta(seconds=COUNTS_FRESH_FOR + 1))
    assert stale == again == first and len(queries) == 0
    assert recounts == [(agent.pk, team.pk, {})]

    later = NOW + timedelta(seconds=COUNTS_FRESH_FOR + 2)
    assert inbox_counts_recount(user_id=agent.pk, team_id=team.pk, params=recounts[0][2], now=later)
    assert counts(agent, team, now=later)["new"] == 2


def test_a_recount_that_can_no_longer_be_made_changes_nothing(world, recounts):
    team = world.team_a
    FeedbackItemFactory(team=team, status=ItemStatus.NEW)
    counts(world.agent_a, team)
    FeedbackItemFactory(team=team, status=ItemStatus.NEW)

    left = inbox_counts_recount(user_id=world.member_b.pk, team_id=team.pk, params={}, now=NOW)
    gone = inbox_counts_recount(user_id=world.agent_a.pk, team_id=10**9, params={}, now=NOW)
    # A filter that no longer holds (its tag deleted since): the page will say so itself.
    refused = inbox_counts_recount(
        user_id=world.agent_a.pk, team_id=team.pk, params={"tag": ["999999"]}, now=NOW
    )

    assert left is False and gone is False and refused is False
    assert counts(world.agent_a, team)["new"] == 1


def test_the_recount_task_counts_again_as_the_reader_sees_it(world):
    team = world.team_a
    FeedbackItemFactory(team=team, status=ItemStatus.NEW, assignee=world.agent_a)
    FeedbackItemFactory(team=team, status=ItemStatus.NEW)
    counts(world.agent_a, team, "assignee=me")
    FeedbackItemFactory(team=team, status=ItemStatus.OPEN, assignee=world.agent_a)

    # Tasks run at once in the tests: the page that finds its counts stale has them recounted.
    stale = counts(world.agent_a, team, "assignee=me", now=timezone.now() + timedelta(minutes=1))
    fresh = counts(world.agent_a, team, "assignee=me", now=timezone.now() + timedelta(minutes=1))

    assert (stale["new"], stale["open"]) == (1, 0)
    assert (fresh["new"], fresh["open"]) == (1, 1)


def test_a_persons_change_shows_at_once(world, django_capture_on_commit_callbacks):
    team, agent = world.team_a, world.agent_a
    item = FeedbackItemFactory(team=team, status=ItemStatus.NEW)
    counts(agent, team)

    with django_capture_on_commit_callbacks(execute=True):
        item_update(actor=agent, item=item, status=ItemStatus.OPEN)

    assert counts(agent, team)["new"] == 0 and counts(agent, team)["open"] == 1


def test_a_tag_merge_shows_at_once_in_the_tag_filters_counts(
    world, django_capture_on_commit_callbacks
):
    team = world.team_a
    source, into = TagFactory(team=team, name="bug"), TagFactory(team=team, name="defect")
    FeedbackItemFactory(team=team, status=ItemStatus.NEW).tags.add(source)
    assert counts(world.lead_a, team, f"tag={into.pk}")["new"] == 0

    with django_capture_on_commit_callbacks(execute=True):
        tag_merge(actor=world.lead_a, source=source, into=into)

    assert counts(world.lead_a, team, f"tag={into.pk}")["new"] == 1


def test_a_change_in_one_team_keeps_the_other_teams_counts(
    world, django_capture_on_commit_callbacks
):
    item = FeedbackItemFactory(team=world.team_a, status=ItemStatus.NEW)
    counts(world.member_b, world.team_b)

    with django_capture_on_commit_callbacks(execute=True):
        item_update(actor=world.agent_a, item=item, status=ItemStatus.OPEN)
    with CaptureQueriesContext(connection) as queries:
        counts(world.member_b, world.team_b)

    assert len(queries) == 0


def test_counts_are_kept_per_filters_and_per_reader_where_me_is_asked(world):
    team = world.team_a
    FeedbackItemFactory(team=team, status=ItemStatus.NEW, assignee=world.agent_a)
    FeedbackItemFactory(team=team, status=ItemStatus.OPEN)

    mine = counts(world.agent_a, team, "assignee=me")
    theirs = counts(world.lead_a, team, "assignee=me")
    unassigned = counts(world.agent_a, team, "assignee=none")
    # Statuses and order do not change the counts: one entry serves every tab.
    with CaptureQueriesContext(connection) as queries:
        same = counts(world.agent_a, team, "assignee=me&status=open&ordering=-created_at")

    assert (mine["new"], mine["open"]) == (1, 0)
    assert (theirs["new"], theirs["open"]) == (0, 0)
    assert (unassigned["new"], unassigned["open"]) == (0, 1)
    assert same == mine and len(queries) == 0


def test_a_page_reads_its_kept_choices_and_counts_in_two_round_trips(world, recounts, monkeypatch):
    FeedbackItemFactory(team=world.team_a, status=ItemStatus.OPEN)
    query = inbox_query_from_params({}, user=world.agent_a, team=world.team_a)
    first = inbox_kept(user=world.agent_a, team=world.team_a, query=query, now=NOW)
    store = caches["default"]
    calls: list[str] = []
    real_get, real_get_many = store.get, store.get_many

    def get_many(keys, *args, **kwargs):
        # The local-memory cache reads each key with get(): those are one round trip here.
        calls.append("get_many")
        monkeypatch.setattr(store, "get", real_get)
        try:
            return real_get_many(keys, *args, **kwargs)
        finally:
            monkeypatch.setattr(store, "get", get)

    def get(*args, **kwargs):
        calls.append("get")
        return real_get(*args, **kwargs)

    monkeypatch.setattr(store, "get", get)
    monkeypatch.setattr(store, "get_many", get_many)

    choices, kept = inbox_kept(user=world.agent_a, team=world.team_a, query=query, now=NOW)

    assert calls == ["get_many", "get_many"]
    assert kept == first[1] == counts(world.agent_a, world.team_a)
    assert [m.user.username for m in choices.members] == [m.user.username for m in first[0].members]
