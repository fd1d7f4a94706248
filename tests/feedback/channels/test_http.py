"""The connectors' HTTP helper (feedback.channels.http) and redirects, against two local
servers: a request carrying credentials (an API key header, a token's POST body) never goes to
another host, whatever the remote answers; one without them follows a moved feed anywhere.
Network failures are said in words, tried against real local ones."""

import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from feedback.channels import ConnectorError
from feedback.channels.http import (
    CONNECTION_REFUSED,
    MAX_REDIRECTS,
    NO_SUCH_HOST,
    RATE_LIMITED_NO_WAIT,
    REDIRECTED_ELSEWHERE,
    TOO_MANY_REDIRECTS,
    UNREACHABLE,
    get,
    request,
)
from tests.feedback.fakeweb import FakeWeb, Reply


@pytest.fixture
def elsewhere() -> Iterator[FakeWeb]:
    """Another host: the same machine, reached by another name."""
    with FakeWeb().running() as web:
        yield web


def _moved(to: str, status: int = 301) -> Reply:
    return Reply(status, b"", {"Location": to})


def _other_url(web: FakeWeb, path: str) -> str:
    return web.url.replace("127.0.0.1", "localhost") + path


def test_an_api_key_is_never_sent_to_another_host(fake_web, elsewhere):
    fake_web.route("GET", "/posts.json", _moved(_other_url(elsewhere, "/posts.json")))
    elsewhere.route("GET", "/posts.json", Reply.json({"latest_posts": []}))

    with pytest.raises(ConnectorError) as refused:
        get(f"{fake_web.url}/posts.json", headers={"Api-Key": "SECRET", "Api-Username": "p"})

    assert str(refused.value) == REDIRECTED_ELSEWHERE.format(host="127.0.0.1", target="localhost")
    assert not refused.value.retryable
    assert elsewhere.requests == []


@pytest.mark.parametrize("status", [302, 307, 308])
def test_a_token_requests_body_is_never_posted_to_another_host(fake_web, elsewhere, status):
    fake_web.route("POST", "/token", _moved(_other_url(elsewhere, "/token"), status))

    with pytest.raises(ConnectorError):
        request("POST", f"{fake_web.url}/token", data={"refresh_token": "R1", "client_secret": "s"})

    assert elsewhere.requests == []


def test_a_feed_without_credentials_follows_its_move_to_another_host(fake_web, elsewhere):
    fake_web.route("GET", "/feed.xml", _moved(_other_url(elsewhere, "/new.xml")))
    elsewhere.route("GET", "/new.xml", Reply(200, b"<rss/>", {"ETag": '"v1"'}))

    answer = get(f"{fake_web.url}/feed.xml", headers={"If-None-Match": '"v0"'})

    assert (answer.status, answer.body) == (200, b"<rss/>")
    assert answer.url == _other_url(elsewhere, "/new.xml")
    assert elsewhere.requests[0].headers["If-None-Match"] == '"v0"'


def test_credentials_follow_a_redirect_on_the_same_host(fake_web):
    fake_web.route("GET", "/old/posts.json", _moved("/new/posts.json"))
    fake_web.route("GET", "/new/posts.json", Reply.json({"latest_posts": []}))

    answer = get(f"{fake_web.url}/old/posts.json", headers={"Api-Key": "SECRET"})

    assert answer.body == b'{"latest_posts": []}'
    assert fake_web.requests_to("/new/posts.json")[0].headers["Api-Key"] == "SECRET"


def test_a_post_answered_with_see_other_is_read_with_a_get(fake_web):
    fake_web.route("POST", "/token", _moved("/done", 303))
    fake_web.route("GET", "/done", Reply.json({"ok": True}))

    answer = request("POST", f"{fake_web.url}/token", data={"code": "x"})

    assert answer.body == b'{"ok": true}'
    assert fake_web.requests_to("/done")[0].body == b""


def test_a_429_says_how_long_the_remote_asked_to_wait_without_promising_a_retry(fake_web):
    fake_web.route("GET", "/posts.json", Reply(429, b"", {"Retry-After": "30"}))

    with pytest.raises(ConnectorError) as refused:
        get(f"{fake_web.url}/posts.json")

    # The poll may wait longer (its backoff) and a check tries nothing again: no promise.
    assert refused.value.message == (
        "127.0.0.1 asks us to slow down (HTTP 429) and to wait 30 seconds"
    )
    assert (refused.value.retryable, refused.value.retry_after) == (True, 30)


def test_a_503_without_retry_after_names_no_wait(fake_web):
    fake_web.route("GET", "/posts.json", Reply(503, b"down for maintenance"))

    with pytest.raises(ConnectorError) as refused:
        get(f"{fake_web.url}/posts.json")

    assert refused.value.message == RATE_LIMITED_NO_WAIT.format(host="127.0.0.1", status=503)
    assert refused.value.message == "127.0.0.1 asks us to slow down (HTTP 503)"
    assert (refused.value.retryable, refused.value.retry_after) == (True, None)


def test_a_redirect_loop_ends_with_a_message(fake_web):
    fake_web.route("GET", "/loop", _moved("/loop"))

    with pytest.raises(ConnectorError) as refused:
        get(f"{fake_web.url}/loop")

    assert str(refused.value) == TOO_MANY_REDIRECTS.format(host="127.0.0.1", limit=MAX_REDIRECTS)
    assert len(fake_web.requests_to("/loop")) == MAX_REDIRECTS + 1


# Each rule takes its own path: with a filter, requests-hardened resolves the name itself;
# without one, urllib3 does.
RULES = ["public", "local", "any"]


@pytest.mark.parametrize("rule", RULES)
def test_a_name_that_does_not_exist_is_said_to_be_no_such_host(settings, monkeypatch, rule):
    # RFC 6761: a name under .invalid never resolves. The resolver's answer is given here, so
    # that a machine without a reachable DNS server (which answers "try again") gets it too.
    settings.PORTAL_CHANNEL_NETWORKS = rule
    resolve = socket.getaddrinfo

    def no_such_name(host, *args, **kwargs):
        if host == "nonexistent.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)

    with pytest.raises(ConnectorError) as failed:
        get("https://nonexistent.invalid/feed.xml")

    assert str(failed.value) == NO_SUCH_HOST.format(host="nonexistent.invalid")
    assert failed.value.retryable


@pytest.mark.parametrize("rule", ["local", "any"])
def test_a_closed_port_is_said_to_have_nothing_answering(settings, rule):
    settings.PORTAL_CHANNEL_NETWORKS = rule
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]

    with pytest.raises(ConnectorError) as failed:
        get(f"http://127.0.0.1:{port}/feed.xml")

    assert str(failed.value) == CONNECTION_REFUSED.format(host="127.0.0.1", port=port)
    assert failed.value.retryable


@pytest.fixture
def resetting_port() -> Iterator[int]:
    """A loopback port whose server resets the one connection it takes once the request
    arrives."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def reset_one() -> None:
        with listener.accept()[0] as connection:
            # Lingering for 0 seconds makes close() send a reset instead of a goodbye.
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.recv(1024)

    thread = threading.Thread(target=reset_one, daemon=True)
    thread.start()
    with listener:
        yield listener.getsockname()[1]
        thread.join(timeout=10)


def test_a_reset_connection_is_said_in_a_few_words(resetting_port):
    with pytest.raises(ConnectorError) as failed:
        get(f"http://127.0.0.1:{resetting_port}/feed.xml")

    assert str(failed.value) == UNREACHABLE.format(
        host="127.0.0.1", reason="Connection reset by peer"
    )
    assert failed.value.retryable
