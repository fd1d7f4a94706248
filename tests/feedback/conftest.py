"""Fixtures for the feedback tests: a real dovecot per test worker and a fresh account per
test (see ``tests/feedback/dovecot.py``)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.conftest import require_service
from tests.feedback.dovecot import (
    DOVECOT_MISSING,
    DovecotServer,
    ImapAccount,
    dovecot_available,
)
from tests.feedback.fakeweb import FakeWeb


@pytest.fixture(scope="session")
def dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DovecotServer]:
    """One dovecot per test worker, started on free loopback ports and stopped at the end."""
    require_service(dovecot_available(), DOVECOT_MISSING)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    server = DovecotServer.start(tmp_path_factory.mktemp(f"dovecot-{worker}"), instance=worker)
    yield server
    server.stop()


@pytest.fixture
def imap_account(dovecot: DovecotServer) -> ImapAccount:
    """A new account with an empty mailbox on the worker's dovecot."""
    return dovecot.add_user()


@pytest.fixture
def fake_web() -> Iterator[FakeWeb]:
    """A local HTTP server speaking a remote service's API from recorded fixtures."""
    with FakeWeb().running() as web:
        yield web
