"""The fault proxy on its own, in front of a tiny scripted server (no dovecot needed)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from tests.support.tcp_proxy import TcpProxy

WAIT = 5  # seconds; only ever reached when something is broken


class ScriptedServer:
    """Accepts connections and runs ``script(conn)`` for each, in a thread."""

    def __init__(self, script: Callable[[socket.socket], None]) -> None:
        self.script = script
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            self.script(conn)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[socket.socket], None]], TcpProxy]]:
    started: list[tuple[ScriptedServer, TcpProxy]] = []

    def start(script: Callable[[socket.socket], None], **proxy_options) -> TcpProxy:
        server = ScriptedServer(script)
        proxy = TcpProxy("127.0.0.1", server.port, **proxy_options).start()
        started.append((server, proxy))
        return proxy

    yield start
    for server, proxy in started:
        proxy.stop()
        server.close()


def connect(proxy: TcpProxy) -> socket.socket:
    return socket.create_connection((proxy.host, proxy.port), timeout=WAIT)


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def echo(conn: socket.socket) -> None:
    while data := conn.recv(65536):
        conn.sendall(data)


def test_data_passes_both_ways_untouched(serve):
    proxy = serve(echo)

    with connect(proxy) as client:
        client.sendall(b"hello\r\n" * 1000)
        assert read_exactly(client, 7000) == b"hello\r\n" * 1000

    assert proxy.accepted == 1
    assert not proxy.triggered.is_set()


def test_drop_after_forwards_exactly_that_many_bytes_then_closes(serve):
    proxy = serve(lambda conn: conn.sendall(b"x" * 10_000))
    proxy.drop_after(1234)

    with connect(proxy) as client:
        received = read_all(client)

    assert received == b"x" * 1234
    assert proxy.triggered.is_set()


def test_drop_after_a_marker_split_across_reads(serve):
    first_part_read = threading.Event()

    def script(conn: socket.socket) -> None:
        conn.sendall(b"* greeting MAR")
        first_part_read.wait(WAIT)
        conn.sendall(b"KER" + b"y" * 100)
        conn.recv(1)

    proxy = serve(script)
    proxy.drop_after(4, marker=b"MARKER")

    with connect(proxy) as client:
        head = read_exactly(client, 14)
        first_part_read.set()
        rest = read_all(client)

    assert head == b"* greeting MAR"
    assert rest == b"KERyyyy"
    assert proxy.triggered.is_set()


def test_stall_holds_the_data_back_but_keeps_the_connection_open(serve):
    proxy = serve(lambda conn: (conn.sendall(b"12345" + b"z" * 100), conn.recv(1)))
    proxy.stall_after(5)

    with connect(proxy) as client:
        assert read_exactly(client, 5) == b"12345"
        assert proxy.triggered.wait(WAIT)
        client.settimeout(0.2)
        with pytest.raises(TimeoutError):
            client.recv(1)
        # Stopping the proxy ends the stalled connection.
        proxy.stop()
        client.settimeout(WAIT)
        assert client.recv(1) == b""


def test_rewrite_line_changes_only_matching_lines(serve):
    proxy = serve(lambda conn: conn.sendall(b"* OK hi\r\nA1 OK done\r\nA2 OK other\r\n"))
    proxy.rewrite_line(rb"^A1 OK", b"A1 BAD")

    with connect(proxy) as client:
        received = read_all(client)

    assert received == b"* OK hi\r\nA1 BAD done\r\nA2 OK other\r\n"
    assert proxy.triggered.is_set()


def test_rewrite_passes_a_last_line_without_newline_unchanged(serve):
    proxy = serve(lambda conn: conn.sendall(b"A1 OK done\r\nA1 OK tail"))
    proxy.rewrite_line(rb"^A1 OK", b"A1 NO")

    with connect(proxy) as client:
        received = read_all(client)

    assert received == b"A1 NO done\r\nA1 OK tail"


def test_clear_forwards_untouched_again(serve):
    proxy = serve(lambda conn: conn.sendall(b"A1 OK done\r\n"))
    proxy.rewrite_line(rb"OK", b"BAD")
    proxy.clear()

    with connect(proxy) as client:
        received = read_all(client)

    assert received == b"A1 OK done\r\n"
    assert not proxy.triggered.is_set()


def test_a_target_that_is_down_closes_the_client_connection():
    probe = socket.create_server(("127.0.0.1", 0))
    dead_port = probe.getsockname()[1]
    probe.close()

    with TcpProxy("127.0.0.1", dead_port) as proxy, connect(proxy) as client:
        assert client.recv(1) == b""


def test_connections_beyond_the_limit_are_closed(serve):
    proxy = serve(echo, max_connections=1)

    with connect(proxy) as first:
        first.sendall(b"a")
        assert first.recv(1) == b"a"
        with connect(proxy) as second:
            assert second.recv(1) == b""


def test_the_proxy_stops_by_itself_after_its_lifetime(serve):
    proxy = serve(echo, max_lifetime=0.2)

    assert proxy.stopped.wait(WAIT)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((proxy.host, proxy.port), timeout=WAIT)
