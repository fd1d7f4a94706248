"""The access matrix: every URL pattern of the project, requested as each persona.

Each app contributes its cases, and the objects its URLs name, from
``tests/<app>/access_cases.py`` (``CASES``, and optionally ``objects(world)``); the pieces
they are written with, the personas and the meaning of the answers are in ``tests/access.py``.
A URL pattern without a case fails ``test_every_url_pattern_has_a_matrix_entry``: add one to
your app's module when you add a URL.
"""

import importlib
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.authtoken.models import Token

from tests.access import LOGIN, PERSONAS, REDIRECT, Case

TESTS_DIR = Path(__file__).resolve().parent
# The REST API's URL names live in the one ``api`` namespace; they are requested with a token.
API_NAMESPACE = "api:"
# Every admin page is guarded by the admin site itself; the cases above stand for them all.
COVERED_NAMESPACES = ("admin:",)


def case_modules() -> list[ModuleType]:
    """Every ``tests/<app>/access_cases.py``, found on disk so that a new app only adds one."""
    return [
        importlib.import_module(f"tests.{path.parent.name}.access_cases")
        for path in sorted(TESTS_DIR.glob("*/access_cases.py"))
    ]


MODULES = case_modules()
MATRIX: dict[str, Case] = {name: case for module in MODULES for name, case in module.CASES.items()}


def iter_url_names(resolver: URLResolver | None = None, namespace: str = ""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from iter_url_names(pattern, inner)
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name or f'<unnamed {pattern.pattern}>'}"


def test_every_app_contributes_its_cases():
    apps = {module.__name__.split(".")[1] for module in MODULES}

    assert {"portal", "feedback", "surveys", "backlog"} <= apps


def test_no_url_has_cases_in_two_apps():
    counts = Counter(name for module in MODULES for name in module.CASES)

    assert [name for name, count in counts.items() if count > 1] == []


def test_every_case_expects_an_answer_for_every_persona():
    incomplete = [name for name, case in MATRIX.items() if set(case.expected) != set(PERSONAS)]

    assert sorted(incomplete) == []


def test_every_url_pattern_has_a_matrix_entry():
    names = set(iter_url_names())
    missing = sorted(
        name for name in names if name not in MATRIX and not name.startswith(COVERED_NAMESPACES)
    )
    assert not missing, f"URL patterns without an access-matrix entry: {missing}"
    stale = sorted(set(MATRIX) - names)
    assert not stale, f"Matrix entries for URLs that no longer exist: {stale}"


@pytest.fixture
def objects(world) -> dict:
    merged: dict = {"world": world}
    for module in MODULES:
        contributed = module.objects(world) if hasattr(module, "objects") else {}
        clash = sorted(merged.keys() & contributed.keys())
        assert not clash, f"{module.__name__} names objects another app already named: {clash}"
        merged.update(contributed)
    return merged


def outcome(response) -> int | str:
    if response.status_code in (301, 302, 303):
        location = response.headers["Location"]
        login_pages = (reverse(settings.LOGIN_URL), reverse("admin:login"))
        return LOGIN if location.startswith(login_pages) else REDIRECT
    return response.status_code


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_access_matrix(name, persona, objects):
    case = MATRIX[name]
    client = Client()
    if persona != "anonymous":
        user = getattr(objects["world"], persona)
        if name.startswith(API_NAMESPACE):
            token, _ = Token.objects.get_or_create(user=user)
            client = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
        else:
            client.force_login(user)
    response = getattr(client, case.method)(case.url(objects), case.data(objects))
    assert outcome(response) == case.expected[persona], (
        f"{case.method.upper()} {case.url(objects)} as {persona}: got {response.status_code}"
        f" {response.headers.get('Location', '')}"
    )
