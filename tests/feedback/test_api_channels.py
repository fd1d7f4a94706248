"""The channels API (/api/v1/channels/): secrets write-only, admins manage and check, members
read, another team's channel 404, health shown, bad input refused with field errors."""

import json

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from feedback.api.serializers import (
    CONFIG_HAS_NUL,
    CONFIG_TOO_LARGE,
    MAX_CONFIG_LENGTH,
    UNKNOWN_KIND,
)
from feedback.channels import CONNECTORS
from feedback.channels.imap.config import PLAINTEXT_REFUSED
from feedback.channels.imap.connector import AUTHENTICATION_FAILED, CHECK_OK, FOLDER_MISSING
from feedback.channels.webhook import CHECK_NO_SECRET
from feedback.models import Channel
from feedback.services import CHANNEL_NAME_TAKEN, CONFIG_NOT_OBJECT, POLL_INTERVAL_INVALID
from portal import access
from portal.api.filters import UNKNOWN_ORDERING
from tests.feedback.factories import ChannelFactory

pytestmark = pytest.mark.django_db

PASSWORD = "hunter2-not-shown"
IMAP_CONFIG = {
    "host": "imap.example.com",
    "port": 993,
    "username": "support@example.com",
    "password": PASSWORD,
    "folder": "INBOX",
    "security": "tls",
    "address": "support@example.com",
}


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def create(user, team, **overrides):
    body = {
        "team": getattr(team, "pk", team),
        "kind": "imap",
        "name": "Support mailbox",
        "config": IMAP_CONFIG,
    }
    return client_for(user).post(
        reverse("api:feedback-channel-list"), {**body, **overrides}, format="json"
    )


def detail(channel) -> str:
    return reverse("api:feedback-channel-detail", args=[channel.pk])


# Secrets -------------------------------------------------------------------------------------


def test_an_admin_creates_a_channel_whose_password_is_never_returned(world):
    response = create(world.admin_a, world.team_a)

    assert response.status_code == 201
    body = response.json()
    channel = Channel.objects.get(pk=body["id"])
    assert channel.read_config()["password"] == PASSWORD
    assert PASSWORD not in response.content.decode()
    assert "password" not in body["config"]
    assert body["secrets_set"] == ["password"]
    assert (body["team"], body["kind"], body["name"], body["address"]) == (
        world.team_a.pk,
        "imap",
        "Support mailbox",
        "support@example.com",
    )
    assert (body["poll_interval"], body["enabled"], body["healthy"]) == (60, True, True)
    for reader in (world.viewer_a, world.admin_a, world.superuser):
        shown = client_for(reader).get(reverse("api:feedback-channel-list")).content.decode()
        assert PASSWORD not in shown
        assert PASSWORD not in client_for(reader).get(detail(channel)).content.decode()


def test_a_patch_without_the_password_keeps_it(world):
    channel_id = create(world.admin_a, world.team_a).json()["id"]
    channel = Channel.objects.get(pk=channel_id)

    response = client_for(world.admin_a).patch(
        detail(channel), {"config": {"folder": "Support"}}, format="json"
    )
    emptied = client_for(world.admin_a).patch(
        detail(channel), {"config": {"password": ""}}, format="json"
    )

    assert (response.status_code, emptied.status_code) == (200, 200)
    assert response.json()["config"]["folder"] == "Support"
    channel.refresh_from_db()
    assert channel.read_config()["password"] == PASSWORD
    assert channel.read_config()["folder"] == "Support"


def test_a_patch_with_a_new_password_replaces_it_and_does_not_echo_it(world):
    channel = Channel.objects.get(pk=create(world.admin_a, world.team_a).json()["id"])

    response = client_for(world.admin_a).patch(
        detail(channel), {"config": {"password": "new-secret-42"}}, format="json"
    )

    assert response.status_code == 200
    assert "new-secret-42" not in response.content.decode()
    channel.refresh_from_db()
    assert channel.read_config()["password"] == "new-secret-42"


def test_a_put_without_the_password_keeps_it_and_needs_name_and_config(world):
    channel = Channel.objects.get(pk=create(world.admin_a, world.team_a).json()["id"])
    config = {key: value for key, value in IMAP_CONFIG.items() if key != "password"}
    client = client_for(world.admin_a)

    replaced = client.put(detail(channel), {"name": "Renamed", "config": config}, format="json")
    incomplete = client.put(detail(channel), {"name": "Renamed again"}, format="json")

    assert replaced.status_code == 200
    assert (replaced.json()["name"], replaced.json()["secrets_set"]) == ("Renamed", ["password"])
    assert (incomplete.status_code, list(incomplete.json())) == (400, ["config"])
    channel.refresh_from_db()
    assert (channel.name, channel.read_config()["password"]) == ("Renamed", PASSWORD)


def test_a_patch_changes_name_interval_and_enabled_but_not_team_or_kind(world):
    channel = Channel.objects.get(pk=create(world.admin_a, world.team_a).json()["id"])

    response = client_for(world.admin_a).patch(
        detail(channel),
        {
            "name": "Sales mailbox",
            "poll_interval": 300,
            "enabled": False,
            "team": world.team_b.pk,
            "kind": "webhook",
        },
        format="json",
    )

    assert response.status_code == 200
    channel.refresh_from_db()
    assert (channel.name, channel.poll_interval, channel.enabled) == ("Sales mailbox", 300, False)
    assert (channel.team, channel.kind) == (world.team_a, "imap")


# Roles and teams -----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["viewer_a", "agent_a", "lead_a"])
def test_members_below_admin_read_channels_but_may_not_create_or_change_them(world, persona):
    user = getattr(world, persona)
    channel = ChannelFactory(team=world.team_a)
    needs_admin = access.NEEDS_ROLE.format(role="admin", team=world.team_a)

    listed = client_for(user).get(reverse("api:feedback-channel-list"))
    created = create(user, world.team_a)
    changed = client_for(user).patch(detail(channel), {"name": "Mine"}, format="json")
    checked = client_for(user).post(reverse("api:feedback-channel-check", args=[channel.pk]))

    assert [row["id"] for row in listed.json()["results"]] == [channel.pk]
    assert (created.status_code, created.json()) == (403, {"detail": needs_admin})
    assert (changed.status_code, changed.json()) == (403, {"detail": needs_admin})
    assert checked.status_code == 403
    assert Channel.objects.count() == 1


def test_another_teams_channel_answers_404_and_is_not_listed(world):
    channel = ChannelFactory(team=world.team_a)
    client = client_for(world.member_b)

    assert client.get(reverse("api:feedback-channel-list")).json()["results"] == []
    assert client.get(detail(channel)).status_code == 404
    assert client.patch(detail(channel), {"name": "x"}, format="json").status_code == 404
    check = reverse("api:feedback-channel-check", args=[channel.pk])
    assert client.post(check).status_code == 404


def test_creating_a_channel_in_a_team_one_does_not_belong_to_is_refused(world):
    response = create(world.member_b, world.team_a)

    assert response.status_code == 400
    assert list(response.json()) == ["team"]


def test_channels_cannot_be_deleted_through_the_api(world):
    channel = ChannelFactory(team=world.team_a)

    assert client_for(world.superuser).delete(detail(channel)).status_code == 405


# Bad input -----------------------------------------------------------------------------------


def test_plaintext_imap_to_a_remote_host_is_refused_with_the_reason(world):
    config = {**IMAP_CONFIG, "security": "none"}

    response = create(world.admin_a, world.team_a, config=config)

    assert response.status_code == 400
    assert response.json() == {"config": [PLAINTEXT_REFUSED.format(host="imap.example.com")]}


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"config": "host=x"}, {"config": [CONFIG_NOT_OBJECT]}),
        ({"config": {**IMAP_CONFIG, "folder": "IN\x00BOX"}}, {"config": [CONFIG_HAS_NUL]}),
        (
            {"config": {**IMAP_CONFIG, "ca_certificate": "x" * MAX_CONFIG_LENGTH}},
            {"config": [CONFIG_TOO_LARGE.format(limit=MAX_CONFIG_LENGTH)]},
        ),
        ({"poll_interval": 5}, {"poll_interval": [POLL_INTERVAL_INVALID]}),
        ({"poll_interval": 10**30}, {"poll_interval": [POLL_INTERVAL_INVALID]}),
        ({"poll_interval": "soon"}, {"poll_interval": [POLL_INTERVAL_INVALID]}),
        # int() reads Arabic-Indic digits as 300; the portal takes ASCII digits only.
        ({"poll_interval": "\u0663\u0660\u0660"}, {"poll_interval": [POLL_INTERVAL_INVALID]}),
        ({"kind": "pigeon"}, {"kind": [UNKNOWN_KIND.format(kinds=", ".join(sorted(CONNECTORS)))]}),
    ],
)
def test_bad_channel_input_answers_400_naming_the_field(world, override, expected):
    response = create(world.admin_a, world.team_a, **override)

    assert response.status_code == 400
    assert response.json() == expected
    assert not Channel.objects.exists()


def test_a_misspelt_setting_is_refused_naming_the_settings_there_are(world):
    config = {
        "base_url": "https://forum.example.com",
        "api_key": "k",
        "username": "portal",
        "categories": ["support"],
    }

    response = create(world.admin_a, world.team_a, kind="discourse", name="Forum", config=config)

    assert response.status_code == 400
    assert response.json() == {
        "config": [
            "unknown Discourse settings: username; the settings are api_key, api_username, "
            "base_url, categories, timeout"
        ]
    }
    assert not Channel.objects.exists()


def test_bad_input_in_names_and_ids_answers_400(world):
    nul = create(world.admin_a, world.team_a, name="Sup\x00port")
    number = create(world.admin_a, world.team_a, name=12)
    huge_team = create(world.admin_a, 2**70)

    assert (nul.status_code, list(nul.json())) == (400, ["name"])
    assert (number.status_code, list(number.json())) == (400, ["name"])
    assert (huge_team.status_code, list(huge_team.json())) == (400, ["team"])


def test_a_second_channel_of_the_same_name_is_refused(world):
    create(world.admin_a, world.team_a)

    response = create(world.admin_a, world.team_a, name="support  MAILBOX")

    assert response.status_code == 400
    assert response.json() == {
        "name": [CHANNEL_NAME_TAKEN.format(name="support MAILBOX", team=world.team_a)]
    }


def test_a_form_encoded_body_is_refused_as_the_config_needs_json(world):
    response = client_for(world.admin_a).post(
        reverse("api:feedback-channel-list"), {"team": world.team_a.pk, "name": "x"}
    )

    assert response.status_code == 415


# Health, filters, ordering -------------------------------------------------------------------


def test_health_is_shown_read_only(world):
    channel = ChannelFactory(
        team=world.team_a, healthy=False, error_streak=4, last_error="authentication failed"
    )

    body = client_for(world.viewer_a).get(detail(channel)).json()
    client_for(world.admin_a).patch(detail(channel), {"healthy": True}, format="json")

    assert (body["healthy"], body["error_streak"], body["last_error"]) == (
        False,
        4,
        "authentication failed",
    )
    assert {"last_success_at", "last_polled_at", "next_poll_at", "last_error_at"} <= set(body)
    channel.refresh_from_db()
    assert channel.healthy is False


def test_channels_filter_by_team_kind_and_enabled_and_order_by_name(world):
    imap = ChannelFactory(team=world.team_a, name="B mailbox")
    off = ChannelFactory(team=world.team_a, name="A mailbox", enabled=False)
    hook = ChannelFactory(team=world.team_a, name="C hook", kind="webhook")
    other = ChannelFactory(team=world.team_b)
    client = client_for(world.superuser)
    url = reverse("api:feedback-channel-list")

    def ids(**params):
        response = client.get(url, params)
        assert response.status_code == 200
        return [row["id"] for row in response.json()["results"]]

    assert ids(team=world.team_b.pk) == [other.pk]
    assert ids(team=world.team_a.pk, kind="webhook") == [hook.pk]
    assert ids(team=world.team_a.pk, enabled="false") == [off.pk]
    assert ids(team=world.team_a.pk, ordering="-name") == [hook.pk, imap.pk, off.pk]


def test_an_unknown_ordering_or_filter_value_answers_400(world):
    client = client_for(world.admin_a)
    url = reverse("api:feedback-channel-list")

    ordering = client.get(url, {"ordering": "password"})
    team = client.get(url, {"team": "x"})
    kind = client.get(url, {"kind": "pigeon"})

    assert ordering.status_code == 400
    assert ordering.json() == {
        "ordering": [
            UNKNOWN_ORDERING.format(
                field="password", choices="name, kind, poll_interval, error_streak, created_at"
            )
        ]
    }
    assert (team.status_code, list(team.json())) == (400, ["team"])
    assert (kind.status_code, list(kind.json())) == (400, ["kind"])


# Check ---------------------------------------------------------------------------------------


def check(user, channel):
    return client_for(user).post(reverse("api:feedback-channel-check", args=[channel.pk]))


def test_checking_a_webhook_channel_says_whether_it_can_receive(world):
    ready = ChannelFactory(
        team=world.team_a, kind="webhook", config={"address": "a@example.test", "secret": "s" * 32}
    )
    secretless = ChannelFactory(team=world.team_a, kind="webhook", config={"address": "b@x.test"})

    ok = check(world.admin_a, ready)
    missing = check(world.admin_a, secretless)

    assert ok.status_code == 200
    assert ok.json()["ok"] is True
    assert (missing.status_code, missing.json()) == (200, {"ok": False, "message": CHECK_NO_SECRET})


def imap_channel(world, account, **config) -> Channel:
    response = create(world.admin_a, world.team_a, config=account.config(**config))
    assert response.status_code == 201, response.json()
    return Channel.objects.get(pk=response.json()["id"])


def test_checking_an_imap_channel_against_dovecot_reports_success(world, imap_account):
    channel = imap_channel(world, imap_account)

    response = check(world.admin_a, channel)

    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "message": CHECK_OK.format(
            host="127.0.0.1",
            port=imap_account.server.imap_port,
            folder="INBOX",
            messages="0 messages",
        ),
    }


def test_checking_an_imap_channel_with_a_wrong_password_says_authentication_failed(
    world, imap_account
):
    channel = imap_channel(world, imap_account)
    client_for(world.admin_a).patch(
        detail(channel), {"config": {"password": "wrong"}}, format="json"
    )

    response = check(world.admin_a, channel)

    assert response.json() == {"ok": False, "message": AUTHENTICATION_FAILED}


def test_checking_an_imap_channel_whose_folder_is_missing_names_the_folder(world, imap_account):
    channel = imap_channel(world, imap_account, folder="INBOX.Support")

    response = check(world.admin_a, channel)

    assert response.json() == {
        "ok": False,
        "message": FOLDER_MISSING.format(folder="INBOX.Support"),
    }


def test_the_check_response_never_carries_the_secret(world, imap_account):
    channel = imap_channel(world, imap_account)

    response = check(world.admin_a, channel)

    assert imap_account.password not in json.dumps(response.json())


def test_members_below_admin_see_a_feed_address_without_its_query_values(world):
    # A private feed's token is often in its query string (outside QA report: a viewer read it).
    url = "https://feeds.example/private.xml?token=PRIVATEFEEDTOKEN&lang=en"
    created = create(world.admin_a, world.team_a, kind="feed", name="Reviews", config={"url": url})
    assert created.status_code == 201, created.json()

    def listed(user) -> str:
        [channel] = client_for(user).get(reverse("api:feedback-channel-list")).json()["results"]
        return channel["config"]["url"]

    assert listed(world.admin_a) == url
    assert listed(world.viewer_a) == "https://feeds.example/private.xml?token=…&lang=…"
    assert listed(world.agent_a) == "https://feeds.example/private.xml?token=…&lang=…"
