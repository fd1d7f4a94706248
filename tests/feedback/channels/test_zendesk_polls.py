"""Zendesk end to end: polls of a channel (``services.channel_poll_now``) against the local
server answering like Zendesk, stored raw, parsed into items and messages; and the channel
set up through the API and the channel page."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from feedback.channels import http as channel_http
from feedback.channels.zendesk.config import (
    START_TIME_FUTURE,
    START_TIME_TOO_EARLY,
    SUBDOMAIN_REQUIRED,
)
from feedback.channels.zendesk.connector import COMMENTS_PATH, EXPORT_PATH, TICKET_GONE
from feedback.models import Channel, FeedbackItem, Message, PayloadStatus, Quarantine, RawPayload
from feedback.services import channel_create, channel_poll_now
from feedback.services.storage import blob_read
from portal.actors import SYSTEM
from portal.models import CustomerIdentity
from tests.factories import CustomerFactory, TeamFactory
from tests.feedback.channels.test_zendesk import (
    TOKEN,
    ZendeskSite,
    config,
    expected_authorization,
)
from tests.feedback.fakeweb import Reply, fixture_json

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
ROOT_101 = "zendesk-ticket-101@acme.zendesk.com"


@pytest.fixture
def site(fake_web):
    return ZendeskSite(fake_web)


@pytest.fixture
def team():
    return TeamFactory()


@pytest.fixture
def channel(site, fake_web, team):
    return channel_create(
        actor=SYSTEM, team=team, kind="zendesk", name="Acme Zendesk", config=config(fake_web.url)
    )


def poll(channel, now=NOW, **limits):
    return channel_poll_now(channel_id=channel.pk, now=now, rng=random.Random(7), **limits)


def external_ids(item) -> list[str]:
    return list(item.messages.order_by("sent_at", "pk").values_list("external_id", flat=True))


def test_a_poll_stores_each_ticket_as_one_item_with_its_public_customer_comments(channel, team):
    report = poll(channel)

    assert report.ok, report.error
    assert (report.fetched, report.stored, report.messages_created, report.quarantined) == (
        5,
        5,
        4,
        1,
    )
    export, dashboard = FeedbackItem.objects.filter(team=team).order_by("pk")
    assert export.subject == "Export to CSV drops the last row"
    assert external_ids(export) == [ROOT_101, "zendesk-comment-5004@acme.zendesk.com"]
    assert dashboard.subject == "Dashboard is slow since the update"
    assert external_ids(dashboard) == [
        "zendesk-ticket-103@acme.zendesk.com",
        "zendesk-comment-5103@acme.zendesk.com",
    ]
    first = export.messages.get(external_id=ROOT_101)
    assert (first.sender, first.sender_handle) == (
        "maria.jensen@example.org",
        "acme.zendesk.com/9001",
    )
    assert first.external_url == "https://acme.zendesk.com/agent/tickets/101"
    # The requester is one customer across her tickets, known by her Zendesk id.
    identity = CustomerIdentity.objects.get(handle="acme.zendesk.com/9001")
    assert (identity.kind, identity.customer_id) == ("zendesk", export.customer_id)
    assert dashboard.customer_id != export.customer_id
    # Neither the agent's answer nor the internal note is a message.
    assert not Message.objects.filter(text__contains="which browser").exists()
    assert not Message.objects.filter(text__startswith="Internal").exists()


def test_a_requester_who_wrote_by_email_before_is_the_same_customer(channel, team):
    maria = CustomerFactory(email="maria.jensen@example.org", name="Maria Jensen")

    poll(channel)

    export = FeedbackItem.objects.get(team=team, messages__external_id=ROOT_101)
    assert export.customer_id == maria.pk


def test_a_malformed_comment_is_quarantined_with_its_raw_bytes_and_the_rest_stored(channel):
    poll(channel)

    quarantine = Quarantine.objects.get(payload__channel=channel)
    payload = quarantine.payload
    assert payload.source_id == "comment:5102"
    assert payload.status == PayloadStatus.QUARANTINED
    assert "Zendesk comment 5102 has no readable created_at" in quarantine.error
    assert b"last Tuesday, around noon" in blob_read(payload.file.name)
    assert Message.objects.filter(external_id="zendesk-comment-5103@acme.zendesk.com").exists()


def test_two_polls_store_each_comment_once(channel, team):
    poll(channel)

    again = poll(channel, now=NOW + timedelta(minutes=5))

    assert again.ok, again.error
    assert (again.stored, again.messages_created) == (0, 0)
    assert Message.objects.filter(team=team).count() == 4
    assert RawPayload.objects.filter(channel=channel).count() == 5


def test_a_ticket_updated_later_adds_only_its_new_comment_to_its_item(channel, site, team):
    poll(channel)
    site.after_last_page = fixture_json("zendesk", "export_updated.json")
    site.comments[101] = fixture_json("zendesk", "comments_101_updated.json")

    report = poll(channel, now=NOW + timedelta(hours=1))

    assert report.ok, report.error
    # 5001 and 5004 come again as the same bytes: only 5006 is new.
    assert (report.fetched, report.stored, report.messages_created) == (3, 1, 1)
    export = FeedbackItem.objects.get(team=team, messages__external_id=ROOT_101)
    assert external_ids(export)[-1] == "zendesk-comment-5006@acme.zendesk.com"
    assert FeedbackItem.objects.filter(team=team).count() == 2
    assert Channel.objects.get(pk=channel.pk).cursor["after_cursor"] == "MTc2NDYwNzIwMC4wfHwxMDF8"


def test_the_cursor_survives_a_restart_in_the_middle_of_a_ticket(channel, fake_web, team):
    # One batch of one comment, then the process "stops": all that remains is the cursor.
    first = poll(channel, batch_limit=1, max_batches=1)
    stored = Channel.objects.get(pk=channel.pk).cursor
    assert (first.stored, first.more) == (1, True)
    assert (stored["after"], [ticket["id"] for ticket in stored["pending"]]) == (
        "comment:5001",
        [101],
    )

    rest = poll(channel, now=NOW + timedelta(minutes=1), batch_limit=2)

    assert rest.ok, rest.error
    assert rest.stored == 4
    assert RawPayload.objects.filter(channel=channel).count() == 5
    assert Message.objects.filter(team=team).count() == 4
    assert Message.objects.filter(external_id=ROOT_101).count() == 1


def test_a_rate_limited_poll_waits_at_least_as_long_as_zendesk_asked(channel, fake_web):
    fake_web.queue(
        "GET",
        COMMENTS_PATH.format(id=101),
        Reply.json(fixture_json("zendesk", "error_429.json"), status=429, **{"Retry-After": "900"}),
    )

    report = poll(channel)

    channel.refresh_from_db()
    assert report.error == channel_http.RATE_LIMITED.format(
        host="127.0.0.1", status=429, seconds=900
    )
    assert channel.next_poll_at >= NOW + timedelta(seconds=900)
    assert (channel.error_streak, channel.healthy) == (1, True)
    assert not RawPayload.objects.filter(channel=channel).exists()
    assert poll(channel, now=channel.next_poll_at).stored == 5


def test_a_server_error_backs_off_and_the_next_poll_stores_everything(channel, fake_web):
    fake_web.queue("GET", EXPORT_PATH, Reply(503, b"Service Unavailable"))

    report = poll(channel)

    channel.refresh_from_db()
    assert report.error == channel_http.RATE_LIMITED_NO_WAIT.format(host="127.0.0.1", status=503)
    assert channel.next_poll_at > NOW + timedelta(seconds=channel.poll_interval - 1)
    assert channel.error_streak == 1
    fake_web.queue("GET", EXPORT_PATH, Reply(500, b"oops"))
    assert poll(channel, now=channel.next_poll_at).error == channel_http.SERVER_ERROR.format(
        host="127.0.0.1", status=500
    )
    channel.refresh_from_db()
    assert channel.error_streak == 2
    recovered = poll(channel, now=channel.next_poll_at)
    assert (recovered.ok, recovered.stored) == (True, 5)


def test_a_ticket_deleted_since_the_export_is_skipped_and_the_tickets_after_it_are_read(
    channel, fake_web, team, caplog
):
    # Ticket 103 is on the export page, but gone by the time its comments are asked for.
    gone = Reply.json(fixture_json("zendesk", "error_404.json"), status=404)
    fake_web.route("GET", COMMENTS_PATH.format(id=103), gone)

    report = poll(channel)

    channel.refresh_from_db()
    assert report.ok, report.error
    assert (channel.healthy, channel.error_streak) == (True, 0)
    assert report.stored == 2
    assert fake_web.requests_to(COMMENTS_PATH.format(id=104))
    assert channel.cursor == {
        "after_cursor": "MTc2Mzg4ODQwMC4wfHwxMDR8",
        "pending": [],
        "after": None,
    }
    assert TICKET_GONE % (103, "acme.zendesk.com") in caplog.text
    assert not Message.objects.filter(external_id="zendesk-ticket-103@acme.zendesk.com").exists()


def test_a_server_error_for_a_tickets_comments_still_fails_the_poll(channel, fake_web):
    fake_web.queue("GET", COMMENTS_PATH.format(id=103), Reply(502, b"Bad Gateway"))

    report = poll(channel)

    channel.refresh_from_db()
    assert report.error == channel_http.SERVER_ERROR.format(host="127.0.0.1", status=502)
    assert channel.error_streak == 1
    # The export page with ticket 103 is read again by the next poll: 103 is not passed over.
    assert channel.cursor["after_cursor"] == "MTc2MzcxOTMzMS4wfHwxMDJ8"
    assert poll(channel, now=channel.next_poll_at).stored == 3


def test_refused_credentials_make_the_channel_unhealthy_at_once(channel, fake_web):
    fake_web.queue(
        "GET", EXPORT_PATH, Reply.json(fixture_json("zendesk", "error_401.json"), status=401)
    )

    report = poll(channel)

    channel.refresh_from_db()
    assert report.error == channel_http.UNAUTHORISED.format(host="127.0.0.1", status=401)
    assert not channel.healthy


def test_every_request_carries_the_admins_email_and_token(channel, fake_web):
    poll(channel)

    assert fake_web.requests
    assert {request.headers.get("Authorization") for request in fake_web.requests} == {
        expected_authorization()
    }


# Setting the channel up ----------------------------------------------------------------------


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_an_admin_creates_a_zendesk_channel_through_the_api_without_its_token_returned(world):
    response = api(world.admin_a).post(
        reverse("api:feedback-channel-list"),
        {
            "team": world.team_a.pk,
            "kind": "zendesk",
            "name": "Acme help desk",
            "config": {"subdomain": "acme", "email": "ada@acme.example", "api_token": TOKEN},
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert TOKEN not in response.content.decode()
    assert body["secrets_set"] == ["api_token"]
    assert body["config"]["subdomain"] == "acme"
    channel = Channel.objects.get(pk=body["id"])
    assert channel.read_config()["api_token"] == TOKEN


@pytest.mark.parametrize(
    ("config_given", "message"),
    [
        ({"email": "ada@acme.example", "api_token": TOKEN}, SUBDOMAIN_REQUIRED),
        (
            {
                "base_url": "http://zendesk.example.com",
                "email": "ada@acme.example",
                "api_token": TOKEN,
            },
            channel_http.URL_PLAINTEXT.format(field="base_url"),
        ),
    ],
)
def test_the_api_refuses_a_zendesk_config_that_cannot_work(world, config_given, message):
    response = api(world.admin_a).post(
        reverse("api:feedback-channel-list"),
        {"team": world.team_a.pk, "kind": "zendesk", "name": "Desk", "config": config_given},
        format="json",
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Channel.objects.filter(kind="zendesk").exists()


@pytest.mark.parametrize(
    ("start_time", "message"),
    [
        ("0001-01-01T00:00:00+14:00", START_TIME_TOO_EARLY),
        ("9999-12-31T23:59:59-14:00", START_TIME_FUTURE),
        ("0001-01-01", START_TIME_TOO_EARLY),
    ],
)
def test_the_api_refuses_a_start_time_zendesk_cannot_start_from(world, start_time, message):
    config_given = {
        "subdomain": "acme",
        "email": "ada@acme.example",
        "api_token": TOKEN,
        "start_time": start_time,
    }

    response = api(world.admin_a).post(
        reverse("api:feedback-channel-list"),
        {"team": world.team_a.pk, "kind": "zendesk", "name": "Desk", "config": config_given},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"config": [message]}
    assert not Channel.objects.filter(kind="zendesk").exists()


def test_an_admin_creates_a_zendesk_channel_through_the_page(client, world):
    client.force_login(world.admin_a)
    url = f"{reverse('feedback:channel_create', args=[world.team_a.slug])}?kind=zendesk"

    page = client.get(url)
    response = client.post(
        url,
        {
            "name": "Acme help desk",
            "subdomain": "acme.zendesk.com",
            "email": "ada@acme.example",
            "api_token": TOKEN,
            "start_time": "2026-11-01",
            "poll_interval": "120",
        },
    )

    assert page.status_code == 200
    assert 'name="api_token"' in page.content.decode()
    assert response.status_code == 302
    channel = Channel.objects.get(team=world.team_a, kind="zendesk")
    assert channel.read_config() == {
        "subdomain": "acme",
        "base_url": "",
        "email": "ada@acme.example",
        "api_token": TOKEN,
        "start_time": "2026-11-01",
        "timeout": 30.0,
    }
    edit = client.get(reverse("feedback:channel_edit", args=[world.team_a.slug, channel.pk]))
    assert TOKEN not in edit.content.decode()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("subdomain", "", SUBDOMAIN_REQUIRED),
        # start_time values Zendesk cannot start from.
        ("start_time", "0001-01-01T00:00:00+14:00", START_TIME_TOO_EARLY),
        ("start_time", "9999-12-31T23:59:59-14:00", START_TIME_FUTURE),
        ("start_time", "0001-01-01", START_TIME_TOO_EARLY),
    ],
)
def test_the_page_puts_a_bad_setting_on_its_field(client, world, field, value, message):
    client.force_login(world.admin_a)
    url = f"{reverse('feedback:channel_create', args=[world.team_a.slug])}?kind=zendesk"
    form = {
        "name": "Desk",
        "subdomain": "acme",
        "email": "ada@acme.example",
        "api_token": TOKEN,
        "poll_interval": "60",
    }

    response = client.post(url, {**form, field: value})

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert not Channel.objects.filter(kind="zendesk").exists()
