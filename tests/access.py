"""The pieces every app's access cases are written with (``tests/<app>/access_cases.py``),
merged and run by ``tests/test_access_matrix.py``.

Personas (the ``world`` fixture): anonymous; a viewer, an agent, a lead and an admin of team A;
an admin of team B; a superuser. Objects in the URLs belong to team A, or are
organisation-wide. Expected answers: ``LOGIN`` is a redirect to the login page, ``REDIRECT`` a
redirect elsewhere (a successful POST), numbers are status codes.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

LOGIN = "login"
REDIRECT = "redirect"
PERSONAS = ("anonymous", "viewer_a", "agent_a", "lead_a", "admin_a", "member_b", "superuser")

Objects = dict[str, Any]


def expect(anonymous, viewer_a, agent_a, lead_a, admin_a, member_b, superuser) -> dict:
    """One expected answer per persona, in the order of ``PERSONAS``."""
    answers = (anonymous, viewer_a, agent_a, lead_a, admin_a, member_b, superuser)
    return dict(zip(PERSONAS, answers, strict=True))


@dataclass
class Case:
    url: Callable[[Objects], str]
    expected: dict
    method: str = "get"
    data: Callable[[Objects], dict] = field(default=lambda objects: {})


def url(name: str, *args: str) -> Callable[[Objects], str]:
    """``reverse(name)`` with each argument looked up in the objects (or taken as it is)."""
    return lambda objects: reverse(name, args=[objects.get(a, a) for a in args])


def csv_file(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("import.csv", text.encode(), content_type="text/csv")


# The answers most URLs share, each row in the order of PERSONAS: anonymous, viewer_a, agent_a,
# lead_a, admin_a, member_b, superuser.
# Web pages -------------------------------------------------------------------------------------
PUBLIC = expect(200, 200, 200, 200, 200, 200, 200)
SIGNED_IN = expect(LOGIN, 200, 200, 200, 200, 200, 200)
ORG_PAGE = SIGNED_IN  # organisation-wide: every member reads it
TEAM_A_PAGE = expect(LOGIN, 200, 200, 200, 200, 404, 200)
# Customers and accounts: agents of any team edit them (member_b is admin of team B).
DIRECTORY_EDIT = expect(LOGIN, 403, 200, 200, 200, 200, 200)
LEAD_ANYWHERE_PAGE = expect(LOGIN, 403, 403, 200, 200, 200, 200)
LEAD_ANYWHERE_POST = expect(LOGIN, 403, 403, REDIRECT, REDIRECT, REDIRECT, REDIRECT)
TEAM_A_ADMIN_POST = expect(LOGIN, 403, 403, 403, REDIRECT, 404, REDIRECT)
SUPERUSER_PAGE = expect(LOGIN, 403, 403, 403, 403, 403, 200)
STAFF_ONLY = expect(LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, 200)  # the Django admin
# API (requested with a token) ------------------------------------------------------------------
API_ORG = expect(401, 200, 200, 200, 200, 200, 200)
API_TEAM_A = expect(401, 200, 200, 200, 200, 404, 200)
API_DIRECTORY_EDIT = expect(401, 403, 200, 200, 200, 200, 200)
API_LEAD_ANYWHERE = expect(401, 403, 403, 200, 200, 200, 200)
