"""The Discourse connector: its pure parse on recorded posts, its settings, its check in
words, and whole polls against a local server answering Discourse's documented JSON."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from feedback.channels import ConfigError, ConnectorError, get_connector
from feedback.channels.base import unknown_settings_message
from feedback.channels.discourse import (
    ALL_CATEGORIES,
    CATEGORIES_INVALID,
    CATEGORY_UNKNOWN,
    CHECK_OK,
    POST_WITHDRAWN,
    SOME_CATEGORIES,
    DiscourseConnector,
    parse_post,
    post_item,
)
from feedback.channels.discourse import CONFIG_FIELDS as DISCOURSE_FIELDS
from feedback.channels.http import URL_PLAINTEXT
from feedback.channels.social import (
    CHECK_NOT_THERE,
    CHECK_REFUSED,
    FIELD_REQUIRED,
    ITEM_FIELD_MISSING,
    item_bytes,
)
from feedback.mail import LANE_CUSTOMER, UnparseableMessage
from feedback.models import Channel, FeedbackItem, Message, PayloadStatus, Quarantine, RawPayload
from portal.models import CustomerIdentity
from tests.feedback.channels.social_support import (
    NOW,
    discourse_posts,
    poll,
    social_channel,
)
from tests.feedback.fakeweb import Reply, fixture_bytes, fixture_json

BASE = "https://forum.example.com"
HOST = "forum.example.com"
RECEIVED = datetime(2026, 12, 5, tzinfo=UTC)


def latest_posts() -> list[dict[str, Any]]:
    return fixture_json("discourse", "posts_latest.json")["latest_posts"]


def post(post_id: int, name: str = "posts_latest.json") -> dict[str, Any]:
    posts = fixture_json("discourse", name)["latest_posts"]
    return next(entry for entry in posts if entry["id"] == post_id)


def parsed(post_id: int, name: str = "posts_latest.json"):
    return parse_post(item_bytes(post(post_id, name)), base_url=BASE)


def config_for(web, **overrides: Any) -> dict[str, Any]:
    return {
        "base_url": web.url,
        "api_key": "d1sc0urse-key-0123456789abcdef",
        "api_username": "portal",
        **overrides,
    }


def serve_forum(web, posts: list[dict[str, Any]] | None = None) -> None:
    web.route("GET", "/posts.json", discourse_posts(latest_posts() if posts is None else posts))
    web.route("GET", "/categories.json", Reply(200, fixture_bytes("discourse", "categories.json")))


# --- parse (pure) ---------------------------------------------------------------------------


def test_a_topics_first_post_is_the_topic_and_names_its_author_by_forum_handle():
    message = parsed(101)

    assert message.message_id == f"discourse-topic-40@{HOST}"
    assert message.in_reply_to == ""
    assert message.references == []
    assert message.subject == "Export to CSV fails with a timeout"
    assert message.text.startswith("When I export more than 5,000 rows to CSV")
    assert "<p>" in message.html
    assert message.from_name == "Alice Martin"
    assert message.from_address == ""
    assert (message.sender_handle_kind, message.sender_handle) == ("discourse", f"{HOST}/alice")
    assert message.url == f"{BASE}/t/export-to-csv-fails-with-a-timeout/40/1"
    assert message.sent_at == datetime(2026, 12, 1, 9, 12, 44, 120000, tzinfo=UTC)
    assert message.lane == LANE_CUSTOMER
    assert message.revisable


def test_a_reply_answers_its_topic_so_it_joins_the_topics_item():
    message = parsed(103)

    assert message.message_id == f"discourse-post-103@{HOST}"
    assert message.in_reply_to == f"discourse-topic-40@{HOST}"
    assert message.references == [f"discourse-topic-40@{HOST}"]
    assert message.subject == "Export to CSV fails with a timeout"


def test_script_and_event_handlers_are_sanitised_away_and_the_text_kept():
    message = parsed(105)

    assert "script" not in message.html and "alert" not in message.html
    assert "onclick" not in message.html
    assert 'href="https://example.org/mockup"' in message.html
    assert message.text.startswith("+1, my eyes hurt.")
    assert "alert" not in message.text


def test_a_user_without_a_name_is_named_by_username():
    assert parsed(104).from_name == "bob"


def test_an_edited_post_keeps_its_identity_so_it_revises_the_message():
    before, after = parsed(101), parsed(101, "posts_edited.json")

    assert before.message_id == after.message_id
    assert before.identity_hash == after.identity_hash
    assert before.identity_hash == hashlib.sha256(before.message_id.encode()).hexdigest()
    assert "Chrome 131" in after.text and "Chrome 131" not in before.text


def test_the_raw_source_is_the_text_when_the_cooked_html_is_empty():
    entry = {**post(104), "cooked": ""}

    message = parse_post(item_bytes(entry), base_url=BASE)

    assert message.text == entry["raw"]
    assert message.html == ""


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "the Discourse post is not valid JSON"),
        (b"[1, 2]", "is not a JSON object"),
        (item_bytes({**post(103), "username": ""}), "has no username"),
        (item_bytes({k: v for k, v in post(103).items() if k != "topic_id"}), "has no topic_id"),
        (item_bytes({**post(103), "created_at": "yesterday"}), "is not a date and time"),
    ],
)
def test_a_malformed_post_is_refused_with_a_reason(raw, reason):
    with pytest.raises(UnparseableMessage) as refused:
        parse_post(raw, base_url=BASE)

    assert reason in refused.value.reason


def test_a_post_without_an_id_is_refused():
    with pytest.raises(UnparseableMessage) as refused:
        parse_post(item_bytes({**post(103), "id": None}), base_url=BASE)

    assert refused.value.reason == ITEM_FIELD_MISSING.format(what="Discourse post", field="id")


@pytest.mark.parametrize(
    "withdrawal",
    [
        # Withdrawn by its author: Discourse's placeholder for a day, then deleted.
        {"user_deleted": True},
        {"user_deleted": True, "deleted_at": "2026-12-04T08:00:05.000Z"},
        # Deleted by a moderator: the text stays, but the post is gone from the forum.
        {"deleted_at": "2026-12-04T08:00:05.000Z"},
    ],
)
def test_a_withdrawn_or_deleted_post_is_refused_so_it_replaces_no_text(withdrawal):
    with pytest.raises(UnparseableMessage) as refused:
        parse_post(item_bytes({**post(104), **withdrawal}), base_url=BASE)

    assert refused.value.reason == POST_WITHDRAWN


def test_a_post_neither_withdrawn_nor_deleted_is_read():
    message = parse_post(
        item_bytes({**post(104), "user_deleted": False, "deleted_at": None}), base_url=BASE
    )

    assert message.text == "The app is very bright at night. A dark mode would help."


# --- settings ------------------------------------------------------------------------------


def test_settings_are_cleaned_with_defaults():
    cleaned = DiscourseConnector().validate_config(
        {
            "base_url": " https://forum.example.com/ ",
            "api_key": " key ",
            "api_username": "portal",
            "categories": "support, 8,support",
        }
    )

    assert cleaned == {
        "base_url": BASE,
        "api_key": "key",
        "api_username": "portal",
        "categories": ["support", "8"],
        "timeout": 30.0,
    }


@pytest.mark.parametrize(
    ("config", "field", "message"),
    [
        ({"api_key": "k", "api_username": "u"}, "base_url", None),
        (
            {"base_url": "http://forum.example.com", "api_key": "k", "api_username": "u"},
            "base_url",
            URL_PLAINTEXT.format(field="base_url"),
        ),
        (
            {"base_url": BASE, "api_username": "u"},
            "api_key",
            FIELD_REQUIRED.format(field="api_key"),
        ),
        ({"base_url": BASE, "api_key": "k"}, "api_username", None),
        (
            {"base_url": BASE, "api_key": "k", "api_username": "u", "categories": {}},
            "categories",
            CATEGORIES_INVALID,
        ),
        ({"base_url": BASE, "api_key": "k", "api_username": "u", "timeout": 0}, "timeout", None),
        (
            {"base_url": BASE, "api_key": "k", "api_username": "u", "colour": "red"},
            "colour",
            unknown_settings_message("Discourse", ["colour"], DISCOURSE_FIELDS),
        ),
    ],
)
def test_bad_settings_name_their_field(config, field, message):
    with pytest.raises(ConfigError) as refused:
        DiscourseConnector().validate_config(config)

    assert refused.value.field == field
    if message:
        assert refused.value.message == message


def test_discourse_is_registered_as_a_feed_without_replies_or_mail():
    connector = get_connector("discourse")

    assert isinstance(connector, DiscourseConnector)
    assert (connector.mail, connector.push, connector.reply_by) == (False, False, "")
    assert connector.secret_fields == frozenset({"api_key"})


# --- check ---------------------------------------------------------------------------------


def test_check_says_connected_and_which_categories(fake_web):
    serve_forum(fake_web)
    connector = DiscourseConnector()

    every = connector.check(config_for(fake_web))
    some = connector.check(config_for(fake_web, categories=["support", "6"]))

    assert every.ok and every.message == CHECK_OK.format(
        url=fake_web.url, username="portal", what=ALL_CATEGORIES.format(count=3)
    )
    assert some.ok and some.message == CHECK_OK.format(
        url=fake_web.url,
        username="portal",
        what=SOME_CATEGORIES.format(count=2, names="support, 6"),
    )
    request = fake_web.requests_to("/categories.json")[0]
    assert request.headers["Api-Key"] == "d1sc0urse-key-0123456789abcdef"
    assert request.headers["Api-Username"] == "portal"


def test_check_names_an_unknown_category(fake_web):
    serve_forum(fake_web)

    result = DiscourseConnector().check(config_for(fake_web, categories=["suport"]))

    assert not result.ok
    assert result.message == CATEGORY_UNKNOWN.format(
        category="suport", known="billing, feature-requests, staff, support"
    )
    assert "unknown category suport" in result.message


@pytest.mark.parametrize("status", [401, 403])
def test_check_says_the_key_was_refused(fake_web, status):
    fake_web.route(
        "GET", "/categories.json", Reply.json({"errors": ["invalid_access"]}, status=status)
    )

    result = DiscourseConnector().check(config_for(fake_web))

    assert not result.ok
    assert result.message == CHECK_REFUSED.format(
        service="Discourse", url=fake_web.url, error=f"HTTP {status} for /categories.json"
    )
    assert "the API key / token was refused" in result.message


def test_check_says_there_is_no_discourse_at_a_wrong_address(fake_web):
    result = DiscourseConnector().check(config_for(fake_web))

    assert not result.ok
    assert result.message == CHECK_NOT_THERE.format(
        service="Discourse", url=fake_web.url, error="HTTP 404 for /categories.json"
    )


def test_check_says_there_is_no_discourse_where_a_web_page_answers(fake_web):
    fake_web.route("GET", "/categories.json", Reply(200, b"<html>Welcome</html>"))

    result = DiscourseConnector().check(config_for(fake_web))

    assert not result.ok
    assert result.message.startswith(f"no Discourse at {fake_web.url}")


# --- fetch ---------------------------------------------------------------------------------


def test_fetch_hands_over_posts_oldest_first_without_the_api_users_own(fake_web):
    serve_forum(fake_web)

    result = DiscourseConnector().fetch(config_for(fake_web), None)

    assert [item.source_id for item in result.items] == [
        "post:101",
        "post:103",
        "post:104",
        "post:105",
        "post:106",
        "post:107",
    ]
    assert result.items[0].raw == item_bytes(post(101))
    assert result.items[0].metadata == {"base_url": fake_web.url}
    assert result.cursor == {"last_post_id": 107, "edits_seen": ""}
    assert not result.more
    # The public cut is the fetch's: the demo stores posts as a poll would.
    assert [post_item(post(101), base_url=fake_web.url)] == result.items[:1]


def test_fetch_keeps_the_chosen_categories_and_their_subcategories(fake_web):
    serve_forum(fake_web)

    result = DiscourseConnector().fetch(config_for(fake_web, categories=["support"]), None)

    # Support (5) and its subcategory Billing (8): not feature requests, not staff.
    assert [item.source_id for item in result.items] == ["post:101", "post:103", "post:106"]


def test_fetch_asks_a_topic_for_its_category_when_a_post_does_not_say(fake_web):
    posts = [{k: v for k, v in entry.items() if k != "category_id"} for entry in latest_posts()]
    serve_forum(fake_web, posts)
    fake_web.route("GET", "/t/40.json", Reply.json({"id": 40, "category_id": 5}))
    fake_web.route("GET", "/t/41.json", Reply.json({"id": 41, "category_id": 6}))
    fake_web.route("GET", "/t/42.json", Reply.json({"id": 42, "category_id": 8}))
    fake_web.route("GET", "/t/43.json", Reply.json({"id": 43, "category_id": 3}))

    result = DiscourseConnector().fetch(config_for(fake_web, categories=["6"]), None)

    assert [item.source_id for item in result.items] == ["post:104", "post:105"]
    assert len(fake_web.requests_to("/t/41.json")) == 1


def test_a_renamed_category_stops_the_fetch_with_its_name(fake_web):
    serve_forum(fake_web)

    with pytest.raises(ConfigError) as refused:
        DiscourseConnector().fetch(config_for(fake_web, categories=["helpdesk"]), None)

    assert "unknown category helpdesk" in refused.value.message


def generated_posts(count: int, *, first_id: int = 1, gap_every: int = 0) -> list[dict]:
    template = post(104)
    posts = []
    post_id = first_id
    for number in range(count):
        entry = copy.deepcopy(template)
        entry.update(id=post_id, topic_id=1000 + number, post_number=1, username=f"user{number}")
        posts.append(entry)
        post_id += 1 + (gap_every if gap_every and number % 2 else 0)
    return posts


def test_a_long_history_is_walked_up_from_the_cursor_in_limited_batches(fake_web):
    # Ids with gaps (private messages, deleted posts) between them, well over a page.
    posts = generated_posts(130, gap_every=40)
    serve_forum(fake_web, posts)
    connector, cursor, seen, fetches = DiscourseConnector(), None, [], 0
    while True:
        result = connector.fetch(config_for(fake_web), cursor, limit=30)
        fetches += 1
        assert len(result.items) <= 30
        seen.extend(int(item.source_id.split(":")[1]) for item in result.items)
        cursor = result.cursor
        if not result.more:
            break
        assert fetches < 50

    assert seen == [entry["id"] for entry in posts]
    assert connector.fetch(config_for(fake_web), cursor).items == []


def test_a_fetch_stops_at_max_bytes_and_goes_on_after_the_last_post_looked_at(fake_web):
    serve_forum(fake_web)
    size = len(item_bytes(post(101)))

    first = DiscourseConnector().fetch(config_for(fake_web), None, max_bytes=size + 10)
    rest = DiscourseConnector().fetch(config_for(fake_web), first.cursor)

    assert [item.source_id for item in first.items] == ["post:101"]
    # 102 is the API user's own, passed over: the cursor is past it.
    assert first.more and first.cursor["last_post_id"] == 102
    assert [item.source_id for item in rest.items] == [
        "post:103",
        "post:104",
        "post:105",
        "post:106",
        "post:107",
    ]


def test_edits_move_their_own_cursor_even_when_they_fill_the_batch(fake_web):
    posts = latest_posts()
    for number, entry in enumerate(posts):
        entry.update(version=2, updated_at=f"2026-12-04T08:00:0{number}.000Z")
    serve_forum(fake_web, posts)
    cursor = {"last_post_id": 107, "edits_seen": ""}
    connector, seen = DiscourseConnector(), []

    for _ in range(4):
        result = connector.fetch(config_for(fake_web), cursor, limit=2)
        seen.extend(item.source_id for item in result.items)
        cursor = result.cursor

    # Six edited posts of others, two a batch, each once; then nothing is left.
    assert len(seen) == 6 and len(set(seen)) == 6
    assert result.items == [] and not result.more


def test_an_edit_in_the_latest_page_is_handed_over_again_once(fake_web):
    serve_forum(fake_web)
    connector = DiscourseConnector()
    first = connector.fetch(config_for(fake_web), None)
    edited = fixture_json("discourse", "posts_edited.json")["latest_posts"]
    fake_web.route("GET", "/posts.json", discourse_posts(edited))

    second = connector.fetch(config_for(fake_web), first.cursor)
    third = connector.fetch(config_for(fake_web), second.cursor)

    assert [item.source_id for item in second.items] == ["post:101", "post:108"]
    assert second.cursor == {"last_post_id": 108, "edits_seen": "2026-12-04T08:00:00.000Z"}
    assert third.items == []


def test_a_withdrawn_post_is_no_edit_and_one_never_seen_is_not_handed_over(fake_web):
    serve_forum(fake_web)
    connector = DiscourseConnector()
    first = connector.fetch(config_for(fake_web), None)
    withdrawn = fixture_json("discourse", "posts_withdrawn.json")["latest_posts"]
    fake_web.route("GET", "/posts.json", discourse_posts(withdrawn))

    second = connector.fetch(config_for(fake_web), first.cursor)
    third = connector.fetch(config_for(fake_web), second.cursor)

    # 101 was edited: handed over again. 104 and 105 were withdrawn (105 deleted since) and
    # 108 was withdrawn before it was ever fetched: passed over, the cursor past them all.
    assert [item.source_id for item in second.items] == ["post:101"]
    assert second.cursor == {"last_post_id": 108, "edits_seen": "2026-12-04T10:00:00.000Z"}
    assert (third.items, third.more) == ([], False)


def test_an_unreadable_page_is_an_error_and_nothing_of_it_is_handed_over(fake_web):
    fake_web.route("GET", "/posts.json", Reply(200, b'{"latest_posts": [{"id": 1,'))

    with pytest.raises(ConnectorError) as failed:
        DiscourseConnector().fetch(config_for(fake_web), None)

    assert "other than the expected JSON" in failed.value.message
    assert failed.value.retryable


def test_a_rate_limit_answer_carries_its_retry_after(fake_web):
    fake_web.route(
        "GET", "/posts.json", Reply.json({"errors": ["slow down"]}, 429, **{"Retry-After": "42"})
    )

    with pytest.raises(ConnectorError) as failed:
        DiscourseConnector().fetch(config_for(fake_web), None)

    assert failed.value.retryable and failed.value.retry_after == 42


# --- polls through the service ---------------------------------------------------------------


pytestmark_db = pytest.mark.django_db


@pytestmark_db
def test_two_polls_store_each_post_once_and_a_reply_joins_its_topic(fake_web):
    serve_forum(fake_web)
    channel = social_channel("discourse", config_for(fake_web))

    first = poll(channel)
    second = poll(channel, now=NOW + timedelta(minutes=5))

    assert first.ok and second.ok
    assert first.stored == 6 and second.stored == 0
    assert RawPayload.objects.filter(channel=channel).count() == 6
    assert Message.objects.filter(channel=channel).count() == 6
    topic = Message.objects.get(external_id=f"discourse-topic-40@{social_host(fake_web)}")
    reply = Message.objects.get(external_id=f"discourse-post-103@{social_host(fake_web)}")
    assert reply.item_id == topic.item_id
    assert topic.item.subject == "Export to CSV fails with a timeout"
    assert topic.sender_handle == f"{social_host(fake_web)}/alice"
    assert topic.external_url == f"{fake_web.url}/t/export-to-csv-fails-with-a-timeout/40/1"
    assert FeedbackItem.objects.filter(team=channel.team).count() == 4
    for request in fake_web.requests:
        assert request.headers["Api-Key"] == "d1sc0urse-key-0123456789abcdef"
        assert request.headers["Api-Username"] == "portal"


def social_host(web) -> str:
    return web.url.removeprefix("http://")


@pytestmark_db
def test_an_edited_post_revises_its_message_and_a_new_reply_joins_the_topic(fake_web):
    serve_forum(fake_web)
    channel = social_channel("discourse", config_for(fake_web))
    poll(channel)
    serve_forum(fake_web, fixture_json("discourse", "posts_edited.json")["latest_posts"])

    report = poll(channel, now=NOW + timedelta(minutes=5))

    assert report.ok and report.stored == 2
    host = social_host(fake_web)
    topic = Message.objects.get(external_id=f"discourse-topic-40@{host}")
    assert "Chrome 131" in topic.text
    assert Message.objects.filter(external_id=f"discourse-topic-40@{host}").count() == 1
    new_reply = Message.objects.get(external_id=f"discourse-post-108@{host}")
    assert new_reply.item_id == topic.item_id


@pytestmark_db
def test_a_withdrawn_post_keeps_its_message_while_an_edit_still_revises(fake_web):
    serve_forum(fake_web)
    channel = social_channel("discourse", config_for(fake_web))
    poll(channel)
    host = social_host(fake_web)
    # Scored as the sentiment task would have (a revision clears the score to score it again).
    Message.objects.filter(channel=channel).update(sentiment="negative", sentiment_score=-0.4)
    complaint = Message.objects.get(external_id=f"discourse-topic-41@{host}")
    reply = Message.objects.get(external_id=f"discourse-post-105@{host}")
    before = [(m.text, m.html, m.sentiment, m.sentiment_score) for m in (complaint, reply)]
    serve_forum(fake_web, fixture_json("discourse", "posts_withdrawn.json")["latest_posts"])

    report = poll(channel, now=NOW + timedelta(minutes=5))

    # The edit of 101 alone is stored: the withdrawals and the new, already withdrawn 108 not.
    assert report.ok and report.stored == 1
    for message in (complaint, reply):
        message.refresh_from_db()
    after = [(m.text, m.html, m.sentiment, m.sentiment_score) for m in (complaint, reply)]
    assert after == before
    assert complaint.text == "The app is very bright at night. A dark mode would help."
    assert complaint.item.subject == "Dark mode, please"
    assert "Chrome 131" in Message.objects.get(external_id=f"discourse-topic-40@{host}").text
    assert not Message.objects.filter(external_id=f"discourse-post-108@{host}").exists()
    assert not RawPayload.objects.filter(channel=channel, source_id="post:108").exists()
    stored = RawPayload.objects.filter(channel=channel, source_id__in=["post:104", "post:105"])
    assert stored.count() == 2
    assert Message.objects.filter(channel=channel).count() == 6


@pytestmark_db
def test_the_cursor_survives_a_restart(fake_web):
    serve_forum(fake_web)
    channel = social_channel("discourse", config_for(fake_web))
    poll(channel)
    fake_web.requests.clear()

    restarted = Channel.objects.get(pk=channel.pk)
    report = poll(restarted, now=NOW + timedelta(minutes=5))

    assert restarted.cursor == {"last_post_id": 107, "edits_seen": ""}
    assert report.ok and report.stored == 0
    # Only the latest page was read: the cursor said everything below was seen.
    assert [request.path for request in fake_web.requests] == ["/posts.json"]
    assert "before" not in fake_web.requests[0].query


@pytestmark_db
@pytest.mark.parametrize(
    ("reply", "retry_after"),
    [
        (Reply.json({"errors": ["too many requests"]}, 429, **{"Retry-After": "600"}), 600),
        (Reply.json({"errors": ["maintenance"]}, 503), None),
    ],
)
def test_a_busy_forum_is_an_error_the_channel_backs_off_from(fake_web, reply, retry_after):
    serve_forum(fake_web)
    fake_web.queue("GET", "/posts.json", reply)
    channel = social_channel("discourse", config_for(fake_web))

    report = poll(channel)

    channel.refresh_from_db()
    assert not report.ok and report.stored == 0
    assert str(reply.status) in report.error
    assert channel.error_streak == 1 and channel.last_error == report.error
    assert channel.next_poll_at > NOW
    if retry_after:
        # The forum's own wait is kept, longer than the backoff alone (60 to 120 s here).
        assert channel.next_poll_at >= NOW + timedelta(seconds=retry_after)
    assert channel.cursor in (None, {})
    assert poll(channel, now=NOW + timedelta(hours=2)).stored == 6


@pytestmark_db
def test_a_refused_key_is_an_error_that_waits_for_a_person(fake_web):
    fake_web.route("GET", "/posts.json", Reply.json({"errors": ["invalid_access"]}, 403))
    channel = social_channel("discourse", config_for(fake_web))

    report = poll(channel)

    channel.refresh_from_db()
    assert "refused the credentials" in report.error
    assert not channel.healthy


@pytestmark_db
def test_an_unreadable_page_stores_nothing_and_keeps_the_cursor(fake_web):
    fake_web.route("GET", "/posts.json", Reply(200, b"<html>502 Bad Gateway</html>"))
    channel = social_channel("discourse", config_for(fake_web), cursor={"last_post_id": 100})

    report = poll(channel)

    channel.refresh_from_db()
    assert not report.ok and "other than the expected JSON" in report.error
    assert channel.cursor == {"last_post_id": 100}
    assert not RawPayload.objects.filter(channel=channel).exists()


@pytestmark_db
def test_one_malformed_post_is_quarantined_with_its_bytes_and_the_rest_stored(fake_web):
    posts = latest_posts()
    broken = next(entry for entry in posts if entry["id"] == 104)
    broken["created_at"] = "last tuesday"
    serve_forum(fake_web, posts)
    channel = social_channel("discourse", config_for(fake_web))

    report = poll(channel)

    assert report.ok and report.stored == 6 and report.quarantined == 1
    payload = RawPayload.objects.get(channel=channel, source_id="post:104")
    assert payload.status == PayloadStatus.QUARANTINED
    assert json.loads(payload.file.read()) == broken
    assert "is not a date and time" in Quarantine.objects.get(payload=payload).error
    assert Message.objects.filter(channel=channel).count() == 5


@pytestmark_db
def test_forum_users_become_customers_known_by_their_handle(fake_web):
    serve_forum(fake_web)
    channel = social_channel("discourse", config_for(fake_web))

    poll(channel)

    host = social_host(fake_web)
    alice = CustomerIdentity.objects.get(kind="discourse", handle=f"{host}/alice").customer
    topic = Message.objects.get(external_id=f"discourse-topic-40@{host}")
    assert topic.item.customer_id == alice.pk
    assert alice.email == "" and alice.name == "Alice Martin"
    bob = CustomerIdentity.objects.get(kind="discourse", handle=f"{host}/bob").customer
    assert bob.pk != alice.pk
    # The API user's own posts opened nothing and made no customer.
    assert not CustomerIdentity.objects.filter(handle=f"{host}/portal").exists()


def test_whispers_and_moderator_actions_are_passed_over(fake_web):
    posts = latest_posts()
    for entry in posts:
        if entry["id"] == 104:
            entry["post_type"] = 4  # a whisper, seen by staff only
        if entry["id"] == 105:
            entry["post_type"] = 2  # a moderator action
    serve_forum(fake_web, posts)

    result = DiscourseConnector().fetch(config_for(fake_web), None)

    assert [item.source_id for item in result.items] == [
        "post:101",
        "post:103",
        "post:106",
        "post:107",
    ]
    assert result.cursor["last_post_id"] == 107


def test_a_topic_gone_since_puts_its_posts_in_no_chosen_category(fake_web):
    posts = [{k: v for k, v in entry.items() if k != "category_id"} for entry in latest_posts()]
    serve_forum(fake_web, posts)
    fake_web.route("GET", "/t/40.json", Reply.json({"id": 40, "category_id": 5}))
    fake_web.route("GET", "/t/42.json", Reply.json({"id": 42, "category_id": 8}))

    result = DiscourseConnector().fetch(config_for(fake_web, categories=["support"]), None)

    # Topics 41 and 43 answer 404: passed over, and the fetch goes on.
    assert [item.source_id for item in result.items] == ["post:101", "post:103", "post:106"]


@pytest.mark.django_db
def test_a_title_and_a_name_with_line_breaks_and_overrides_are_stored_as_one_line(fake_web):
    # A remote's text goes into the subject of our reply mail and beside the portal's own
    # "#id": no line break (a 500 when answering) and no direction override ("413#").
    posts = latest_posts()
    for entry in posts:
        if entry["id"] == 101:
            entry["topic_title"] = "Refund please\r\nBcc: evil@x.example \u202eexe.pdf"
            entry["name"] = "Bob\u202e\x1b[2J Martin"
    serve_forum(fake_web, posts)
    channel = social_channel("discourse", config_for(fake_web))

    assert poll(channel).ok

    topic = Message.objects.get(external_id=f"discourse-topic-40@{social_host(fake_web)}")
    assert topic.subject == topic.item.subject == "Refund please Bcc: evil@x.example exe.pdf"
    assert topic.sender_name == "Bob [2J Martin"
    assert topic.item.customer.name == "Bob [2J Martin"
