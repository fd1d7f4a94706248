"""OAuth 2.0 access tokens for IMAP: refreshed before they expire, kept in process memory.

An admin pastes a refresh token once; each poll needs a short-lived access token made from
it (``grant_type=refresh_token`` against the provider's token endpoint). Tokens are cached per
channel config (a hash of client id and refresh token, never the token itself as a key) and
refreshed when less than ``REFRESH_MARGIN`` seconds remain, so a poll never logs in with a
token about to run out and a busy channel does not ask the provider for one every minute.

Providers may rotate the refresh token (Microsoft does; Okta, Auth0 and Keycloak can retire
the old one at once, as OAuth 2.1 asks): the answer then carries a new one, which the cache
remembers under the old key too, so that until the channel's stored config holds it the newest
refresh token is the one used. The connector hands it to the poll to store: with the batch
(``FetchResult.config_updates``), or with the error when the poll fails after the refresh.

Errors in words: a revoked or expired refresh token (``invalid_grant``) and a refused client
(``invalid_client``) wait for a person; 429 and 5xx answers are retried with the remote's
``Retry-After`` (``feedback.channels.http``).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from feedback.channels import http
from feedback.channels.base import ConnectorError
from feedback.channels.imap.config import OAuthSettings
from portal.validation import json_loads

# Refresh when less than this many seconds of the access token remain.
REFRESH_MARGIN = 300
# When the answer names no lifetime: RFC 6749 leaves it to the provider; an hour is what
# Microsoft and Google issue.
DEFAULT_EXPIRES_IN = 3600
MAX_TOKEN_ANSWER_BYTES = 64 * 1024

TOKEN_REVOKED = (
    "the refresh token was revoked or has expired: authorise the channel again (paste a new "
    "refresh token)"
)
CLIENT_REFUSED = (
    "the token endpoint refused the client id or secret (invalid_client): check client_id "
    "and client_secret, and that the secret has not expired"
)
TOKEN_REFUSED = "the token endpoint refused the refresh ({error}): {description}"
TOKEN_ANSWER_INVALID = "the token endpoint at {host} answered without an access token"


@dataclass(frozen=True)
class AccessToken:
    value: str
    # Clock seconds (``TokenCache.clock``) at which the provider stops taking it.
    expires_at: float
    # The newest refresh token: the one configured, or the provider's rotated one.
    refresh_token: str
    # True when this token came from the token endpoint in this call, not from the cache.
    fresh: bool = False


def cache_key(client_id: str, refresh_token: str) -> str:
    """The cache's key for one channel config; a hash, so that no token is a key in clear."""
    return hashlib.sha256(f"{client_id}\0{refresh_token}".encode()).hexdigest()


class TokenCache:
    """Access tokens of this process by config key; ``clock`` is injectable for tests."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._tokens: dict[str, AccessToken] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> AccessToken | None:
        with self._lock:
            return self._tokens.get(key)

    def put(self, key: str, token: AccessToken) -> None:
        with self._lock:
            self._tokens[key] = token

    def discard(self, key: str) -> None:
        with self._lock:
            self._tokens.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


def access_token(
    oauth: OAuthSettings, cache: TokenCache, *, timeout: float, force: bool = False
) -> AccessToken:
    """A usable access token: the cached one while more than ``REFRESH_MARGIN`` seconds of
    it remain (unless ``force``), else a new one from the token endpoint."""
    key = cache_key(oauth.client_id, oauth.refresh_token)
    cached = cache.get(key)
    if not force and cached is not None and cached.expires_at - cache.clock() > REFRESH_MARGIN:
        return cached
    refresh_token = cached.refresh_token if cached is not None else oauth.refresh_token
    token = _refresh(oauth, refresh_token, cache.clock, timeout=timeout)
    kept = replace(token, fresh=False)
    cache.put(key, kept)
    if token.refresh_token != oauth.refresh_token:
        # The stored config will name the rotated token; the cache serves it under that too.
        cache.put(cache_key(oauth.client_id, token.refresh_token), kept)
    return token


def _refresh(
    oauth: OAuthSettings, refresh_token: str, clock: Callable[[], float], *, timeout: float
) -> AccessToken:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": oauth.client_id,
    }
    if oauth.client_secret:
        form["client_secret"] = oauth.client_secret
    if oauth.scope:
        form["scope"] = oauth.scope
    asked_at = clock()
    answer = http.request(
        "POST",
        oauth.token_url,
        data=form,
        headers={"Accept": "application/json"},
        timeout=timeout,
        max_bytes=MAX_TOKEN_ANSWER_BYTES,
        # RFC 6749 5.2: errors are 400, invalid_client may be 401; both carry a JSON error.
        ok=(200, 400, 401),
    )
    data = _json(answer.body)
    if answer.status != 200:
        raise _token_error(data, answer.status)
    value = data.get("access_token")
    if not isinstance(value, str) or not value:
        host = urlsplit(oauth.token_url).hostname or oauth.token_url
        raise ConnectorError(TOKEN_ANSWER_INVALID.format(host=host))
    expires_in = data.get("expires_in", DEFAULT_EXPIRES_IN)
    if isinstance(expires_in, str) and expires_in.isascii() and expires_in.isdigit():
        expires_in = int(expires_in)
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
        expires_in = DEFAULT_EXPIRES_IN
    rotated = data.get("refresh_token")
    return AccessToken(
        value=value,
        # Counted from the request, not the answer: the provider's clock started earlier.
        expires_at=asked_at + float(expires_in),
        refresh_token=rotated if isinstance(rotated, str) and rotated else refresh_token,
        fresh=True,
    )


def _json(body: bytes) -> dict:
    try:
        data = json_loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _token_error(data: dict, status: int) -> ConnectorError:
    error = data.get("error") if isinstance(data.get("error"), str) else ""
    if error == "invalid_grant":
        return ConnectorError(TOKEN_REVOKED, retryable=False)
    if error == "invalid_client" or (status == 401 and not error):
        return ConnectorError(CLIENT_REFUSED, retryable=False)
    description = data.get("error_description")
    if not isinstance(description, str) or not description.strip():
        description = "no description given"
    # Microsoft's descriptions run to several lines with trace ids; the first says it.
    description = description.strip().splitlines()[0][:300]
    return ConnectorError(
        TOKEN_REFUSED.format(error=error or f"HTTP {status}", description=description),
        retryable=False,
    )
