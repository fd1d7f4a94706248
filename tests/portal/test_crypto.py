"""Secrets at rest: the Fernet helper and the key rules settings apply at start-up."""

import base64
import hashlib

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from portal import crypto
from portal.crypto import (
    KEY_INVALID,
    KEY_REQUIRED,
    SECRET_UNREADABLE,
    DecryptionError,
    decrypt,
    derive_key,
    encrypt,
    encryption_key_from,
)


def test_encrypted_text_reads_back_and_does_not_show_the_text(settings):
    settings.PORTAL_ENCRYPTION_KEY = Fernet.generate_key().decode()

    token = encrypt("imap-password-ÄÖÜ")

    assert "imap-password" not in token
    assert decrypt(token) == "imap-password-ÄÖÜ"


def test_a_token_from_another_key_is_refused_with_a_message(settings):
    settings.PORTAL_ENCRYPTION_KEY = Fernet.generate_key().decode()
    token = encrypt("secret")
    settings.PORTAL_ENCRYPTION_KEY = Fernet.generate_key().decode()

    with pytest.raises(DecryptionError) as raised:
        decrypt(token)

    assert str(raised.value) == SECRET_UNREADABLE


def test_the_fernet_object_follows_the_configured_key(settings):
    key = Fernet.generate_key().decode()
    settings.PORTAL_ENCRYPTION_KEY = key

    assert Fernet(key).decrypt(crypto.fernet().encrypt(b"x")) == b"x"


def test_the_derived_key_is_urlsafe_base64_of_the_secret_keys_sha256():
    expected = base64.urlsafe_b64encode(hashlib.sha256(b"secret").digest()).decode()

    assert derive_key("secret") == expected
    Fernet(derive_key("secret"))  # a valid Fernet key


def test_debug_derives_a_key_when_none_is_set():
    assert encryption_key_from("", debug=True, secret_key="secret") == derive_key("secret")


def test_without_debug_an_empty_key_is_refused_saying_how_to_make_one():
    with pytest.raises(ImproperlyConfigured) as raised:
        encryption_key_from("  ", debug=False, secret_key="secret")

    assert str(raised.value) == KEY_REQUIRED
    assert crypto.GENERATE_KEY_COMMAND in KEY_REQUIRED


@pytest.mark.parametrize("debug", [True, False])
def test_a_key_that_is_not_a_fernet_key_is_refused(debug):
    with pytest.raises(ImproperlyConfigured) as raised:
        encryption_key_from("c2hvcnQ=", debug=debug, secret_key="secret")

    assert str(raised.value) == KEY_INVALID


def test_a_valid_key_is_kept_without_debug():
    key = Fernet.generate_key().decode()

    assert encryption_key_from(f" {key} ", debug=False, secret_key="secret") == key
