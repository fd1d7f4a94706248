"""A merge is reviewed before it is done and leaves a way back to the kept item: the bulk merge
asks for a confirmation (with and without htmx), both reviews warn when the items are different
customers', and the page of a merged item leads to the item that holds its messages."""

import html
from datetime import timedelta

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from feedback.api import viewsets
from feedback.api.viewsets import ITEM_MERGED
from feedback.models import FeedbackItem, MergedItem
from feedback.services import merging
from feedback.services.merging import item_merge, merge_customers_notice
from feedback.views import item_actions
from feedback.views.item_actions import MERGED_BEFORE
from tests.factories import CustomerFactory
from tests.feedback.factories import SENT, FeedbackItemFactory, MessageFactory

pytestmark = pytest.mark.django_db

BULK = "/inbox/bulk/"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def pair(world):
    """Two items of team A from two customers; the first is the older."""
    hugo = CustomerFactory(name="Hugo Klein", email="hugo@fernhill.example")
    hannah = CustomerFactory(name="Hannah Byrne", email="hannah@brightmoor.example")
    older = FeedbackItemFactory(team=world.team_a, customer=hugo, subject="Invoice wrong")
    newer = FeedbackItemFactory(
        team=world.team_a,
        customer=hannah,
        subject="Export fails",
        first_message_at=SENT + timedelta(hours=1),
        last_message_at=SENT + timedelta(hours=1),
    )
    for item in (older, newer):
        MessageFactory(item=item, text=f"About {item.subject}")
    return older, newer


def _selection(*items, **extra) -> dict:
    return {"items": [item.pk for item in items], "action": "merge", "next": "/inbox/", **extra}


def test_a_bulk_merge_is_reviewed_then_done_without_javascript(client, world, pair):
    older, newer = pair
    client.force_login(world.agent_a)

    review = client.post(BULK, _selection(older, newer))

    assert review.status_code == 200
    page = review.content.decode()
    assert f"Merge 1 item into #{older.pk}?" in page
    assert f'name="items" value="{newer.pk}"' in page and 'name="confirm" value="1"' in page
    assert FeedbackItem.objects.filter(pk=newer.pk).exists()

    done = client.post(BULK, _selection(older, newer, confirm="1"))

    assert done.status_code == 302
    assert not FeedbackItem.objects.filter(pk=newer.pk).exists()
    assert older.messages.count() == 2


def test_a_bulk_merge_with_an_id_of_no_item_is_still_reviewed_first(client, world, pair):
    older, newer = pair
    other_team = FeedbackItemFactory(team=world.team_b)
    client.force_login(world.agent_a)

    review = client.post(
        BULK, {**_selection(older, newer), "items": [older.pk, newer.pk, other_team.pk]}
    )

    assert review.status_code == 200
    assert f'name="items" value="{other_team.pk}"' not in review.content.decode()
    assert FeedbackItem.objects.filter(pk__in=[older.pk, newer.pk, other_team.pk]).count() == 3


def test_a_bulk_merge_is_reviewed_in_the_lists_place_with_htmx(client, world, pair):
    older, newer = pair
    client.force_login(world.agent_a)

    review = client.post(BULK, _selection(older, newer), **HTMX).content.decode()

    assert review.startswith('<div id="inbox-results"')
    assert 'hx-post="/inbox/bulk/"' in review
    assert FeedbackItem.objects.filter(pk=newer.pk).exists()

    done = client.post(BULK, _selection(older, newer, confirm="1"), **HTMX).content.decode()

    assert f"1 of 1 selected items merged into #{older.pk}." in done
    assert not FeedbackItem.objects.filter(pk=newer.pk).exists()


def test_both_reviews_warn_when_the_items_are_two_customers(client, world, pair):
    older, newer = pair
    client.force_login(world.agent_a)
    notice = merge_customers_notice([older, newer], older)

    bulk = client.post(BULK, _selection(older, newer)).content.decode()
    single = client.get(
        reverse("feedback:item_merge", args=[older.pk]),
        {"other": newer.pk, "direction": "into_this"},
    ).content.decode()

    assert notice == (
        f"These are 2 customers' conversations (#{older.pk} Hugo Klein, #{newer.pk} Hannah "
        f"Byrne). The merged item #{older.pk} stays Hugo Klein's, and a reply goes to whoever "
        "wrote last: merge only if they are one request."
    )
    assert notice in html.unescape(bulk)
    assert notice in html.unescape(single)


def test_one_customers_items_merge_without_a_warning(client, world, pair):
    older, newer = pair
    newer.customer = older.customer
    newer.save()
    client.force_login(world.agent_a)

    page = client.post(BULK, _selection(older, newer)).content.decode()

    assert merge_customers_notice([older, newer], older) == ""
    assert "customers' conversations" not in html.unescape(page)


def test_a_merged_items_page_leads_to_the_item_that_holds_its_messages(client, world, pair):
    older, newer = pair
    third = FeedbackItemFactory(team=world.team_a, customer=older.customer)
    item_merge(actor=world.agent_a, source=newer, into=older)
    # Merged again: the link to the first merged item follows the chain to the last.
    item_merge(actor=world.agent_a, source=older, into=third)
    client.force_login(world.agent_a)

    response = client.get(reverse("feedback:item", args=[newer.pk]), follow=True)

    assert response.redirect_chain == [(reverse("feedback:item", args=[third.pk]), 302)]
    assert MERGED_BEFORE.format(merged=newer.pk, into=third.pk) in response.content.decode()
    assert set(MergedItem.objects.values_list("merged_id", "into")) == {
        (newer.pk, third.pk),
        (older.pk, third.pk),
    }


def test_a_merged_item_of_another_team_stays_not_found(client, world, pair):
    older, newer = pair
    item_merge(actor=world.agent_a, source=newer, into=older)
    client.force_login(world.member_b)

    assert client.get(reverse("feedback:item", args=[newer.pk])).status_code == 404
    # Writes to a merged item's address are not redirected either.
    client.force_login(world.agent_a)
    status = client.post(reverse("feedback:item_status", args=[newer.pk]), {"status": "open"})
    assert status.status_code == 404


def test_the_api_says_where_a_merged_item_went_to_a_reader_of_it(world, pair):
    older, newer = pair
    item_merge(actor=world.agent_a, source=newer, into=older)
    url = reverse("api:feedback-item-detail", args=[newer.pk])
    reader, stranger = APIClient(), APIClient()
    reader.force_authenticate(world.agent_a)
    stranger.force_authenticate(world.member_b)

    found, hidden = reader.get(url), stranger.get(url)

    assert found.status_code == hidden.status_code == 404
    assert found.json() == {"detail": ITEM_MERGED.format(merged=newer.pk, into=older.pk)}
    assert str(older.pk) not in hidden.content.decode()


def _losing_the_race(monkeypatch, module, winner) -> None:
    """``module``'s ``item_merge`` meets what the slower of two simultaneous merges meets: the
    faster one (``winner``) commits between the loser's reading of the items and its merge."""

    def merge_second(*, actor, source, into):
        winner()
        return merging.item_merge(actor=actor, source=source, into=into)

    monkeypatch.setattr(module, "item_merge", merge_second)


@pytest.mark.parametrize("twin", ["same", "reverse"])
def test_the_api_tells_the_slower_of_two_merges_where_the_item_went(monkeypatch, world, pair, twin):
    older, newer = pair
    if twin == "same":
        _losing_the_race(
            monkeypatch,
            viewsets,
            lambda: item_merge(actor=world.agent_a, source=newer, into=older),
        )
        expected = (404, {"detail": ITEM_MERGED.format(merged=newer.pk, into=older.pk)})
    else:
        _losing_the_race(
            monkeypatch,
            viewsets,
            lambda: item_merge(actor=world.agent_a, source=older, into=newer),
        )
        expected = (400, {"into": [ITEM_MERGED.format(merged=older.pk, into=newer.pk)]})
    client = APIClient()
    client.force_authenticate(world.agent_a)

    response = client.post(
        reverse("api:feedback-item-merge", args=[newer.pk]), {"into": older.pk}, format="json"
    )

    assert (response.status_code, response.json()) == expected
    assert FeedbackItem.objects.filter(team=world.team_a).count() == 1


def test_a_double_click_on_the_merge_confirmation_leads_to_the_kept_item(
    monkeypatch, client, world, pair
):
    older, newer = pair
    _losing_the_race(
        monkeypatch,
        item_actions,
        lambda: item_merge(actor=world.agent_a, source=newer, into=older),
    )
    client.force_login(world.agent_a)
    confirm = {"other": newer.pk, "direction": "into_this", "confirm": "1"}

    response = client.post(reverse("feedback:item_merge", args=[older.pk]), confirm, follow=True)

    assert response.redirect_chain == [(reverse("feedback:item", args=[older.pk]), 302)]
    assert MERGED_BEFORE.format(merged=newer.pk, into=older.pk) in response.content.decode()
    assert older.messages.count() == 2

    # The second click after the first one's answer finds the other item merged already.
    monkeypatch.setattr(item_actions, "item_merge", merging.item_merge)
    again = client.post(reverse("feedback:item_merge", args=[older.pk]), confirm, **HTMX)

    assert again["HX-Redirect"] == reverse("feedback:item", args=[older.pk])
