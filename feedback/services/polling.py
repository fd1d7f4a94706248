"""Polling channels: the dispatcher's claims, one poll, and the channel's health.

Correctness comes from database state, never from the broker delivering once:

- A **lease** (``lease_owner``, ``lease_expires_at``) stops two workers polling one channel.
  It is taken with ``UPDATE … WHERE`` the lease is free or run out, the guard on SQLite (which
  has no ``SKIP LOCKED``) and PostgreSQL alike; on PostgreSQL the dispatcher also reads the
  due channels ``FOR UPDATE SKIP LOCKED``, so two dispatchers do not even queue one channel
  twice. A lease outlasts the poll task's hard time limit; a worker that died leaves a lease
  that runs out, and the channel is claimed again.
- A poll stores each batch with its cursor in one transaction (``payloads_store``), so a
  crash at any point loses nothing and stores nothing twice. It fetches one batch ahead, in a
  thread, while it stores and parses the batch before (``_Fetcher``); a batch fetched ahead is
  stored only after the one before it, and dropped when the poll ends first.
- What the connector changed in its config (a rotated OAuth refresh token) is stored with the
  batch, or with the failure when the poll fails after the change, whether or not the poll
  still holds its lease: the provider may have retired the old token. The guard is the config
  itself (``channel_config_updates_store``): an admin's or another writer's change wins.
- Errors back off exponentially with jitter, capped, and at least as long as the remote asked
  (``ConnectorError.retry_after``, an HTTP ``Retry-After``); after ``UNHEALTHY_AFTER`` failures in a
  row (or one that retrying cannot fix, such as a wrong password) the channel is unhealthy,
  and the team's admins are told once, when it becomes so.

Every function takes ``now`` (and the poll a random generator) so tests control time.
"""

import logging
import random
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from feedback.channels import CONNECTORS, Connector, ConnectorError, FetchResult, get_connector
from feedback.models import Channel, PayloadStatus, RawPayload
from feedback.services.ingest import (
    StoredFile,
    channel_config_updates_store,
    payload_files_write,
    payloads_store,
)
from feedback.services.parsing import payloads_parse
from portal import events
from portal import selectors as portal_selectors
from portal import services as portal_services
from portal.actors import SYSTEM
from portal.models import Role

logger = logging.getLogger(__name__)

# Longer than the poll task's hard time limit (300 s), so a lease never runs out under a poll
# that is still running; renewed after every batch for polls without a time limit.
LEASE_SECONDS = 360
BATCH_LIMIT = 100
BATCH_MAX_BYTES = 20 * 1024 * 1024
# Batches one poll takes at most; a channel with more is polled again at once.
MAX_BATCHES_PER_POLL = 20
# Pending payloads one poll parses at most (its own and any a crash left behind).
MAX_PARSE_PER_BATCH = 1000
BACKOFF_CAP_SECONDS = 3600
UNHEALTHY_AFTER = 5
DISPATCH_LIMIT = 100
MAX_ERROR_LENGTH = 2000

POLL_INTERNAL_ERROR = "the poll failed with an internal error ({error}); see the worker's log"
LEASE_LOST = "another worker took over the channel during the poll"
UNHEALTHY_SUBJECT = "Channel {channel} of {team} is failing: {error}"
UNHEALTHY_KIND = "channel-unhealthy"

PausePoint = Callable[[str], None]


@dataclass
class PollReport:
    channel_id: int
    claimed: bool = True
    batches: int = 0
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    messages_created: int = 0
    already_stored: int = 0
    quarantined: int = 0
    # True when the poll stopped at MAX_BATCHES_PER_POLL with more to fetch.
    more: bool = False
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.claimed and not self.error


def new_lease_owner() -> str:
    return uuid.uuid4().hex


def _lease_free(now: datetime) -> Q:
    return Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)


def channel_claim(
    *, channel_id: int, owner: str, now: datetime | None = None, include_disabled: bool = False
) -> bool:
    """Take the channel's lease for ``owner`` if it is free, run out, or already ``owner``'s
    (a task delivered again); True when ``owner`` holds it now."""
    now = now or timezone.now()
    channels = Channel.objects.filter(pk=channel_id).filter(_lease_free(now) | Q(lease_owner=owner))
    if not include_disabled:
        channels = channels.filter(enabled=True)
    taken = channels.update(
        lease_owner=owner,
        lease_expires_at=now + timedelta(seconds=LEASE_SECONDS),
        last_polled_at=now,
    )
    return taken == 1


def channel_release(*, channel_id: int, owner: str) -> None:
    Channel.objects.filter(pk=channel_id, lease_owner=owner).update(
        lease_owner="", lease_expires_at=None
    )


def push_kinds() -> list[str]:
    """Kinds whose connector declares ``push = True`` (the inbound e-mail webhook): their mail
    is posted to the portal, so there is never anything to poll."""
    return sorted(kind for kind, connector in CONNECTORS.items() if connector.push)


def channels_dispatch(
    *, now: datetime | None = None, limit: int = DISPATCH_LIMIT
) -> list[tuple[int, str]]:
    """Claim the enabled channels whose next poll is due: ``(channel id, lease owner)`` for
    each, to be queued as one poll each once this returns (the claims are committed). Push
    channels are never due."""
    now = now or timezone.now()
    with transaction.atomic():
        due = (
            Channel.objects.filter(enabled=True)
            .exclude(kind__in=push_kinds())
            .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
            .filter(_lease_free(now))
            .order_by("next_poll_at", "pk")
        )
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        claimed = []
        for channel_id in list(due.values_list("pk", flat=True)[:limit]):
            owner = new_lease_owner()
            if channel_claim(channel_id=channel_id, owner=owner, now=now):
                claimed.append((channel_id, owner))
    return claimed


def backoff_seconds(poll_interval: int, error_streak: int, rng: random.Random) -> float:
    """Exponential backoff with "equal jitter": the delay doubles with each failure in a row
    (from twice the poll interval), is capped, and half of it is random, so channels that
    failed together (one mail server down) do not retry together."""
    cap = max(BACKOFF_CAP_SECONDS, poll_interval)
    delay = min(cap, poll_interval * 2 ** min(error_streak, 30))
    return delay / 2 + rng.random() * delay / 2


def _health_page_path(channel: Channel) -> str:
    # The team's channel health page, where its admins see what failed and why.
    return reverse("feedback:channel_health", kwargs={"slug": channel.team.slug})


def _poll_succeeded(channel_id: int, owner: str, now: datetime, *, more: bool) -> None:
    with transaction.atomic():
        channel = Channel.objects.select_for_update().filter(pk=channel_id).first()
        if channel is None or channel.lease_owner != owner:
            return
        recovered = not channel.healthy
        channel.last_success_at = now
        channel.error_streak = 0
        channel.healthy = True
        channel.next_poll_at = now if more else now + timedelta(seconds=channel.poll_interval)
        channel.lease_owner = ""
        channel.lease_expires_at = None
        channel.save(
            update_fields=[
                "last_success_at",
                "error_streak",
                "healthy",
                "next_poll_at",
                "lease_owner",
                "lease_expires_at",
                "updated_at",
            ]
        )
        if recovered:
            events.emit("feedback.channel_recovered", channel_id=channel.pk)


def _poll_failed(
    channel_id: int,
    owner: str,
    message: str,
    *,
    retryable: bool,
    now: datetime,
    rng: random.Random,
    retry_after: float | None = None,
) -> None:
    with transaction.atomic():
        channel = (
            Channel.objects.select_for_update().select_related("team").filter(pk=channel_id).first()
        )
        if channel is None or channel.lease_owner != owner:
            return
        channel.error_streak += 1
        channel.last_error = message[:MAX_ERROR_LENGTH]
        channel.last_error_at = now
        # An error retrying cannot fix (a wrong password, a missing folder) waits for a
        # person; the channel is still tried now and then, in case they fixed it elsewhere.
        delay = (
            backoff_seconds(channel.poll_interval, channel.error_streak, rng)
            if retryable
            else max(BACKOFF_CAP_SECONDS, channel.poll_interval)
        )
        if retry_after is not None:
            # The remote said when it will answer again (HTTP 429/503 ``Retry-After``); asking
            # sooner only earns another refusal. last_error says what it asked for, not the
            # next try, which the backoff may put later (next_poll_at holds that).
            delay = max(delay, retry_after)
        channel.next_poll_at = now + timedelta(seconds=delay)
        turns_unhealthy = channel.healthy and (
            channel.error_streak >= UNHEALTHY_AFTER or not retryable
        )
        if turns_unhealthy:
            channel.healthy = False
        channel.lease_owner = ""
        channel.lease_expires_at = None
        channel.save(
            update_fields=[
                "error_streak",
                "last_error",
                "last_error_at",
                "next_poll_at",
                "healthy",
                "lease_owner",
                "lease_expires_at",
                "updated_at",
            ]
        )
        if turns_unhealthy:
            admins = portal_selectors.membership_list(user=SYSTEM, team=channel.team).filter(
                role=Role.ADMIN
            )
            portal_services.notify(
                users=[membership.user for membership in admins],
                kind=UNHEALTHY_KIND,
                subject=UNHEALTHY_SUBJECT.format(
                    channel=channel.name, team=channel.team.name, error=message
                ),
                url=_health_page_path(channel),
                now=now,
            )
            events.emit("feedback.channel_unhealthy", channel_id=channel.pk)
    logger.warning(
        "channel %s: poll failed: %s; next try at %s",
        channel_id,
        message[:300],
        channel.next_poll_at.isoformat(timespec="seconds"),
    )


def _failure_config_updates_store(channel: Channel, error: ConnectorError) -> None:
    """Store what a connector changed in its config before it failed: the IMAP connector's
    token endpoint may have rotated the OAuth refresh token and retired the old one (strict
    rotation, OAuth 2.1) before the mail server failed, so the new token cannot wait for a
    batch. ``channel`` is the poll's own, as read when the poll began (or as its last stored
    batch left it): an admin's change since then wins, as with a batch, so this needs no
    lease."""
    updates = error.config_updates
    if updates:
        channel_config_updates_store(channel, updates)


def _renew_lease(channel_id: int, owner: str, now: datetime) -> bool:
    return (
        Channel.objects.filter(pk=channel_id, lease_owner=owner).update(
            lease_expires_at=now + timedelta(seconds=LEASE_SECONDS)
        )
        == 1
    )


def _parse_pending(channel: Channel, report: PollReport, now: datetime) -> None:
    pending = RawPayload.objects.filter(channel=channel, status=PayloadStatus.PENDING).order_by(
        "pk"
    )[:MAX_PARSE_PER_BATCH]
    # ``payloads_parse`` stores them a chunk per transaction, not one transaction each.
    for outcome in payloads_parse(payload_ids=list(pending.values_list("pk", flat=True)), now=now):
        if outcome.quarantine is not None:
            report.quarantined += 1
        elif outcome.created:
            report.messages_created += 1
        elif outcome.message is not None:
            report.already_stored += 1


class _Fetcher:
    """Fetches a channel's batches one ahead of the poll, in one thread, and writes their raw
    files there too.

    The next batch's network wait, the TLS decryption and socket reads, the hashing and the
    file writes (all of which release the GIL) overlap storing and parsing the batch before.
    Neither the connector nor the file writes touch the database, so the thread needs no
    connection. A batch fetched ahead is only files nobody names yet: the poll stores its rows
    after the batch before it or drops it, so the cursor still moves only with stored items,
    and a failed fetch stores nothing."""

    def __init__(self, connector: Connector, config: dict, *, limit: int, max_bytes: int) -> None:
        self._fetch = connector.fetch
        self._config = config
        self._limit = limit
        self._max_bytes = max_bytes
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="poll-fetch")
        self._ahead: Future[tuple[FetchResult, list[StoredFile]]] | None = None

    def _fetch_and_write(self, cursor: dict | None) -> tuple[FetchResult, list[StoredFile]]:
        result = self._fetch(self._config, cursor, limit=self._limit, max_bytes=self._max_bytes)
        return result, payload_files_write(result.items)

    def start(self, cursor: dict | None) -> None:
        self._ahead = self._pool.submit(self._fetch_and_write, cursor)

    def result(self) -> tuple[FetchResult, list[StoredFile]]:
        """The batch started last and its files; its ConnectorError (or any other) raised
        here."""
        ahead, self._ahead = self._ahead, None
        assert ahead is not None
        return ahead.result()

    def close(self) -> None:
        # Waits for a fetch still running (at most the connector's own timeout), so that no
        # session outlives the poll.
        self._pool.shutdown(wait=True, cancel_futures=True)


def channel_poll(
    *,
    channel_id: int,
    owner: str,
    now: datetime | None = None,
    rng: random.Random | None = None,
    batch_limit: int = BATCH_LIMIT,
    batch_max_bytes: int = BATCH_MAX_BYTES,
    max_batches: int = MAX_BATCHES_PER_POLL,
    pause: PausePoint | None = None,
) -> PollReport:
    """One complete poll of a channel whose lease ``owner`` holds: fetch in batches, store
    each with its cursor, let the connector follow up (IMAP: move), parse, and record health.

    A connector error ends the poll as a failure (backoff); anything else is recorded as an
    internal error when the database still answers, and raised. ``pause`` is called at
    ``"fetched"`` (after a fetch) and ``"stored"`` (inside the store's transaction, before
    its commit): the crash tests stop the process there."""
    now = now or timezone.now()
    rng = rng or random.Random()
    report = PollReport(channel_id=channel_id)
    channel = Channel.objects.select_related("team").filter(pk=channel_id).first()
    if channel is None or channel.lease_owner != owner:
        report.claimed = False
        return report
    fetcher = None
    try:
        connector = get_connector(channel.kind)
        config = channel.read_config()
        fetcher = _Fetcher(connector, config, limit=batch_limit, max_bytes=batch_max_bytes)
        fetcher.start(channel.cursor)
        for number in range(max_batches):
            result, files = fetcher.result()
            report.batches += 1
            report.fetched += len(result.items)
            if pause is not None:
                pause("fetched")
            if result.more and number + 1 < max_batches:
                fetcher.start(result.cursor)
            stored = payloads_store(
                channel=channel,
                result=result,
                lease_owner=owner,
                queue_parse=False,
                now=now,
                before_commit=(lambda: pause("stored")) if pause is not None else None,
                files=files,
            )
            report.stored += len(stored.payloads)
            report.duplicates += stored.duplicates
            follow_up_error = None
            if result.items:
                try:
                    connector.after_store(config, result.items)
                except ConnectorError as error:
                    follow_up_error = error
            _parse_pending(channel, report, now)
            if follow_up_error is not None:
                raise follow_up_error
            if not stored.cursor_moved or not _renew_lease(channel_id, owner, now):
                report.error = LEASE_LOST
                return report
            if not result.more:
                break
        else:
            report.more = True
    except ConnectorError as error:
        report.error = error.message
        _failure_config_updates_store(channel, error)
        _poll_failed(
            channel_id,
            owner,
            error.message,
            retryable=error.retryable,
            now=now,
            rng=rng,
            retry_after=error.retry_after,
        )
        return report
    except Exception as error:
        report.error = POLL_INTERNAL_ERROR.format(error=type(error).__name__)
        try:
            _poll_failed(channel_id, owner, report.error, retryable=True, now=now, rng=rng)
        except DatabaseError:
            # The database itself is gone; the lease runs out and the channel is polled
            # again then, from the cursor of the last stored batch.
            logger.warning("channel %s: could not record the failure", channel_id)
        raise
    finally:
        if fetcher is not None:
            fetcher.close()
    _poll_succeeded(channel_id, owner, now, more=report.more)
    return report


def channel_poll_now(
    *,
    channel_id: int,
    now: datetime | None = None,
    include_disabled: bool = True,
    rng: random.Random | None = None,
    batch_limit: int = BATCH_LIMIT,
    batch_max_bytes: int = BATCH_MAX_BYTES,
    max_batches: int = MAX_BATCHES_PER_POLL,
    pause: PausePoint | None = None,
) -> PollReport:
    """Claim and poll one channel in the calling process (``manage.py poll_channels``);
    ``claimed`` is False when another worker holds the lease."""
    owner = new_lease_owner()
    if not channel_claim(
        channel_id=channel_id, owner=owner, now=now, include_disabled=include_disabled
    ):
        return PollReport(channel_id=channel_id, claimed=False)
    return channel_poll(
        channel_id=channel_id,
        owner=owner,
        now=now,
        rng=rng,
        batch_limit=batch_limit,
        batch_max_bytes=batch_max_bytes,
        max_batches=max_batches,
        pause=pause,
    )


def payloads_stale(
    *, now: datetime | None = None, older_than: int = 600, limit: int = 500
) -> list[int]:
    """Pending payloads stored more than ``older_than`` seconds ago: their parse was lost
    (a worker died between storing and parsing). Run by beat, which parses them."""
    now = now or timezone.now()
    return list(
        RawPayload.objects.filter(
            status=PayloadStatus.PENDING, created_at__lt=now - timedelta(seconds=older_than)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
