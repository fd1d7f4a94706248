"""Absolute links to the portal, for places without a request: e-mails, webhooks, embeddable
snippets and anything a Celery task writes. They all start from ``PORTAL_BASE_URL``.

The base URL is a scheme and a host (and port) only: ``reverse()`` already gives each path,
and a task has no request whose script prefix could say otherwise, so a portal served under a
sub-path is refused rather than linked wrongly.
"""

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEVELOPMENT_BASE_URL = "http://127.0.0.1:8000"
BASE_URL_REQUIRED = (
    "PORTAL_BASE_URL must be set when DJANGO_DEBUG is off: the portal's public address, "
    "used in links in e-mails and webhooks, e.g. https://portal.example.com"
)
BASE_URL_INVALID = (
    "PORTAL_BASE_URL must be an absolute http or https address with a host and nothing after "
    "it but an optional '/', e.g. https://portal.example.com (got {value!r})."
)
BASE_URL_NOT_HTTPS = (
    "PORTAL_BASE_URL must use https when DJANGO_DEBUG is off; plain http is accepted only for a "
    "loopback host (got {value!r})."
)
PATH_NOT_ABSOLUTE = "absolute_url() takes a path that starts with one '/' (got {path!r})."


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def base_url_from(value: str, *, debug: bool) -> str:
    """The base URL settings use, without a trailing slash; refused at start when invalid."""
    value = value.strip()
    if not value:
        if not debug:
            raise ImproperlyConfigured(BASE_URL_REQUIRED)
        return DEVELOPMENT_BASE_URL
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - reading it validates the port.
    except ValueError as error:
        raise ImproperlyConfigured(BASE_URL_INVALID.format(value=value)) from error
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.path not in ("", "/")
        or any(character in value for character in "?# \t")
    ):
        raise ImproperlyConfigured(BASE_URL_INVALID.format(value=value))
    scheme = parts.scheme.lower()
    if not debug and scheme != "https" and not _is_loopback(parts.hostname):
        raise ImproperlyConfigured(BASE_URL_NOT_HTTPS.format(value=value))
    return f"{scheme}://{parts.netloc.lower()}"


def absolute_url(path: str) -> str:
    """``PORTAL_BASE_URL`` joined with a path such as ``reverse(...)`` returns."""
    if not path.startswith("/") or path.startswith("//"):
        raise ValueError(PATH_NOT_ABSOLUTE.format(path=path))
    return settings.PORTAL_BASE_URL + path
