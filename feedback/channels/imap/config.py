"""IMAP settings: cleaning and checking a channel's config, the plaintext policy included.

A mailbox logs in with its password (``auth`` "password", the default) or with OAuth 2.0
(``auth`` "oauth2"): Microsoft 365 and Gmail take no passwords over IMAP any more. An OAuth
config holds what an admin pastes once (client id and secret, a refresh token); the access
tokens made from them are short-lived and live in process memory only (``oauth``).
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from feedback.channels import network
from feedback.channels.base import ConfigError, unknown_settings_check

SECURITY_CHOICES = ("tls", "starttls", "none")
DEFAULT_PORTS = {"tls": 993, "starttls": 143, "none": 143}
DEFAULT_FOLDER = "INBOX"
DEFAULT_TIMEOUT = 30
MAX_TIMEOUT = 300
CONFIG_FIELDS = frozenset(
    {
        "host",
        "port",
        "username",
        "password",
        "folder",
        "security",
        "move_to",
        "address",
        "verify_certificate",
        "ca_certificate",
        "timeout",
        "auth",
        "provider",
        "token_url",
        "client_id",
        "client_secret",
        "refresh_token",
        "scope",
        "sasl",
    }
)
AUTH_CHOICES = ("password", "oauth2")
SASL_CHOICES = ("xoauth2", "oauthbearer")
# The providers' documented token endpoints and the scopes IMAP needs. Microsoft's "common"
# endpoint serves multi-tenant apps; an app registered for one tenant puts its own
# https://login.microsoftonline.com/<tenant id>/oauth2/v2.0/token in token_url.
PROVIDERS = {
    "microsoft": (
        "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        "https://outlook.office.com/IMAP.AccessAsUser.All offline_access",
    ),
    "google": ("https://oauth2.googleapis.com/token", "https://mail.google.com/"),
    "custom": ("", ""),
}
OAUTH_FIELDS = ("provider", "token_url", "client_id", "client_secret", "refresh_token", "scope")

# Config errors: each names the field it is about.
FIELD_REQUIRED = "{field} is required"
FIELD_NOT_TEXT = "{field} must be text"
FIELD_NOT_BOOLEAN = "{field} must be true or false"
HOST_INVALID = "host must be a host name or an IP address, without a scheme, port or spaces"
PORT_INVALID = "port must be a whole number from 1 to 65535"
SECURITY_INVALID = "security must be one of tls, starttls, none"
PLAINTEXT_REFUSED = (
    "security none sends the password unencrypted and is allowed only for a loopback host "
    "(127.0.0.1, ::1, localhost), not {host}; use tls or starttls"
)
ADDRESS_INVALID = "address must be an e-mail address such as support@example.com"
MOVE_TO_SAME_FOLDER = "move_to must name a folder other than folder"
CA_CERTIFICATE_INVALID = (
    "ca_certificate must be one or more PEM certificates (-----BEGIN CERTIFICATE-----)"
)
TIMEOUT_INVALID = "timeout must be a number of seconds greater than 0 and at most {maximum}"
AUTH_INVALID = "auth must be password or oauth2"
PROVIDER_INVALID = "provider must be one of microsoft, google, custom"
SASL_INVALID = "sasl must be xoauth2 or oauthbearer"
TOKEN_URL_INVALID = (
    "token_url must be the provider's https:// token endpoint, such as "
    "https://login.example.com/oauth2/token (plain http:// only for a loopback host)"
)


@dataclass(frozen=True)
class OAuthSettings:
    """What refreshing an access token needs; ``sasl`` is how the token is presented."""

    provider: str
    token_url: str
    client_id: str
    # Empty for a public client (an app registered without a secret).
    client_secret: str
    refresh_token: str
    # Empty: none is sent, and the token endpoint grants what the refresh token holds.
    scope: str
    sasl: str


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    username: str
    password: str
    folder: str
    security: str
    move_to: str | None
    address: str
    verify_certificate: bool
    ca_certificate: str | None
    timeout: float
    # None: the mailbox logs in with ``password``; else with an OAuth 2.0 access token.
    oauth: OAuthSettings | None = None


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost: the only hosts plaintext IMAP may talk to."""
    if host.casefold().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _text(config: Mapping[str, Any], key: str, *, required: bool, strip: bool = True) -> str:
    value = config.get(key)
    if value is None or value == "":
        if required:
            raise ConfigError(FIELD_REQUIRED.format(field=key), field=key)
        return ""
    if not isinstance(value, str):
        raise ConfigError(FIELD_NOT_TEXT.format(field=key), field=key)
    cleaned = value.strip() if strip else value
    if required and not cleaned:
        raise ConfigError(FIELD_REQUIRED.format(field=key), field=key)
    return cleaned


def _host(config: Mapping[str, Any]) -> str:
    host = _text(config, "host", required=True)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        host = str(ipaddress.ip_address(host))
    except ValueError:
        if any(character.isspace() or character in "/:@[]" for character in host):
            raise ConfigError(HOST_INVALID, field="host") from None
    if refused := network.literal_refusal(host):
        raise ConfigError(refused, field="host")
    return host


def _port(config: Mapping[str, Any], security: str) -> int:
    value = config.get("port")
    if value is None or value == "":
        return DEFAULT_PORTS[security]
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ConfigError(PORT_INVALID, field="port")
    return value


def _boolean(config: Mapping[str, Any], key: str, default: bool) -> bool:
    value = config.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ConfigError(FIELD_NOT_BOOLEAN.format(field=key), field=key)
    return value


def _timeout(config: Mapping[str, Any]) -> float:
    value = config.get("timeout")
    if value is None or value == "":
        return float(DEFAULT_TIMEOUT)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(TIMEOUT_INVALID.format(maximum=MAX_TIMEOUT), field="timeout")
    if not 0 < value <= MAX_TIMEOUT:
        raise ConfigError(TIMEOUT_INVALID.format(maximum=MAX_TIMEOUT), field="timeout")
    return float(value)


def _address(config: Mapping[str, Any], username: str) -> str:
    address = _text(config, "address", required=False)
    if not address and "@" in username:
        # Most mailboxes log in with their own address; asking for it twice helps no one.
        address = username
    if not address:
        raise ConfigError(FIELD_REQUIRED.format(field="address"), field="address")
    local, _, domain = address.rpartition("@")
    if not local or "." not in domain or any(c.isspace() for c in address):
        raise ConfigError(ADDRESS_INVALID, field="address")
    return address


def _ca_certificate(config: Mapping[str, Any]) -> str | None:
    pem = _text(config, "ca_certificate", required=False)
    if not pem:
        return None
    try:
        ssl.create_default_context(cadata=pem)
    except (ssl.SSLError, ValueError) as exc:
        raise ConfigError(CA_CERTIFICATE_INVALID, field="ca_certificate") from exc
    return pem


def _choice(config: Mapping[str, Any], key: str, choices: tuple[str, ...], message: str) -> str:
    value = config.get(key) or choices[0]
    if value not in choices:
        raise ConfigError(message, field=key)
    return value


def _token_url(config: Mapping[str, Any], provider: str) -> str:
    url = _text(config, "token_url", required=False) or PROVIDERS[provider][0]
    if not url:
        raise ConfigError(FIELD_REQUIRED.format(field="token_url"), field="token_url")
    parts = urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(character.isspace() for character in url)
        or (parts.scheme == "http" and not is_loopback(parts.hostname))
    ):
        raise ConfigError(TOKEN_URL_INVALID, field="token_url")
    if refused := network.literal_refusal(parts.hostname):
        raise ConfigError(refused, field="token_url")
    return url


def _oauth(config: Mapping[str, Any]) -> OAuthSettings:
    provider = config.get("provider")
    if not provider:
        raise ConfigError(FIELD_REQUIRED.format(field="provider"), field="provider")
    if provider not in PROVIDERS:
        raise ConfigError(PROVIDER_INVALID, field="provider")
    scope = _text(config, "scope", required=False)
    return OAuthSettings(
        provider=provider,
        token_url=_token_url(config, provider),
        client_id=_text(config, "client_id", required=True),
        # Secrets and tokens are used exactly as pasted, but a pasted line break is no part
        # of a token.
        client_secret=_text(config, "client_secret", required=False),
        refresh_token=_text(config, "refresh_token", required=True),
        scope=" ".join(scope.split()) if scope else PROVIDERS[provider][1],
        sasl=_choice(config, "sasl", SASL_CHOICES, SASL_INVALID),
    )


def config_dict(settings: ImapSettings) -> dict[str, Any]:
    """The cleaned config as stored: a password mailbox exactly as before OAuth existed, an
    OAuth one with its settings and without a password (switching ``auth`` drops the other
    way's secrets)."""
    cleaned = asdict(settings)
    oauth = cleaned.pop("oauth")
    if oauth is None:
        return cleaned
    del cleaned["password"]
    return {**cleaned, "auth": "oauth2", **oauth}


def parse_config(config: Mapping[str, Any], *, allow_plaintext: bool = False) -> ImapSettings:
    """Clean and check an IMAP config; raise ConfigError naming the first bad field."""
    if not isinstance(config, Mapping):
        raise ConfigError(FIELD_REQUIRED.format(field="host"), field="host")
    unknown_settings_check(config, CONFIG_FIELDS, "IMAP")
    host = _host(config)
    security = config.get("security") or "tls"
    if security not in SECURITY_CHOICES:
        raise ConfigError(SECURITY_INVALID, field="security")
    if security == "none" and not allow_plaintext and not is_loopback(host):
        raise ConfigError(PLAINTEXT_REFUSED.format(host=host), field="security")
    port = _port(config, security)
    username = _text(config, "username", required=True)
    auth = _choice(config, "auth", AUTH_CHOICES, AUTH_INVALID)
    oauth = _oauth(config) if auth == "oauth2" else None
    # A password is used exactly as typed: spaces at either end may be part of it.
    password = "" if oauth else _text(config, "password", required=True, strip=False)
    folder = _text(config, "folder", required=False) or DEFAULT_FOLDER
    move_to = _text(config, "move_to", required=False) or None
    if move_to is not None and move_to == folder:
        raise ConfigError(MOVE_TO_SAME_FOLDER, field="move_to")
    return ImapSettings(
        host=host,
        port=port,
        username=username,
        password=password,
        folder=folder,
        security=security,
        move_to=move_to,
        address=_address(config, username),
        verify_certificate=_boolean(config, "verify_certificate", True),
        ca_certificate=_ca_certificate(config),
        timeout=_timeout(config),
        oauth=oauth,
    )
