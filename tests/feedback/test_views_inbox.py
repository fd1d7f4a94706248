"""The inbox page at its simplest: the current team's items with counts per status, and the
honest empty states (no feedback yet, no team). The working list (filters, actions, bulk,
export, saved views) is tested in test_inbox_page*.py."""

import re

import pytest
from django.urls import reverse

from feedback.models import ItemStatus
from tests.factories import CustomerFactory
from tests.feedback.factories import FeedbackItemFactory

pytestmark = pytest.mark.django_db


def test_the_inbox_lists_the_current_teams_items_with_counts_per_status(client, world):
    alice = CustomerFactory(name="Alice Example")
    FeedbackItemFactory(team=world.team_a, subject="Export fails", customer=alice)
    FeedbackItemFactory(team=world.team_a, subject="Dark mode?", status=ItemStatus.RESOLVED)
    FeedbackItemFactory(team=world.team_b, subject="Team B's secret")
    client.force_login(world.agent_a)

    page = client.get(reverse("feedback:inbox")).content.decode()

    # The list opens on the unsolved items; the resolved one is under "All" and "Resolved".
    assert "Export fails" in page
    assert "Dark mode?" not in page
    resolved = client.get(reverse("feedback:inbox") + "?status=resolved").content.decode()
    assert "Dark mode?" in resolved
    assert "Alice Example" in page
    assert "Team B&#x27;s secret" not in page and "Team B's secret" not in page
    tabs = re.findall(r'hx-get="[^"]*"[^>]*>(\w+) <span class="count">(\d+)</span>', page)
    assert tabs == [
        ("Unsolved", "1"),
        ("All", "2"),
        ("New", "1"),
        ("Open", "0"),
        ("Waiting", "0"),
        ("Resolved", "1"),
        ("Spam", "0"),
    ]


def test_a_team_without_feedback_says_so(client, world):
    client.force_login(world.viewer_a)

    page = client.get(reverse("feedback:inbox")).content.decode()

    assert "No feedback has been collected for Team A yet." in page


def test_an_empty_list_says_why_it_is_empty(client, world):
    # Everything resolved: the list that opens on the unsolved items is empty, but feedback was
    # collected; the no-JS form's defaults (status and snoozed) are no filters of the reader's.
    FeedbackItemFactory(team=world.team_a, status=ItemStatus.RESOLVED)
    client.force_login(world.viewer_a)
    inbox = reverse("feedback:inbox")

    caught_up = client.get(inbox).content.decode()
    defaults = client.get(f"{inbox}?snoozed=hide&status=new&status=open&status=waiting")
    narrowed = client.get(f"{inbox}?q=nothing-like-this").content.decode()

    assert "Nothing of Team A is new, open or waiting." in caught_up
    assert "No feedback has been collected" not in caught_up
    assert "Nothing of Team A is new, open or waiting." in defaults.content.decode()
    assert "No items match these filters." in narrowed


def test_a_person_without_a_team_is_told_to_ask_for_one(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("loner", password="x"))

    page = client.get(reverse("feedback:inbox")).content.decode()

    assert "You are not a member of any team yet" in page
