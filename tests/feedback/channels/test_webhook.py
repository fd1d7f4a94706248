"""The webhook connector: its config (secret generated, write-only, checked), the signature
protocol as pure functions under an injected clock, and that it is push-only."""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from feedback.channels import CONNECTORS, ConfigError, FetchResult, get_connector
from feedback.channels.base import unknown_settings_message
from feedback.channels.webhook import (
    ADDRESS_INVALID,
    CHECK_NO_SECRET,
    CHECK_READY,
    FIELD_NOT_TEXT,
    MAX_SECRET_LENGTH,
    MAX_SKEW,
    MIN_SECRET_LENGTH,
    NO_SECRET,
    SECRET_NOT_PRINTABLE,
    SECRET_TOO_LONG,
    SECRET_TOO_SHORT,
    SIGNATURE_HEADER,
    SIGNATURE_MALFORMED,
    SIGNATURE_MISSING,
    SIGNATURE_WRONG,
    THIS_CHANNELS_URL,
    TIMESTAMP_FUTURE,
    TIMESTAMP_HEADER,
    TIMESTAMP_INVALID,
    TIMESTAMP_STALE,
    SignatureRefused,
    WebhookConnector,
    signature_header,
    signed_headers,
    verify,
)
from feedback.channels.webhook import CONFIG_FIELDS as WEBHOOK_FIELDS

NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
SECRET = "a-webhook-secret-of-some-length"
BODY = b"From: a@b.example\r\nSubject: hi\r\n\r\nhello\r\n"
CONNECTOR = WebhookConnector()


def refused(**overrides) -> SignatureRefused:
    headers = signed_headers(SECRET, BODY, now=NOW)
    arguments = {
        "secret": SECRET,
        "timestamp": headers[TIMESTAMP_HEADER],
        "signature_value": headers[SIGNATURE_HEADER],
        "body": BODY,
        "now": NOW,
        **overrides,
    }
    with pytest.raises(SignatureRefused) as raised:
        verify(**arguments)
    return raised.value


# --- registry and push ------------------------------------------------------------------------


def test_the_webhook_is_registered_as_a_push_connector():
    connector = get_connector("webhook")

    assert isinstance(connector, WebhookConnector)
    assert CONNECTORS["webhook"] is connector
    assert connector.push is True
    assert connector.secret_fields == frozenset({"secret"})


def test_fetch_returns_nothing_and_keeps_the_cursor():
    result = CONNECTOR.fetch({"secret": SECRET}, {"kept": 1})

    assert result == FetchResult(items=[], cursor={"kept": 1}, more=False)
    assert CONNECTOR.fetch({"secret": SECRET}, None).items == []


def test_check_is_ready_with_a_secret_and_names_the_url_when_given():
    config = CONNECTOR.validate_config({})

    assert CONNECTOR.check(config).ok
    assert CONNECTOR.check(config).message == CHECK_READY.format(url=THIS_CHANNELS_URL)
    with_url = CONNECTOR.check(config, url="https://portal.example/hooks/email/7/")
    assert with_url.message.startswith("Ready: the provider posts each mail, raw, to https://")


def test_check_without_a_secret_says_so():
    result = CONNECTOR.check({"address": ""})

    assert (result.ok, result.message) == (False, CHECK_NO_SECRET)


# --- config -----------------------------------------------------------------------------------


def test_a_secret_is_generated_when_none_is_given():
    first = CONNECTOR.validate_config({"address": "Support@Kitewire.example "})
    second = CONNECTOR.validate_config({"secret": ""})

    assert first["address"] == "Support@Kitewire.example"
    assert len(first["secret"]) >= 40
    assert first["secret"] != second["secret"]
    assert second["address"] == ""


def test_a_given_secret_is_kept_exactly():
    assert CONNECTOR.validate_config({"secret": SECRET}) == {"address": "", "secret": SECRET}


@pytest.mark.parametrize(
    ("config", "message", "field"),
    [
        ({"secret": "x" * (MIN_SECRET_LENGTH - 1)}, SECRET_TOO_SHORT, "secret"),
        ({"secret": "x" * (MAX_SECRET_LENGTH + 1)}, SECRET_TOO_LONG, "secret"),
        ({"secret": "has a space inside it"}, SECRET_NOT_PRINTABLE, "secret"),
        ({"secret": "ünicode-secret-value"}, SECRET_NOT_PRINTABLE, "secret"),
        ({"secret": 12345678901234567890}, FIELD_NOT_TEXT.format(field="secret"), "secret"),
        ({"address": "not an address"}, ADDRESS_INVALID, "address"),
        ({"address": "support@localhost"}, ADDRESS_INVALID, "address"),
        ({"address": ["a@b.example"]}, FIELD_NOT_TEXT.format(field="address"), "address"),
        (
            {"host": "imap.example.com"},
            unknown_settings_message("webhook", ["host"], WEBHOOK_FIELDS),
            "host",
        ),
    ],
)
def test_a_bad_config_names_its_field(config, message, field):
    with pytest.raises(ConfigError) as raised:
        CONNECTOR.validate_config(config)

    assert (raised.value.message, raised.value.field) == (message, field)


# --- the signature ----------------------------------------------------------------------------


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    timestamp = str(int(NOW.timestamp()))
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + BODY, hashlib.sha256)

    headers = signed_headers(SECRET, BODY, now=NOW)

    assert headers == {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: f"sha256={expected.hexdigest()}",
    }


def test_a_good_signature_passes_at_either_edge_of_the_window():
    for signed_at in (NOW - MAX_SKEW, NOW + MAX_SKEW, NOW):
        headers = signed_headers(SECRET, BODY, now=signed_at)
        verify(
            secret=SECRET,
            timestamp=headers[TIMESTAMP_HEADER],
            signature_value=headers[SIGNATURE_HEADER].upper().replace("SHA256", "sha256"),
            body=BODY,
            now=NOW,
        )


@pytest.mark.parametrize("missing", ["timestamp", "signature_value"])
@pytest.mark.parametrize("value", [None, ""])
def test_a_missing_header_is_401(missing, value):
    error = refused(**{missing: value})

    assert (error.status, error.message) == (401, SIGNATURE_MISSING)


def test_a_signature_older_than_five_minutes_is_refused_even_when_it_is_right():
    old = NOW - MAX_SKEW - timedelta(seconds=1)
    headers = signed_headers(SECRET, BODY, now=old)

    error = refused(timestamp=headers[TIMESTAMP_HEADER], signature_value=headers[SIGNATURE_HEADER])

    assert (error.status, error.message) == (403, TIMESTAMP_STALE)


def test_a_signature_from_more_than_five_minutes_ahead_is_refused():
    ahead = NOW + MAX_SKEW + timedelta(seconds=1)
    headers = signed_headers(SECRET, BODY, now=ahead)

    error = refused(timestamp=headers[TIMESTAMP_HEADER], signature_value=headers[SIGNATURE_HEADER])

    assert (error.status, error.message) == (403, TIMESTAMP_FUTURE)


@pytest.mark.parametrize("timestamp", ["yesterday", "1.5", "-5", "١٢٣", "9" * 13, " "])
def test_a_timestamp_that_is_no_unix_time_is_403(timestamp):
    error = refused(timestamp=timestamp)

    assert (error.status, error.message) == (403, TIMESTAMP_INVALID)


@pytest.mark.parametrize(
    "value", ["abc", "sha1=" + "0" * 40, "sha256=" + "0" * 63, "sha256=" + "g" * 64, "sha256="]
)
def test_a_malformed_signature_is_403(value):
    error = refused(signature_value=value)

    assert (error.status, error.message) == (403, SIGNATURE_MALFORMED)


def test_a_signature_made_with_another_secret_or_over_other_bytes_is_403():
    timestamp = str(int(NOW.timestamp()))
    other_secret = signature_header("another-secret-entirely", timestamp, BODY)
    other_body = signature_header(SECRET, timestamp, BODY + b"x")
    other_time = signature_header(SECRET, str(int(NOW.timestamp()) - 1), BODY)

    for value in (other_secret, other_body, other_time):
        error = refused(signature_value=value)
        assert (error.status, error.message) == (403, SIGNATURE_WRONG)


def test_a_channel_without_a_secret_refuses_every_signature():
    headers = signed_headers("", BODY, now=NOW)

    error = refused(secret="", signature_value=headers[SIGNATURE_HEADER])

    assert (error.status, error.message) == (403, NO_SECRET)


def test_the_digests_are_compared_in_constant_time(monkeypatch):
    compared = []
    real = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr("feedback.channels.webhook.hmac.compare_digest", spy)
    headers = signed_headers(SECRET, BODY, now=NOW)

    verify(
        secret=SECRET,
        timestamp=headers[TIMESTAMP_HEADER],
        signature_value=headers[SIGNATURE_HEADER],
        body=BODY,
        now=NOW,
    )

    assert len(compared) == 1
