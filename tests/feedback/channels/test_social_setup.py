"""Discourse and Mastodon channels set up through the channel pages and the API: the key and
token write-only, bad settings refused on their field (400 with the reason), the check in
words against a local server."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from feedback.channels.discourse import CATEGORY_UNKNOWN
from feedback.channels.http import URL_EXTRA_PARTS, URL_INVALID, URL_PLAINTEXT
from feedback.channels.mastodon import HASHTAG_REQUIRED
from feedback.channels.social import FIELD_REQUIRED
from feedback.forms import SECRET_KEEP_HELP
from feedback.models import Channel
from tests.feedback.fakeweb import Reply, fixture_bytes

pytestmark = pytest.mark.django_db

API_KEY = "d1sc0urse-key-never-shown-0123"
TOKEN = "m4st0d0n-token-never-shown-456"
DISCOURSE_KEYS = {"api_key": "k", "api_username": "u"}
MASTODON_KEYS = {"access_token": "t"}


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def api_create(user, team, kind: str, config: dict) -> object:
    body = {"team": team.pk, "kind": kind, "name": f"Our {kind}", "config": config}
    return api(user).post(reverse("api:feedback-channel-list"), body, format="json")


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def create_url(team, kind: str) -> str:
    return f"{reverse('feedback:channel_create', args=[team.slug])}?kind={kind}"


def discourse_data(base_url: str, **overrides: str) -> dict[str, str]:
    data = {
        "name": "Community forum",
        "base_url": base_url,
        "api_key": API_KEY,
        "api_username": "portal",
        "categories": "support, 6",
        "poll_interval": "300",
    }
    return {**data, **overrides}


def test_an_admin_creates_a_discourse_channel_through_the_form(client, world):
    client.force_login(world.admin_a)

    response = client.post(
        create_url(world.team_a, "discourse"), discourse_data("https://forum.example.com")
    )

    channel = Channel.objects.get(team=world.team_a)
    assert response.status_code == 302
    assert channel.kind == "discourse"
    assert channel.read_config() == {
        "base_url": "https://forum.example.com",
        "api_key": API_KEY,
        "api_username": "portal",
        "categories": ["support", "6"],
        "timeout": 30.0,
    }
    edit = client.get(response["Location"])
    assert API_KEY not in page_text(edit)
    assert 'value="support, 6"' in page_text(edit)
    assert SECRET_KEEP_HELP.format(label="api key") in page_text(edit)


def test_the_forms_put_refused_settings_on_their_field(client, world):
    client.force_login(world.admin_a)

    plaintext = client.post(
        create_url(world.team_a, "discourse"), discourse_data("http://forum.example.com")
    )
    no_hashtag = client.post(
        create_url(world.team_a, "mastodon"),
        {
            "name": "Fediverse",
            "base_url": "https://mastodon.example",
            "access_token": TOKEN,
            "source": "hashtag",
            "hashtag": "",
            "poll_interval": "300",
        },
    )

    assert plaintext.status_code == 200
    assert plaintext.context["form"].errors == {
        "base_url": [URL_PLAINTEXT.format(field="base_url")]
    }
    assert no_hashtag.context["form"].errors == {"hashtag": [HASHTAG_REQUIRED]}
    assert not Channel.objects.exists()


def test_the_api_creates_a_mastodon_channel_and_never_returns_the_token(world):
    config = {"base_url": "https://mastodon.example", "access_token": TOKEN}

    response = api_create(world.admin_a, world.team_a, "mastodon", config)

    assert response.status_code == 201, response.json()
    assert TOKEN not in response.content.decode()
    channel = Channel.objects.get(pk=response.json()["id"])
    assert channel.read_config()["access_token"] == TOKEN
    assert channel.read_config()["source"] == "mentions"


@pytest.mark.parametrize(
    ("kind", "config", "message"),
    [
        (
            "discourse",
            {"base_url": "https://forum.example.com", "api_key": "k"},
            FIELD_REQUIRED.format(field="api_username"),
        ),
        (
            "discourse",
            {"base_url": "http://forum.example.com", "api_key": "k", "api_username": "u"},
            URL_PLAINTEXT.format(field="base_url"),
        ),
        # A query, fragment or credentials would swallow or redirect every API path.
        *(
            (kind, {"base_url": url, **credentials}, URL_EXTRA_PARTS.format(field="base_url"))
            for kind, url, credentials in (
                ("discourse", "https://forum.example.com/sub?x=1", DISCOURSE_KEYS),
                ("mastodon", "https://mastodon.example/#top", MASTODON_KEYS),
                ("mastodon", "https://user:secret@mastodon.example", MASTODON_KEYS),
            )
        ),
        (
            "discourse",
            {"base_url": "https://forum.example.com:99999", "api_key": "k", "api_username": "u"},
            URL_INVALID.format(field="base_url"),
        ),
        (
            "mastodon",
            {"base_url": "https://mastodon.example", "access_token": "t", "source": "hashtag"},
            HASHTAG_REQUIRED,
        ),
        (
            "mastodon",
            {"base_url": "https://mastodon.example"},
            FIELD_REQUIRED.format(field="access_token"),
        ),
    ],
)
def test_the_api_refuses_bad_settings_with_400_and_the_reason(world, kind, config, message):
    response = api_create(world.admin_a, world.team_a, kind, config)

    assert response.status_code == 400
    assert response.json() == {"config": [message]}
    assert not Channel.objects.exists()


def test_the_api_check_names_an_unknown_category(world, fake_web):
    fake_web.route(
        "GET", "/categories.json", Reply(200, fixture_bytes("discourse", "categories.json"))
    )
    config = {
        "base_url": fake_web.url,
        "api_key": API_KEY,
        "api_username": "portal",
        "categories": ["helpdesk"],
    }
    created = api_create(world.admin_a, world.team_a, "discourse", config)

    response = api(world.admin_a).post(
        reverse("api:feedback-channel-check", args=[created.json()["id"]])
    )

    assert response.status_code == 200
    assert response.json() == {
        "ok": False,
        "message": CATEGORY_UNKNOWN.format(
            category="helpdesk", known="billing, feature-requests, staff, support"
        ),
    }
    assert API_KEY not in response.content.decode()


def test_the_check_page_says_connected_as_the_mastodon_account(client, world, fake_web):
    fake_web.route(
        "GET",
        "/api/v1/accounts/verify_credentials",
        Reply(200, fixture_bytes("mastodon", "verify_credentials.json")),
    )
    created = api_create(
        world.admin_a, world.team_a, "mastodon", {"base_url": fake_web.url, "access_token": TOKEN}
    )
    channel = Channel.objects.get(pk=created.json()["id"])
    client.force_login(world.admin_a)

    response = client.post(
        reverse("feedback:channel_check", args=[channel.team.slug, channel.pk]), follow=True
    )

    assert f"Connected to {fake_web.url} as @acmesupport" in page_text(response)
    assert fake_web.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
