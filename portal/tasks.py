"""Thin Celery entry points for the portal app."""

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from portal import services

HEARTBEAT_CACHE_KEY = "portal:background:heartbeat"


@shared_task(soft_time_limit=10, time_limit=20)
def record_heartbeat() -> str:
    """Run by beat: proves to /readyz and the dashboard that scheduled work is running."""
    now = timezone.now().isoformat()
    cache.set(HEARTBEAT_CACHE_KEY, now, timeout=None)
    return now


@shared_task(soft_time_limit=10, time_limit=20)
def ping(payload: str) -> str:
    """Echo: a round trip through the broker and the result backend."""
    return f"pong:{payload}"


@shared_task(soft_time_limit=240, time_limit=300)
def send_notification_digests() -> int:
    """Run hourly by beat: one e-mail per person with their new unread notifications. Safe to
    run twice or concurrently: each notification is claimed once before its mail is sent."""
    return services.notification_digests_send()
