"""The sections that are not built yet answer honestly, and only to people who log in (the
inbox, whose triage is still to come, has its own tests in tests/feedback/test_views_inbox.py)."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory

NOT_BUILT = [
    "surveys:index",
    "backlog:index",
    "backlog:objectives",
    "portal:dashboards",
]


@pytest.mark.django_db
@pytest.mark.parametrize("name", NOT_BUILT)
def test_section_page_answers_a_logged_in_user(client, name):
    client.force_login(UserFactory())
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert b"Not available yet" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["feedback:inbox", *NOT_BUILT])
def test_section_page_sends_anonymous_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={reverse(name)}"
