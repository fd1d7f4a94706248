"""Zendesk settings: cleaning a channel's config, and the settings a fetch works with."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from feedback.channels import http
from feedback.channels.base import ConfigError, unknown_settings_check

KIND = "zendesk"
CONFIG_FIELDS = frozenset({"subdomain", "base_url", "email", "api_token", "start_time", "timeout"})
MAX_TIMEOUT = 300
_SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# The range a first export may start from. Zendesk began in 2007, so an earlier start finds
# nothing more and is a typo (0001-01-01 would be sent as start_time=-62135596800, which
# Zendesk refuses). Its incremental export takes a start_time at least a minute in the past:
# it leaves out the latest minute.
EARLIEST_START = datetime(2007, 1, 1, tzinfo=UTC)
LATEST_START_AGO = timedelta(minutes=1)

# Config errors: each names the field it is about.
FIELD_REQUIRED = "{field} is required"
FIELD_NOT_TEXT = "{field} must be text"
SUBDOMAIN_REQUIRED = (
    "subdomain is required: the name before .zendesk.com, such as acme for https://acme.zendesk.com"
)
SUBDOMAIN_INVALID = (
    "subdomain must be the name before .zendesk.com (letters, digits and hyphens), such as acme"
)
EMAIL_INVALID = "email must be the e-mail address of the Zendesk admin the API token belongs to"
START_TIME_INVALID = "start_time must be a date such as 2026-11-01, or a date and time in ISO 8601"
START_TIME_TOO_EARLY = (
    f"start_time may not be before {EARLIEST_START:%Y-%m-%d}, when Zendesk began: "
    "it has no older tickets"
)
START_TIME_FUTURE = (
    "start_time must be at least a minute ago: Zendesk's export leaves out the latest minute"
)
TIMEOUT_INVALID = "timeout must be a number of seconds greater than 0 and at most {maximum}"


@dataclass(frozen=True)
class ZendeskSettings:
    # Where requests go (https://acme.zendesk.com, or a loopback server in the tests).
    base_url: str
    # Where people see tickets, and the host that qualifies message ids and handles.
    site: str
    host: str
    email: str
    api_token: str
    start_time: datetime | None
    timeout: float

    def headers(self) -> dict[str, str]:
        """Zendesk's API token authentication: basic auth as ``email/token:api_token``."""
        pair = f"{self.email}/token:{self.api_token}".encode()
        return {
            "Authorization": "Basic " + base64.b64encode(pair).decode("ascii"),
            "Accept": "application/json",
        }


def _text(config: Mapping[str, Any], key: str) -> str:
    value = config.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ConfigError(FIELD_NOT_TEXT.format(field=key), field=key)
    return value.strip()


def _subdomain(config: Mapping[str, Any]) -> str:
    """``acme``, also when typed as ``acme.zendesk.com`` or ``https://acme.zendesk.com/``."""
    value = _text(config, "subdomain").casefold()
    value = value.removeprefix("https://").removeprefix("http://").rstrip("/")
    value = value.removesuffix(".zendesk.com")
    if value and not _SUBDOMAIN.match(value):
        raise ConfigError(SUBDOMAIN_INVALID, field="subdomain")
    return value


def _start_time(config: Mapping[str, Any]) -> tuple[str, datetime | None]:
    """The time the first export starts from: a date (midnight UTC) or an ISO 8601 time, from
    ``EARLIEST_START`` to a minute ago."""
    text = _text(config, "start_time")
    if not text:
        return "", None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(START_TIME_INVALID, field="start_time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    # Compared before the conversion to UTC, which overflows at the ends of the calendar
    # (0001-01-01T00:00:00+14:00 is in year 0 in UTC); aware times compare by their instant.
    if when < EARLIEST_START:
        raise ConfigError(START_TIME_TOO_EARLY, field="start_time")
    if when > datetime.now(UTC) - LATEST_START_AGO:
        raise ConfigError(START_TIME_FUTURE, field="start_time")
    when = when.astimezone(UTC)
    return (day.isoformat() if day is not None else when.isoformat()), when


def _timeout(config: Mapping[str, Any]) -> float:
    value = config.get("timeout")
    if value is None or value == "":
        return float(http.DEFAULT_TIMEOUT)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not 0 < value <= MAX_TIMEOUT:
        raise ConfigError(TIMEOUT_INVALID.format(maximum=MAX_TIMEOUT), field="timeout")
    return float(value)


def clean_config(config: Any) -> tuple[dict[str, Any], ZendeskSettings]:
    """The config as stored (defaults filled in) and as used; ConfigError naming the field."""
    if not isinstance(config, Mapping):
        raise ConfigError(SUBDOMAIN_REQUIRED, field="subdomain")
    unknown_settings_check(config, CONFIG_FIELDS, "Zendesk")
    subdomain = _subdomain(config)
    base_url = _text(config, "base_url")
    if base_url:
        base_url = http.clean_base_url(base_url, field="base_url")
    elif not subdomain:
        raise ConfigError(SUBDOMAIN_REQUIRED, field="subdomain")
    site = f"https://{subdomain}.zendesk.com" if subdomain else base_url
    email = _text(config, "email")
    if not email:
        raise ConfigError(FIELD_REQUIRED.format(field="email"), field="email")
    local, _, domain = email.rpartition("@")
    if not local or "." not in domain or any(character.isspace() for character in email):
        raise ConfigError(EMAIL_INVALID, field="email")
    # A token is used exactly as given, only the surrounding whitespace of a paste dropped.
    api_token = _text(config, "api_token")
    if not api_token:
        raise ConfigError(FIELD_REQUIRED.format(field="api_token"), field="api_token")
    start_text, start = _start_time(config)
    timeout = _timeout(config)
    cleaned = {
        "subdomain": subdomain,
        "base_url": base_url,
        "email": email,
        "api_token": api_token,
        "start_time": start_text,
        "timeout": timeout,
    }
    settings = ZendeskSettings(
        base_url=base_url or site,
        site=site,
        host=urlsplit(site).netloc.casefold(),
        email=email,
        api_token=api_token,
        start_time=start,
        timeout=timeout,
    )
    return cleaned, settings
