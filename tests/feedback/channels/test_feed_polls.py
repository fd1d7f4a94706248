"""Feed channels end to end: polled through the service against a local server that serves
recorded RSS and Atom documents and answers conditional GETs as a web server does, stored
raw, parsed into items and messages, checked from the channel pages and the API."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from feedback import services
from feedback.channels import CONNECTORS
from feedback.channels.base import FetchResult
from feedback.channels.feed.config import URL_PLAINTEXT
from feedback.channels.feed.connector import CHECK_OK, FeedConnector
from feedback.channels.feed.document import FEED_NOT_FOUND
from feedback.channels.feed.parse import DOCUMENT_UNREADABLE, ENTRY_WITHOUT_ID
from feedback.forms import SECRET_KEEP_HELP
from feedback.models import (
    Channel,
    FeedbackItem,
    Message,
    PayloadStatus,
    Quarantine,
    RawPayload,
)
from feedback.services.polling import PollReport, channel_poll_now
from portal.actors import SYSTEM
from portal.models import Customer
from tests.feedback.fakeweb import Reply, Request, fixture_bytes

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
PASSWORD = "feed-reader-password"


@dataclass
class FeedHost:
    """A feed as a web server serves it: the current document with its ETag, and 304 to a
    request that names that ETag."""

    name: str
    etag: str = '"1"'
    content_type: str = "application/rss+xml; charset=utf-8"

    def publish(self, name: str, etag: str) -> None:
        self.name, self.etag = name, etag

    def __call__(self, request: Request) -> Reply:
        if request.headers.get("If-None-Match") == self.etag:
            return Reply(304, headers={"ETag": self.etag})
        body = fixture_bytes("feed", self.name)
        return Reply(200, body, {"Content-Type": self.content_type, "ETag": self.etag})


@pytest.fixture(autouse=True)
def fresh_connector(monkeypatch) -> FeedConnector:
    """A connector with nothing in memory from another test; ``restart()`` makes another."""
    connector = FeedConnector()
    monkeypatch.setitem(CONNECTORS, "feed", connector)
    return connector


def restart(monkeypatch) -> None:
    # A new process: the connector remembers nothing, only the database does.
    monkeypatch.setitem(CONNECTORS, "feed", FeedConnector())


class EarlierFeedConnector(FeedConnector):
    """The connector as it was before entries were keyed by their id as written: the same
    payload bytes, without the id as written beside them and without "keys" in the cursor,
    so each entry's message id is the one feedparser's reading gave (``qa-1`` resolved
    against the feed's address)."""

    def fetch(self, config, cursor, **options) -> FetchResult:
        result = super().fetch(config, cursor, **options)
        items = [replace(item, metadata={}) for item in result.items]
        cursor = {k: v for k, v in result.cursor.items() if k not in ("keys", "legacy")}
        return FetchResult(items=items, cursor=cursor, more=result.more)


def serve(web, name: str = "reviews.rss", path: str = "/reviews.rss", **options) -> FeedHost:
    host = FeedHost(name, **options)
    web.route("GET", path, host)
    return host


def feed_channel(
    web, team=None, path: str = "/reviews.rss", name: str = "App store reviews", **config
) -> Channel:
    from tests.factories import TeamFactory

    return services.channel_create(
        actor=SYSTEM,
        team=team or TeamFactory(),
        kind="feed",
        name=name,
        config={"url": web.url + path, **config},
        now=NOW,
    )


def poll(channel: Channel, *, now: datetime = NOW, **options) -> PollReport:
    report = channel_poll_now(channel_id=channel.pk, now=now, **options)
    assert report.claimed
    return report


def messages(channel: Channel) -> list[Message]:
    return list(Message.objects.filter(channel=channel).order_by("sent_at"))


# --- exactly once ---------------------------------------------------------------------------


def test_two_polls_store_each_entry_once(fake_web):
    serve(fake_web)
    channel = feed_channel(fake_web)

    first = poll(channel)
    second = poll(channel, now=NOW + timedelta(minutes=5))

    assert first.ok and (first.stored, first.messages_created) == (3, 3)
    assert second.ok and (second.fetched, second.stored) == (0, 0)
    assert RawPayload.objects.filter(channel=channel).count() == 3
    assert [message.subject for message in messages(channel)] == [
        "Crashes when exporting to PDF",
        "Lovely app, one wish",
        "Sync lost my notes twice this week",
    ]
    assert FeedbackItem.objects.filter(channel=channel).count() == 3
    review = Message.objects.get(channel=channel, subject__startswith="Sync lost")
    assert review.external_id == "review-88127@127.0.0.1/reviews.rss"
    assert review.external_url == "https://reviews.example.com/apps/haddad-notes/reviews/88127"
    assert review.sender_name == "Maren Olsen"


def test_an_entry_without_an_address_has_no_customer_and_one_with_an_address_has_one(fake_web):
    serve(fake_web)
    channel = feed_channel(fake_web)

    poll(channel)

    anonymous = FeedbackItem.objects.get(channel=channel, subject__startswith="Sync lost")
    known = FeedbackItem.objects.get(channel=channel, subject="Lovely app, one wish")
    assert anonymous.customer_id is None
    assert known.customer == Customer.objects.get(email="jonas.weber@example.org")


def test_a_second_poll_asks_conditionally_and_a_304_stores_nothing(fake_web):
    serve(fake_web, etag='"reviews-v1"')
    channel = feed_channel(fake_web)
    poll(channel)

    report = poll(channel, now=NOW + timedelta(minutes=5))

    request = fake_web.requests_to("/reviews.rss")[-1]
    assert request.headers["If-None-Match"] == '"reviews-v1"'
    assert report.ok and (report.fetched, report.stored) == (0, 0)
    channel.refresh_from_db()
    assert channel.cursor["etag"] == '"reviews-v1"'


def test_a_changed_entry_revises_its_message_instead_of_adding_one(fake_web):
    host = serve(fake_web)
    channel = feed_channel(fake_web)
    poll(channel)
    host.publish("reviews-changed.rss", '"2"')

    report = poll(channel, now=NOW + timedelta(minutes=5))

    assert report.ok and (report.fetched, report.stored) == (3, 1)
    revised = Message.objects.get(channel=channel, external_id__startswith="review-88127@")
    assert revised.subject == "Sync lost my notes twice this week (update: fixed)"
    assert "5.2.2 fixed the sync" in revised.text
    assert Message.objects.filter(channel=channel).count() == 3
    assert FeedbackItem.objects.filter(channel=channel).count() == 3
    assert RawPayload.objects.filter(channel=channel, source_id="review-88127").count() == 2
    assert revised.item.subject == "Sync lost my notes twice this week (update: fixed)"


def test_the_same_feed_in_two_teams_is_one_message_in_each(fake_web):
    from tests.factories import TeamFactory

    serve(fake_web)
    first, second = feed_channel(fake_web, TeamFactory()), feed_channel(fake_web, TeamFactory())

    poll(first)
    poll(second)

    assert len(messages(first)) == len(messages(second)) == 3


# --- authors --------------------------------------------------------------------------------


def test_an_rss_author_with_a_long_top_level_domain_is_the_customer(fake_web):
    serve(fake_web, "authors.rss")
    channel = feed_channel(fake_web)

    poll(channel)

    item = FeedbackItem.objects.get(channel=channel, subject="Six letters")
    assert item.customer == Customer.objects.get(email="buyer@store.online")
    assert item.customer.name == "Buyer Name"
    assert not Customer.objects.filter(email="buyer@store.onli").exists()
    malformed = Message.objects.get(channel=channel, subject="No domain")
    assert (malformed.sender_name, malformed.sender, malformed.item.customer) == (
        "Buyer Name",
        "",
        None,
    )


# --- ids as the feed wrote them -------------------------------------------------------------


def test_two_feeds_of_one_folder_with_the_same_bare_guid_are_two_items(fake_web):
    from tests.factories import TeamFactory

    team = TeamFactory()
    serve(fake_web, "qa-good.rss", path="/feeds/good.rss")
    serve(fake_web, "qa-other.rss", path="/feeds/other.rss")
    good = feed_channel(fake_web, team, path="/feeds/good.rss")
    other = feed_channel(fake_web, team, path="/feeds/other.rss", name="Delivery questions")

    first, second = poll(good), poll(other)

    assert (first.messages_created, second.messages_created) == (2, 1)
    asked = Message.objects.get(channel=good, external_id="qa-1@127.0.0.1/feeds/good.rss")
    waiting = Message.objects.get(channel=other, external_id="qa-1@127.0.0.1/feeds/other.rss")
    assert asked.text == "I would like to know whether the PDF exporter is part of the bundle."
    assert waiting.text == "My order has been on its way for two weeks now."
    assert asked.item != waiting.item
    assert waiting.item.channel == other and waiting.item.subject.startswith("How long")
    assert FeedbackItem.objects.filter(team=team).count() == 3


def test_two_feeds_that_differ_by_query_string_alone_are_two_items(fake_web):
    from tests.factories import TeamFactory

    team = TeamFactory()
    serve(fake_web, "qa-other.rss", path="/feeds/q.rss")
    first = feed_channel(fake_web, team, path="/feeds/q.rss?shop=north")
    second = feed_channel(fake_web, team, path="/feeds/q.rss?shop=south", name="South shop")

    poll(first)
    poll(second)

    assert len(messages(first)) == len(messages(second)) == 1
    assert messages(first)[0].external_id != messages(second)[0].external_id
    assert FeedbackItem.objects.filter(team=team).count() == 2


def test_a_feed_polled_before_ids_were_kept_as_written_stores_no_entry_again(fake_web, monkeypatch):
    host = serve(fake_web, "qa-good.rss", path="/feeds/good.rss")
    channel = feed_channel(fake_web, path="/feeds/good.rss")
    monkeypatch.setitem(CONNECTORS, "feed", EarlierFeedConnector())
    poll(channel)
    earlier = {message.external_id: message.pk for message in messages(channel)}
    # The upgrade; then qa-1 changes, qa-2 stays as it was and qa-3 comes.
    restart(monkeypatch)
    host.publish("qa-good-changed.rss", '"2"')

    report = poll(channel, now=NOW + timedelta(minutes=5))

    qa = f"{fake_web.url}/feeds/qa-"
    assert sorted(earlier) == [f"{qa}1", f"{qa}2"]
    assert report.ok and (report.fetched, report.stored, report.messages_created) == (3, 2, 1)
    revised = Message.objects.get(pk=earlier[f"{qa}1"])
    assert revised.text.endswith("Edit: it is, I found it under Export.")
    # Which entries the earlier version stored is not known: every entry of the first
    # document read after the upgrade keeps the id it would have had then (qa-3 too).
    assert [message.external_id for message in messages(channel)] == [
        f"{qa}1",
        f"{qa}2",
        f"{qa}3",
    ]
    channel.refresh_from_db()
    assert channel.cursor["legacy"] == [f"{qa}1", f"{qa}2", f"{qa}3"]


def test_entries_after_the_upgrade_are_keyed_as_written(fake_web, monkeypatch):
    host = serve(fake_web, "qa-good.rss", path="/feeds/good.rss")
    channel = feed_channel(fake_web, path="/feeds/good.rss")
    monkeypatch.setitem(CONNECTORS, "feed", EarlierFeedConnector())
    poll(channel)
    restart(monkeypatch)
    host.publish("qa-good-changed.rss", '"2"')
    poll(channel, now=NOW + timedelta(minutes=5))
    # qa-2 leaves the feed, qa-4 comes.
    host.publish("qa-good-later.rss", '"3"')

    report = poll(channel, now=NOW + timedelta(minutes=10))

    qa = f"{fake_web.url}/feeds/qa-"
    assert report.ok and (report.fetched, report.stored, report.messages_created) == (3, 1, 1)
    assert [message.external_id for message in messages(channel)] == [
        f"{qa}1",
        f"{qa}2",
        f"{qa}3",
        "qa-4@127.0.0.1/feeds/good.rss",
    ]
    assert FeedbackItem.objects.filter(channel=channel).count() == 4
    channel.refresh_from_db()
    assert channel.cursor["legacy"] == [f"{qa}1", f"{qa}3"]


# --- entries of one document that share a key ---------------------------------------------


def texts(channel: Channel) -> dict[str, str]:
    return {message.subject: message.text for message in messages(channel)}


def test_two_reviews_under_one_guid_are_two_items_and_no_poll_stores_them_twice(fake_web):
    serve(fake_web, "repeated-guid.rss")
    channel = feed_channel(fake_web)

    first = poll(channel)
    again = poll(channel, now=NOW + timedelta(minutes=5))
    # The same entries in a document built again (its description changed): read again, each
    # entry is keyed as before, so nothing is stored twice.
    rebuilt = fixture_bytes("feed", "repeated-guid.rss").replace(b"oldest first", b"rebuilt")
    fake_web.route("GET", "/reviews.rss", Reply(200, rebuilt, {"ETag": '"2"'}))
    reread = poll(channel, now=NOW + timedelta(minutes=10))

    assert first.ok and (first.stored, first.messages_created) == (3, 3)
    assert again.ok and (again.fetched, again.stored) == (0, 0)
    assert reread.ok and (reread.fetched, reread.stored, reread.messages_created) == (3, 0, 0)
    assert texts(channel) == {
        "First review": "Crashes on start, terrible",
        "Second review": "Lovely app, five stars",
        "Third review": "Does what it says",
    }
    assert FeedbackItem.objects.filter(channel=channel).count() == 3
    first_review = Message.objects.get(channel=channel, subject="First review")
    assert first_review.external_id == "https://ex.com/dup"
    assert first_review.item.subject == "First review"


def test_a_review_keyed_apart_revises_nothing_once_the_one_that_kept_the_guid_has_left(fake_web):
    host = serve(fake_web, "repeated-guid.rss")
    channel = feed_channel(fake_web)
    poll(channel)
    # The first review has left the feed; the second is unchanged and a fourth shares the guid.
    host.publish("repeated-guid-later.rss", '"2"')

    report = poll(channel, now=NOW + timedelta(minutes=5))

    assert report.ok and (report.fetched, report.stored, report.messages_created) == (3, 1, 1)
    assert texts(channel) == {
        "First review": "Crashes on start, terrible",
        "Second review": "Lovely app, five stars",
        "Third review": "Does what it says",
        "Fourth review": "Lost all my notes after the update",
    }
    assert FeedbackItem.objects.filter(channel=channel).count() == 4


def test_reviews_that_all_link_to_the_app_page_are_items_of_their_own(fake_web):
    host = serve(fake_web, "repeated-link.rss")
    channel = feed_channel(fake_web)

    first = poll(channel)
    again = poll(channel, now=NOW + timedelta(minutes=5))
    # A new review on top; the oldest, which had the page's address to itself, has left.
    host.publish("repeated-link-later.rss", '"2"')
    later = poll(channel, now=NOW + timedelta(minutes=10))

    assert first.ok and (first.stored, first.messages_created) == (2, 2)
    assert again.ok and again.stored == 0
    assert later.ok and (later.fetched, later.stored, later.messages_created) == (2, 1, 1)
    assert texts(channel) == {
        "One star": "Crashes on start since the update, terrible.",
        "Five stars": "Lovely app, the handwriting search is spot on.",
        "Two stars": "Sync drops the notes I write on the iPad.",
    }
    assert sorted(
        FeedbackItem.objects.filter(channel=channel).values_list("subject", flat=True)
    ) == [
        "Five stars",
        "One star",
        "Two stars",
    ]


# --- restart --------------------------------------------------------------------------------


def test_the_cursor_survives_a_restart(fake_web, monkeypatch):
    serve(fake_web, etag='"v7"')
    channel = feed_channel(fake_web)
    poll(channel)
    restart(monkeypatch)

    report = poll(Channel.objects.get(pk=channel.pk), now=NOW + timedelta(minutes=5))

    assert report.ok and report.stored == 0
    assert fake_web.requests_to("/reviews.rss")[-1].headers["If-None-Match"] == '"v7"'


def test_a_poll_cut_short_resumes_where_it_stopped_after_a_restart(fake_web, monkeypatch):
    serve(fake_web)
    channel = feed_channel(fake_web)

    cut = poll(channel, batch_limit=2, max_batches=1)
    channel.refresh_from_db()
    pending = channel.cursor["pending"]
    restart(monkeypatch)
    rest = poll(channel, now=NOW + timedelta(seconds=1), batch_limit=2)

    assert (cut.stored, cut.more, pending["offset"]) == (2, True, 2)
    assert rest.ok and rest.stored == 1
    assert len(messages(channel)) == 3
    channel.refresh_from_db()
    assert "pending" not in channel.cursor


def test_batches_of_one_poll_read_the_document_once(fake_web):
    serve(fake_web)
    channel = feed_channel(fake_web)

    report = poll(channel, batch_limit=1)

    assert report.ok and (report.batches, report.stored) == (3, 3)
    assert len(fake_web.requests_to("/reviews.rss")) == 1


# --- bad input ------------------------------------------------------------------------------


def test_a_malformed_document_is_quarantined_whole_and_stored_once(fake_web):
    serve(fake_web, "malformed.xml")
    channel = feed_channel(fake_web)

    first = poll(channel)
    second = poll(channel, now=NOW + timedelta(minutes=5))

    assert first.ok and (first.stored, first.quarantined) == (1, 1)
    assert second.ok and second.stored == 0
    payload = RawPayload.objects.get(channel=channel)
    assert payload.source_id.startswith("document:")
    assert payload.status == PayloadStatus.QUARANTINED
    assert payload.file.read() == fixture_bytes("feed", "malformed.xml")
    error = Quarantine.objects.get(payload=payload).error
    assert error == DOCUMENT_UNREADABLE.format(error=payload.metadata["error"])
    assert not Message.objects.filter(channel=channel).exists()


def test_an_entry_without_id_is_quarantined_and_the_rest_stored(fake_web):
    serve(fake_web, "entry-without-id.rss")
    channel = feed_channel(fake_web)

    report = poll(channel)

    assert report.ok and (report.stored, report.quarantined, report.messages_created) == (2, 1, 1)
    payload = RawPayload.objects.get(channel=channel, status=PayloadStatus.QUARANTINED)
    assert Quarantine.objects.get(payload=payload).error == ENTRY_WITHOUT_ID
    assert b"nothing identifies it" in payload.file.read()
    assert [message.subject for message in messages(channel)] == ["Search is slow again"]


# --- failures -------------------------------------------------------------------------------


def test_a_429_backs_off_at_least_as_long_as_the_server_asked(fake_web):
    serve(fake_web)
    fake_web.queue("GET", "/reviews.rss", Reply(429, headers={"Retry-After": "1800"}))
    channel = feed_channel(fake_web)

    report = poll(channel)

    channel.refresh_from_db()
    assert not report.ok and "429" in report.error
    assert channel.error_streak == 1 and channel.last_error == report.error
    assert channel.next_poll_at >= NOW + timedelta(seconds=1800)
    assert not RawPayload.objects.filter(channel=channel).exists()
    assert poll(channel, now=NOW + timedelta(hours=1)).stored == 3


def test_a_5xx_is_an_error_the_channel_backs_off_from(fake_web):
    serve(fake_web)
    fake_web.queue("GET", "/reviews.rss", Reply(503), Reply(500))
    channel = feed_channel(fake_web)

    first = poll(channel)
    second = poll(channel, now=NOW + timedelta(hours=1))

    channel.refresh_from_db()
    assert not first.ok and not second.ok
    assert channel.error_streak == 2 and channel.healthy
    assert channel.next_poll_at > NOW + timedelta(hours=1)
    assert channel.cursor in (None, {})
    assert poll(channel, now=NOW + timedelta(hours=3)).stored == 3


def test_a_missing_feed_waits_for_a_person(fake_web):
    channel = feed_channel(fake_web, path="/gone.rss")

    report = poll(channel)

    channel.refresh_from_db()
    assert report.error == FEED_NOT_FOUND.format(url=fake_web.url + "/gone.rss")
    assert not channel.healthy


# --- check, pages and API -------------------------------------------------------------------


def test_the_channel_check_names_the_feed(fake_web):
    serve(fake_web, "forum.atom", content_type="application/atom+xml")
    channel = feed_channel(fake_web)

    result = services.channel_check(actor=SYSTEM, channel=channel)

    title = repr("Haddad Community — Feature requests")
    assert (result.ok, result.message) == (True, CHECK_OK.format(title=title, entries="2 entries"))


def test_an_admin_creates_a_feed_channel_through_the_form_with_a_write_only_password(
    client, world, fake_web
):
    serve(fake_web)
    client.force_login(world.admin_a)
    create_url = f"{reverse('feedback:channel_create', args=[world.team_a.slug])}?kind=feed"
    data = {
        "name": "Reviews",
        "url": fake_web.url + "/reviews.rss",
        "username": "reader",
        "password": PASSWORD,
        "poll_interval": "300",
    }

    created = client.post(create_url, data)

    channel = Channel.objects.get(team=world.team_a, kind="feed")
    assert created.status_code == 302
    assert channel.read_config()["password"] == PASSWORD
    page = client.get(created["Location"])
    assert PASSWORD not in page.content.decode()
    assert SECRET_KEEP_HELP.format(label="password") in page.content.decode()
    edited = client.post(created["Location"], {**data, "password": "", "name": "Reviews 2"})
    assert edited.status_code == 302
    channel.refresh_from_db()
    assert (channel.name, channel.read_config()["password"]) == ("Reviews 2", PASSWORD)
    checked = client.post(
        reverse("feedback:channel_check", args=[world.team_a.slug, channel.pk]), follow=True
    )
    assert "3 entries" in checked.content.decode()


def test_the_form_shows_a_refused_address_on_its_field(client, world):
    client.force_login(world.admin_a)
    create_url = f"{reverse('feedback:channel_create', args=[world.team_a.slug])}?kind=feed"

    response = client.post(
        create_url, {"name": "Reviews", "url": "http://example.com/feed", "poll_interval": "300"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["url"] == [URL_PLAINTEXT]
    assert not Channel.objects.filter(kind="feed").exists()


def test_the_api_creates_a_feed_channel_without_showing_its_password(world, fake_web):
    serve(fake_web)
    api = APIClient()
    api.force_authenticate(world.admin_a)
    body = {
        "team": world.team_a.pk,
        "kind": "feed",
        "name": "Reviews",
        "config": {"url": fake_web.url + "/reviews.rss", "username": "r", "password": PASSWORD},
    }

    created = api.post(reverse("api:feedback-channel-list"), body, format="json")
    refused = api.post(
        reverse("api:feedback-channel-list"),
        {**body, "name": "Other", "config": {"url": "http://example.com/feed"}},
        format="json",
    )

    assert created.status_code == 201, created.content
    assert PASSWORD not in created.content.decode()
    assert created.json()["config"] == {
        "url": fake_web.url + "/reviews.rss",
        "username": "r",
        "timeout": 30.0,
    }
    assert created.json()["secrets_set"] == ["password"]
    assert refused.status_code == 400
    assert json.dumps(URL_PLAINTEXT)[1:-1] in refused.content.decode()
    check = api.post(reverse("api:feedback-channel-check", args=[created.json()["id"]]))
    assert check.json()["ok"] is True
