"""IMAP config cleaning and the plaintext policy (no server needed)."""

import pytest

from feedback.channels.base import ConfigError, unknown_settings_message
from feedback.channels.imap import ImapConnector
from feedback.channels.imap.config import (
    ADDRESS_INVALID,
    CA_CERTIFICATE_INVALID,
    FIELD_NOT_BOOLEAN,
    FIELD_NOT_TEXT,
    FIELD_REQUIRED,
    HOST_INVALID,
    MAX_TIMEOUT,
    MOVE_TO_SAME_FOLDER,
    PLAINTEXT_REFUSED,
    PORT_INVALID,
    SECURITY_INVALID,
    TIMEOUT_INVALID,
    is_loopback,
)
from feedback.channels.imap.config import CONFIG_FIELDS as IMAP_FIELDS

CONNECTOR = ImapConnector()


def config(**overrides):
    values = {
        "host": "imap.example.com",
        "username": "support@example.com",
        "password": "s3cret",
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not ...}


def config_error(values, **kwargs) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        CONNECTOR.validate_config(values, **kwargs)
    assert not raised.value.retryable
    return raised.value


def test_defaults_fill_in_a_minimal_config():
    cleaned = CONNECTOR.validate_config(config())

    assert cleaned == {
        "host": "imap.example.com",
        "port": 993,
        "username": "support@example.com",
        "password": "s3cret",
        "folder": "INBOX",
        "security": "tls",
        "move_to": None,
        "address": "support@example.com",
        "verify_certificate": True,
        "ca_certificate": None,
        "timeout": 30.0,
    }


def test_starttls_and_plaintext_default_to_port_143():
    assert CONNECTOR.validate_config(config(security="starttls"))["port"] == 143
    assert CONNECTOR.validate_config(config(host="127.0.0.1", security="none"))["port"] == 143


def test_values_are_cleaned_but_the_password_is_kept_as_typed():
    cleaned = CONNECTOR.validate_config(
        config(host=" imap.example.com ", port="1993", password=" pass word ", folder=" Support ")
    )

    assert cleaned["host"] == "imap.example.com"
    assert cleaned["port"] == 1993
    assert cleaned["password"] == " pass word "
    assert cleaned["folder"] == "Support"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost"])
def test_plaintext_is_allowed_for_loopback_hosts(host):
    cleaned = CONNECTOR.validate_config(config(host=host, security="none"))

    assert cleaned["security"] == "none"
    assert is_loopback(cleaned["host"])


@pytest.mark.parametrize("host", ["imap.example.com", "93.184.215.14", "128.0.0.1", "::2"])
def test_plaintext_to_other_hosts_is_refused(host):
    error = config_error(config(host=host, security="none"))

    assert error.field == "security"
    assert error.message == PLAINTEXT_REFUSED.format(host=host)


def test_plaintext_to_other_hosts_is_allowed_with_the_flag():
    cleaned = CONNECTOR.validate_config(config(security="none"), allow_plaintext=True)

    assert (cleaned["security"], cleaned["port"]) == ("none", 143)


@pytest.mark.parametrize("field", ["host", "username", "password"])
@pytest.mark.parametrize("missing", [..., None, "", "   "])
def test_required_fields_are_named_when_missing(field, missing):
    if missing == "   " and field == "password":
        # A password of spaces is a password; only an empty one is missing.
        assert CONNECTOR.validate_config(config(password="   "))["password"] == "   "
        return
    error = config_error(config(**{field: missing}))

    assert (error.field, error.message) == (field, FIELD_REQUIRED.format(field=field))


def test_address_is_required_when_the_username_is_not_an_address():
    error = config_error(config(username="support"))

    assert (error.field, error.message) == ("address", FIELD_REQUIRED.format(field="address"))


def test_an_explicit_address_wins_over_the_username():
    cleaned = CONNECTOR.validate_config(config(username="support", address="help@example.com"))

    assert cleaned["address"] == "help@example.com"


@pytest.mark.parametrize("address", ["help", "help@localhost", "@example.com", "a b@example.com"])
def test_an_address_must_look_like_one(address):
    error = config_error(config(address=address))

    assert (error.field, error.message) == ("address", ADDRESS_INVALID)


@pytest.mark.parametrize("port", [0, 65536, -1, "abc", 1.5, True, "99999", "²", "٩٩٣"])
def test_bad_ports_are_refused(port):
    error = config_error(config(port=port))

    assert (error.field, error.message) == ("port", PORT_INVALID)


@pytest.mark.parametrize("host", ["imaps://imap.example.com", "imap.example.com:993", "a b"])
def test_hosts_with_scheme_port_or_spaces_are_refused(host):
    error = config_error(config(host=host))

    assert (error.field, error.message) == ("host", HOST_INVALID)


def test_unknown_security_is_refused():
    error = config_error(config(security="ssl"))

    assert (error.field, error.message) == ("security", SECURITY_INVALID)


def test_text_fields_must_be_text():
    error = config_error(config(username=42))

    assert (error.field, error.message) == ("username", FIELD_NOT_TEXT.format(field="username"))


def test_verify_certificate_must_be_a_boolean():
    error = config_error(config(verify_certificate="no"))

    assert error.field == "verify_certificate"
    assert error.message == FIELD_NOT_BOOLEAN.format(field="verify_certificate")


def test_verify_certificate_may_be_turned_off():
    cleaned = CONNECTOR.validate_config(config(verify_certificate=False))

    assert cleaned["verify_certificate"] is False


@pytest.mark.parametrize("timeout", [0, -1, MAX_TIMEOUT + 1, "30", True])
def test_bad_timeouts_are_refused(timeout):
    error = config_error(config(timeout=timeout))

    assert (error.field, error.message) == ("timeout", TIMEOUT_INVALID.format(maximum=MAX_TIMEOUT))


def test_small_timeouts_are_kept():
    assert CONNECTOR.validate_config(config(timeout=1.5))["timeout"] == 1.5


def test_move_to_is_optional_and_must_differ_from_the_folder():
    assert CONNECTOR.validate_config(config(move_to=""))["move_to"] is None
    assert CONNECTOR.validate_config(config(move_to="Done"))["move_to"] == "Done"

    error = config_error(config(folder="Support", move_to="Support"))

    assert (error.field, error.message) == ("move_to", MOVE_TO_SAME_FOLDER)


def test_a_ca_certificate_must_be_pem():
    error = config_error(config(ca_certificate="not a certificate"))

    assert (error.field, error.message) == ("ca_certificate", CA_CERTIFICATE_INVALID)


def test_unknown_fields_are_named():
    error = config_error(config(foldr="INBOX"))

    assert (error.field, error.message) == (
        "foldr",
        unknown_settings_message("IMAP", ["foldr"], IMAP_FIELDS),
    )


def test_the_password_and_the_oauth_client_secret_and_refresh_token_are_the_secrets():
    assert CONNECTOR.secret_fields == frozenset({"password", "client_secret", "refresh_token"})
