"""A small local HTTP server for the connectors' tests: it answers like the remote service
(Discourse, Mastodon, Zendesk, a feed host, an OAuth token endpoint) from recorded fixtures,
on a free loopback port, and records every request, so tests assert what was asked.

Routes map ``(method, path)`` to a handler ``(request) -> Reply`` (or a ``Reply`` itself);
``queue(method, path, *replies)`` arms one-off answers taken before the route's own (a 429
then a 200, say). Nothing here sleeps; a test that needs time to pass injects its clock.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, **headers: str) -> Reply:
        body = json.dumps(data).encode()
        return cls(status, body, {"Content-Type": "application/json", **headers})


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def form(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(self.body.decode()).items()}


Handler = Callable[[Request], Reply]


class FakeWeb:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler | Reply] = {}
        self.queued: dict[tuple[str, str], deque[Reply]] = defaultdict(deque)
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, method: str, path: str, handler: Handler | Reply) -> None:
        self.routes[(method.upper(), path)] = handler

    def queue(self, method: str, path: str, *replies: Reply) -> None:
        self.queued[(method.upper(), path)].extend(replies)

    def requests_to(self, path: str) -> list[Request]:
        return [request for request in self.requests if request.path == path]

    def answer(self, request: Request) -> Reply:
        key = (request.method, request.path)
        with self._lock:
            self.requests.append(request)
            if self.queued[key]:
                return self.queued[key].popleft()
        handler = self.routes.get(key)
        if handler is None:
            return Reply.json({"errors": ["not found"]}, status=404)
        return handler if isinstance(handler, Reply) else handler(request)

    @contextmanager
    def running(self) -> Iterator[FakeWeb]:
        web = self

        class _Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers=dict(self.headers.items()),
                    body=self.rfile.read(length) if length else b"",
                )
                reply = web.answer(request)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_HEAD = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join(timeout=5)


def fixture_bytes(kind: str, name: str) -> bytes:
    """A recorded payload under ``tests/feedback/fixtures/<kind>/``."""
    return (FIXTURES / kind / name).read_bytes()


def fixture_json(kind: str, name: str) -> Any:
    return json.loads(fixture_bytes(kind, name))
