"""The items list of the API (/api/v1/feedback/items/) reads the inbox's query: the same filters
as the inbox page (repeated parameters, assignee=me|none|<id>, tags of the team only), search,
the inbox's orders with escalated items first, keyset pages, and a constant number of queries
per page whatever its size and depth."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from feedback.inbox.params import NO_SUCH_ASSIGNEE, NO_SUCH_TAG, NO_SUCH_TEAM
from feedback.models import ItemPriority, ItemStatus
from feedback.services import item_search_document_refresh
from tests.feedback.factories import SENT, FeedbackItemFactory, MessageFactory, TagFactory

pytestmark = pytest.mark.django_db
LIST = "api:feedback-item-list"
MAX_QUERIES_PER_PAGE = 10


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def listed(user, **params) -> list[int]:
    response = client_for(user).get(reverse(LIST), params)
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_filters_assignee_priority_tag_and_search(world):
    team = world.team_a
    tag = TagFactory(team=team, name="Billing")
    mine = FeedbackItemFactory(team=team, assignee=world.agent_a, priority=ItemPriority.HIGH)
    mine.tags.add(tag)
    other = FeedbackItemFactory(team=team, status=ItemStatus.OPEN)
    MessageFactory(item=other, text="The invoice total is wrong.")
    item_search_document_refresh([other.pk])

    assert listed(world.agent_a, assignee="me") == [mine.pk]
    assert listed(world.agent_a, assignee="none") == [other.pk]
    assert listed(world.agent_a, priority=["high", "urgent"]) == [mine.pk]
    assert listed(world.agent_a, tag=tag.pk) == [mine.pk]
    assert listed(world.agent_a, search="invoices") == [other.pk]
    assert listed(world.agent_a, q="invoice", status="open") == [other.pk]


def test_bad_values_answer_400_naming_them(world):
    foreign_tag = TagFactory(team=world.team_b)
    client = client_for(world.agent_a)

    response = client.get(
        reverse(LIST),
        {"tag": foreign_tag.pk, "assignee": world.member_b.pk, "status": "closed"},
    )

    assert response.status_code == 400
    body = response.json()
    assert body["tag"] == [NO_SUCH_TAG.format(value=str(foreign_tag.pk), where="your teams")]
    assert body["assignee"] == [
        NO_SUCH_ASSIGNEE.format(value=str(world.member_b.pk), where="your teams")
    ]
    assert "'closed'" in body["status"][0]


def test_escalated_and_urgent_items_lead_the_default_order(world):
    team = world.team_a
    recent = FeedbackItemFactory(team=team, last_message_at=SENT + timedelta(days=1))
    urgent = FeedbackItemFactory(team=team, priority=ItemPriority.URGENT)
    escalated = FeedbackItemFactory(team=team, escalated_at=SENT)

    assert listed(world.agent_a) == [escalated.pk, urgent.pk, recent.pk]
    # Latest activity alone: the two that tie on it by id, the newest first.
    assert listed(world.agent_a, ordering="-last_message_at") == [
        recent.pk,
        escalated.pk,
        urgent.pk,
    ]


def test_pages_keep_the_filters_and_walk_every_item_once(world):
    team = world.team_a
    for n in range(9):
        FeedbackItemFactory(
            team=team,
            priority=[ItemPriority.NORMAL, ItemPriority.URGENT][n % 2],
            last_message_at=SENT + timedelta(hours=n // 3),
        )
    FeedbackItemFactory(team=team, status=ItemStatus.SPAM)
    client = client_for(world.agent_a)

    seen, url, params = [], reverse(LIST), {"page_size": 2, "status": "new"}
    while url:
        body = client.get(url, params).json()
        seen.extend(row["id"] for row in body["results"])
        url, params = body["next"], None

    assert len(seen) == len(set(seen)) == 9


def page_queries(client, user, params, depth: int) -> int:
    """The queries of the page ``depth`` pages in (its cursor read beforehand)."""
    url, query = reverse(LIST), params
    for _ in range(depth):
        url, query = client.get(url, query).json()["next"], None
    # A fresh user object, as each request has: nothing read by an earlier one is cached.
    client.force_authenticate(type(user).objects.get(pk=user.pk))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, query)
    assert response.status_code == 200
    return len(queries)


def test_a_page_takes_the_same_few_queries_whatever_its_size_and_depth(world):
    team = world.team_a
    tags = [TagFactory(team=team) for _ in range(3)]
    for n in range(40):
        item = FeedbackItemFactory(
            team=team, assignee=world.agent_a, last_message_at=SENT + timedelta(minutes=n)
        )
        item.tags.add(*tags[: n % 4])
        MessageFactory(item=item)
    client = client_for(world.agent_a)
    filters = {"status": "new", "tag": [tag.pk for tag in tags], "assignee": "me"}

    counts = {
        (size, depth): page_queries(client, world.agent_a, {**filters, "page_size": size}, depth)
        for size, depth in [(1, 0), (5, 0), (20, 0), (1, 12), (5, 3), (10, 2)]
    }

    assert len(set(counts.values())) == 1, counts
    assert max(counts.values()) <= MAX_QUERIES_PER_PAGE


@pytest.mark.parametrize("search", ["crash", "crashes", "crashed", "crashing", "Crashes photo"])
def test_search_finds_word_forms_on_every_database(world, search):
    found = FeedbackItemFactory(team=world.team_a, status=ItemStatus.OPEN)
    MessageFactory(item=found, text="The photo crash is gone since the update.")
    other = FeedbackItemFactory(team=world.team_a, status=ItemStatus.OPEN)
    MessageFactory(item=other, text="Uploading a photo takes a minute.")
    item_search_document_refresh([found.pk, other.pk])

    assert listed(world.agent_a, search=search) == [found.pk]
    assert listed(world.agent_a, search="photo -crash") == [other.pk]


def test_a_tag_named_with_digits_by_an_import_is_found_by_its_name_unless_an_id_is_meant(world):
    imported = TagFactory(team=world.team_a, name="2027")  # as a push or an import makes it
    tagged = FeedbackItemFactory(team=world.team_a)
    tagged.tags.add(imported)
    other_tag = TagFactory(team=world.team_a, name="Billing")
    other = FeedbackItemFactory(team=world.team_a)
    other.tags.add(other_tag)

    assert listed(world.agent_a, tag="2027") == [tagged.pk]
    assert listed(world.agent_a, tag=str(other_tag.pk)) == [other.pk]  # an id first
    response = client_for(world.agent_a).get(reverse(LIST), {"tag": "99999"})
    assert response.status_code == 400


def test_a_team_the_reader_is_not_in_answers_400_naming_it(world):
    response = client_for(world.agent_a).get(reverse(LIST), {"team": world.team_b.pk})

    assert response.status_code == 400
    assert response.json() == {"team": [NO_SUCH_TEAM.format(value=str(world.team_b.pk))]}
    assert listed(world.agent_a, team=world.team_a.pk) == listed(world.agent_a)
