"""Settings as an operator meets them: each case is a fresh `manage.py` process, because
settings are read once, at start-up, from the environment."""

import base64
import hashlib
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

from portal.crypto import KEY_INVALID, KEY_REQUIRED
from portal.links import BASE_URL_NOT_HTTPS, BASE_URL_REQUIRED

MANAGE = str(Path(settings.BASE_DIR) / "manage.py")
SECRET_KEY_MESSAGE = "DJANGO_SECRET_KEY must be set to a random value of at least 50 characters"
# Variables from the developer's shell (or CI) that would change what a case proves.
DROPPED = (
    "DATABASE_URL",
    "REDIS_URL",
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY",
    "DJANGO_STATIC_ROOT",
    "PORTAL_ENCRYPTION_KEY",
    "PORTAL_BASE_URL",
    "PORTAL_ENV_FILE",
)
PRINT_SETTING = "from django.conf import settings; print(settings.{name})"


def manage(
    *args: str, tmp_path: Path, unset: tuple[str, ...] = (), **env_overrides: str
) -> subprocess.CompletedProcess:
    """Run manage.py with the given variables. A developer's ./.env is replaced by an empty
    file unless the case names its own (PORTAL_ENV_FILE), so that it cannot fill anything in."""
    env = {key: value for key, value in os.environ.items() if key not in DROPPED}
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.touch()
    env.update(PORTAL_LOCAL_DIR=str(tmp_path / "local"), PORTAL_ENV_FILE=str(empty_env_file))
    env.update(env_overrides)
    for key in unset:
        env.pop(key, None)
    return subprocess.run(
        [sys.executable, MANAGE, *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_env(**overrides: str) -> dict[str, str]:
    return {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "PORTAL_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "PORTAL_BASE_URL": "https://portal.example.com",
        "DJANGO_ALLOWED_HOSTS": "portal.example.com",
        **overrides,
    }


def printed_setting(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_deploy_check_is_clean_with_production_variables(tmp_path):
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", tmp_path=tmp_path, **production_env()
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_debug_off_refuses_to_start_without_a_secret_key(tmp_path):
    # Empty rather than absent, so that a developer's .env cannot fill it in.
    result = manage("check", tmp_path=tmp_path, DJANGO_DEBUG="0", DJANGO_SECRET_KEY="")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert SECRET_KEY_MESSAGE in result.stderr


def test_debug_off_refuses_a_short_secret_key(tmp_path):
    result = manage("check", tmp_path=tmp_path, DJANGO_DEBUG="0", DJANGO_SECRET_KEY="short")

    assert result.returncode != 0
    assert SECRET_KEY_MESSAGE in result.stderr


def test_env_file_is_read_before_the_settings_it_sets(tmp_path):
    env_file = tmp_path / "portal.env"
    env_file.write_text(f"PORTAL_LOCAL_DIR={tmp_path / 'from-env-file'}\n")

    result = manage(
        "shell",
        "-c",
        PRINT_SETTING.format(name="DATABASES['default']['NAME']"),
        tmp_path=tmp_path,
        unset=("PORTAL_LOCAL_DIR",),
        PORTAL_ENV_FILE=str(env_file),
    )

    assert printed_setting(result) == str(tmp_path / "from-env-file" / "portal.sqlite3")


def test_environment_wins_over_the_env_file(tmp_path):
    env_file = tmp_path / "portal.env"
    env_file.write_text("PORTAL_TIME_ZONE=Europe/Vienna\n")

    result = manage(
        "shell",
        "-c",
        PRINT_SETTING.format(name="TIME_ZONE"),
        tmp_path=tmp_path,
        PORTAL_ENV_FILE=str(env_file),
        PORTAL_TIME_ZONE="Europe/Lisbon",
    )

    assert printed_setting(result) == "Europe/Lisbon"


def test_a_named_env_file_that_is_missing_is_refused(tmp_path):
    missing = tmp_path / "missing.env"

    result = manage("check", tmp_path=tmp_path, PORTAL_ENV_FILE=str(missing))

    assert result.returncode != 0
    assert f"PORTAL_ENV_FILE names {missing}, which is not a file." in result.stderr


def test_debug_off_refuses_to_start_without_an_encryption_key(tmp_path):
    result = manage("check", tmp_path=tmp_path, **production_env(PORTAL_ENCRYPTION_KEY=""))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert KEY_REQUIRED in result.stderr
    assert "Fernet.generate_key()" in result.stderr


def test_debug_off_refuses_an_encryption_key_that_is_not_a_fernet_key(tmp_path):
    result = manage("check", tmp_path=tmp_path, **production_env(PORTAL_ENCRYPTION_KEY="not-a-key"))

    assert result.returncode != 0
    assert KEY_INVALID in result.stderr


def test_debug_on_derives_the_encryption_key_from_the_secret_key(tmp_path):
    secret_key = "a-development-secret-key"

    result = manage(
        "shell",
        "-c",
        PRINT_SETTING.format(name="PORTAL_ENCRYPTION_KEY"),
        tmp_path=tmp_path,
        DJANGO_SECRET_KEY=secret_key,
    )

    expected = base64.urlsafe_b64encode(hashlib.sha256(secret_key.encode()).digest()).decode()
    assert printed_setting(result) == expected


def test_a_set_encryption_key_is_used_as_it_is_even_in_debug(tmp_path):
    key = Fernet.generate_key().decode()

    result = manage(
        "shell",
        "-c",
        PRINT_SETTING.format(name="PORTAL_ENCRYPTION_KEY"),
        tmp_path=tmp_path,
        PORTAL_ENCRYPTION_KEY=key,
    )

    assert printed_setting(result) == key


def test_debug_off_refuses_to_start_without_a_base_url(tmp_path):
    result = manage("check", tmp_path=tmp_path, **production_env(PORTAL_BASE_URL=""))

    assert result.returncode != 0
    assert BASE_URL_REQUIRED in result.stderr


def test_debug_off_refuses_a_plain_http_base_url(tmp_path):
    value = "http://portal.example.com"

    result = manage("check", tmp_path=tmp_path, **production_env(PORTAL_BASE_URL=value))

    assert result.returncode != 0
    assert BASE_URL_NOT_HTTPS.format(value=value) in result.stderr


def test_debug_on_links_to_the_development_server_by_default(tmp_path):
    result = manage("shell", "-c", PRINT_SETTING.format(name="PORTAL_BASE_URL"), tmp_path=tmp_path)

    assert printed_setting(result) == "http://127.0.0.1:8000"


def test_models_and_migrations_agree(tmp_path):
    result = manage("makemigrations", "--check", "--dry-run", tmp_path=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("variables", "engine"),
    [
        ({}, "django.db.backends.sqlite3"),
        (
            {"DATABASE_URL": "postgres://portal:secret@db.example.com:5432/portal"},
            "django.db.backends.postgresql",
        ),
    ],
)
def test_database_url_chooses_the_database(tmp_path, variables, engine):
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])",
        tmp_path=tmp_path,
        **variables,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == engine


def test_env_example_documents_every_variable_settings_read():
    base_dir = Path(settings.BASE_DIR)
    source = (base_dir / "portal" / "settings.py").read_text()
    # env("X"), env.str("X", ...), environ.Env().str("X", ...) and the like.
    read = set(re.findall(r'(?:\benv|Env\(\))(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', source))
    documented = set(
        re.findall(r"^#?([A-Z][A-Z0-9_]+)=", (base_dir / ".env.example").read_text(), re.MULTILINE)
    )

    assert {"DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY"} <= read
    assert read - documented == set()
