"""Secrets at rest (channel credentials) encrypted with Fernet under ``PORTAL_ENCRYPTION_KEY``.

With debug on and no key set, settings derive one from the secret key so that a development
database needs no further variable. With debug off the key must be set on its own: a key derived
from the secret key would turn rotating the secret key into losing every stored credential.
"""

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

GENERATE_KEY_COMMAND = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)
KEY_REQUIRED = (
    "PORTAL_ENCRYPTION_KEY must be set when DJANGO_DEBUG is off. Generate one with\n"
    f"    {GENERATE_KEY_COMMAND}\n"
    "and keep it with (not inside) your backups: without it stored credentials cannot be read."
)
KEY_INVALID = (
    "PORTAL_ENCRYPTION_KEY is not a Fernet key (32 bytes in URL-safe base64, 44 characters). "
    f"Generate one with\n    {GENERATE_KEY_COMMAND}"
)
SECRET_UNREADABLE = (
    "A stored secret cannot be decrypted with PORTAL_ENCRYPTION_KEY: it was encrypted under "
    "another key, or it was changed. Set the key it was stored with, or enter the secret again."
)


class DecryptionError(ValueError):
    """A token that this deployment's key cannot open."""


def derive_key(secret_key: str) -> str:
    """The debug-only key: URL-safe base64 of SHA-256 of the secret key."""
    return base64.urlsafe_b64encode(hashlib.sha256(secret_key.encode()).digest()).decode()


def encryption_key_from(value: str, *, debug: bool, secret_key: str) -> str:
    """The key settings use: ``value`` when it is a valid Fernet key, the derived key when it
    is empty in debug; refused at start otherwise."""
    value = value.strip()
    if not value:
        if not debug:
            raise ImproperlyConfigured(KEY_REQUIRED)
        return derive_key(secret_key)
    try:
        Fernet(value)
    except ValueError as error:
        raise ImproperlyConfigured(KEY_INVALID) from error
    return value


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    return Fernet(key)


def fernet() -> Fernet:
    """The Fernet object for the configured key (read at call time, so tests may override it)."""
    return _fernet(settings.PORTAL_ENCRYPTION_KEY)


def encrypt(text: str) -> str:
    return fernet().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise DecryptionError(SECRET_UNREADABLE) from error
