"""Raw first: what a channel delivers is stored byte for byte before anything is parsed.

``payloads_store`` stores a fetched batch and the connector's advanced cursor in one
transaction, so the cursor moves only when the items are durably stored: a crash before the
commit loses nothing (the next poll fetches the same items again), and a retried or doubled
poll stores nothing twice (a payload is unique per channel, source id and content hash).
Push channels (the inbound e-mail webhook) enter through ``payload_receive``. Parsing runs
after the commit, from the stored bytes (``feedback.services.parsing``).
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from feedback.channels import FetchedItem, FetchResult
from feedback.models import Channel, RawPayload
from feedback.services.storage import RAW_PREFIX, blob_store, sha256_hex
from portal import crypto

_SOURCE_ID_MAX = RawPayload._meta.get_field("source_id").max_length


@dataclass(frozen=True)
class StoredFile:
    """A fetched item whose bytes are in storage under ``name`` (their SHA-256)."""

    item: FetchedItem
    sha256: str
    name: str


@dataclass(frozen=True)
class StoreReport:
    # The payloads this call stored (pending, in the order fetched).
    payloads: list[RawPayload]
    # Items of the batch that were stored before (a retried or doubled poll).
    duplicates: int
    # False when another worker took the channel's lease meanwhile: the items (and the
    # connector's config updates) are stored all the same, but the cursor stays where that
    # worker puts it.
    cursor_moved: bool


def _json_safe(metadata: dict[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(json.dumps(metadata, default=str))
    except (TypeError, ValueError):
        return {}


def _insert(channel: Channel, rows: list[RawPayload]) -> list[RawPayload]:
    """Insert the rows not stored yet; those a concurrent writer stored meanwhile are left out."""
    if not rows:
        return []
    try:
        with transaction.atomic():
            return RawPayload.objects.bulk_create(rows)
    except IntegrityError:
        pass
    stored = []
    for row in rows:
        row.pk = None
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:
            continue
        stored.append(row)
    return stored


def _move_cursor(channel: Channel, cursor: dict[str, Any], lease_owner: str | None) -> bool:
    channels = Channel.objects.filter(pk=channel.pk)
    if lease_owner is not None:
        channels = channels.filter(lease_owner=lease_owner)
    moved = channels.update(cursor=cursor) == 1
    if moved:
        channel.cursor = cursor
    return moved


def channel_config_updates_store(channel: Channel, updates: dict[str, Any]) -> None:
    """A connector's own change to its config (a rotated OAuth refresh token), stored
    encrypted unless the config changed since ``channel`` was read: an admin's new settings
    win, and so does whatever another writer stored since. That guard is the whole of its
    safety (a lease is not needed): polls call it with their batch, a failed poll with its
    error, a check with its result."""
    encrypted = crypto.encrypt(json.dumps({**channel.read_config(), **updates}, sort_keys=True))
    unchanged = Channel.objects.filter(pk=channel.pk, config_encrypted=channel.config_encrypted)
    if unchanged.update(config_encrypted=encrypted):
        channel.config_encrypted = encrypted


def payload_files_write(items: list[FetchedItem]) -> list[StoredFile]:
    """Write the items' bytes to storage, content-addressed; safe in any thread (no database).

    A poll runs this in the thread that fetched the batch, so that hashing and writing (which
    release the GIL) overlap the batch before being parsed. Files nobody names in the end (the
    batch was never stored) are harmless: a later store of the same bytes uses them."""
    written = []
    for item in items:
        digest = sha256_hex(item.raw)
        written.append(StoredFile(item, digest, blob_store(RAW_PREFIX, item.raw, sha256=digest)))
    return written


def _store(
    channel: Channel,
    items: list[FetchedItem],
    *,
    files: list[StoredFile] | None = None,
    cursor: dict[str, Any] | None,
    lease_owner: str | None,
    queue_parse: bool,
    now: datetime,
    before_commit: Callable[[], None] | None,
    config_updates: dict[str, Any] | None = None,
) -> StoreReport:
    # Files first, outside the transaction (see feedback.services.storage).
    prepared = files if files is not None else payload_files_write(items)
    with transaction.atomic():
        source_ids = {written.item.source_id[:_SOURCE_ID_MAX] for written in prepared}
        known = set(
            RawPayload.objects.filter(channel=channel, source_id__in=source_ids).values_list(
                "source_id", "sha256"
            )
        )
        rows = []
        for written in prepared:
            item, digest, name = written.item, written.sha256, written.name
            key = (item.source_id[:_SOURCE_ID_MAX], digest)
            if key in known:
                continue
            known.add(key)
            rows.append(
                RawPayload(
                    channel=channel,
                    source_id=key[0],
                    sha256=digest,
                    size=len(item.raw),
                    file=name,
                    received_at=item.received_at or now,
                    metadata=_json_safe(item.metadata),
                )
            )
        stored = _insert(channel, rows)
        moved = cursor is None or _move_cursor(channel, cursor, lease_owner)
        if config_updates:
            # Even when the lease was lost: the provider may have retired the old refresh
            # token, and the stored config is no use without the new one.
            channel_config_updates_store(channel, config_updates)
        if before_commit is not None:
            before_commit()
        if queue_parse and stored:
            payload_ids = [payload.pk for payload in stored]
            transaction.on_commit(lambda: _queue_parse(payload_ids))
    return StoreReport(payloads=stored, duplicates=len(prepared) - len(stored), cursor_moved=moved)


def _queue_parse(payload_ids: list[int]) -> None:
    from feedback.tasks import parse_payloads

    parse_payloads.delay(payload_ids)


def payloads_store(
    *,
    channel: Channel,
    result: FetchResult,
    lease_owner: str | None = None,
    queue_parse: bool = True,
    now: datetime | None = None,
    before_commit: Callable[[], None] | None = None,
    files: list[StoredFile] | None = None,
) -> StoreReport:
    """Store a fetched batch and its cursor in one transaction.

    ``lease_owner`` (the poll's lease) guards the cursor: a poll that lost its lease stores
    its items (harmless: they are unique) but does not move the cursor. ``queue_parse``
    queues the parse of the new payloads after the commit; a poll that parses them itself
    passes False. ``before_commit`` runs inside the transaction, last (the crash tests stop
    the process there). ``files``: the batch's items already written by
    ``payload_files_write``, in the same order (written here otherwise)."""
    return _store(
        channel,
        list(result.items),
        files=files,
        cursor=result.cursor,
        lease_owner=lease_owner,
        queue_parse=queue_parse,
        now=now or timezone.now(),
        before_commit=before_commit,
        config_updates=result.config_updates,
    )


def payload_receive(
    *,
    channel: Channel,
    raw: bytes,
    received_at: datetime | None = None,
    source_id: str = "",
    metadata: dict[str, Any] | None = None,
    queue_parse: bool = True,
    now: datetime | None = None,
) -> tuple[RawPayload, bool]:
    """Store one pushed payload (the inbound e-mail webhook) and queue its parse: the
    ``(payload, created)`` once it is durably stored. Without a ``source_id`` the content hash
    is the source id, so a provider that posts the same bytes again stores nothing new."""
    now = now or timezone.now()
    digest = sha256_hex(raw)
    item = FetchedItem(
        source_id=source_id or f"sha256:{digest}",
        raw=raw,
        received_at=received_at or now,
        metadata=metadata or {},
    )
    report = _store(
        channel,
        [item],
        cursor=None,
        lease_owner=None,
        queue_parse=queue_parse,
        now=now,
        before_commit=None,
    )
    if report.payloads:
        return report.payloads[0], True
    existing = RawPayload.objects.get(
        channel=channel, source_id=item.source_id[:_SOURCE_ID_MAX], sha256=digest
    )
    return existing, False
