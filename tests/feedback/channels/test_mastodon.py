"""The Mastodon connector: its pure parse on recorded statuses, its settings, its check in
words, and whole polls against a local server answering Mastodon's documented JSON."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from feedback.channels import ConfigError, ConnectorError, get_connector
from feedback.channels.mastodon import (
    CHECK_OK,
    HASHTAG,
    HASHTAG_INVALID,
    HASHTAG_REQUIRED,
    MENTIONS,
    SOURCE_INVALID,
    MastodonConnector,
    parse_status,
    status_id_at,
    status_item,
)
from feedback.channels.social import CHECK_NOT_THERE, CHECK_REFUSED, item_bytes
from feedback.mail import LANE_CUSTOMER, UnparseableMessage
from feedback.models import Channel, Message, PayloadStatus, Quarantine, RawPayload
from portal.models import CustomerIdentity
from tests.feedback.channels.social_support import NOW, mastodon_page, poll, social_channel
from tests.feedback.fakeweb import Reply, fixture_bytes, fixture_json

BASE = "https://mastodon.example"
HOST = "mastodon.example"
TOKEN = "m4st0d0n-token-abcdef0123456789"
OWN_ID = "109372843234390001"
FIRST, REMOTE_REPLY = "113500000000000101", "113500000000000104"


def notifications() -> list[dict[str, Any]]:
    return fixture_json("mastodon", "notifications.json")


def status(status_id: str) -> dict[str, Any]:
    found = [entry["status"] for entry in notifications() if entry["status"]["id"] == status_id]
    found += [
        entry for entry in fixture_json("mastodon", "tag_acmeapp.json") if entry["id"] == status_id
    ]
    return found[0]


def config_for(web, **overrides: Any) -> dict[str, Any]:
    return {"base_url": web.url, "access_token": TOKEN, **overrides}


def serve_instance(web, entries: list[dict[str, Any]] | None = None) -> None:
    web.route(
        "GET",
        "/api/v1/accounts/verify_credentials",
        Reply(200, fixture_bytes("mastodon", "verify_credentials.json")),
    )
    web.route(
        "GET",
        "/api/v1/notifications",
        mastodon_page(notifications() if entries is None else entries),
    )
    web.route(
        "GET",
        "/api/v1/timelines/tag/acmeapp",
        mastodon_page(fixture_json("mastodon", "tag_acmeapp.json")),
    )
    web.route(
        "GET",
        f"/api/v1/statuses/{REMOTE_REPLY}/context",
        Reply(200, fixture_bytes("mastodon", f"context_{REMOTE_REPLY}.json")),
    )


# --- parse (pure) ---------------------------------------------------------------------------


def test_a_mention_from_another_instance_keeps_its_acct_and_loses_our_own_mention():
    message = parse_status(item_bytes(status(FIRST)), base_url=BASE, own_acct="acmesupport")

    assert message.message_id == f"mastodon-{FIRST}@{HOST}"
    assert message.in_reply_to == "" and message.references == []
    assert message.text == "the CSV export times out after 30 seconds, any idea?"
    assert message.subject == message.text
    assert "@<span>acmesupport</span>" in message.html
    assert (message.sender_handle_kind, message.sender_handle) == (
        "mastodon",
        "alice@mastodon.social",
    )
    assert message.from_name == "Alice Martin" and message.from_address == ""
    assert message.url == f"https://mastodon.social/@alice/{FIRST}"
    assert message.sent_at == datetime(2026, 12, 1, 9, 12, 44, tzinfo=UTC)
    assert message.lane == LANE_CUSTOMER and message.revisable
    assert message.identity_hash == hashlib.sha256(message.message_id.encode()).hexdigest()


def test_a_local_account_is_qualified_by_the_instance_and_named_by_username():
    message = parse_status(item_bytes(status("113500000000000102")), base_url=BASE)

    assert message.sender_handle == f"bob@{HOST}"
    assert message.from_name == "bob"


def test_script_in_content_is_sanitised_away():
    message = parse_status(item_bytes(status("113500000000000102")), base_url=BASE)

    assert "script" not in message.html and "alert" not in message.html
    assert "alert" not in message.text and "Great work." in message.text


def test_a_reply_names_its_thread_root_first_and_its_parent_last():
    reply = status(REMOTE_REPLY)

    with_context = parse_status(
        item_bytes(reply), base_url=BASE, thread=[FIRST, reply["in_reply_to_id"]]
    )
    parent_only = parse_status(item_bytes(reply), base_url=BASE)

    parent = f"mastodon-{reply['in_reply_to_id']}@{HOST}"
    assert with_context.in_reply_to == parent
    assert with_context.references == [f"mastodon-{FIRST}@{HOST}", parent]
    assert parent_only.references == [parent]


def test_a_long_status_is_shortened_for_the_subject():
    entry = {**status(FIRST), "content": "<p>" + "slow " * 40 + "</p><p>second line</p>"}

    message = parse_status(item_bytes(entry), base_url=BASE)

    assert len(message.subject) == 80 and message.subject.endswith("…")


def test_media_are_noted_on_the_message_so_a_status_of_media_alone_is_not_empty():
    image_only, mention_and_video = fixture_json("mastodon", "statuses_media.json")

    image = parse_status(item_bytes(image_only), base_url=BASE, own_acct="acmesupport")
    video = parse_status(item_bytes(mention_and_video), base_url=BASE, own_acct="acmesupport")

    assert (image.subject, image.text) == ("[image: screenshot of error]",) * 2
    # A medium without a description is named by its type; our own mention is not the text.
    assert (video.subject, video.text) == ("[video]",) * 2
    assert video.html.endswith("<p>[video]</p>") and "acmesupport" in video.html


def test_media_follow_the_text_of_a_status():
    entry = {
        **status(FIRST),
        "media_attachments": fixture_json("mastodon", "statuses_media.json")[0][
            "media_attachments"
        ],
    }

    message = parse_status(item_bytes(entry), base_url=BASE, own_acct="acmesupport")

    assert message.text == (
        "the CSV export times out after 30 seconds, any idea?\n[image: screenshot of error]"
    )
    assert message.subject == "the CSV export times out after 30 seconds, any idea?"


def test_a_content_warning_is_the_first_line_and_the_subject():
    warned = fixture_json("mastodon", "status_content_warning.json")

    message = parse_status(item_bytes(warned), base_url=BASE, own_acct="acmesupport")

    assert message.subject == "Billing: charged twice for my subscription, furious"
    assert message.text == (
        "Billing: charged twice for my subscription, furious\n"
        "two payments of 49 EUR on 1 December, please refund one."
    )
    assert message.html.startswith("<p>Billing: charged twice for my subscription, furious</p>")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe", "the Mastodon status is not valid JSON"),
        (item_bytes({**status(FIRST), "account": None}), "has no account"),
        (item_bytes({**status(FIRST), "account": {"id": "1"}}), "has no acct"),
        (item_bytes({**status(FIRST), "created_at": None}), "has no created_at"),
        (item_bytes({**status(FIRST), "id": "abc"}), "has no id"),
    ],
)
def test_a_malformed_status_is_refused_with_a_reason(raw, reason):
    with pytest.raises(UnparseableMessage) as refused:
        parse_status(raw, base_url=BASE)

    assert reason in refused.value.reason


# --- settings ------------------------------------------------------------------------------


def test_settings_are_cleaned_with_defaults():
    connector = MastodonConnector()

    mentions = connector.validate_config({"base_url": BASE + "/", "access_token": TOKEN})
    tag = connector.validate_config(
        {"base_url": BASE, "access_token": TOKEN, "source": "hashtag", "hashtag": "#acmeapp"}
    )

    assert mentions == {
        "base_url": BASE,
        "access_token": TOKEN,
        "source": "mentions",
        "hashtag": "",
        "timeout": 30.0,
    }
    assert (tag["source"], tag["hashtag"]) == ("hashtag", "acmeapp")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"source": "firehose"}, "source", SOURCE_INVALID),
        ({"source": "hashtag"}, "hashtag", HASHTAG_REQUIRED),
        ({"source": "hashtag", "hashtag": "acme app"}, "hashtag", HASHTAG_INVALID),
        ({"access_token": ""}, "access_token", None),
        ({"base_url": "ftp://mastodon.example"}, "base_url", None),
        ({"timeout": "soon"}, "timeout", None),
    ],
)
def test_bad_settings_name_their_field(overrides, field, message):
    with pytest.raises(ConfigError) as refused:
        MastodonConnector().validate_config({"base_url": BASE, "access_token": TOKEN, **overrides})

    assert refused.value.field == field
    if message:
        assert refused.value.message == message


def test_mastodon_is_registered_without_replies_or_mail():
    connector = get_connector("mastodon")

    assert isinstance(connector, MastodonConnector)
    assert (connector.mail, connector.push, connector.reply_by) == (False, False, "")
    assert connector.secret_fields == frozenset({"access_token"})


# --- check ---------------------------------------------------------------------------------


def test_check_says_connected_as_whom_and_what_is_read(fake_web):
    serve_instance(fake_web)
    connector = MastodonConnector()

    mentions = connector.check(config_for(fake_web))
    tag = connector.check(config_for(fake_web, source="hashtag", hashtag="acmeapp"))

    assert mentions.ok and mentions.message == CHECK_OK.format(
        url=fake_web.url, acct="acmesupport", what=MENTIONS.format(acct="acmesupport")
    )
    assert tag.ok and tag.message == CHECK_OK.format(
        url=fake_web.url, acct="acmesupport", what=HASHTAG.format(hashtag="acmeapp")
    )
    assert fake_web.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_check_says_the_token_was_refused(fake_web):
    fake_web.route(
        "GET",
        "/api/v1/accounts/verify_credentials",
        Reply.json({"error": "The access token is invalid"}, 401),
    )

    result = MastodonConnector().check(config_for(fake_web))

    assert not result.ok
    assert result.message == CHECK_REFUSED.format(
        service="Mastodon",
        url=fake_web.url,
        error="HTTP 401 for /api/v1/accounts/verify_credentials",
    )


def test_check_says_there_is_no_mastodon_at_a_wrong_address(fake_web):
    result = MastodonConnector().check(config_for(fake_web))

    assert not result.ok
    assert result.message == CHECK_NOT_THERE.format(
        service="Mastodon",
        url=fake_web.url,
        error="HTTP 404 for /api/v1/accounts/verify_credentials",
    )


# --- fetch ---------------------------------------------------------------------------------


def test_mentions_are_read_from_the_first_oldest_first_with_the_thread_of_a_reply(fake_web):
    serve_instance(fake_web)

    result = MastodonConnector().fetch(config_for(fake_web), None)

    assert [item.source_id for item in result.items] == [
        f"status:{FIRST}",
        "status:113500000000000102",
        f"status:{REMOTE_REPLY}",
    ]
    assert result.items[0].raw == item_bytes(status(FIRST))
    assert result.items[2].metadata == {
        "base_url": fake_web.url,
        "account": "acmesupport",
        "thread": [FIRST, "113500000000000103"],
    }
    # The public cut is the fetch's: the demo stores statuses as a poll would.
    cut = status_item(
        json.loads(result.items[2].raw),
        base_url=fake_web.url,
        account="acmesupport",
        thread=[FIRST, "113500000000000103"],
    )
    assert cut == result.items[2]
    assert result.cursor == {
        "since_id": "5003",
        "account_id": OWN_ID,
        "account_acct": "acmesupport",
    }
    assert not result.more
    asked = fake_web.requests_to("/api/v1/notifications")[0]
    assert asked.query == {"types[]": ["mention"], "min_id": ["0"], "limit": ["40"]}


def test_the_own_account_is_asked_once_and_kept_in_the_cursor(fake_web):
    serve_instance(fake_web)
    connector = MastodonConnector()

    first = connector.fetch(config_for(fake_web), None)
    second = connector.fetch(config_for(fake_web), first.cursor)

    assert second.items == []
    assert len(fake_web.requests_to("/api/v1/accounts/verify_credentials")) == 1
    assert fake_web.requests_to("/api/v1/notifications")[1].arg("min_id") == "5003"


def test_mentions_come_in_pages_of_at_most_the_limit(fake_web):
    serve_instance(fake_web)
    connector = MastodonConnector()

    first = connector.fetch(config_for(fake_web), None, limit=2)
    rest = connector.fetch(config_for(fake_web), first.cursor, limit=2)

    assert [item.source_id for item in first.items] == [
        f"status:{FIRST}",
        "status:113500000000000102",
    ]
    assert first.more and first.cursor["since_id"] == "5002"
    assert [item.source_id for item in rest.items] == [f"status:{REMOTE_REPLY}"]
    assert not rest.more


def tagged(status_id: str, *, author: str = "alice@mastodon.social") -> dict[str, Any]:
    """A status on #acmeapp as the recorded ones, by ``author`` (acct) with another id."""
    recorded = {
        entry["account"]["acct"]: entry for entry in fixture_json("mastodon", "tag_acmeapp.json")
    }
    return {**recorded[author], "id": status_id}


def test_the_first_poll_of_a_hashtag_stores_nothing_and_starts_from_its_newest_status(fake_web):
    serve_instance(fake_web)
    config = config_for(fake_web, source="hashtag", hashtag="acmeapp")

    first = MastodonConnector().fetch(config, None)

    assert (first.items, first.more) == ([], False)
    assert first.cursor["since_id"] == "113500000000000203"
    assert "min_id" not in fake_web.requests_to("/api/v1/timelines/tag/acmeapp")[0].query


def test_a_hashtag_is_read_from_then_on_without_our_own_statuses(fake_web):
    serve_instance(fake_web)
    config = config_for(fake_web, source="hashtag", hashtag="acmeapp")
    first = MastodonConnector().fetch(config, None)
    later = [
        *fixture_json("mastodon", "tag_acmeapp.json"),
        tagged("113500000000000204"),
        tagged("113500000000000205", author="acmesupport"),
    ]
    fake_web.route("GET", "/api/v1/timelines/tag/acmeapp", mastodon_page(later))

    result = MastodonConnector().fetch(config, first.cursor)

    assert [item.source_id for item in result.items] == ["status:113500000000000204"]
    assert result.cursor["since_id"] == "113500000000000205"
    assert fake_web.requests_to("/api/v1/timelines/tag/acmeapp")[-1].arg("min_id") == (
        "113500000000000203"
    )


def test_a_hashtag_nobody_used_yet_starts_from_the_time_of_its_first_poll(fake_web):
    serve_instance(fake_web)
    fake_web.route("GET", "/api/v1/timelines/tag/acmeapp", mastodon_page([]))
    config = config_for(fake_web, source="hashtag", hashtag="acmeapp")

    before = int(status_id_at(datetime.now(UTC)))
    first = MastodonConnector().fetch(config, None)
    after = int(status_id_at(datetime.now(UTC)))
    # The first status ever tagged, posted after the channel was set up, is read.
    posted = status_id_at(datetime.now(UTC) + timedelta(minutes=1))
    fake_web.route("GET", "/api/v1/timelines/tag/acmeapp", mastodon_page([tagged(posted)]))
    result = MastodonConnector().fetch(config, first.cursor)

    assert first.items == [] and before <= int(first.cursor["since_id"]) <= after
    assert [item.source_id for item in result.items] == [f"status:{posted}"]


def test_a_status_id_is_that_of_its_time():
    # 113500000000000101, a status of 17 November 2024, 19:42:38.593 UTC.
    when = datetime(2024, 11, 17, 19, 42, 38, 593000, tzinfo=UTC)

    assert int(status_id_at(when)) >> 16 == 113500000000000101 >> 16


def test_a_status_id_is_compared_as_a_number(fake_web):
    shorter = {**notifications()[2], "id": "999"}
    serve_instance(fake_web, [shorter, *notifications()[:2]])

    result = MastodonConnector().fetch(
        config_for(fake_web),
        {"since_id": "998"} | {"account_id": OWN_ID, "account_acct": "acmesupport"},
    )

    assert result.items[0].source_id == f"status:{FIRST}"
    assert result.cursor["since_id"] == "5003"


def test_a_mention_of_a_deleted_status_is_passed_over(fake_web):
    gone = {**notifications()[2], "status": None}
    serve_instance(fake_web, [gone])

    result = MastodonConnector().fetch(config_for(fake_web), None)

    assert result.items == [] and result.cursor["since_id"] == "5001"


def test_a_status_without_an_id_is_filed_under_its_notification():
    item = status_item(
        {"content": "hi"}, base_url=BASE, account="acme", thread=[], entry={"id": "5009"}
    )

    assert item.source_id == "entry:5009" and item.metadata["thread"] == []


def test_an_unreadable_page_is_an_error(fake_web):
    serve_instance(fake_web)
    fake_web.route("GET", "/api/v1/notifications", Reply(200, b"[{"))

    with pytest.raises(ConnectorError) as failed:
        MastodonConnector().fetch(config_for(fake_web), None)

    assert "other than the expected JSON" in failed.value.message


def test_a_rate_limit_answer_carries_its_retry_after(fake_web):
    serve_instance(fake_web)
    fake_web.queue(
        "GET",
        "/api/v1/notifications",
        Reply.json({"error": "Too many requests"}, 429, **{"Retry-After": "300"}),
    )

    with pytest.raises(ConnectorError) as failed:
        MastodonConnector().fetch(config_for(fake_web), None)

    assert failed.value.retryable and failed.value.retry_after == 300


# --- polls through the service ---------------------------------------------------------------


def instance_host(web) -> str:
    return web.url.removeprefix("http://")


@pytest.mark.django_db
def test_two_polls_store_each_status_once_and_a_reply_joins_its_thread(fake_web):
    serve_instance(fake_web)
    channel = social_channel("mastodon", config_for(fake_web))

    first = poll(channel)
    second = poll(channel, now=NOW + timedelta(minutes=5))

    assert first.ok and second.ok
    assert (first.stored, second.stored) == (3, 0)
    assert RawPayload.objects.filter(channel=channel).count() == 3
    host = instance_host(fake_web)
    root = Message.objects.get(external_id=f"mastodon-{FIRST}@{host}")
    reply = Message.objects.get(external_id=f"mastodon-{REMOTE_REPLY}@{host}")
    # The reply answers our own status (not stored); its thread's root joins it to the item.
    assert reply.item_id == root.item_id
    assert root.sender_handle == "alice@mastodon.social"
    assert root.text == "the CSV export times out after 30 seconds, any idea?"
    assert Message.objects.filter(channel=channel).exclude(item=root.item).count() == 1
    for request in fake_web.requests:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.django_db
def test_the_cursor_survives_a_restart(fake_web):
    serve_instance(fake_web)
    channel = social_channel("mastodon", config_for(fake_web))
    poll(channel)
    fake_web.requests.clear()

    restarted = Channel.objects.get(pk=channel.pk)
    report = poll(restarted, now=NOW + timedelta(minutes=5))

    assert restarted.cursor["since_id"] == "5003"
    assert report.ok and report.stored == 0
    assert [request.path for request in fake_web.requests] == ["/api/v1/notifications"]
    assert fake_web.requests[0].arg("min_id") == "5003"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "reply",
    [
        Reply.json({"error": "Too many requests"}, 429, **{"Retry-After": "120"}),
        Reply.json({"error": "Service unavailable"}, 503),
    ],
)
def test_a_busy_instance_is_an_error_the_channel_backs_off_from(fake_web, reply):
    serve_instance(fake_web)
    fake_web.queue("GET", "/api/v1/notifications", reply)
    channel = social_channel("mastodon", config_for(fake_web))

    report = poll(channel)

    channel.refresh_from_db()
    assert not report.ok and str(reply.status) in report.error
    assert channel.error_streak == 1 and channel.next_poll_at > NOW
    assert poll(channel, now=NOW + timedelta(hours=2)).stored == 3


@pytest.mark.django_db
def test_one_malformed_status_is_quarantined_with_its_bytes_and_the_rest_stored(fake_web):
    entries = notifications()
    entries[1]["status"]["created_at"] = "soon"
    serve_instance(fake_web, entries)
    channel = social_channel("mastodon", config_for(fake_web))

    report = poll(channel)

    assert report.ok and report.stored == 3 and report.quarantined == 1
    payload = RawPayload.objects.get(channel=channel, source_id="status:113500000000000102")
    assert payload.status == PayloadStatus.QUARANTINED
    assert json.loads(payload.file.read()) == entries[1]["status"]
    assert "is not a date and time" in Quarantine.objects.get(payload=payload).error
    assert Message.objects.filter(channel=channel).count() == 2


@pytest.mark.django_db
def test_mastodon_accounts_become_customers_known_by_their_handle(fake_web):
    serve_instance(fake_web)
    channel = social_channel("mastodon", config_for(fake_web))

    poll(channel)

    alice = CustomerIdentity.objects.get(kind="mastodon", handle="alice@mastodon.social")
    bob = CustomerIdentity.objects.get(kind="mastodon", handle=f"bob@{instance_host(fake_web)}")
    root = Message.objects.get(external_id=f"mastodon-{FIRST}@{instance_host(fake_web)}")
    assert root.item.customer_id == alice.customer_id != bob.customer_id
    assert alice.customer.email == ""


def test_check_says_what_is_wrong_with_settings_it_cannot_use():
    result = MastodonConnector().check({"base_url": BASE, "access_token": TOKEN, "source": "all"})

    assert (result.ok, result.message) == (False, SOURCE_INVALID)


def test_two_notifications_of_one_id_do_not_break_the_page(fake_web):
    twice = notifications()[2]
    serve_instance(fake_web, [twice, dict(twice)])

    result = MastodonConnector().fetch(config_for(fake_web), None)

    assert [item.source_id for item in result.items] == [f"status:{FIRST}", f"status:{FIRST}"]
