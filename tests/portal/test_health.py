"""The probes load balancers and orchestrators call: /healthz and /readyz."""

import pytest
from django.urls import reverse

from portal.celery import app as celery_app
from portal.tasks import record_heartbeat

UNREACHABLE_BROKER_URL = "redis://127.0.0.1:1/0"


@pytest.fixture
def unreachable_broker():
    """Point the Celery app at a port where nothing listens, and put it back afterwards."""
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = UNREACHABLE_BROKER_URL
    try:
        yield
    finally:
        celery_app.conf.broker_url = previous


def test_healthz_answers_ok_without_touching_the_database(client):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_answers_ok_when_database_cache_and_broker_answer(client):
    response = client.get(reverse("readyz"))

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {
        "database": {"ok": True},
        "cache": {"ok": True},
        "broker": {"ok": True},
    }
    assert body["background"] == {"last_heartbeat": None, "age_seconds": None}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_answers_503_naming_the_broker_when_it_is_unreachable(client, unreachable_broker):
    response = client.get(reverse("readyz"))

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["error"]
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["cache"] == {"ok": True}


@pytest.mark.django_db
def test_readyz_reports_the_last_beat_heartbeat(client):
    recorded = record_heartbeat.delay().get()

    body = client.get(reverse("readyz")).json()

    assert body["background"]["last_heartbeat"] == recorded
    assert 0 <= body["background"]["age_seconds"] < 60


def test_probes_refuse_anything_but_get(client):
    assert client.post(reverse("healthz")).status_code == 405
    assert client.post(reverse("readyz")).status_code == 405
