"""Absolute links from PORTAL_BASE_URL, and the rules the base URL meets at start-up."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from portal.links import (
    BASE_URL_INVALID,
    BASE_URL_NOT_HTTPS,
    BASE_URL_REQUIRED,
    DEVELOPMENT_BASE_URL,
    PATH_NOT_ABSOLUTE,
    absolute_url,
    base_url_from,
)


def test_absolute_url_joins_the_base_url_and_a_reversed_path(settings):
    settings.PORTAL_BASE_URL = "https://portal.example.com"

    assert absolute_url(reverse("portal:home")) == "https://portal.example.com/"
    assert absolute_url("/surveys/answer/abc?score=9") == (
        "https://portal.example.com/surveys/answer/abc?score=9"
    )


@pytest.mark.parametrize("path", ["surveys/", "//evil.example/", "https://evil.example/", ""])
def test_absolute_url_refuses_anything_but_a_path(path):
    with pytest.raises(ValueError) as raised:
        absolute_url(path)

    assert str(raised.value) == PATH_NOT_ABSOLUTE.format(path=path)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://portal.example.com", "https://portal.example.com"),
        ("https://portal.example.com/", "https://portal.example.com"),
        ("HTTPS://Portal.Example.com:8443", "https://portal.example.com:8443"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://localhost:8000/", "http://localhost:8000"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_base_url_is_accepted_without_debug_and_kept_without_a_trailing_slash(value, expected):
    assert base_url_from(value, debug=False) == expected


@pytest.mark.parametrize(
    "value",
    [
        "portal.example.com",
        "ftp://portal.example.com",
        "https://",
        "https://portal.example.com/portal",
        "https://portal.example.com/?next=/",
        "https://portal.example.com/#top",
        "https://portal.example.com?",
        "https://user:secret@portal.example.com",
        "https://portal.example.com:99999",
        "https://portal example.com",
    ],
)
@pytest.mark.parametrize("debug", [True, False])
def test_base_url_that_is_not_a_bare_http_address_is_refused(value, debug):
    with pytest.raises(ImproperlyConfigured) as raised:
        base_url_from(value, debug=debug)

    assert str(raised.value) == BASE_URL_INVALID.format(value=value)


def test_base_url_without_debug_must_be_https_for_a_public_host():
    with pytest.raises(ImproperlyConfigured) as raised:
        base_url_from("http://portal.example.com", debug=False)

    assert str(raised.value) == BASE_URL_NOT_HTTPS.format(value="http://portal.example.com")


def test_base_url_in_debug_may_be_plain_http_anywhere():
    assert base_url_from("http://portal.test:8000", debug=True) == "http://portal.test:8000"


def test_base_url_defaults_to_the_development_server_only_in_debug():
    assert base_url_from("", debug=True) == DEVELOPMENT_BASE_URL
    with pytest.raises(ImproperlyConfigured) as raised:
        base_url_from("", debug=False)
    assert str(raised.value) == BASE_URL_REQUIRED
