"""The IMAP connector against a real dovecot (``tests/feedback/dovecot.py``), with faults
injected by the TCP proxy (``tests/support/tcp_proxy.py``)."""

import time

import pytest

from feedback.channels.base import ConnectorError
from feedback.channels.imap import ImapConnector
from feedback.channels.imap.connector import (
    AUTHENTICATION_FAILED,
    CERTIFICATE_UNTRUSTED,
    CHECK_OK,
    CONNECT_FAILED,
    FOLDER_MISSING,
    SERVER_REJECTED,
    STARTTLS_MISSING,
    TIMED_OUT,
    TLS_NOT_SPOKEN,
)
from tests.feedback.dovecot import HOST, ImapAccount, _free_port
from tests.support.tcp_proxy import TcpProxy

CONNECTOR = ImapConnector()
SELF_SIGNED = CERTIFICATE_UNTRUSTED.format(reason="self-signed certificate")


def mail(number: int, *, padding: int = 0) -> bytes:
    return (
        (
            f"From: customer{number}@example.com\r\n"
            f"To: support@example.test\r\n"
            f"Subject: Question {number}\r\n"
            f"Message-ID: <question-{number}@example.com>\r\n"
            f"\r\n"
            f"Question number {number}.\r\n"
        ).encode()
        + b"x" * padding
        + b"\r\n"
    )


def fetch_all(config: dict, cursor=None, **kwargs) -> tuple[list, dict, int]:
    """Fetch until nothing more; (items, final cursor, number of fetches)."""
    items, fetches = [], 0
    while True:
        result = CONNECTOR.fetch(config, cursor, **kwargs)
        fetches += 1
        items += result.items
        cursor = result.cursor
        if not result.more:
            return items, cursor, fetches


@pytest.fixture
def proxy(dovecot):
    with TcpProxy(HOST, dovecot.imap_port, max_lifetime=60) as running:
        yield running


def through(proxy: TcpProxy, account: ImapAccount, **overrides) -> dict:
    """The account's config, connecting through the proxy."""
    return account.config(port=proxy.port, **overrides)


# --- fetching -------------------------------------------------------------------------------


def test_fetch_returns_mail_after_the_cursor_in_batches(imap_account):
    uids = imap_account.append_many("INBOX", [mail(n) for n in range(1, 6)])
    config = imap_account.config()

    first = CONNECTOR.fetch(config, None, limit=2)
    second = CONNECTOR.fetch(config, first.cursor, limit=2)
    third = CONNECTOR.fetch(config, second.cursor, limit=2)

    assert [(len(r.items), r.more) for r in (first, second, third)] == [
        (2, True),
        (2, True),
        (1, False),
    ]
    fetched = first.items + second.items + third.items
    validity = imap_account.uidvalidity("INBOX")
    assert [item.source_id for item in fetched] == [f"{validity}:{uid}" for uid in uids]
    assert [item.raw for item in fetched] == [mail(n) for n in range(1, 6)]
    assert all(item.received_at.utcoffset().total_seconds() == 0 for item in fetched)
    assert third.cursor == {"folder": "INBOX", "uidvalidity": validity, "last_uid": uids[-1]}


def test_a_second_fetch_with_the_returned_cursor_returns_nothing(imap_account):
    imap_account.append_many("INBOX", [mail(1), mail(2)])
    config = imap_account.config()
    result = CONNECTOR.fetch(config, None)

    again = CONNECTOR.fetch(config, result.cursor)

    assert (again.items, again.cursor, again.more) == ([], result.cursor, False)


def test_only_mail_arriving_after_the_cursor_is_fetched(imap_account):
    imap_account.append("INBOX", mail(1))
    config = imap_account.config()
    cursor = CONNECTOR.fetch(config, None).cursor
    imap_account.append("INBOX", mail(2))

    result = CONNECTOR.fetch(config, cursor)

    assert [item.raw for item in result.items] == [mail(2)]


def test_an_empty_folder_gives_an_empty_result_and_a_cursor(imap_account):
    result = CONNECTOR.fetch(imap_account.config(), None)

    assert (result.items, result.more) == ([], False)
    assert result.cursor["last_uid"] == 0


def test_batches_respect_max_bytes_and_a_large_message_comes_alone(imap_account):
    large = mail(2, padding=300_000)
    imap_account.append_many("INBOX", [mail(1), large, mail(3), mail(4)])
    config = imap_account.config()

    batches = []
    cursor = None
    while True:
        result = CONNECTOR.fetch(config, cursor, max_bytes=100_000)
        batches.append([item.raw for item in result.items])
        cursor = result.cursor
        if not result.more:
            break

    assert batches == [[mail(1)], [large], [mail(3), mail(4)]]


def test_fetching_marks_nothing_seen_and_deletes_nothing(imap_account):
    imap_account.append_many("INBOX", [mail(1), mail(2)])
    before = imap_account.flags("INBOX")

    fetch_all(imap_account.config())

    assert imap_account.flags("INBOX") == before
    assert all(b"\\Seen" not in flags for flags in before.values())


def test_a_uidvalidity_change_starts_again_from_the_first_message(imap_account):
    imap_account.append_many("Support", [mail(1), mail(2)])
    config = imap_account.config(folder="Support")
    _, cursor, _ = fetch_all(config)
    old_validity = cursor["uidvalidity"]
    imap_account.delete_folder("Support")
    imap_account.append_many("Support", [mail(1), mail(2), mail(3)])

    items, new_cursor, _ = fetch_all(config, cursor)

    new_validity = imap_account.uidvalidity("Support")
    assert new_validity != old_validity
    assert [item.raw for item in items] == [mail(1), mail(2), mail(3)]
    assert [item.source_id.split(":")[0] for item in items] == [str(new_validity)] * 3
    assert new_cursor == {"folder": "Support", "uidvalidity": new_validity, "last_uid": 3}


def test_fetch_with_a_wrong_password_is_not_retryable(imap_account):
    with pytest.raises(ConnectorError) as raised:
        CONNECTOR.fetch(imap_account.config(password="wrong"), None)

    assert raised.value.message == AUTHENTICATION_FAILED
    assert not raised.value.retryable


def test_fetch_from_a_missing_folder_is_not_retryable(imap_account):
    with pytest.raises(ConnectorError) as raised:
        CONNECTOR.fetch(imap_account.config(folder="INBOX.Support"), None)

    assert raised.value.message == FOLDER_MISSING.format(folder="INBOX.Support")
    assert not raised.value.retryable


# --- moving stored mail ---------------------------------------------------------------------


def test_after_store_moves_only_the_fetched_mail(imap_account):
    imap_account.append_many("INBOX", [mail(1), mail(2), mail(3)])
    imap_account.create_folder("Done")
    config = imap_account.config(move_to="Done")
    result = CONNECTOR.fetch(config, None, limit=2)
    imap_account.append("INBOX", mail(4))

    CONNECTOR.after_store(config, result.items)

    assert len(imap_account.uids("Done")) == 2
    assert len(imap_account.uids("INBOX")) == 2
    remaining, _, _ = fetch_all(imap_account.config(), None)
    assert [item.raw for item in remaining] == [mail(3), mail(4)]


def test_after_store_twice_moves_nothing_more(imap_account):
    imap_account.append_many("INBOX", [mail(1), mail(2)])
    imap_account.create_folder("Done")
    config = imap_account.config(move_to="Done")
    result = CONNECTOR.fetch(config, None, limit=1)

    CONNECTOR.after_store(config, result.items)
    CONNECTOR.after_store(config, result.items)

    assert (len(imap_account.uids("INBOX")), len(imap_account.uids("Done"))) == (1, 1)


def test_after_store_without_move_to_does_not_even_connect(imap_account):
    imap_account.append("INBOX", mail(1))
    result = CONNECTOR.fetch(imap_account.config(), None)
    nowhere = imap_account.config(port=_free_port())

    CONNECTOR.after_store(nowhere, result.items)

    assert len(imap_account.uids("INBOX")) == 1


def test_after_store_to_a_missing_folder_says_so(imap_account):
    imap_account.append("INBOX", mail(1))
    config = imap_account.config(move_to="Archive")
    result = CONNECTOR.fetch(config, None)

    with pytest.raises(ConnectorError) as raised:
        CONNECTOR.after_store(config, result.items)

    assert raised.value.message == FOLDER_MISSING.format(folder="Archive")
    assert len(imap_account.uids("INBOX")) == 1


def test_without_move_copy_delete_and_uid_expunge_touch_only_our_mail(imap_account, proxy):
    imap_account.append_many("INBOX", [mail(1), mail(2)])
    # Someone else's mail, already marked \Deleted in the mailbox: it must survive.
    theirs = imap_account.append("INBOX", mail(3), flags=("\\Deleted",))
    imap_account.create_folder("Done")
    config = through(proxy, imap_account, move_to="Done")
    result = CONNECTOR.fetch(config, None, limit=2)
    # Hide MOVE from the capability lists, as a server without RFC 6851 would.
    proxy.rewrite_line(rb"^(.*CAPABILITY[^\r\n]*?) MOVE\b", rb"\1")

    CONNECTOR.after_store(config, result.items)

    assert proxy.triggered.is_set()
    assert imap_account.uids("INBOX") == [theirs]
    assert len(imap_account.uids("Done")) == 2


# --- check ----------------------------------------------------------------------------------


def test_check_counts_one_message_in_the_singular(imap_account):
    imap_account.append("INBOX", mail(1))

    assert CONNECTOR.check(imap_account.config()).message.endswith("holds 1 message")


def test_check_reports_a_working_mailbox(imap_account):
    imap_account.append_many("INBOX", [mail(1), mail(2)])

    result = CONNECTOR.check(imap_account.config())

    assert result.ok
    assert result.message == CHECK_OK.format(
        host=HOST, port=imap_account.server.imap_port, folder="INBOX", messages="2 messages"
    )


def test_check_reports_a_wrong_password(imap_account):
    result = CONNECTOR.check(imap_account.config(password="wrong"))

    assert (result.ok, result.message) == (False, AUTHENTICATION_FAILED)


def test_check_reports_a_missing_folder(imap_account):
    result = CONNECTOR.check(imap_account.config(folder="INBOX.Support"))

    assert (result.ok, result.message) == (False, "folder INBOX.Support does not exist")
    assert result.message == FOLDER_MISSING.format(folder="INBOX.Support")


def test_check_reports_a_missing_move_to_folder(imap_account):
    result = CONNECTOR.check(imap_account.config(move_to="Done"))

    assert (result.ok, result.message) == (False, FOLDER_MISSING.format(folder="Done"))


def test_check_reports_a_refused_connection(imap_account):
    port = _free_port()

    result = CONNECTOR.check(imap_account.config(port=port))

    assert not result.ok
    refused = CONNECT_FAILED.format(host=HOST, port=port, reason="connection refused")
    assert result.message == refused
    assert result.message == f"could not connect to 127.0.0.1:{port} (connection refused)"


def test_check_reports_a_config_error_without_connecting(imap_account):
    result = CONNECTOR.check(imap_account.config(port="nope"))

    assert not result.ok
    assert "port" in result.message


# --- TLS ------------------------------------------------------------------------------------


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_tls_works_with_the_private_ca(imap_account, security):
    imap_account.append("INBOX", mail(1))
    config = imap_account.config(security=security)

    assert CONNECTOR.check(config).ok
    assert [item.raw for item in CONNECTOR.fetch(config, None).items] == [mail(1)]


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_an_untrusted_certificate_is_refused_when_verifying(imap_account, security):
    config = imap_account.config(security=security, ca_certificate=None)

    result = CONNECTOR.check(config)
    with pytest.raises(ConnectorError) as raised:
        CONNECTOR.fetch(config, None)

    assert (result.ok, result.message) == (False, SELF_SIGNED)
    assert raised.value.message == SELF_SIGNED
    assert not raised.value.retryable


def test_tls_to_a_plaintext_port_suggests_starttls(imap_account):
    port = imap_account.server.imap_port

    result = CONNECTOR.check(imap_account.config(security="tls", port=port))

    assert (result.ok, result.message) == (False, TLS_NOT_SPOKEN.format(host=HOST, port=port))


def test_verification_can_be_turned_off(imap_account):
    config = imap_account.config(security="tls", ca_certificate=None, verify_certificate=False)

    assert CONNECTOR.check(config).ok


def test_starttls_is_required_when_asked_for(imap_account, proxy):
    # A man in the middle strips STARTTLS from the greeting's capabilities.
    proxy.rewrite_line(rb" STARTTLS\b", b"")

    result = CONNECTOR.check(through(proxy, imap_account, security="starttls"))

    assert proxy.triggered.is_set()
    assert (result.ok, result.message) == (False, STARTTLS_MISSING)


# --- faults ---------------------------------------------------------------------------------


def test_a_connection_dropped_mid_fetch_is_retryable_and_loses_nothing(imap_account, proxy):
    imap_account.append_many("INBOX", [mail(1, padding=5000), mail(2, padding=5000)])
    config = through(proxy, imap_account)
    proxy.drop_after(2000, marker=b"BODY[] {")

    with pytest.raises(ConnectorError) as raised:
        CONNECTOR.fetch(config, None)

    assert proxy.triggered.is_set()
    assert raised.value.retryable
    proxy.clear()
    result = CONNECTOR.fetch(config, None)
    assert [item.raw for item in result.items] == [mail(1, padding=5000), mail(2, padding=5000)]


def test_a_stalled_server_times_out_within_the_timeout(imap_account, proxy):
    imap_account.append("INBOX", mail(1, padding=5000))
    config = through(proxy, imap_account, timeout=1)
    proxy.stall_after(100, marker=b"BODY[] {")

    started = time.monotonic()
    with pytest.raises(ConnectorError) as raised:
        CONNECTOR.fetch(config, None)
    elapsed = time.monotonic() - started

    assert proxy.triggered.is_set()
    assert raised.value.message == TIMED_OUT.format(timeout=1)
    assert raised.value.message == "timed out after 1 s"
    assert raised.value.retryable
    assert elapsed < 3


def test_a_server_that_never_greets_times_out_in_check(imap_account, proxy):
    proxy.stall_after(0)

    result = CONNECTOR.check(through(proxy, imap_account, timeout=1))

    assert (result.ok, result.message) == (False, TIMED_OUT.format(timeout=1))


def test_a_bad_response_is_a_retryable_error(imap_account, proxy):
    imap_account.append("INBOX", mail(1))
    config = through(proxy, imap_account)
    proxy.rewrite_line(rb"^(\w+) OK Fetch completed[^\r\n]*", rb"\1 BAD Injected fault")

    with pytest.raises(ConnectorError) as raised:
        CONNECTOR.fetch(config, None)

    assert proxy.triggered.is_set()
    assert raised.value.retryable
    assert raised.value.message == SERVER_REJECTED.format(
        reason="FETCH command error: BAD Injected fault"
    )
