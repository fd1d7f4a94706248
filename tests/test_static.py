"""Front-end files are vendored at pinned versions: no CDN, no build step."""

import hashlib
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parent.parent
VENDOR_DIR = BASE_DIR / "static" / "vendor"
TEMPLATES_DIR = BASE_DIR / "templates"
CDN_PATTERN = re.compile(r"https?://cdn|unpkg|jsdelivr|cdnjs|googleapis", re.IGNORECASE)


def vendored_files() -> list[tuple[str, str, str, str]]:
    rows = []
    for line in (VENDOR_DIR / "VERSIONS").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            file_name, package, version, sha256 = line.split("\t")
            rows.append((file_name, package, version, sha256))
    return rows


def test_versions_lists_htmx_chart_js_and_pico():
    packages = {package: version for _, package, version, _ in vendored_files()}

    assert packages["htmx.org"].startswith("2.0.")
    assert packages["chart.js"].startswith("4.")
    assert packages["@picocss/pico"].startswith("2.")


@pytest.mark.parametrize(
    ("file_name", "package", "version", "sha256"),
    [pytest.param(*row, id=row[0]) for row in vendored_files()],
)
def test_vendored_file_matches_its_recorded_sha256(file_name, package, version, sha256):
    path = VENDOR_DIR / file_name

    assert path.is_file(), f"{file_name} ({package} {version}) is listed but missing"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256


def test_every_vendored_script_and_stylesheet_is_listed():
    listed = {file_name for file_name, *_ in vendored_files()}
    present = {path.name for path in VENDOR_DIR.iterdir() if path.suffix in {".js", ".css"}}

    assert present <= listed


def test_templates_load_nothing_from_a_cdn():
    offenders = [
        f"{path.relative_to(BASE_DIR)}:{number}: {line.strip()}"
        for path in sorted(TEMPLATES_DIR.rglob("*.html"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if CDN_PATTERN.search(line)
    ]

    assert offenders == []


def test_collectstatic_succeeds_with_the_production_storage(tmp_path):
    """With debug off, WhiteNoise's manifest storage rewrites references inside the files
    (source maps, CSS urls) and fails on any that points at a missing file."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY"}
    }
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_STATIC_ROOT=str(tmp_path / "staticfiles"),
        PORTAL_LOCAL_DIR=str(tmp_path / "local"),
        PORTAL_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        PORTAL_BASE_URL="https://portal.example.com",
    )
    result = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "collectstatic", "--noinput"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "staticfiles" / "staticfiles.json").is_file()
    assert (tmp_path / "staticfiles" / "vendor" / "htmx.min.js").is_file()
