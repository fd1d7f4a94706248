"""The portal's thin Celery tasks, run eagerly as the whole suite does."""

from django.core.cache import cache
from django.utils.dateparse import parse_datetime

from portal import tasks


def test_ping_answers_pong_with_the_payload():
    assert tasks.ping.delay("x").get(timeout=5) == "pong:x"


def test_record_heartbeat_writes_the_time_to_the_cache():
    # Every LocMemCache with the same location shares one store, so an earlier test's
    # heartbeat may still be there.
    cache.delete(tasks.HEARTBEAT_CACHE_KEY)
    written = tasks.record_heartbeat.delay().get(timeout=5)
    assert cache.get(tasks.HEARTBEAT_CACHE_KEY) == written
    assert parse_datetime(written).tzinfo is not None
