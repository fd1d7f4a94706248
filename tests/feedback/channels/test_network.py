"""Which addresses the connectors reach (feedback.channels.network, PORTAL_CHANNEL_NETWORKS): a
channel's address cannot read the portal's own network into the inbox. Refused when saved for
an address typed as an IP or ``localhost``, and when connecting for a name that resolves to
one, a redirect's target included; nothing is sent there."""

import ssl
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from feedback.channels import ConnectorError, network
from feedback.channels.base import ConfigError
from feedback.channels.http import CERTIFICATE_UNVERIFIED, get
from feedback.channels.imap.config import ImapSettings, parse_config
from feedback.channels.imap.connector import open_session
from feedback.models import Channel
from tests.feedback.channels.test_social_setup import DISCOURSE_KEYS, MASTODON_KEYS, api_create
from tests.feedback.dovecot import make_certificate
from tests.feedback.fakeweb import Reply


@pytest.mark.parametrize(
    ("address", "public", "local"),
    [
        ("127.0.0.1", "loopback", None),
        ("::1", "loopback", None),
        ("10.1.2.3", "private network", "private network"),
        ("172.16.0.9", "private network", "private network"),
        ("192.168.1.20", "private network", "private network"),
        # The cloud metadata service.
        ("169.254.169.254", "private network", "private network"),
        ("100.64.0.1", "private network", "private network"),
        ("0.0.0.0", "private network", "private network"),
        ("224.0.0.251", "private network", "private network"),
        ("fd12:3456::1", "private network", "private network"),
        ("::ffff:10.0.0.1", "private network", "private network"),
        ("93.184.215.14", None, None),
        ("2606:4700:4700::1111", None, None),
    ],
)
def test_each_rule_refuses_what_it_says(settings, address, public, local):
    for rule, expected in (("public", public), ("local", local), ("any", None)):
        settings.PORTAL_CHANNEL_NETWORKS = rule
        assert network.refusal(address) == expected, rule


KEYS = {"discourse": DISCOURSE_KEYS, "mastodon": MASTODON_KEYS}


@pytest.mark.parametrize(
    ("kind", "url", "host", "refused_as"),
    [
        ("discourse", "https://10.0.0.7", "10.0.0.7", "private network"),
        ("mastodon", "https://169.254.169.254/x", "169.254.169.254", "private network"),
        ("discourse", "https://[fd00::5]", "fd00::5", "private network"),
        ("mastodon", "http://localhost:8080", "localhost", "loopback"),
    ],
)
def test_an_address_typed_as_a_refused_ip_is_a_400_naming_the_field(
    settings, world, kind, url, host, refused_as
):
    settings.PORTAL_CHANNEL_NETWORKS = "public"

    response = api_create(world.admin_a, world.team_a, kind, {"base_url": url, **KEYS[kind]})

    assert response.status_code == 400
    assert response.json() == {"config": [network.refused_message(host, refused_as)]}
    assert "PORTAL_CHANNEL_NETWORKS=public" in response.json()["config"][0]
    assert not Channel.objects.exists()


def test_a_feed_address_typed_as_a_refused_ip_is_a_400(settings, world):
    settings.PORTAL_CHANNEL_NETWORKS = "public"

    response = api_create(
        world.admin_a, world.team_a, "feed", {"url": "https://192.168.1.20/feed.xml"}
    )

    assert response.status_code == 400
    assert response.json() == {
        "config": [network.refused_message("192.168.1.20", "private network")]
    }


def test_the_operator_may_allow_private_networks(settings, world):
    settings.PORTAL_CHANNEL_NETWORKS = "any"
    config = {"base_url": "https://10.0.0.7", **DISCOURSE_KEYS}

    assert api_create(world.admin_a, world.team_a, "discourse", config).status_code == 201


def test_imap_host_and_token_endpoint_are_checked_when_saved(settings):
    settings.PORTAL_CHANNEL_NETWORKS = "public"
    base = {"username": "support@example.com", "password": "secret"}

    with pytest.raises(ConfigError) as host:
        parse_config({**base, "host": "192.168.0.10"})
    with pytest.raises(ConfigError) as token:
        parse_config(
            {
                "host": "imap.example.com",
                "username": "support@example.com",
                "auth": "oauth2",
                "provider": "custom",
                "token_url": "https://169.254.169.254/token",
                "client_id": "c",
                "client_secret": "s",
                "refresh_token": "r",
            }
        )

    assert (host.value.field, str(host.value)) == (
        "host",
        network.refused_message("192.168.0.10", "private network"),
    )
    assert token.value.field == "token_url"
    assert str(token.value) == network.refused_message("169.254.169.254", "private network")


def test_a_name_that_resolves_to_a_refused_address_is_not_connected_to(settings, fake_web):
    settings.PORTAL_CHANNEL_NETWORKS = "public"
    fake_web.route("GET", "/feed.xml", Reply(200, b"<rss/>"))
    by_name = fake_web.url.replace("127.0.0.1", "localhost") + "/feed.xml"

    with pytest.raises(ConnectorError) as refused:
        get(by_name)

    assert "localhost resolves to " in str(refused.value)
    assert "a loopback address" in str(refused.value)
    assert not refused.value.retryable
    assert fake_web.requests == []


def test_a_redirect_to_a_refused_address_is_not_followed(settings, fake_web):
    # Loopback allowed (the local server), private networks not: the hop to one is refused
    # before anything is sent.
    settings.PORTAL_CHANNEL_NETWORKS = "local"
    fake_web.route("GET", "/feed.xml", Reply(302, b"", {"Location": "http://10.255.0.1/admin"}))

    with pytest.raises(ConnectorError) as refused:
        get(f"{fake_web.url}/feed.xml")

    assert str(refused.value) == network.refused_message(
        "10.255.0.1", "private network", address="10.255.0.1"
    )
    assert not refused.value.retryable
    assert len(fake_web.requests) == 1


def test_the_local_rule_reaches_loopback(settings, fake_web):
    settings.PORTAL_CHANNEL_NETWORKS = "local"
    fake_web.route("GET", "/feed.xml", Reply(200, b"<rss/>"))

    assert get(f"{fake_web.url}/feed.xml").body == b"<rss/>"


def test_an_imap_server_at_a_refused_address_is_not_connected_to(settings):
    # Saved while the rule allowed it (or resolved elsewhere then): checked again on connecting.
    imap = replace(_imap_settings(), host="localhost")
    settings.PORTAL_CHANNEL_NETWORKS = "public"

    with pytest.raises(ConnectorError) as refused:
        open_session(imap)

    assert "localhost resolves to " in str(refused.value)
    assert not refused.value.retryable


def _imap_settings() -> ImapSettings:
    return parse_config(
        {"host": "imap.example.com", "username": "support@example.com", "password": "secret"}
    )


@pytest.fixture
def https_server(tmp_path) -> Iterator[tuple[str, object]]:
    """An https server on loopback with a certificate for localhost."""

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:
            return None

    certificate, key = make_certificate(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://localhost:{server.server_address[1]}", certificate
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_https_is_verified_against_the_name_while_connecting_to_the_checked_address(
    settings, monkeypatch, https_server
):
    # The session connects to the address it checked (127.0.0.1) and still verifies the
    # certificate for the name in the URL, as every https channel needs.
    url, certificate = https_server
    settings.PORTAL_CHANNEL_NETWORKS = "local"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate))

    assert get(f"{url}/feed.xml").body == b"ok"

    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    with pytest.raises(ConnectorError) as unverified:
        get(f"{url}/feed.xml")
    assert str(unverified.value) == CERTIFICATE_UNVERIFIED.format(
        host="localhost", reason="self-signed certificate"
    )
