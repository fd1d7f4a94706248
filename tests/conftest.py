"""Fixtures shared by the whole suite.

Tests that need a real service (PostgreSQL, Redis, dovecot, chromium) call
``require_service``: it skips with the reason when the service is missing, and fails
instead when ``PORTAL_REQUIRE_SERVICES=1`` (as in CI)."""

import os
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache

from portal.celery import app as celery_app
from portal.models import Role
from tests.factories import MembershipFactory, TeamFactory, UserFactory

# The tests' fake forums, feeds, token endpoints and dovecot listen on loopback, which the
# production default (PORTAL_CHANNEL_NETWORKS=public) refuses: the worker and web processes
# that tests start read this; the fixture below sets it in this process.
os.environ["PORTAL_CHANNEL_NETWORKS"] = "local"


def require_service(available: bool, reason: str) -> None:
    """Skip (or, with PORTAL_REQUIRE_SERVICES=1, fail) when a needed service is missing."""
    if available:
        return
    if os.environ.get("PORTAL_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service missing: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _eager_tasks_private_cache_fast_passwords(settings):
    """Tasks run inline and each test gets an empty in-process cache; the tests that prove
    the real worker, broker and cache start their own processes. Factories hash a password
    for every user, so a fast hasher keeps the suite quick."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.PORTAL_CHANNEL_NETWORKS = "local"
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # Local-memory caches with the same location share one store: empty it for each test.
    cache.clear()
    yield


@dataclass
class World:
    """Two teams and one user per persona, as the access matrix sees them."""

    team_a: object
    team_b: object
    admin_a: object
    lead_a: object
    agent_a: object
    viewer_a: object
    member_b: object
    outsider: object
    superuser: object


@pytest.fixture
def world(db) -> World:
    team_a = TeamFactory(name="Team A", slug="team-a")
    team_b = TeamFactory(name="Team B", slug="team-b")

    def member(username: str, team, role: Role):
        return MembershipFactory(user=UserFactory(username=username), team=team, role=role).user

    superuser = UserFactory(username="root", is_superuser=True, is_staff=True)
    return World(
        team_a=team_a,
        team_b=team_b,
        admin_a=member("admin_a", team_a, Role.ADMIN),
        lead_a=member("lead_a", team_a, Role.LEAD),
        agent_a=member("agent_a", team_a, Role.AGENT),
        viewer_a=member("viewer_a", team_a, Role.VIEWER),
        member_b=member("member_b", team_b, Role.ADMIN),
        outsider=UserFactory(username="outsider"),
        superuser=superuser,
    )


@pytest.fixture
def user_model():
    return get_user_model()


@pytest.fixture(autouse=True)
def _uploads_in_a_temporary_directory(settings, tmp_path):
    """Uploaded files (import jobs keep theirs) go to the test's own directory, not .local/."""
    settings.MEDIA_ROOT = tmp_path / "media"
