"""IMAP with OAuth 2.0 against a real dovecot whose oauth2 passdb asks a local token server
(``tests/feedback/dovecot.py``: ``TokenServer``), with the connector's clock injected.

Proves what issue 9 asks of channel 6: a pasted refresh token reads the mailbox over XOAUTH2
and OAUTHBEARER; the access token is reused until shortly before it expires, then refreshed;
a rotated refresh token is stored encrypted and never shown; a revoked one marks the channel
unhealthy at once, in words; the check says what is wrong."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from feedback import services
from feedback.channels import CONNECTORS
from feedback.channels.base import ConnectorError
from feedback.channels.imap import ImapConnector
from feedback.channels.imap.connector import (
    CHECK_OK,
    CONNECT_FAILED,
    SASL_MISSING,
    TOKEN_NOT_ACCEPTED,
)
from feedback.channels.imap.oauth import (
    CLIENT_REFUSED,
    REFRESH_MARGIN,
    TOKEN_ANSWER_INVALID,
    TOKEN_REVOKED,
    TokenCache,
)
from feedback.models import Channel, Message
from feedback.services import LEASE_LOST
from feedback.services.ingest import payloads_store
from portal.actors import SYSTEM
from tests.factories import TeamFactory
from tests.feedback.dovecot import HOST, ImapAccount, TokenServer, _free_port, oauth_config
from tests.feedback.factories import make_mail
from tests.feedback.fakeweb import Reply
from tests.feedback.ingestion import poll
from tests.support.tcp_proxy import TcpProxy


class Clock:
    """Seconds that move only when the test says so."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def connector(clock: Clock) -> ImapConnector:
    return ImapConnector(tokens=TokenCache(clock))


@pytest.fixture
def registry_tokens(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> TokenCache:
    """The registry's IMAP connector (the one polls use) with a fresh cache on ``clock``."""
    tokens = TokenCache(clock)
    monkeypatch.setattr(CONNECTORS["imap"], "tokens", tokens)
    return tokens


def account_config(account: ImapAccount, server: TokenServer, **overrides: object) -> dict:
    return oauth_config(account, server, server.issue_refresh_token(account.username), **overrides)


# --- logging in ----------------------------------------------------------------------------


def test_a_refresh_token_reads_the_mailbox_over_xoauth2(oauth_account, token_server, connector):
    oauth_account.append("INBOX", make_mail(message_id="first@x.example"))
    config = account_config(oauth_account, token_server)

    result = connector.fetch(config, None)

    assert [item.source_id.partition(":")[2] for item in result.items] == ["1"]
    assert result.config_updates is None
    (request,) = token_server.token_requests()
    assert request.form() == {
        "grant_type": "refresh_token",
        "refresh_token": config["refresh_token"],
        "client_id": TokenServer.CLIENT_ID,
        "client_secret": TokenServer.CLIENT_SECRET,
        "scope": "imap",
    }


def test_oauthbearer_logs_in_too(oauth_account, token_server, connector):
    oauth_account.append("INBOX", make_mail(message_id="bearer@x.example"))
    config = account_config(oauth_account, token_server, sasl="oauthbearer")

    result = connector.fetch(config, None)

    assert len(result.items) == 1
    log = oauth_account.server.log_path.read_text()
    assert f"user=<{oauth_account.username}>, method=OAUTHBEARER" in log


def test_the_access_token_is_reused_until_shortly_before_it_expires(
    oauth_account, token_server, connector, clock
):
    token_server.expires_in = 3600
    config = account_config(oauth_account, token_server)

    connector.fetch(config, None)
    connector.fetch(config, None)
    clock.now += 3600 - REFRESH_MARGIN - 1
    connector.fetch(config, None)
    assert len(token_server.token_requests()) == 1

    clock.now += 2
    connector.fetch(config, None)
    connector.fetch(config, None)
    assert len(token_server.token_requests()) == 2


def test_a_cached_token_the_server_no_longer_takes_is_replaced_once(
    oauth_account, token_server, connector
):
    config = account_config(oauth_account, token_server)
    connector.fetch(config, None)
    # The provider dropped the access token early (a session revoked), the refresh token lives.
    token_server.access_tokens.clear()

    result = connector.fetch(config, None)

    assert result.items == []
    assert len(token_server.token_requests()) == 2


def test_a_fresh_token_the_server_refuses_says_what_to_check(
    oauth_account, dovecot_oauth, token_server, connector
):
    # A token of another mailbox: dovecot's passdb sees the user differ and refuses.
    other = dovecot_oauth.add_user()
    config = oauth_config(
        oauth_account, token_server, token_server.issue_refresh_token(other.username)
    )

    with pytest.raises(ConnectorError) as raised:
        connector.fetch(config, None)

    assert raised.value.message == TOKEN_NOT_ACCEPTED.format(
        username=oauth_account.username,
        reason="[AUTHENTICATIONFAILED] Authentication failed.",
        scope="imap",
    )
    assert not raised.value.retryable
    assert len(token_server.token_requests()) == 1


def test_a_server_without_the_mechanism_is_named(imap_account, token_server, connector):
    # The password-only dovecot offers PLAIN and LOGIN, no XOAUTH2.
    config = account_config(imap_account, token_server)

    with pytest.raises(ConnectorError) as raised:
        connector.fetch(config, None)

    assert raised.value.message == SASL_MISSING.format(mechanism="XOAUTH2", other="oauthbearer")
    assert not raised.value.retryable


# --- the token endpoint's answers ---------------------------------------------------------


def test_a_revoked_refresh_token_is_an_error_that_waits_for_a_person(
    oauth_account, token_server, connector
):
    config = account_config(oauth_account, token_server)
    token_server.revoke(config["refresh_token"])

    with pytest.raises(ConnectorError) as raised:
        connector.fetch(config, None)

    assert (raised.value.message, raised.value.retryable) == (TOKEN_REVOKED, False)


def test_a_refused_client_secret_is_named(oauth_account, token_server, connector):
    config = account_config(oauth_account, token_server, client_secret="an old secret")

    with pytest.raises(ConnectorError) as raised:
        connector.fetch(config, None)

    assert (raised.value.message, raised.value.retryable) == (CLIENT_REFUSED, False)


@pytest.mark.parametrize(
    ("reply", "retry_after"),
    [
        (Reply.json({"error": "temporarily_unavailable"}, 429, **{"Retry-After": "120"}), 120),
        (Reply.json({"error": "server_error"}, 503, **{"Retry-After": "30"}), 30),
        (Reply(500, b"<html>Internal Server Error</html>"), None),
    ],
)
def test_a_busy_or_failing_token_endpoint_is_retried(
    oauth_account, token_server, connector, reply, retry_after
):
    config = account_config(oauth_account, token_server)
    token_server.web.queue("POST", "/token", reply)

    with pytest.raises(ConnectorError) as raised:
        connector.fetch(config, None)
    result = connector.fetch(config, None)

    assert raised.value.retryable
    assert raised.value.retry_after == retry_after
    assert result.items == []


def test_an_answer_without_an_access_token_is_retried(oauth_account, token_server, connector):
    config = account_config(oauth_account, token_server)
    token_server.web.queue("POST", "/token", Reply.json({"token_type": "Bearer"}))

    with pytest.raises(ConnectorError) as raised:
        connector.fetch(config, None)

    assert raised.value.retryable
    assert raised.value.message == TOKEN_ANSWER_INVALID.format(host="127.0.0.1")


def test_a_rotated_refresh_token_is_handed_back_until_stored(
    oauth_account, token_server, connector
):
    token_server.rotate = True
    config = account_config(oauth_account, token_server)

    first = connector.fetch(config, None)
    # The old refresh token is retired; until the config holds the new one, the cache does.
    again = connector.fetch(config, None)
    stored = {**config, **first.config_updates}
    after = connector.fetch(stored, None)

    rotated = first.config_updates["refresh_token"]
    assert rotated != config["refresh_token"]
    assert rotated in token_server.refresh_tokens
    assert again.config_updates == {"refresh_token": rotated}
    assert after.config_updates is None
    assert len(token_server.token_requests()) == 1


def test_a_fetch_that_fails_after_a_rotation_carries_the_new_refresh_token(
    oauth_account, token_server, connector
):
    token_server.rotate = True
    # The mail server is down: nothing listens on its port.
    port = _free_port()
    config = account_config(oauth_account, token_server, port=port)

    with pytest.raises(ConnectorError) as raised:
        connector.fetch(config, None)

    assert raised.value.message == CONNECT_FAILED.format(
        host=HOST, port=port, reason="connection refused"
    )
    rotated = raised.value.config_updates["refresh_token"]
    # The provider retired the configured token: the new one is all the channel has left.
    assert config["refresh_token"] not in token_server.refresh_tokens
    assert rotated in token_server.refresh_tokens


def test_a_move_that_fails_after_a_rotation_carries_the_new_refresh_token(
    oauth_account, token_server, connector, clock
):
    token_server.rotate = True
    oauth_account.append("INBOX", make_mail(message_id="moved@x.example"))
    config = account_config(oauth_account, token_server, move_to="Done")
    stored = {**config, **connector.fetch(config, None).config_updates}
    items = connector.fetch(stored, None).items
    # The access token runs out before the move, whose refresh rotates again; then the server
    # is gone.
    clock.now += 3600

    with pytest.raises(ConnectorError) as raised:
        connector.after_store({**stored, "port": _free_port()}, items)

    rotated = raised.value.config_updates["refresh_token"]
    assert rotated != stored["refresh_token"] and rotated in token_server.refresh_tokens
    assert stored["refresh_token"] not in token_server.refresh_tokens


def test_a_failure_without_a_rotation_carries_no_config_updates(
    oauth_account, token_server, connector
):
    config = account_config(oauth_account, token_server, port=_free_port())

    with pytest.raises(ConnectorError) as raised:
        connector.fetch(config, None)

    assert raised.value.config_updates is None
    assert len(token_server.token_requests()) == 1


# --- check ---------------------------------------------------------------------------------


def test_the_check_refreshes_a_token_and_logs_in(oauth_account, token_server, connector):
    oauth_account.append("INBOX", make_mail(message_id="checked@x.example"))
    config = account_config(oauth_account, token_server)

    result = connector.check(config)

    assert result.ok
    assert result.message == CHECK_OK.format(
        host=oauth_account.server.host,
        port=oauth_account.server.imap_port,
        folder="INBOX",
        messages="1 message",
    )


def test_the_check_says_when_the_refresh_token_was_revoked(oauth_account, token_server, connector):
    config = account_config(oauth_account, token_server)
    token_server.revoke(config["refresh_token"])

    result = connector.check(config)

    assert (result.ok, result.message) == (False, TOKEN_REVOKED)


# --- polls ---------------------------------------------------------------------------------


def oauth_channel(account: ImapAccount, server: TokenServer, team, **overrides) -> Channel:
    return services.channel_create(
        actor=SYSTEM,
        team=team,
        kind="imap",
        name=f"OAuth mailbox of {account.username}",
        config=account_config(account, server, **overrides),
    )


@pytest.mark.django_db
def test_a_poll_stores_mail_and_the_rotated_refresh_token_encrypted(
    oauth_account, token_server, registry_tokens, world
):
    team = world.team_a
    token_server.rotate = True
    channel = oauth_channel(oauth_account, token_server, team)
    pasted = channel.read_config()["refresh_token"]
    oauth_account.append("INBOX", make_mail(message_id="rotated@x.example"))

    report = poll(channel)

    channel.refresh_from_db()
    rotated = channel.read_config()["refresh_token"]
    assert (report.error, report.messages_created) == ("", 1)
    assert Message.objects.filter(team=team, external_id="rotated@x.example").exists()
    assert rotated != pasted and rotated in token_server.refresh_tokens
    assert rotated not in channel.config_encrypted

    # Another process (an empty cache) refreshes with the stored token: the pasted one is gone.
    registry_tokens.clear()
    oauth_account.append("INBOX", make_mail(message_id="later@x.example"))
    report = poll(channel)
    assert (report.error, report.messages_created) == ("", 1)

    channel.refresh_from_db()
    latest = channel.read_config()["refresh_token"]
    client = APIClient()
    client.force_authenticate(world.admin_a)
    body = client.get(reverse("api:feedback-channel-detail", args=[channel.pk])).json()
    assert "refresh_token" not in body["config"] and latest not in str(body)
    assert {"client_secret", "refresh_token"} <= set(body["secrets_set"])


@pytest.mark.django_db
def test_a_rotated_refresh_token_outlives_a_poll_that_fails_after_the_refresh(
    oauth_account, token_server, registry_tokens
):
    token_server.rotate = True
    oauth_account.append("INBOX", make_mail(message_id="after-outage@x.example"))
    # The mail server is down: its address accepts and closes at once, until it is back.
    with TcpProxy(HOST, _free_port()) as mail_server:
        channel = oauth_channel(oauth_account, token_server, TeamFactory(), port=mail_server.port)
        pasted = channel.read_config()["refresh_token"]

        failed = poll(channel)

        channel.refresh_from_db()
        rotated = channel.read_config()["refresh_token"]
        assert failed.error.startswith(f"the connection to {HOST}:{mail_server.port} was lost")
        assert (channel.healthy, channel.error_streak) == (True, 1)
        assert pasted not in token_server.refresh_tokens
        assert rotated != pasted and rotated in token_server.refresh_tokens
        assert rotated not in channel.config_encrypted

        # The server is back; the next poll runs in another process (an empty token cache).
        mail_server.target = (oauth_account.server.host, oauth_account.server.imap_port)
        registry_tokens.clear()
        report = poll(channel)

    channel.refresh_from_db()
    assert (report.error, report.messages_created) == ("", 1)
    assert (channel.healthy, channel.error_streak) == (True, 0)
    assert [request.form()["refresh_token"] for request in token_server.token_requests()] == [
        pasted,
        rotated,
    ]
    assert channel.read_config()["refresh_token"] in token_server.refresh_tokens


@pytest.mark.django_db
def test_a_poll_that_lost_its_lease_still_stores_the_rotated_refresh_token(
    oauth_account, token_server, registry_tokens
):
    token_server.rotate = True
    oauth_account.append("INBOX", make_mail(message_id="taken-over@x.example"))
    channel = oauth_channel(oauth_account, token_server, TeamFactory())
    pasted = channel.read_config()["refresh_token"]

    def taken_over(point: str) -> None:
        if point == "fetched":
            Channel.objects.filter(pk=channel.pk).update(lease_owner="someone else")

    report = poll(channel, pause=taken_over)

    channel.refresh_from_db()
    rotated = channel.read_config()["refresh_token"]
    assert report.error == LEASE_LOST
    assert rotated != pasted and rotated in token_server.refresh_tokens
    # The new holder, another process, refreshes with it.
    Channel.objects.filter(pk=channel.pk).update(lease_owner="", lease_expires_at=None)
    registry_tokens.clear()
    assert poll(channel).error == ""


@pytest.mark.django_db
def test_an_admins_new_refresh_token_wins_over_a_rotation_in_flight(
    oauth_account, token_server, registry_tokens
):
    team = TeamFactory()
    token_server.rotate = True
    channel = oauth_channel(oauth_account, token_server, team)
    pasted_again = token_server.issue_refresh_token(oauth_account.username)
    original = Channel.objects.get(pk=channel.pk)

    # The admin saves a new token while a poll that read the old config is under way.
    services.channel_update(actor=SYSTEM, channel=channel, config={"refresh_token": pasted_again})
    result = CONNECTORS["imap"].fetch(original.read_config(), None)
    payloads_store(channel=original, result=result, queue_parse=False)

    channel.refresh_from_db()
    assert result.config_updates is not None
    assert channel.read_config()["refresh_token"] == pasted_again


@pytest.mark.django_db
def test_a_revoked_refresh_token_makes_the_channel_unhealthy_at_once(
    oauth_account, token_server, registry_tokens, clock
):
    channel = oauth_channel(oauth_account, token_server, TeamFactory())
    assert poll(channel).error == ""
    token_server.revoke(channel.read_config()["refresh_token"])

    # The cached access token was revoked with it: dovecot refuses it, the refresh fails.
    report = poll(channel)

    channel.refresh_from_db()
    assert report.error == TOKEN_REVOKED
    assert (channel.healthy, channel.last_error, channel.error_streak) == (
        False,
        TOKEN_REVOKED,
        1,
    )


@pytest.mark.django_db
def test_a_check_stores_a_rotated_refresh_token_as_a_poll_does(
    oauth_account, token_server, registry_tokens
):
    token_server.rotate = True
    channel = oauth_channel(oauth_account, token_server, TeamFactory())
    pasted = channel.read_config()["refresh_token"]

    result = services.channel_check(actor=SYSTEM, channel=channel)

    channel.refresh_from_db()
    rotated = channel.read_config()["refresh_token"]
    assert result.ok, result.message
    assert rotated != pasted and rotated in token_server.refresh_tokens
    # A worker (another process) polls with what the check stored.
    registry_tokens.clear()
    assert poll(channel).error == ""


@pytest.mark.django_db
def test_a_check_that_fails_after_the_refresh_stores_the_rotated_refresh_token_too(
    oauth_account, token_server, registry_tokens
):
    token_server.rotate = True
    port = _free_port()
    channel = oauth_channel(oauth_account, token_server, TeamFactory(), port=port)
    pasted = channel.read_config()["refresh_token"]

    result = services.channel_check(actor=SYSTEM, channel=channel)

    channel.refresh_from_db()
    rotated = channel.read_config()["refresh_token"]
    assert (result.ok, result.message) == (
        False,
        CONNECT_FAILED.format(host=HOST, port=port, reason="connection refused"),
    )
    assert rotated != pasted and rotated in token_server.refresh_tokens
