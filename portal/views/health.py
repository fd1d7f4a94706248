"""Probes for load balancers and orchestrators. Both answer JSON and need no login."""

import time

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.celery import app as celery_app
from portal.tasks import HEARTBEAT_CACHE_KEY

PROBE_TIMEOUT_SECONDS = 2


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and answering; checks nothing else."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache() -> None:
    key = "portal:readyz:probe"
    value = str(time.time_ns())
    cache.set(key, value, timeout=30)
    if cache.get(key) != value:
        raise RuntimeError("the cache did not return what was written")


def _check_broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=PROBE_TIMEOUT_SECONDS)


def _background() -> dict:
    """When beat last ran the heartbeat task; informative, not a readiness condition, since
    web processes may be ready before the one beat of a scaled deployment starts."""
    last = cache.get(HEARTBEAT_CACHE_KEY)
    moment = parse_datetime(last) if isinstance(last, str) else None
    if moment is None:
        return {"last_heartbeat": None, "age_seconds": None}
    return {
        "last_heartbeat": last,
        "age_seconds": round((timezone.now() - moment).total_seconds(), 1),
    }


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to serve: database, cache and broker answer. 503 names what does not."""
    checks = {}
    for name, check in (
        ("database", _check_database),
        ("cache", _check_cache),
        ("broker", _check_broker),
    ):
        try:
            check()
        except Exception as error:  # noqa: BLE001 - any failure means "not ready".
            checks[name] = {"ok": False, "error": f"{type(error).__name__}: {error}"[:300]}
        else:
            checks[name] = {"ok": True}
    ready = all(check["ok"] for check in checks.values())
    try:
        background = _background()
    except Exception:  # noqa: BLE001 - the cache being down is already reported above.
        background = {"last_heartbeat": None, "age_seconds": None}
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks, "background": background},
        status=200 if ready else 503,
    )
