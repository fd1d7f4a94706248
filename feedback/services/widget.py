"""The web widget's writes: a customer's submission stored raw first, and the per-IP rate limit
that guards the public endpoints (``feedback.views.widget``, ``feedback.api.widget``).

A submission enters through ``payload_receive`` like a pushed mail, as the deterministic JSON
bytes ``feedback.channels.widget.submission_payload`` makes; the parse, the customer by e-mail
address, threading and quarantine are the pipeline's. The rate limit counts in Django's cache
(Redis with ``REDIS_URL``, the file cache in the embedded default), so every web process of a
deployment shares it; the file cache is counted under a lock of the process (``_count``); its
clock is a parameter, so tests move time instead of sleeping.
"""

import threading
import uuid
from datetime import datetime
from urllib.parse import urlsplit

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.utils import timezone

from feedback.channels.widget import Submission, submission_payload
from feedback.models import Channel, RawPayload
from feedback.services.ingest import payload_receive
from portal.links import absolute_url

# (window in seconds, submissions allowed in it) per IP address and channel.
RATE_LIMITS = ((60, 10), (86_400, 100))
CACHE_PREFIX = "feedback:widget:rate"
_COUNT_LOCK = threading.Lock()

TOO_MANY = (
    "You have sent a lot of feedback in a short time, so this message was not sent. "
    "Please try again in {wait}."
)


class RateLimited(Exception):
    """Over a limit: ``retry_after`` seconds until the window that was exceeded ends."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        self.message = TOO_MANY.format(wait=_wait_in_words(retry_after))
        super().__init__(self.message)


def _wait_in_words(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    if seconds < 3600:
        minutes = -(-seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = -(-seconds // 3600)
    return f"{hours} hour{'s' if hours != 1 else ''}"


def _count(key: str, timeout: int) -> int:
    # Redis counts atomically. Django's file cache increments by reading the count and writing
    # it back (and reads nothing while another thread replaces the file), so posts at the same
    # moment would be counted as one: any cache but Redis counts under a lock of this process,
    # which serves the embedded default's one web process.
    if isinstance(caches["default"], RedisCache):
        return _add_and_incr(key, timeout)
    with _COUNT_LOCK:
        return _add_and_incr(key, timeout)


def _add_and_incr(key: str, timeout: int) -> int:
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:
        # The key expired between add and incr: this is the first hit of a new window.
        cache.set(key, 1, timeout=timeout)
        return 1


def widget_rate_limit_hit(
    *,
    channel: Channel,
    ip: str,
    now: datetime | None = None,
    limits: tuple[tuple[int, int], ...] = RATE_LIMITS,
) -> None:
    """Count one submission from ``ip`` to ``channel``; raise RateLimited when it is over a
    limit. Fixed windows: the shortest is counted first, and a request refused there is not
    counted in the longer ones, so a burst locks a sender out for a minute, not for the day."""
    seconds = int((now or timezone.now()).timestamp())
    for window, limit in limits:
        start = seconds - seconds % window
        key = f"{CACHE_PREFIX}:{channel.pk}:{ip}:{window}:{start}"
        if _count(key, timeout=window + 60) > limit:
            raise RateLimited(retry_after=max(1, start + window - seconds))


def widget_submission_receive(
    *, channel: Channel, submission: Submission, now: datetime | None = None
) -> RawPayload:
    """Store one submission raw (its parse queued after the commit) and return its payload.
    Each submission gets its own id, so two identical messages are two messages: a customer
    who writes the same thing twice did write twice."""
    now = now or timezone.now()
    submission_id = uuid.uuid4().hex
    raw = submission_payload(
        submission,
        submission_id=submission_id,
        submitted_at=now,
        portal_host=urlsplit(absolute_url("/")).hostname or "",
    )
    payload, _ = payload_receive(
        channel=channel,
        raw=raw,
        source_id=f"submission:{submission_id}",
        metadata={"via": "widget"},
        now=now,
    )
    return payload
