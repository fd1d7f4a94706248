"""django-helpdesk's ``get_email`` as the comparison for the ingestion benchmark.

The benchmark installs it from PyPI into a virtualenv of its own (``.local/bench/helpdesk-venv``,
made once and reused while the pinned version stays the same), so nothing of it reaches the
portal's environment, and runs it as a small Django project (``bench/helpdesk_site``) on a
PostgreSQL database of its own. django-helpdesk deletes and expunges the mail it turns into
tickets, so each run gets a freshly seeded mailbox.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# The newest release on PyPI when this was written; it supports Django 5.2 on Python 3.11.
HELPDESK_VERSION = "2.6.1"
REQUIREMENTS = [f"django-helpdesk=={HELPDESK_VERSION}", "psycopg2-binary"]
SITE = Path(__file__).resolve().parent / "helpdesk_site"
INSTALL_TIMEOUT = 600
RUN_TIMEOUT = 900


@dataclass
class HelpdeskRun:
    seconds: float
    tickets: int
    followups: int
    attachments: int
    django: str


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_venv(venv: Path) -> Path:
    """The helpdesk virtualenv's python, creating the venv and installing into it if needed."""
    marker = venv / f"installed-{HELPDESK_VERSION}"
    if marker.exists():
        return _python(venv)
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    # The base interpreter, not the portal venv's: the new venv must not see its packages.
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=INSTALL_TIMEOUT)
    subprocess.run(
        [
            str(_python(venv)),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            *REQUIREMENTS,
        ],
        check=True,
        timeout=INSTALL_TIMEOUT,
    )
    marker.touch()
    return _python(venv)


def run_get_email(
    python: Path,
    *,
    database_url: str,
    media_root: Path,
    host: str,
    port: int,
    username: str,
    password: str,
    warm_username: str,
    warm_password: str,
) -> HelpdeskRun:
    """One timed ``get_email`` after a warm-up on a small mailbox (see run_get_email.py)."""
    shutil.rmtree(media_root, ignore_errors=True)
    media_root.mkdir(parents=True)
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HELPDESK_DATABASE_URL": database_url,
        "HELPDESK_MEDIA_ROOT": str(media_root),
    }
    completed = subprocess.run(
        [
            str(python),
            str(SITE / "run_get_email.py"),
            host,
            str(port),
            username,
            password,
            warm_username,
            warm_password,
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"django-helpdesk's get_email failed:\n{completed.stderr[-3000:]}")
    return HelpdeskRun(**json.loads(completed.stdout.strip().splitlines()[-1]))
