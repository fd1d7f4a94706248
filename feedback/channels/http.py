"""HTTP for the connectors that talk to a web API or fetch a feed: one GET with a timeout, a
size cap and the remote's own answers translated into errors a person can act on.

A 429 or 503 with ``Retry-After`` raises a retryable ``ConnectorError`` carrying the seconds
asked for, so the poll backs off at least that long; other 5xx answers and network failures
are retryable; 401/403/404 are not (a wrong key or address does not fix itself). Base URLs
must be ``https``, except on a loopback host (the tests' local servers), as plaintext IMAP.
Every request, and every redirect it follows, connects only to addresses that
``PORTAL_CHANNEL_NETWORKS`` allows (``feedback.channels.network``). A network failure is said
in words (no such host, nothing answering at a port, a certificate that does not verify), never
as the libraries' nested exception text.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests_hardened.ip_filter import InvalidIPAddress

from feedback.channels import network
from feedback.channels.base import ConfigError, ConnectorError
from feedback.channels.imap.config import is_loopback

DEFAULT_TIMEOUT = 30
MAX_RESPONSE_BYTES = 20 * 1024 * 1024
# A Retry-After longer than this is taken as this: a remote cannot park a channel for days.
MAX_RETRY_AFTER = 3600
USER_AGENT = "Portal feedback connector (+https://github.com/) requests"

URL_INVALID = "{field} must be an https:// URL such as https://forum.example.com"
URL_PLAINTEXT = (
    "{field} must use https:// (plain http:// is allowed only for a loopback host such as "
    "127.0.0.1)"
)
URL_EXTRA_PARTS = (
    "{field} is the site's address alone, such as https://forum.example.com (with a path if "
    "the site lives under one): no ?query, #fragment or user:password@"
)
UNREACHABLE = "could not reach {host} ({reason})"
NO_SUCH_HOST = "no such host {host}: check the address"
CONNECTION_REFUSED = "nothing answers at {host} port {port}: check the address and port"
CERTIFICATE_UNVERIFIED = "the TLS certificate of {host} could not be verified ({reason})"
TIMED_OUT = "{host} did not answer within {seconds} seconds"
TOO_LARGE = "{host} answered with more than {limit} MB; the answer was not read"
# What the remote asked, not when the next try is: a poll waits at least this long but maybe
# longer (its backoff), and a check tries nothing again.
RATE_LIMITED = "{host} asks us to slow down (HTTP {status}) and to wait {seconds} seconds"
RATE_LIMITED_NO_WAIT = "{host} asks us to slow down (HTTP {status})"
SERVER_ERROR = "{host} answered HTTP {status} (a fault on its side); trying again later"
UNAUTHORISED = "{host} refused the credentials (HTTP {status}): check the API key or token"
NOT_FOUND = "{host} has nothing at {path} (HTTP 404): check the address"
REFUSED = "{host} refused the request (HTTP {status}): {detail}"
REDIRECTED_ELSEWHERE = (
    "{host} redirects to another host ({target}); the credentials are not sent there: check "
    "the address"
)
TOO_MANY_REDIRECTS = "{host} redirected more than {limit} times; check the address"

MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)
# Headers that carry nothing secret: a request with any other header, or with a body, carries
# credentials (an API key, a token, a client secret) and is never redirected to another host.
_PLAIN_HEADERS = {"accept", "accept-encoding", "if-modified-since", "if-none-match"}

# A name that does not exist, or exists without an address; not a look-up that failed for now
# (EAI_AGAIN), which says so in the generic message.
_NO_SUCH_NAME = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    url: str


def clean_base_url(value: Any, *, field: str) -> str:
    """``value`` as a base URL without a trailing slash; ConfigError naming ``field``."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(URL_INVALID.format(field=field), field=field)
    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 (a port out of range raises ValueError)
    except ValueError:
        raise ConfigError(URL_INVALID.format(field=field), field=field) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in url:
        raise ConfigError(URL_INVALID.format(field=field), field=field)
    # Every API path is appended to the base: a query or fragment would swallow it.
    if parts.query or parts.fragment or "?" in url or "#" in url or "@" in parts.netloc:
        raise ConfigError(URL_EXTRA_PARTS.format(field=field), field=field)
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(URL_PLAINTEXT.format(field=field), field=field)
    if refused := network.literal_refusal(parts.hostname):
        raise ConfigError(refused, field=field)
    return url


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date), capped; None when
    absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(min(int(value), MAX_RETRY_AFTER))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return float(min(max(seconds, 0), MAX_RETRY_AFTER))


def get(
    url: str,
    *,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = MAX_RESPONSE_BYTES,
    ok: tuple[int, ...] = (200,),
    session: requests.Session | None = None,
) -> Response:
    """GET ``url``; the answer when its status is in ``ok`` (304 belongs there for a
    conditional GET), else a ``ConnectorError`` saying what went wrong."""
    return request(
        "GET",
        url,
        params=params,
        headers=headers,
        timeout=timeout,
        max_bytes=max_bytes,
        ok=ok,
        session=session,
    )


def request(
    method: str,
    url: str,
    *,
    params: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = MAX_RESPONSE_BYTES,
    ok: tuple[int, ...] = (200,),
    session: requests.Session | None = None,
) -> Response:
    """One HTTP request, its body read up to ``max_bytes``; errors as ``get`` says. Redirects
    are followed (at most ``MAX_REDIRECTS``), but a request that carries credentials (any
    header but the plain ones, or a body) only to the same host: requests itself drops only
    ``Authorization`` on the way elsewhere, not an ``Api-Key`` header nor a token's POST body."""
    parts = urlsplit(url)
    host = parts.hostname or url
    sender = session or network.session()
    secret = data is not None or any(name.lower() not in _PLAIN_HEADERS for name in (headers or {}))
    try:
        for _ in range(MAX_REDIRECTS + 1):
            with sender.request(
                method,
                url,
                params=params,
                data=data,
                headers={"User-Agent": USER_AGENT, **(headers or {})},
                timeout=timeout,
                stream=True,
                allow_redirects=False,
            ) as answer:
                status = answer.status_code
                location = answer.headers.get("Location", "")
                if status not in _REDIRECTS or not location or status in ok:
                    body = _read_capped(answer, max_bytes=max_bytes, host=host)
                    answer_headers = dict(answer.headers)
                    final_url = answer.url
                    break
                target = urljoin(answer.url, location)
            _check_redirect(answer.url, target, secret=secret, host=host)
            url, params = target, None
            if status in (301, 302, 303) and method not in ("GET", "HEAD"):
                method, data = "GET", None
        else:
            raise ConnectorError(TOO_MANY_REDIRECTS.format(host=host, limit=MAX_REDIRECTS))
    except InvalidIPAddress as error:
        # The host of this request, or of a redirect it followed, is one the policy refuses.
        address = str(error.args[0])
        kind = network.refusal(address) or "private network"
        message = network.refused_message(urlsplit(url).hostname or host, kind, address=address)
        raise ConnectorError(message, retryable=False) from None
    except requests.Timeout:
        raise ConnectorError(TIMED_OUT.format(host=host, seconds=timeout)) from None
    except requests.RequestException as error:
        raise ConnectorError(_unreachable(error, url)) from None
    finally:
        if session is None:
            sender.close()
    if status in ok:
        return Response(status, answer_headers, body, final_url)
    raise _error_for(status, answer_headers, body, host=host, path=parts.path or "/")


def _check_redirect(current: str, target: str, *, secret: bool, host: str) -> None:
    """A redirect with credentials stays on the host it started from (an upgrade to https
    included); one without goes anywhere http or https."""
    before, after = urlsplit(current), urlsplit(target)
    if after.scheme not in ("http", "https") or not after.hostname:
        raise ConnectorError(
            REDIRECTED_ELSEWHERE.format(host=host, target=target[:100]), retryable=False
        )
    same = (after.hostname, after.port) == (before.hostname, before.port) or (
        after.hostname == before.hostname and after.scheme == "https"
    )
    downgrade = before.scheme == "https" and after.scheme == "http"
    if secret and (not same or downgrade):
        raise ConnectorError(
            REDIRECTED_ELSEWHERE.format(host=host, target=after.hostname), retryable=False
        )


def _read_capped(answer: requests.Response, *, max_bytes: int, host: str) -> bytes:
    declared = answer.headers.get("Content-Length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
        raise ConnectorError(TOO_LARGE.format(host=host, limit=max_bytes // (1024 * 1024)))
    chunks, size = [], 0
    for chunk in answer.iter_content(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise ConnectorError(TOO_LARGE.format(host=host, limit=max_bytes // (1024 * 1024)))
        chunks.append(chunk)
    return b"".join(chunks)


def _error_for(
    status: int, headers: dict[str, str], body: bytes, *, host: str, path: str
) -> ConnectorError:
    if status in (429, 503):
        wait = retry_after_seconds(headers.get("Retry-After"))
        if wait is None:
            message = RATE_LIMITED_NO_WAIT.format(host=host, status=status)
        else:
            message = RATE_LIMITED.format(host=host, status=status, seconds=int(wait))
        return ConnectorError(message, retry_after=wait)
    if status >= 500:
        return ConnectorError(SERVER_ERROR.format(host=host, status=status))
    if status in (401, 403):
        return ConnectorError(UNAUTHORISED.format(host=host, status=status), retryable=False)
    if status == 404:
        return ConnectorError(NOT_FOUND.format(host=host, path=path), retryable=False)
    detail = body[:200].decode("utf-8", "replace").strip() or "no detail given"
    return ConnectorError(REFUSED.format(host=host, status=status, detail=detail), retryable=False)


def _unreachable(error: requests.RequestException, url: str) -> str:
    """A network failure in words: requests and urllib3 wrap the operating system's own error
    (a failed name look-up, a refused connection, a certificate) two or three levels deep."""
    parts = urlsplit(url)
    host = parts.hostname or url
    causes = _causes(error)
    for cause in causes:
        if isinstance(cause, socket.gaierror) and cause.errno in _NO_SUCH_NAME:
            return NO_SUCH_HOST.format(host=host)
        if isinstance(cause, ConnectionRefusedError):
            port = parts.port or (443 if parts.scheme == "https" else 80)
            return CONNECTION_REFUSED.format(host=host, port=port)
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = _short(str(cause.verify_message or cause.reason)).rstrip(".")
            return CERTIFICATE_UNVERIFIED.format(host=host, reason=reason)
    return UNREACHABLE.format(host=host, reason=_short(_reason(causes[-1])))


def _causes(error: BaseException) -> list[BaseException]:
    """``error`` and every exception it wraps, outermost first: requests keeps urllib3's error
    in ``args``, urllib3 its cause in ``reason`` (or ``args``), both chain the rest."""
    found: list[BaseException] = []
    pending: list[Any] = [error]
    while pending:
        current = pending.pop(0)
        if isinstance(current, BaseException) and all(current is not f for f in found):
            found.append(current)
            wrapped = getattr(current, "reason", None), current.__cause__, current.__context__
            pending += [*current.args, *wrapped]
    return found


def _reason(error: BaseException) -> str:
    """The short reason of the innermost error: "Connection reset by peer", not a repr."""
    if isinstance(error, ssl.SSLError) and error.reason:
        return error.reason.lower().replace("_", " ")
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def _short(text: str) -> str:
    return text if len(text) <= 100 else text[:97] + "..."
