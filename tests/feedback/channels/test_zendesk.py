"""The Zendesk connector on recorded payloads: its settings, the pure cutting of a ticket's
comments into payloads and their parse, and fetch and check against a local server that
answers like Zendesk (no database)."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from feedback.channels import ConfigError, ConnectorError, get_connector
from feedback.channels import http as channel_http
from feedback.channels.base import unknown_settings_message
from feedback.channels.zendesk import ZendeskConnector, clean_config, parse_comment, ticket_items
from feedback.channels.zendesk.config import CONFIG_FIELDS as ZENDESK_FIELDS
from feedback.channels.zendesk.config import (
    EMAIL_INVALID,
    FIELD_REQUIRED,
    START_TIME_FUTURE,
    START_TIME_INVALID,
    START_TIME_TOO_EARLY,
    SUBDOMAIN_INVALID,
    SUBDOMAIN_REQUIRED,
)
from feedback.channels.zendesk.connector import (
    CHECK_NOT_ADMIN,
    CHECK_OK,
    CHECK_REFUSED,
    COMMENTS_PATH,
    EXPORT_PAGE_SIZE,
    EXPORT_PATH,
    EXPORT_STUCK,
    ME_PATH,
)
from feedback.channels.zendesk.payloads import (
    ATTACHMENT_NOT_FETCHED,
    COMMENT_TIME_INVALID,
    PAYLOAD_FIELD_MISSING,
    PAYLOAD_NOT_JSON,
)
from feedback.mail import LANE_CUSTOMER, UnparseableMessage
from tests.feedback.fakeweb import Reply, fixture_json

TOKEN = "zd-token-5f1c9a"
EMAIL = "ada@acme.example"
START = "2026-11-01"


def config(base_url: str = "", **overrides):
    return {
        "subdomain": "acme",
        "base_url": base_url,
        "email": EMAIL,
        "api_token": TOKEN,
        "start_time": START,
        **overrides,
    }


def expected_authorization() -> str:
    return "Basic " + base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()


class ZendeskSite:
    """The recorded answers of acme.zendesk.com, served by ``fake_web``: the export in two
    pages (then nothing new), and each ticket's comments with their authors sideloaded."""

    def __init__(self, web) -> None:
        self.web = web
        self.after_last_page = fixture_json("zendesk", "export_empty.json")
        self.comments = {
            101: fixture_json("zendesk", "comments_101_page1.json"),
            103: fixture_json("zendesk", "comments_103.json"),
            104: fixture_json("zendesk", "comments_104.json"),
        }
        web.route("GET", EXPORT_PATH, self.export)
        for ticket_id in (101, 103, 104):
            web.route("GET", COMMENTS_PATH.format(id=ticket_id), self.ticket_comments(ticket_id))
        web.route("GET", ME_PATH, Reply.json(fixture_json("zendesk", "users_me.json")))

    def export(self, request):
        page1 = fixture_json("zendesk", "export_page1.json")
        page2 = fixture_json("zendesk", "export_page2.json")
        cursor = request.arg("cursor")
        if cursor is None:
            return Reply.json(page1)
        if cursor == page1["after_cursor"]:
            return Reply.json(page2)
        return Reply.json(self.after_last_page)

    def ticket_comments(self, ticket_id):
        def answer(request):
            if ticket_id == 101 and request.arg("page") == "2":
                return Reply.json(fixture_json("zendesk", "comments_101_page2.json"))
            return Reply.json(self.comments[ticket_id])

        return answer


@pytest.fixture
def site(fake_web):
    return ZendeskSite(fake_web)


def fetch_all(connector, settings, cursor=None, limit=100):
    """Every item until the export says the stream ended, and the cursor after."""
    items = []
    for _ in range(50):
        result = connector.fetch(settings, cursor, limit=limit)
        items += result.items
        cursor = result.cursor
        if not result.more:
            return items, cursor
    raise AssertionError("the fetch never ended")


# Settings ----------------------------------------------------------------------------------


def test_the_connector_is_registered_as_a_non_mail_kind_that_replies_by_email():
    connector = get_connector("zendesk")

    assert isinstance(connector, ZendeskConnector)
    assert (connector.mail, connector.push, connector.reply_by) == (False, False, "email")
    assert connector.secret_fields == frozenset({"api_token"})


@pytest.mark.parametrize("typed", ["acme", "ACME", "acme.zendesk.com", "https://acme.zendesk.com/"])
def test_a_subdomain_is_cleaned_to_its_name(typed):
    cleaned, settings = clean_config(config(subdomain=typed))

    assert cleaned["subdomain"] == "acme"
    assert (settings.base_url, settings.host) == ("https://acme.zendesk.com", "acme.zendesk.com")
    assert cleaned["timeout"] == channel_http.DEFAULT_TIMEOUT
    assert cleaned["start_time"] == START


def test_a_loopback_base_url_is_allowed_and_requests_go_there_while_ids_name_the_subdomain():
    settings = clean_config(config("http://127.0.0.1:8123/"))[1]

    assert settings.base_url == "http://127.0.0.1:8123"
    assert (settings.site, settings.host) == ("https://acme.zendesk.com", "acme.zendesk.com")
    assert clean_config(config("http://127.0.0.1:8123", subdomain=""))[1].host == "127.0.0.1:8123"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"subdomain": "", "base_url": ""}, "subdomain", SUBDOMAIN_REQUIRED),
        ({"subdomain": "acme corp"}, "subdomain", SUBDOMAIN_INVALID),
        ({"subdomain": "-acme"}, "subdomain", SUBDOMAIN_INVALID),
        (
            {"base_url": "http://zendesk.example.com"},
            "base_url",
            channel_http.URL_PLAINTEXT.format(field="base_url"),
        ),
        ({"email": ""}, "email", FIELD_REQUIRED.format(field="email")),
        ({"email": "ada"}, "email", EMAIL_INVALID),
        ({"api_token": "  "}, "api_token", FIELD_REQUIRED.format(field="api_token")),
        ({"start_time": "last week"}, "start_time", START_TIME_INVALID),
        ({"start_time": "2999-01-01"}, "start_time", START_TIME_FUTURE),
        # The ends of the calendar, whose conversion to UTC overflows, and a date before
        # Zendesk that would be sent as a negative Unix time.
        ({"start_time": "0001-01-01T00:00:00+14:00"}, "start_time", START_TIME_TOO_EARLY),
        ({"start_time": "9999-12-31T23:59:59-14:00"}, "start_time", START_TIME_FUTURE),
        ({"start_time": "0001-01-01"}, "start_time", START_TIME_TOO_EARLY),
        ({"start_time": "2006-12-31T23:59:59Z"}, "start_time", START_TIME_TOO_EARLY),
        (
            {"password": "x"},
            "password",
            unknown_settings_message("Zendesk", ["password"], ZENDESK_FIELDS),
        ),
    ],
)
def test_a_bad_setting_is_refused_naming_its_field(overrides, field, message):
    with pytest.raises(ConfigError) as refused:
        ZendeskConnector().validate_config(config(**overrides))

    assert (refused.value.field, refused.value.message) == (field, message)


def test_a_start_time_from_zendesks_first_day_to_a_minute_ago_is_taken():
    a_minute_ago = datetime.now(UTC) - timedelta(minutes=1, seconds=5)

    assert clean_config(config(start_time="2007-01-01"))[1].start_time == datetime(
        2007, 1, 1, tzinfo=UTC
    )
    assert clean_config(config(start_time=a_minute_ago.isoformat()))[1].start_time == a_minute_ago


def test_a_start_time_within_the_last_minute_is_refused():
    just_now = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()

    with pytest.raises(ConfigError) as refused:
        clean_config(config(start_time=just_now))

    assert (refused.value.field, refused.value.message) == ("start_time", START_TIME_FUTURE)


def test_a_start_time_with_a_time_of_day_is_kept_in_utc():
    cleaned, settings = clean_config(config(start_time="2026-11-01T10:30:00+01:00"))

    assert cleaned["start_time"] == "2026-11-01T09:30:00+00:00"
    assert settings.start_time == datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


# Cutting a ticket into payloads --------------------------------------------------------------


def ticket_101_items(**user_changes):
    page1 = fixture_json("zendesk", "comments_101_page1.json")
    page2 = fixture_json("zendesk", "comments_101_page2.json")
    users = {user["id"]: {**user, **user_changes} for user in page1["users"] + page2["users"]}
    ticket = fixture_json("zendesk", "export_page1.json")["tickets"][0]
    settings = clean_config(config())[1]
    return ticket_items(settings, ticket, page1["comments"] + page2["comments"], users)


def test_only_public_comments_by_customers_become_payloads():
    items = ticket_101_items()

    # 5002 is an agent's answer and 5003 an internal note.
    assert [item.source_id for item in items] == ["comment:5001", "comment:5004"]
    assert items[0].received_at == datetime(2026, 11, 20, 9, 15, tzinfo=UTC)
    assert items[0].metadata == {"ticket_id": 101}
    first, second = (json.loads(item.raw) for item in items)
    assert first["thread"] == {"root_comment_id": 5001, "previous_comment_id": None}
    assert second["thread"] == {"root_comment_id": 5001, "previous_comment_id": 5001}
    assert first["author"] == {
        "id": 9001,
        "name": "Maria Jensen",
        "email": "Maria.Jensen@example.org",
        "role": "end-user",
    }
    assert set(first["ticket"]) == {"id", "subject", "requester_id", "via", "created_at"}


def test_a_ticket_exported_again_gives_the_same_bytes_though_its_author_signed_in_since():
    before = ticket_101_items()
    after = ticket_101_items(
        last_login_at="2026-12-06T08:00:00Z", updated_at="2026-12-06T08:00:00Z"
    )

    assert [item.raw for item in after] == [item.raw for item in before]


# Parse ---------------------------------------------------------------------------------------


def test_the_first_customer_comment_opens_the_ticket():
    parsed = parse_comment(ticket_101_items()[0].raw)

    assert parsed.message_id == "zendesk-ticket-101@acme.zendesk.com"
    assert (parsed.in_reply_to, parsed.references) == ("", [])
    assert parsed.subject == "Export to CSV drops the last row"
    assert parsed.text.startswith("When I export the report to CSV the last row is missing.")
    assert "<script" not in parsed.html and "tracker.example" not in parsed.html
    assert "It happens with every report." in parsed.html
    assert (parsed.from_name, parsed.from_address) == ("Maria Jensen", "maria.jensen@example.org")
    assert (parsed.sender_handle_kind, parsed.sender_handle) == (
        "zendesk",
        "acme.zendesk.com/9001",
    )
    assert parsed.url == "https://acme.zendesk.com/agent/tickets/101"
    assert parsed.sent_at == datetime(2026, 11, 20, 9, 15, tzinfo=UTC)
    assert parsed.lane == LANE_CUSTOMER
    assert parsed.attachments == []
    assert parsed.defects == [ATTACHMENT_NOT_FETCHED.format(name="report.csv", size=2048)]
    assert parsed.identity_hash == hashlib.sha256(parsed.message_id.encode()).hexdigest()
    assert parsed.revisable is False


def test_a_later_comment_answers_the_ticket():
    parsed = parse_comment(ticket_101_items()[1].raw)

    assert parsed.message_id == "zendesk-comment-5004@acme.zendesk.com"
    assert parsed.in_reply_to == "zendesk-ticket-101@acme.zendesk.com"
    assert parsed.references == ["zendesk-ticket-101@acme.zendesk.com"]
    assert parsed.text == "Firefox 132 on Ubuntu. Still broken today."
    assert parsed.defects == []


def test_a_comment_after_another_reply_names_the_ticket_and_that_reply():
    data = json.loads(ticket_101_items()[1].raw)
    data["comment"]["id"] = 5006
    data["thread"]["previous_comment_id"] = 5004

    parsed = parse_comment(json.dumps(data).encode())

    assert parsed.references == [
        "zendesk-ticket-101@acme.zendesk.com",
        "zendesk-comment-5004@acme.zendesk.com",
    ]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", PAYLOAD_NOT_JSON),
        (b"[1, 2]", PAYLOAD_NOT_JSON),
        (b'{"site": "https://acme.zendesk.com", "comment": {"id": 1}}', None),
    ],
)
def test_a_payload_that_is_no_comment_is_refused(raw, reason):
    with pytest.raises(UnparseableMessage) as refused:
        parse_comment(raw)

    assert refused.value.reason == (reason or PAYLOAD_FIELD_MISSING.format(field="ticket"))


def test_a_comment_without_a_readable_time_is_refused_with_its_id():
    comments = fixture_json("zendesk", "comments_103.json")
    ticket = fixture_json("zendesk", "export_page2.json")["tickets"][0]
    users = {user["id"]: user for user in comments["users"]}
    items = ticket_items(clean_config(config())[1], ticket, comments["comments"], users)

    with pytest.raises(UnparseableMessage) as refused:
        parse_comment(items[1].raw)

    assert refused.value.reason == COMMENT_TIME_INVALID.format(
        id=5102, value="last Tuesday, around noon"
    )
    assert items[1].received_at is None


# Fetch and check against the local server ----------------------------------------------------


def test_fetch_reads_the_export_and_every_tickets_customer_comments(site, fake_web):
    connector = ZendeskConnector()

    items, cursor = fetch_all(connector, config(fake_web.url))

    assert [item.source_id for item in items] == [
        "comment:5001",
        "comment:5004",
        "comment:5101",
        "comment:5102",
        "comment:5103",
    ]
    assert cursor == {"after_cursor": "MTc2Mzg4ODQwMC4wfHwxMDR8", "pending": [], "after": None}
    first = fake_web.requests_to(EXPORT_PATH)[0]
    start = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
    assert (first.arg("start_time"), first.arg("per_page")) == (str(start), str(EXPORT_PAGE_SIZE))
    assert fake_web.requests_to(EXPORT_PATH)[1].arg("cursor") == "MTc2MzcxOTMzMS4wfHwxMDJ8"
    # The deleted ticket 102 is never asked for; 101's second page is asked of the local server.
    assert not fake_web.requests_to(COMMENTS_PATH.format(id=102))
    pages = [request.arg("page") for request in fake_web.requests_to(COMMENTS_PATH.format(id=101))]
    assert pages == [None, "2"]
    assert {request.headers["Authorization"] for request in fake_web.requests} == {
        expected_authorization()
    }


def test_a_fetch_cut_by_its_limit_resumes_where_it_stopped(site, fake_web):
    connector = ZendeskConnector()
    whole, _ = fetch_all(connector, config(fake_web.url))

    first = connector.fetch(config(fake_web.url), None, limit=1)
    assert [item.source_id for item in first.items] == ["comment:5001"]
    assert first.more
    assert first.cursor["after"] == "comment:5001"
    assert [ticket["id"] for ticket in first.cursor["pending"]] == [101]
    rest, _ = fetch_all(connector, config(fake_web.url), first.cursor, limit=1)

    assert [item.raw for item in first.items + rest] == [item.raw for item in whole]


def test_a_fetch_with_nothing_new_asks_the_export_once_from_its_cursor(site, fake_web):
    connector = ZendeskConnector()
    _, cursor = fetch_all(connector, config(fake_web.url))
    fake_web.requests.clear()

    result = connector.fetch(config(fake_web.url), cursor)

    assert (result.items, result.more, result.cursor) == ([], False, cursor)
    assert [request.arg("cursor") for request in fake_web.requests] == [cursor["after_cursor"]]


def test_a_rate_limited_fetch_says_how_long_zendesk_asked_to_wait(site, fake_web):
    fake_web.queue(
        "GET",
        EXPORT_PATH,
        Reply.json(fixture_json("zendesk", "error_429.json"), status=429, **{"Retry-After": "93"}),
    )

    with pytest.raises(ConnectorError) as failed:
        ZendeskConnector().fetch(config(fake_web.url), None)

    assert failed.value.retryable
    assert failed.value.retry_after == 93
    assert failed.value.message == channel_http.RATE_LIMITED.format(
        host="127.0.0.1", status=429, seconds=93
    )


def test_a_pending_ticket_that_is_gone_is_passed_over_and_the_next_one_read(site, fake_web):
    connector = ZendeskConnector()
    first = connector.fetch(config(fake_web.url), None, limit=1)
    assert [ticket["id"] for ticket in first.cursor["pending"]] == [101]
    # Ticket 101 is deleted while it waits in the cursor.
    gone = Reply.json(fixture_json("zendesk", "error_404.json"), status=404)
    fake_web.route("GET", COMMENTS_PATH.format(id=101), gone)

    rest, cursor = fetch_all(connector, config(fake_web.url), first.cursor)

    assert [item.source_id for item in rest] == ["comment:5101", "comment:5102", "comment:5103"]
    assert cursor["pending"] == []


def test_an_export_page_that_is_not_json_fails_the_fetch_and_is_retried(site, fake_web):
    fake_web.queue("GET", EXPORT_PATH, Reply(200, b"<html>maintenance</html>"))

    with pytest.raises(ConnectorError) as failed:
        ZendeskConnector().fetch(config(fake_web.url), None)

    assert failed.value.retryable
    assert "127.0.0.1 answered /api/v2/incremental/tickets/cursor.json" in failed.value.message


def test_an_export_page_with_more_but_no_new_cursor_fails_instead_of_looping(site, fake_web):
    page = {**fixture_json("zendesk", "export_page1.json"), "after_cursor": None}
    fake_web.queue("GET", EXPORT_PATH, Reply.json(page))

    with pytest.raises(ConnectorError) as failed:
        ZendeskConnector().fetch(config(fake_web.url), None)

    assert (failed.value.message, failed.value.retryable) == (
        EXPORT_STUCK.format(host="acme.zendesk.com"),
        True,
    )


def test_check_names_the_admin_it_connected_as(site, fake_web):
    result = ZendeskConnector().check(config(fake_web.url))

    assert (result.ok, result.message) == (
        True,
        CHECK_OK.format(host="acme.zendesk.com", name="Ada Admin"),
    )
    assert fake_web.requests_to(ME_PATH)[0].headers["Authorization"] == expected_authorization()


@pytest.mark.parametrize(
    "reply",
    [
        Reply.json({"error": "Couldn't authenticate you"}, status=401),
        Reply.json(fixture_json("zendesk", "users_me_anonymous.json")),
    ],
    ids=["401", "anonymous"],
)
def test_check_says_when_zendesk_refused_the_email_or_token(site, fake_web, reply):
    fake_web.route("GET", ME_PATH, reply)

    result = ZendeskConnector().check(config(fake_web.url))

    assert (result.ok, result.message) == (False, CHECK_REFUSED.format(host="acme.zendesk.com"))


def test_check_says_an_agent_cannot_read_the_export(site, fake_web):
    fake_web.route("GET", ME_PATH, Reply.json(fixture_json("zendesk", "users_me_agent.json")))

    result = ZendeskConnector().check(config(fake_web.url))

    assert (result.ok, result.message) == (
        False,
        CHECK_NOT_ADMIN.format(host="acme.zendesk.com", name="Sam Agent"),
    )


def test_check_against_a_busy_zendesk_says_what_it_asked_and_promises_no_retry(site, fake_web):
    fake_web.queue("GET", ME_PATH, Reply(503, b"", {"Retry-After": "120"}))

    result = ZendeskConnector().check(config(fake_web.url))

    assert not result.ok
    assert result.message == channel_http.RATE_LIMITED.format(
        host="127.0.0.1", status=503, seconds=120
    )
    assert "trying again" not in result.message
