"""A small threaded TCP proxy that injects faults between a client and a real server.

Tests put it in front of dovecot (or PostgreSQL) and point the code under test at
``proxy.port``. By default it forwards both ways untouched; one fault at a time can be armed
on the data coming from the server:

- ``drop_after(n, marker=...)``: forward ``n`` more bytes after ``marker`` (or after the start
  of the connection), then close both sides: a connection lost in the middle of an answer.
- ``stall_after(n, marker=...)``: forward ``n`` more bytes, then hold everything back while
  keeping the connection open: a server that hangs, so the client must time out.
- ``rewrite_line(pattern, replacement)``: rewrite whole lines (up to and including ``\\n``) that
  match a regular expression, e.g. to turn a server's ``OK`` into ``BAD``.

Faults apply to every connection, current and new, until ``clear()``. ``triggered`` is set the
moment a fault engages, so a test can assert that the fault really happened. The proxy is
bounded: at most ``max_connections`` at once, and it stops itself after ``max_lifetime``
seconds even if a test forgets to. Threads block on sockets and events, never on sleeps.
"""

from __future__ import annotations

import re
import socket
import threading
from contextlib import suppress
from dataclasses import dataclass
from types import TracebackType

CHUNK = 65536


@dataclass(frozen=True)
class _Fault:
    kind: str  # "drop" | "stall" | "rewrite"
    after_bytes: int = 0
    marker: bytes | None = None
    pattern: re.Pattern[bytes] | None = None
    replacement: bytes = b""


class _Connection:
    """One client connection and its upstream socket, pumped by two threads."""

    def __init__(self, proxy: TcpProxy, client: socket.socket, upstream: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream = upstream
        self.closed = threading.Event()
        self._close_lock = threading.Lock()
        # Server bytes forwarded so far, and where the armed fault starts counting.
        self.forwarded = 0
        self.fault: _Fault | None = None
        self.marker_tail = b""
        self.count_from: int | None = None
        self.line_buffer = b""

    def start(self) -> None:
        for target in (self._pump_client, self._pump_server):
            threading.Thread(target=target, daemon=True).start()

    def close(self) -> None:
        with self._close_lock:
            if self.closed.is_set():
                return
            self.closed.set()
        for sock in (self.client, self.upstream):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.proxy._forget(self)

    def _pump_client(self) -> None:
        try:
            while not self.closed.is_set():
                data = self.client.recv(CHUNK)
                if not data:
                    break
                self.upstream.sendall(data)
        except OSError:
            pass
        finally:
            self.close()

    def _pump_server(self) -> None:
        try:
            while not self.closed.is_set():
                data = self.upstream.recv(CHUNK)
                if not data:
                    self._flush_lines()
                    break
                if not self._forward(data):
                    break
        except OSError:
            pass
        finally:
            self.close()

    def _sync_fault(self) -> _Fault | None:
        fault = self.proxy._fault
        if fault is not self.fault:
            # Lines held back for a rewrite go out unchanged; a newly armed fault counts
            # from where the stream is now.
            self._flush_lines()
            self.fault = fault
            self.marker_tail = b""
            self.count_from = self.forwarded if fault and fault.marker is None else None
        return fault

    def _forward(self, data: bytes) -> bool:
        """Send ``data`` on to the client through the armed fault; False ends the pump."""
        fault = self._sync_fault()
        if fault is None:
            return self._send(data)
        if fault.kind == "rewrite":
            return self._rewrite(data, fault)
        if self.count_from is None and fault.marker is not None:
            window = self.marker_tail + data
            found = window.find(fault.marker)
            if found >= 0:
                start_of_data = self.forwarded - len(self.marker_tail)
                self.count_from = start_of_data + found + len(fault.marker)
            else:
                # Keep enough of the stream to find a marker split across two reads.
                keep = len(fault.marker) - 1
                self.marker_tail = window[-keep:] if keep else b""
        if self.count_from is None:
            return self._send(data)
        engage_at = self.count_from + fault.after_bytes
        if self.forwarded + len(data) < engage_at:
            return self._send(data)
        if not self._send(data[: max(engage_at - self.forwarded, 0)]):
            return False
        self.proxy.triggered.set()
        if fault.kind == "stall":
            # Hold the rest back; the connection stays open until the client gives up or
            # the proxy stops.
            self.closed.wait(self.proxy.max_lifetime)
        return False

    def _rewrite(self, data: bytes, fault: _Fault) -> bool:
        if fault.pattern is None:
            return self._send(data)
        self.line_buffer += data
        *lines, self.line_buffer = self.line_buffer.split(b"\n")
        out = []
        for line in lines:
            full = line + b"\n"
            rewritten = fault.pattern.sub(fault.replacement, full)
            if rewritten != full:
                self.proxy.triggered.set()
            out.append(rewritten)
        return self._send(b"".join(out))

    def _flush_lines(self) -> None:
        if self.line_buffer:
            self._send(self.line_buffer)
            self.line_buffer = b""

    def _send(self, data: bytes) -> bool:
        if data:
            self.client.sendall(data)
            self.forwarded += len(data)
        return True


class TcpProxy:
    """Forward ``127.0.0.1:<port>`` to ``target``; arm one fault at a time."""

    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        max_connections: int = 32,
        max_lifetime: float = 120.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self.target = (target_host, target_port)
        self.max_connections = max_connections
        self.max_lifetime = max_lifetime
        self.connect_timeout = connect_timeout
        self.triggered = threading.Event()
        self.accepted = 0
        self._fault: _Fault | None = None
        self._connections: set[_Connection] = set()
        self._lock = threading.Lock()
        # Set once the listener is closed and every connection ended.
        self.stopped = threading.Event()
        self._stopping = False
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = self._listener.getsockname()[:2]
        self._lifetime = threading.Timer(max_lifetime, self.stop)
        self._lifetime.daemon = True
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> TcpProxy:
        self._lifetime.start()
        self._acceptor.start()
        return self

    def stop(self) -> None:
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            connections = list(self._connections)
        self._lifetime.cancel()
        with suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        for connection in connections:
            connection.close()
        if self._acceptor.is_alive() and threading.current_thread() is not self._acceptor:
            self._acceptor.join(timeout=5)
        self.stopped.set()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- faults ------------------------------------------------------------------------

    def drop_after(self, after_bytes: int = 0, *, marker: bytes | None = None) -> None:
        """Close both sides once ``after_bytes`` more server bytes (after ``marker``) passed."""
        self._arm(_Fault("drop", after_bytes=after_bytes, marker=marker))

    def stall_after(self, after_bytes: int = 0, *, marker: bytes | None = None) -> None:
        """Stop forwarding server data once ``after_bytes`` more (after ``marker``) passed."""
        self._arm(_Fault("stall", after_bytes=after_bytes, marker=marker))

    def rewrite_line(self, pattern: bytes, replacement: bytes) -> None:
        """Rewrite each server line matching ``pattern`` (``re.sub`` on the line with its
        ``\\r\\n``)."""
        self._arm(_Fault("rewrite", pattern=re.compile(pattern), replacement=replacement))

    def clear(self) -> None:
        """Forward untouched again (a stalled or dropped connection stays so)."""
        self._arm(None)

    def _arm(self, fault: _Fault | None) -> None:
        self.triggered.clear()
        self._fault = fault

    # --- plumbing ----------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                refuse = self._stopping or len(self._connections) >= self.max_connections
            if refuse:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=self.connect_timeout)
            except OSError:
                # The target is down: the client sees its connection closed, as it would.
                client.close()
                continue
            upstream.settimeout(None)
            connection = _Connection(self, client, upstream)
            with self._lock:
                # stop() may have taken its list of connections meanwhile.
                if self._stopping:
                    refuse = True
                else:
                    self._connections.add(connection)
                    self.accepted += 1
            if refuse:
                client.close()
                upstream.close()
                continue
            connection.start()

    def _forget(self, connection: _Connection) -> None:
        with self._lock:
            self._connections.discard(connection)
