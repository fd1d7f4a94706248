"""The feedback items API across channels: ``channel_kind``, ``channels``, ``sentiment``,
``sentiment_score`` and ``likely_duplicates`` read without a query per item; the ``sentiment``
and ``channel_kind`` filters; ``POST .../merge/`` and dismissing a likely duplicate."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from feedback.api.viewsets import NO_SUCH_DUPLICATE
from feedback.models import FeedbackItem, LikelyDuplicate, Message, Sentiment
from feedback.selectors import NO_SUCH_ITEM
from feedback.services.merging import MERGE_INTO_ITSELF
from tests.factories import CustomerFactory
from tests.feedback.factories import ChannelFactory, FeedbackItemFactory, MessageFactory

pytestmark = pytest.mark.django_db

LIST = "api:feedback-item-list"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def detail(item) -> str:
    return reverse("api:feedback-item-detail", args=[item.pk])


def merge_url(item) -> str:
    return reverse("api:feedback-item-merge", args=[item.pk])


def dismiss_url(item, other) -> str:
    return reverse("api:feedback-item-dismiss-duplicate", args=[item.pk, other.pk])


def item_in(team, channel, *more_channels, sentiment="", score=None, **fields) -> FeedbackItem:
    item = FeedbackItemFactory(
        team=team, channel=channel, sentiment=sentiment, sentiment_score=score, **fields
    )
    for at, through in enumerate((channel, *more_channels)):
        MessageFactory(item=item, channel=through, sent_at=T0 + timedelta(minutes=at))
    return item


def pair(team, item, other, score: float) -> LikelyDuplicate:
    low, high = sorted((item.pk, other.pk))
    return LikelyDuplicate.objects.create(team=team, item_id=low, other_id=high, score=score)


@pytest.fixture
def channels(world):
    team = world.team_a
    return {
        kind: ChannelFactory(team=team, kind=kind) for kind in ("imap", "discourse", "mastodon")
    }


def listed(user, **params) -> dict[int, dict]:
    response = client_for(user).get(reverse(LIST), {"page_size": 200, **params})
    assert response.status_code == 200, response.json()
    return {row["id"]: row for row in response.json()["results"]}


def test_items_show_their_channels_sentiment_and_likely_duplicates(world, channels):
    team = world.team_a
    mail = item_in(
        team, channels["imap"], channels["discourse"], channels["imap"], None,
        sentiment=Sentiment.NEGATIVE, score=-0.62,
    )  # fmt: skip
    pushed = item_in(team, None, channels["mastodon"])
    post = item_in(team, channels["discourse"])
    quiet = item_in(team, channels["mastodon"])
    pair(team, mail, post, 0.8312)
    pair(team, pushed, mail, 0.55)
    dismissed = pair(team, quiet, post, 0.9)
    LikelyDuplicate.objects.filter(pk=dismissed.pk).update(dismissed_at=T0)

    rows = listed(world.agent_a)

    assert rows[mail.pk]["channel_kind"] == "imap"
    assert rows[mail.pk]["channels"] == ["discourse", "imap"]
    assert (rows[mail.pk]["sentiment"], rows[mail.pk]["sentiment_score"]) == ("negative", -0.62)
    assert rows[mail.pk]["likely_duplicates"] == [
        {"item": post.pk, "score": 0.83},
        {"item": pushed.pk, "score": 0.55},
    ]
    assert rows[pushed.pk]["channel_kind"] is None
    assert rows[pushed.pk]["channels"] == ["api", "mastodon"]
    assert (rows[pushed.pk]["sentiment"], rows[pushed.pk]["sentiment_score"]) == (None, None)
    assert rows[post.pk]["likely_duplicates"] == [{"item": mail.pk, "score": 0.83}]
    # A dismissed pair is listed on neither side.
    assert rows[quiet.pk]["likely_duplicates"] == []
    one = client_for(world.agent_a).get(detail(mail)).json()
    assert {key: one[key] for key in ("channels", "likely_duplicates")} == {
        key: rows[mail.pk][key] for key in ("channels", "likely_duplicates")
    }


def test_listing_takes_the_same_number_of_queries_for_one_item_or_many(world, channels):
    team = world.team_a
    client = client_for(world.agent_a)

    def add_items(count: int) -> None:
        for _ in range(count):
            item = item_in(team, channels["imap"], channels["discourse"], None)
            pair(team, item, item_in(team, channels["mastodon"]), 0.7)

    add_items(1)
    client.get(reverse(LIST))
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(reverse(LIST), {"page_size": 2}).json()["results"]) == 2
    add_items(15)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(reverse(LIST), {"page_size": 30}).json()["results"]) == 30

    assert len(many) == len(few)


def test_items_filter_by_sentiment_and_channel_kind_repeated(world, channels):
    team = world.team_a
    angry = item_in(team, channels["imap"], sentiment=Sentiment.NEGATIVE, score=-0.5)
    happy = item_in(team, channels["discourse"], sentiment=Sentiment.POSITIVE, score=0.5)
    calm = item_in(team, None, sentiment=Sentiment.NEUTRAL, score=0.0)
    unscored = item_in(team, channels["mastodon"])

    assert set(listed(world.agent_a, sentiment="negative")) == {angry.pk}
    assert set(listed(world.agent_a, sentiment=["negative", "neutral"])) == {angry.pk, calm.pk}
    assert set(listed(world.agent_a, channel_kind="discourse")) == {happy.pk}
    assert set(listed(world.agent_a, channel_kind=["api", "mastodon"])) == {calm.pk, unscored.pk}
    assert set(listed(world.agent_a, channel_kind="imap", sentiment="positive")) == set()


@pytest.mark.parametrize(
    ("name", "known", "value"),
    [("sentiment", "negative", "furious"), ("channel_kind", "imap", "fax")],
)
def test_an_unknown_filter_value_is_refused_naming_it(world, name, known, value):
    response = client_for(world.agent_a).get(reverse(LIST), {name: [known, value]})

    assert response.status_code == 400
    assert value in response.json()[name][0]


def test_an_agent_merges_an_item_and_gets_the_merged_item(world, channels):
    team = world.team_a
    customer = CustomerFactory()
    into = item_in(team, channels["imap"], customer=customer)
    source = item_in(team, channels["discourse"], channels["discourse"], customer=customer)
    pair(team, source, into, 0.9)
    messages = set(Message.objects.values_list("pk", flat=True))

    response = client_for(world.agent_a).post(merge_url(source), {"into": into.pk}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["id"] == into.pk
    assert body["channels"] == ["discourse", "imap"]
    assert body["likely_duplicates"] == []
    assert not FeedbackItem.objects.filter(pk=source.pk).exists()
    assert set(Message.objects.filter(item=into).values_list("pk", flat=True)) == messages


def test_merging_refuses_another_teams_items_itself_and_viewers(world, channels):
    team = world.team_a
    item, other = item_in(team, channels["imap"]), item_in(team, channels["discourse"])
    elsewhere = item_in(world.team_b, ChannelFactory(team=world.team_b))
    agent = client_for(world.agent_a)

    into_elsewhere = agent.post(merge_url(item), {"into": elsewhere.pk}, format="json")
    from_elsewhere = agent.post(merge_url(elsewhere), {"into": item.pk}, format="json")
    itself = agent.post(merge_url(item), {"into": item.pk}, format="json")
    nothing = agent.post(merge_url(item), {}, format="json")
    huge = agent.post(merge_url(item), {"into": 2**70}, format="json")
    viewer = client_for(world.viewer_a).post(merge_url(item), {"into": other.pk}, format="json")

    assert into_elsewhere.status_code == 400
    assert into_elsewhere.json() == {"into": [NO_SUCH_ITEM]}
    assert from_elsewhere.status_code == 404
    assert (itself.status_code, itself.json()) == (400, {"into": [MERGE_INTO_ITSELF]})
    assert nothing.status_code == 400
    assert huge.status_code == 400
    assert viewer.status_code == 403
    assert FeedbackItem.objects.count() == 3


def test_an_agent_dismisses_a_likely_duplicate_from_either_side(world, channels):
    team = world.team_a
    item, other = item_in(team, channels["imap"]), item_in(team, channels["discourse"])
    unrelated = item_in(team, channels["mastodon"])
    pair(team, item, other, 0.7)
    agent = client_for(world.agent_a)

    viewer = client_for(world.viewer_a).post(dismiss_url(other, item))
    no_pair = agent.post(dismiss_url(item, unrelated))
    dismissed = agent.post(dismiss_url(other, item))
    again = agent.post(dismiss_url(item, other))

    assert viewer.status_code == 403
    assert (no_pair.status_code, no_pair.json()) == (404, {"detail": NO_SUCH_DUPLICATE})
    assert dismissed.status_code == 200
    assert dismissed.json()["likely_duplicates"] == []
    assert again.status_code == 400
    assert listed(world.agent_a)[item.pk]["likely_duplicates"] == []
