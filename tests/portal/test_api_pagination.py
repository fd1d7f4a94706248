"""Lists refuse page numbers and sizes that are not whole numbers from 1, and empty or reversed
filters, instead of answering a list nobody asked for."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from portal.api.filters import VALUE_MISSING
from portal.api.pagination import PAGE_INVALID, PAGE_SIZE_INVALID
from portal.forms import DATE_RANGE_REVERSED
from portal.models import NorthStarMetric
from tests.factories import CustomerFactory


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize("page_size", ["abc", "0", "-1", "", "1.5", "²", "9" * 30])
def test_page_size_that_is_no_whole_number_from_1_answers_400(world, page_size):
    response = client_for(world.viewer_a).get(reverse("api:team-list"), {"page_size": page_size})
    assert response.status_code == 400
    assert response.json() == {"page_size": [PAGE_SIZE_INVALID]}


def test_page_size_is_honoured(world):
    CustomerFactory.create_batch(3)
    response = client_for(world.viewer_a).get(reverse("api:customer-list"), {"page_size": 2})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 2


@pytest.mark.parametrize("page", ["0", "-1", "abc", "", "last"])
def test_page_that_is_no_whole_number_from_1_answers_400(world, page):
    response = client_for(world.viewer_a).get(reverse("api:team-list"), {"page": page})
    assert response.status_code == 400
    assert response.json() == {"page": [PAGE_INVALID]}


def test_page_past_the_last_answers_404(world):
    response = client_for(world.viewer_a).get(reverse("api:team-list"), {"page": 99})
    assert response.status_code == 404
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize("parameter", ["from", "to"])
def test_empty_date_filter_answers_400(world, parameter):
    url = reverse("api:north-star-measurement-list")
    response = client_for(world.viewer_a).get(url, {parameter: ""})
    assert response.status_code == 400
    assert response.json() == {parameter: [VALUE_MISSING]}


def test_empty_choice_filter_answers_400(world):
    response = client_for(world.viewer_a).get(reverse("api:import-job-list"), {"status": ""})
    assert response.status_code == 400
    assert response.json() == {"status": [VALUE_MISSING]}


def test_empty_text_filter_is_a_search_for_the_empty_string(world):
    response = client_for(world.viewer_a).get(reverse("api:customer-list"), {"email": ""})
    assert response.status_code == 200


def test_from_after_to_answers_400_as_on_the_page(world):
    url = reverse("api:north-star-measurement-list")
    response = client_for(world.viewer_a).get(url, {"from": "2026-02-01", "to": "2026-01-01"})
    assert response.status_code == 400
    assert response.json() == {"to": [DATE_RANGE_REVERSED]}


def test_from_equal_to_to_is_one_day(world):
    url = reverse("api:north-star-measurement-list")
    response = client_for(world.viewer_a).get(url, {"from": "2026-01-01", "to": "2026-01-01"})
    assert response.status_code == 200


def test_north_star_text_refuses_a_number(world):
    NorthStarMetric.objects.create(pk=NorthStarMetric.SINGLETON_ID, name="Weekly users")
    response = client_for(world.superuser).patch(
        reverse("api:north-star"), {"unit": 0}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"unit"}
