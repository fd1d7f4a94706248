"""Feed settings: the feed's own address (https, or http on a loopback host), basic
authentication for a feed behind a login, and a timeout; each refusal names its field."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from feedback.channels import http, network
from feedback.channels.base import ConfigError, unknown_settings_check
from feedback.channels.imap.config import is_loopback

CONFIG_FIELDS = frozenset({"url", "username", "password", "timeout"})
MAX_URL_LENGTH = 2000
MAX_USERNAME_LENGTH = 320
MAX_PASSWORD_LENGTH = 1000
MAX_TIMEOUT = 300

# Config errors: each names the field it is about.
FIELD_NOT_TEXT = "{field} must be text"
FIELD_TOO_LONG = "{field} may have at most {limit} characters"
URL_REQUIRED = "url is required: the address of the RSS or Atom feed"
URL_INVALID = "url must be the feed's https:// address, such as https://example.com/feed.xml"
URL_PLAINTEXT = (
    "url must use https:// (plain http:// is allowed only for a loopback host such as 127.0.0.1)"
)
URL_HAS_CREDENTIALS = (
    "url must not carry a user name or password: put them in username and password, which "
    "are kept secret"
)
TIMEOUT_INVALID = f"timeout must be a number of seconds greater than 0 and at most {MAX_TIMEOUT}"


@dataclass(frozen=True)
class FeedSettings:
    url: str
    username: str
    password: str
    timeout: float


def _text(config: dict[str, Any], key: str, limit: int, *, strip: bool = True) -> str:
    value = config.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ConfigError(FIELD_NOT_TEXT.format(field=key), field=key)
    value = value.strip() if strip else value
    if len(value) > limit:
        raise ConfigError(FIELD_TOO_LONG.format(field=key, limit=limit), field=key)
    return value


def _url(config: dict[str, Any]) -> str:
    url = _text(config, "url", MAX_URL_LENGTH)
    if not url:
        raise ConfigError(URL_REQUIRED, field="url")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:  # an unclosed IPv6 bracket, say
        raise ConfigError(URL_INVALID, field="url") from None
    if parts.scheme not in ("http", "https") or not hostname or any(c.isspace() for c in url):
        raise ConfigError(URL_INVALID, field="url")
    if parts.username or parts.password:
        raise ConfigError(URL_HAS_CREDENTIALS, field="url")
    if parts.scheme == "http" and not is_loopback(hostname):
        raise ConfigError(URL_PLAINTEXT, field="url")
    if refused := network.literal_refusal(hostname):
        raise ConfigError(refused, field="url")
    return url


def _timeout(config: dict[str, Any]) -> float:
    value = config.get("timeout")
    if value is None or value == "":
        return float(http.DEFAULT_TIMEOUT)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 < value <= MAX_TIMEOUT
    ):
        raise ConfigError(TIMEOUT_INVALID, field="timeout")
    return float(value)


def clean_config(config: dict[str, Any]) -> dict[str, Any]:
    unknown_settings_check(config, CONFIG_FIELDS, "feed")
    username = _text(config, "username", MAX_USERNAME_LENGTH)
    password = _text(config, "password", MAX_PASSWORD_LENGTH, strip=False)
    # Without a username no credentials are sent, and a password alone means nothing: it is
    # dropped, which is also how a form clears the credentials (by emptying the username).
    return {
        "url": _url(config),
        "username": username,
        "password": password if username else "",
        "timeout": _timeout(config),
    }


def feed_settings(config: dict[str, Any]) -> FeedSettings:
    return FeedSettings(**clean_config(config))


def feed_source(url: str) -> str:
    """The feed's host and path, as stored with each entry: never its query string, which
    may hold an access token."""
    parts = urlsplit(url)
    return f"{parts.hostname}{parts.path}"


def feed_qualifier(url: str) -> str:
    """What makes a bare entry id (``12345``) unique: the feed's host and path, and its query
    string when it has one, since ``reviews.rss?app=1`` and ``reviews.rss?app=2`` are two
    feeds. The query is named by a digest: it may hold an access token, which a message id
    (shown to every member of the team) must not."""
    query = urlsplit(url).query
    if not query:
        return feed_source(url)
    return f"{feed_source(url)}?{hashlib.sha256(query.encode()).hexdigest()[:16]}"
