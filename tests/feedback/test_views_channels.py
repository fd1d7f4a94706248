"""The channel settings pages: only a team's admins see and change its channels (another
team's answers 404), IMAP channels are created and edited through the form with the password
write-only, the connection check says what failed in words, channels are enabled and
disabled, and a webhook channel's generated secret is shown exactly once."""

import html
import re

import pytest
from cryptography.fernet import Fernet
from django.urls import reverse
from django.utils import timezone

from feedback.channels import CheckResult
from feedback.channels.imap.config import PLAINTEXT_REFUSED
from feedback.channels.imap.connector import AUTHENTICATION_FAILED, CHECK_OK
from feedback.forms import KIND_UNKNOWN, SECRET_KEEP_HELP
from feedback.models import Channel
from feedback.services import channel_create
from feedback.views.channels import (
    CHANNEL_CREATED,
    CHANNEL_DISABLED,
    CHANNEL_ENABLED,
    CHECK_FAILED,
    CHECK_PASSED,
    CONFIG_UNREADABLE,
    ENABLED_CHOICE,
)
from portal.crypto import SECRET_UNREADABLE
from tests.feedback.factories import ChannelFactory
from tests.feedback.fake_connector import fake_connector  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
PASSWORD = "correct horse battery staple"


def imap_data(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Support mailbox",
        "host": "127.0.0.1",
        "security": "none",
        "port": "",
        "username": "support@example.test",
        "password": PASSWORD,
        "folder": "INBOX",
        "move_to": "Stored",
        "address": "support@example.test",
        "poll_interval": "60",
    }
    return {**data, **overrides}


def create_url(team, kind: str = "imap") -> str:
    return f"{reverse('feedback:channel_create', args=[team.slug])}?kind={kind}"


def edit_url(channel) -> str:
    return reverse("feedback:channel_edit", args=[channel.team.slug, channel.pk])


def text(response) -> str:
    return html.unescape(response.content.decode())


# Who may see what ---------------------------------------------------------------------------


def test_admins_see_their_teams_channels_and_nobody_elses(client, world):
    ours = ChannelFactory(team=world.team_a, name="Support mailbox")
    ChannelFactory(team=world.team_b, name="Growth mailbox")
    client.force_login(world.admin_a)

    response = client.get(reverse("feedback:channel_list", args=["team-a"]))

    assert response.status_code == 200
    assert "Support mailbox" in text(response)
    assert "Growth mailbox" not in text(response)
    assert edit_url(ours) in text(response)


@pytest.mark.parametrize("persona", ["viewer_a", "agent_a", "lead_a"])
def test_members_below_admin_may_not_open_the_channel_settings(client, world, persona):
    channel = ChannelFactory(team=world.team_a)
    client.force_login(getattr(world, persona))

    for url in (
        reverse("feedback:channel_list", args=["team-a"]),
        create_url(world.team_a),
        edit_url(channel),
    ):
        assert client.get(url).status_code == 403, url


def test_another_teams_channel_is_not_found_under_either_team(client, world):
    theirs = ChannelFactory(team=world.team_b)
    client.force_login(world.admin_a)

    # Team A's admin asks for team B's channel under team A's URL: there is none there.
    assert client.get(reverse("feedback:channel_edit", args=["team-a", theirs.pk])).status_code == (
        404
    )
    # ... and under team B's URL the team itself is not theirs to see.
    assert client.get(edit_url(theirs)).status_code == 404
    assert client.post(
        reverse("feedback:channel_enable", args=["team-a", theirs.pk]), {"enabled": "false"}
    ).status_code == (404)
    theirs.refresh_from_db()
    assert theirs.enabled


def state_cells(response) -> list[str]:
    cells = re.findall(r'<td data-label="State">(.*?)</td>', text(response), re.S)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells]


def test_the_list_and_the_health_page_name_each_state_alike(client, world):
    polled = timezone.now()
    ChannelFactory(team=world.team_a, name="A disabled", enabled=False)
    ChannelFactory(team=world.team_a, name="B failing", healthy=False, last_polled_at=polled)
    ChannelFactory(team=world.team_a, name="C fresh")
    ChannelFactory(team=world.team_a, name="D polled", last_polled_at=polled)
    channel_create(
        actor=world.admin_a,
        team=world.team_a,
        kind="webhook",
        name="E inbound",
        config={"address": "help@example.test"},
    )
    client.force_login(world.admin_a)

    listed = client.get(reverse("feedback:channel_list", args=["team-a"]))
    health = client.get(reverse("feedback:channel_health", args=["team-a"]))

    expected = ["Disabled", "Unhealthy", "Not polled yet", "Healthy", "Receiving"]
    assert state_cells(listed) == expected
    assert state_cells(health) == expected


# Create --------------------------------------------------------------------------------------


def test_the_kind_is_chosen_from_the_registry(client, world):
    client.force_login(world.admin_a)

    response = client.get(reverse("feedback:channel_create", args=["team-a"]))

    assert response.status_code == 200
    assert 'value="imap"' in text(response)
    assert "IMAP mailbox" in text(response)
    assert 'value="webhook"' in text(response)


def test_an_unknown_kind_is_refused_with_the_choices_again(client, world):
    client.force_login(world.admin_a)

    response = client.get(create_url(world.team_a, kind="pigeon"))

    assert response.status_code == 400
    assert KIND_UNKNOWN in text(response)
    assert 'value="imap"' in text(response)


def test_an_admin_creates_an_imap_channel_through_the_form(client, world):
    client.force_login(world.admin_a)

    response = client.post(create_url(world.team_a), imap_data())

    channel = Channel.objects.get(team=world.team_a)
    assert response.status_code == 302
    assert response["Location"] == edit_url(channel)
    assert (channel.kind, channel.name, channel.address) == (
        "imap",
        "Support mailbox",
        "support@example.test",
    )
    config = channel.read_config()
    assert config["password"] == PASSWORD
    assert (config["port"], config["move_to"]) == (143, "Stored")
    page = client.get(response["Location"])
    assert CHANNEL_CREATED.format(channel=channel) in text(page)
    assert PASSWORD not in text(page)


def test_the_create_form_renders_as_a_page_and_as_a_fragment(client, world):
    client.force_login(world.admin_a)

    page = client.get(create_url(world.team_a))
    fragment = client.get(create_url(world.team_a), **HX)

    assert b"<html" in page.content
    assert b"<html" not in fragment.content
    assert b'id="channel-form"' in fragment.content
    assert "HX-Request" in fragment["Vary"]


def test_settings_the_connector_refuses_are_shown_on_their_field(client, world):
    client.force_login(world.admin_a)

    response = client.post(create_url(world.team_a), imap_data(host="imap.example.com"), **HX)

    assert response.status_code == 200
    assert b"<html" not in response.content
    assert PLAINTEXT_REFUSED.format(host="imap.example.com") in text(response)
    assert not Channel.objects.exists()
    # The password typed is not sent back into the form.
    assert PASSWORD not in text(response)


def test_a_port_out_of_range_is_refused_by_the_form(client, world):
    client.force_login(world.admin_a)

    response = client.post(create_url(world.team_a), imap_data(port="70000"))

    assert response.status_code == 200
    assert b"<html" in response.content
    assert "Ensure this value is less than or equal to 65535." in text(response)
    assert not Channel.objects.exists()
    response = client.post(create_url(world.team_a), imap_data(port="", security="bogus"))
    assert "Select a valid choice." in text(response)


def test_a_name_taken_in_the_team_is_refused(client, world):
    ChannelFactory(team=world.team_a, name="Support mailbox")
    client.force_login(world.admin_a)

    response = client.post(create_url(world.team_a), imap_data(name="support  MAILBOX"))

    assert response.status_code == 200
    assert "already exists in Team A" in text(response)


# Edit ----------------------------------------------------------------------------------------


def created_channel(world) -> Channel:
    return channel_create(
        actor=world.admin_a,
        team=world.team_a,
        kind="imap",
        name="Support mailbox",
        config={
            "host": "127.0.0.1",
            "security": "none",
            "username": "support",
            "password": PASSWORD,
            "address": "support@example.test",
        },
    )


def test_the_edit_page_shows_the_settings_but_never_the_password(client, world):
    channel = created_channel(world)
    client.force_login(world.admin_a)

    response = client.get(edit_url(channel))

    assert response.status_code == 200
    body = text(response)
    assert PASSWORD not in body
    assert 'value="127.0.0.1"' in body
    assert 'value="support@example.test"' in body
    assert SECRET_KEEP_HELP.format(label="password") in body
    assert 'type="password" name="password"' in body


def test_saving_with_the_password_left_empty_keeps_the_stored_one(client, world):
    channel = created_channel(world)
    client.force_login(world.admin_a)

    response = client.post(
        edit_url(channel), imap_data(name="Renamed", password="", folder="Support")
    )

    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.name == "Renamed"
    assert channel.read_config()["password"] == PASSWORD
    assert channel.read_config()["folder"] == "Support"


def test_a_new_password_replaces_the_stored_one(client, world):
    channel = created_channel(world)
    client.force_login(world.admin_a)

    client.post(edit_url(channel), imap_data(password="a new one"))

    channel.refresh_from_db()
    assert channel.read_config()["password"] == "a new one"


def test_an_invalid_edit_over_htmx_returns_the_form_fragment(client, world):
    channel = created_channel(world)
    client.force_login(world.admin_a)

    response = client.post(edit_url(channel), imap_data(name=""), **HX)

    assert response.status_code == 200
    assert b"<html" not in response.content
    assert b'id="channel-form"' in response.content
    assert "This field is required." in text(response)
    channel.refresh_from_db()
    assert channel.name == "Support mailbox"


def test_a_valid_edit_over_htmx_redirects_the_browser(client, world):
    channel = created_channel(world)
    client.force_login(world.admin_a)

    response = client.post(edit_url(channel), imap_data(password=""), **HX)

    assert response.status_code == 200
    assert response["HX-Redirect"] == edit_url(channel)


# Check -----------------------------------------------------------------------------------


def check_url(channel) -> str:
    return reverse("feedback:channel_check", args=[channel.team.slug, channel.pk])


def test_the_check_says_what_failed_after_a_plain_post(client, world, fake_connector):  # noqa: F811
    fake_connector.check = lambda config: CheckResult(ok=False, message=AUTHENTICATION_FAILED)
    channel = ChannelFactory(team=world.team_a, kind="fake", config={"token": "t"})
    client.force_login(world.admin_a)

    response = client.post(check_url(channel), follow=True)

    assert response.redirect_chain == [(edit_url(channel), 302)]
    assert CHECK_FAILED.format(message=AUTHENTICATION_FAILED) in text(response)


def test_the_check_answers_htmx_with_the_result_in_place(client, world, fake_connector):  # noqa: F811
    fake_connector.check = lambda config: CheckResult(ok=True, message="all good")
    channel = ChannelFactory(team=world.team_a, kind="fake", config={"token": "t"})
    client.force_login(world.admin_a)

    response = client.post(check_url(channel), **HX)

    assert response.status_code == 200
    assert b"<html" not in response.content
    assert b'id="channel-check"' in response.content
    assert CHECK_PASSED.format(message="all good") in text(response)


def test_checking_a_closed_port_says_the_connection_failed(client, world):
    channel = ChannelFactory(
        team=world.team_a,
        config={
            "host": "127.0.0.1",
            "port": 1,
            "username": "u",
            "password": "p",
            "security": "none",
            "address": "support@example.test",
            "timeout": 2,
        },
    )
    client.force_login(world.admin_a)

    response = client.post(check_url(channel), **HX)

    assert "Connection failed: could not connect to 127.0.0.1:1 (" in text(response)


@pytest.mark.parametrize("persona", ["viewer_a", "agent_a", "lead_a"])
def test_only_admins_may_check(client, world, persona, fake_connector):  # noqa: F811
    fake_connector.check = lambda config: pytest.fail("the check ran")
    channel = ChannelFactory(team=world.team_a, kind="fake", config={})
    client.force_login(getattr(world, persona))

    assert client.post(check_url(channel)).status_code == 403


def test_the_check_against_dovecot_logs_in_or_says_why_not(client, world, imap_account):
    good = channel_create(
        actor=world.admin_a,
        team=world.team_a,
        kind="imap",
        name="Good",
        config=imap_account.config(),
    )
    bad = channel_create(
        actor=world.admin_a,
        team=world.team_a,
        kind="imap",
        name="Bad",
        config=imap_account.config(password="wrong"),
    )
    client.force_login(world.admin_a)

    passed = text(client.post(check_url(good), **HX))
    failed = text(client.post(check_url(bad), **HX))

    config = good.read_config()
    assert (
        CHECK_PASSED.format(
            message=CHECK_OK.format(
                host=config["host"], port=config["port"], folder="INBOX", messages="0 messages"
            )
        )
        in passed
    )
    assert CHECK_FAILED.format(message=AUTHENTICATION_FAILED) in failed


# Enable and disable ----------------------------------------------------------------------


def enable_url(channel) -> str:
    return reverse("feedback:channel_enable", args=[channel.team.slug, channel.pk])


def test_an_admin_disables_and_enables_a_channel(client, world):
    channel = created_channel(world)
    client.force_login(world.admin_a)

    response = client.post(enable_url(channel), {"enabled": "false"}, follow=True)

    channel.refresh_from_db()
    assert not channel.enabled
    assert CHANNEL_DISABLED.format(channel=channel) in text(response)
    assert response.redirect_chain[-1][0] == reverse("feedback:channel_list", args=["team-a"])

    response = client.post(
        enable_url(channel), {"enabled": "true", "next": edit_url(channel)}, follow=True
    )

    channel.refresh_from_db()
    assert channel.enabled
    assert CHANNEL_ENABLED.format(channel=channel) in text(response)
    assert response.redirect_chain[-1][0] == edit_url(channel)


def test_enabling_needs_a_clear_choice(client, world):
    channel = created_channel(world)
    client.force_login(world.admin_a)

    response = client.post(enable_url(channel), {"enabled": "maybe"})

    assert response.status_code == 400
    assert response.content.decode() == ENABLED_CHOICE


def test_a_lead_may_not_disable_a_channel(client, world):
    channel = created_channel(world)
    client.force_login(world.lead_a)

    assert client.post(enable_url(channel), {"enabled": "false"}).status_code == 403
    channel.refresh_from_db()
    assert channel.enabled


# Webhook channels ------------------------------------------------------------------------


def test_a_webhook_channels_generated_secret_is_shown_once(client, world):
    client.force_login(world.admin_a)

    response = client.post(
        create_url(world.team_a, kind="webhook"),
        {"name": "Inbound mail", "address": "help@example.test", "secret": ""},
    )

    channel = Channel.objects.get(kind="webhook")
    secret = channel.read_config()["secret"]
    assert len(secret) >= 16
    first = text(client.get(response["Location"]))
    assert secret in first
    assert f"/hooks/email/{channel.pk}/" in first
    second = text(client.get(response["Location"]))
    assert secret not in second
    assert f"/hooks/email/{channel.pk}/" in second


def test_a_webhook_secret_typed_by_the_admin_is_never_shown(client, world):
    client.force_login(world.admin_a)
    typed = "a-secret-the-provider-gave-us"

    response = client.post(
        create_url(world.team_a, kind="webhook"),
        {"name": "Inbound mail", "address": "help@example.test", "secret": typed},
    )

    assert typed not in text(client.get(response["Location"]))
    assert Channel.objects.get(kind="webhook").read_config()["secret"] == typed


def test_editing_a_webhook_channel_keeps_its_secret_when_left_empty(client, world):
    channel = channel_create(
        actor=world.admin_a,
        team=world.team_a,
        kind="webhook",
        name="Inbound mail",
        config={"address": "help@example.test", "secret": "the-first-secret-of-many"},
    )
    client.force_login(world.admin_a)

    page = text(client.get(edit_url(channel)))
    response = client.post(
        edit_url(channel), {"name": "Inbound", "address": "help@example.test", "secret": ""}
    )

    assert "the-first-secret-of-many" not in page
    assert 'name="poll_interval"' not in page
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.name == "Inbound"
    assert channel.read_config()["secret"] == "the-first-secret-of-many"


# Settings this deployment's key cannot open --------------------------------------------


def test_settings_stored_under_another_key_ask_for_the_secrets_again(client, world):
    channel = ChannelFactory(
        team=world.team_a,
        config_encrypted=Fernet(Fernet.generate_key()).encrypt(b"{}").decode(),
    )
    client.force_login(world.admin_a)

    page = client.get(edit_url(channel))
    saved = client.post(edit_url(channel), imap_data(), **HX)

    assert page.status_code == 200
    assert CONFIG_UNREADABLE in text(page)
    assert saved.status_code == 200
    assert SECRET_UNREADABLE in text(saved)


def test_a_team_without_channels_is_told_how_to_add_one(client, world):
    client.force_login(world.admin_a)

    body = text(client.get(reverse("feedback:channel_list", args=["team-a"])))

    assert "Team A has no channels yet, so no feedback reaches its inbox." in body
    assert reverse("feedback:channel_create", args=["team-a"]) in body
    assert "a feed, a forum, Mastodon, a Zendesk ticket queue or the web widget" in body


def test_the_list_says_what_channels_are_and_where_replies_come_from(client, world):
    channel_create(
        actor=world.admin_a,
        team=world.team_a,
        kind="widget",
        name="Website widget",
        config={"address": "support@example.test"},
    )
    client.force_login(world.admin_a)

    body = text(client.get(reverse("feedback:channel_list", args=["team-a"])))

    assert "(a mailbox, a feed, a forum, Mastodon, a Zendesk ticket queue)" in body
    assert "(inbound mail, the web widget)" in body
    assert '<th scope="col">Reply address</th>' in body
    assert '<td data-label="Reply address">support@example.test</td>' in body
