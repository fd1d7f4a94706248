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


ROOT_FILES_DIR = BASE_DIR / "static" / "root"
TABLE_PATTERN = re.compile(r"<table\b(?P<attrs>[^>]*)>(?P<body>.*?)</table>", re.DOTALL)
CELL_PATTERN = re.compile(r"<td\b(?P<attrs>[^>]*)>(?P<content>.*?)</td>", re.DOTALL)
# Placeholders for an empty value other than the one convention, "—".
OTHER_EMPTY_PATTERN = re.compile(
    r">\s*(none|empty|n/a|-)\s*<|default:\s*[\"'](none|empty|n/a|-)[\"']", re.IGNORECASE
)


# Tables that lay themselves out on a phone in their own stylesheet instead of table.stack:
# the inbox's rows are cards of their own (status, priority and SLA on one line, the subject on
# the next), their cells labelled all the same (templates/feedback/partials/inbox_row.html).
OWN_PHONE_LAYOUTS = {"inbox-table": BASE_DIR / "static" / "feedback" / "inbox.css"}


def own_phone_layout(attrs: str) -> str | None:
    """The class of a table with a phone layout of its own, checked to exist in its
    stylesheet below a max-width breakpoint."""
    for name, stylesheet in OWN_PHONE_LAYOUTS.items():
        if re.search(rf'class="[^"]*\b{name}\b', attrs):
            pattern = rf"@media \(max-width:[^{{]*\{{[^@]*\.{name}\b"
            assert re.search(pattern, stylesheet.read_text()), name
            return name
    return None


def table_templates() -> list[Path]:
    return [path for path in sorted(TEMPLATES_DIR.rglob("*.html")) if "<table" in path.read_text()]


def test_favicon_is_served_at_the_site_root(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] in {"image/x-icon", "image/vnd.microsoft.icon"}
    body = b"".join(response.streaming_content)
    assert body == (ROOT_FILES_DIR / "favicon.ico").read_bytes()
    # An ICO header: reserved 0, type 1 (icon), then the number of images.
    assert body[:4] == b"\x00\x00\x01\x00"


def test_every_page_links_the_favicon():
    base = (TEMPLATES_DIR / "base.html").read_text()

    assert '<link rel="icon" href="/favicon.ico"' in base


@pytest.mark.parametrize(
    "path",
    [pytest.param(path, id=str(path.relative_to(TEMPLATES_DIR))) for path in table_templates()],
)
def test_every_table_stacks_on_a_phone_with_a_label_on_each_value(path):
    """static/css/portal.css shows a table.stack row as a card of "label: value" lines below
    its breakpoint; a cell without a data-label would show a value nobody can name. Cells
    that hold only an action (a form) or span the row may go without one."""
    for table in TABLE_PATTERN.finditer(path.read_text()):
        assert re.search(r'class="[^"]*\bstack\b', table["attrs"]) or own_phone_layout(
            table["attrs"]
        ), table["attrs"]
        for cell in CELL_PATTERN.finditer(table["body"]):
            labelled = re.search(r'data-label="[^"]+"', cell["attrs"])
            action_or_span = (
                "colspan" in cell["attrs"]
                or "<form" in cell["content"]
                or ("_form.html" in cell["content"])
            )
            assert labelled or action_or_span, cell.group(0)


def test_templates_show_an_empty_value_as_a_dash():
    offenders = [
        f"{path.relative_to(BASE_DIR)}:{number}: {line.strip()}"
        for path in sorted(TEMPLATES_DIR.rglob("*.html"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if OTHER_EMPTY_PATTERN.search(line)
    ]

    assert offenders == []


def test_charts_take_their_interpolation_from_one_default():
    """A smoothed curve overshoots between points (above 18 between two weeks of 18); the
    portal sets monotone interpolation once, and no chart sets a tension of its own."""
    script = (BASE_DIR / "static" / "js" / "portal.js").read_text()

    assert 'line.cubicInterpolationMode = "monotone";' in script
    assert "line.tension = 0;" in script
    assert not re.search(r"\btension\s*:", script)
    assert not [path for path in TEMPLATES_DIR.rglob("*.html") if "tension" in path.read_text()]
