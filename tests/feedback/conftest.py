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
    TokenServer,
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


@pytest.fixture(scope="session")
def oauth_provider() -> Iterator[TokenServer]:
    """A token and introspection endpoint for the OAuth IMAP tests, one per test worker."""
    with FakeWeb().running() as web:
        yield TokenServer(web)


@pytest.fixture(scope="session")
def dovecot_oauth(
    tmp_path_factory: pytest.TempPathFactory, oauth_provider: TokenServer
) -> Iterator[DovecotServer]:
    """A second dovecot per test worker whose oauth2 passdb asks ``oauth_provider``."""
    require_service(dovecot_available(), DOVECOT_MISSING)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    server = DovecotServer.start(
        tmp_path_factory.mktemp(f"dovecot-oauth-{worker}"),
        instance=f"{worker}-oauth",
        oauth2_introspection_url=oauth_provider.introspection_url,
    )
    yield server
    server.stop()


@pytest.fixture
def token_server(oauth_provider: TokenServer) -> TokenServer:
    """The worker's token server, its request log and armed answers cleared for this test."""
    oauth_provider.reset()
    return oauth_provider


@pytest.fixture
def oauth_account(dovecot_oauth: DovecotServer) -> ImapAccount:
    """A new account with an empty mailbox on the worker's OAuth dovecot."""
    return dovecot_oauth.add_user()
