"""Settings as an operator meets them: each case is a fresh `manage.py` process, because
settings are read once, at start-up, from the environment."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

MANAGE = str(Path(settings.BASE_DIR) / "manage.py")
SECRET_KEY_MESSAGE = "DJANGO_SECRET_KEY must be set to a random value of at least 50 characters"
# Variables from the developer's shell (or CI) that would change what a case proves.
DROPPED = ("DATABASE_URL", "REDIS_URL", "DJANGO_DEBUG", "DJANGO_SECRET_KEY", "DJANGO_STATIC_ROOT")


def manage(*args: str, tmp_path: Path, **env_overrides: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in DROPPED}
    env.update(PORTAL_LOCAL_DIR=str(tmp_path / "local"), **env_overrides)
    return subprocess.run(
        [sys.executable, MANAGE, *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_env() -> dict[str, str]:
    return {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "portal.example.com",
    }


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
