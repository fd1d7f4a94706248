"""The event registry: how a write in one app reaches another app against the direction of
its dependencies. A service emits a named event; handlers run after the transaction commits.
Handlers are registered explicitly in each app's ``AppConfig.ready()``; there are no signals."""

from collections.abc import Callable
from typing import Any

from django.db import transaction

Handler = Callable[[dict[str, Any]], None]
# A handler of many payloads at once: the event's payloads of one transaction, in order.
BatchHandler = Callable[[list[dict[str, Any]]], None]

UNKNOWN_EVENT = "Unknown event {name!r}: declare it in portal.events.EVENTS first."

# Every event the portal emits, with the payload keys its handlers may rely on.
EVENTS: dict[str, tuple[str, ...]] = {
    "portal.membership_changed": ("team_id", "user_id"),
    "portal.customer_saved": ("customer_id",),
    # An account's fields changed (plan, MRR, ...): what depends on them (priority customers'
    # items in the feedback app) is re-evaluated.
    "portal.account_saved": ("account_id",),
    "portal.north_star_measured": ("measurement_id",),
    # After a delete the row is gone: handlers get only its id (portal.services.deletion).
    "portal.team_deleted": ("team_id",),
    "portal.account_deleted": ("account_id",),
    "portal.customer_deleted": ("customer_id",),
    # A customer's personal data was erased; every app erases what it holds about them.
    "portal.customer_erased": ("customer_id",),
    # portal.services.customers_merge folded the source customer into the target: the source
    # stays as a tombstone (merged_into set). Handlers run after the commit and carry over what
    # their app holds about the source to the target (feedback moves the source's items).
    "portal.customers_merged": ("source_id", "target_id"),
    # Ingestion (feedback.services). Machine mail (auto-replies, bounces, receipts, complaints,
    # bulk) never emits message_received: nothing automatic may answer it (no mail loops).
    "feedback.item_created": ("item_id",),
    "feedback.item_reopened": ("item_id",),
    # feedback.services.triage: an agent resolved the item (resolved_at is set). Surveys follow
    # it with a CSAT invitation to the item's customer.
    "feedback.item_resolved": ("item_id",),
    # feedback.services.item_merge moved every message of the source item into the target and
    # deleted the source: handlers carry over what they hold about the source (by its id).
    "feedback.items_merged": ("source_id", "target_id"),
    "feedback.message_received": ("message_id", "item_id"),
    "feedback.machine_mail_received": ("message_id", "lane"),
    "feedback.payload_quarantined": ("quarantine_id",),
    "feedback.channel_unhealthy": ("channel_id",),
    "feedback.channel_recovered": ("channel_id",),
}

_handlers: dict[str, list[Handler]] = {}
_batch_handlers: dict[str, list[BatchHandler]] = {}
# The connection attribute holding the open batches of the current transaction.
_BATCHES = "_portal_event_batches"


def register(name: str, handler: Handler) -> None:
    if name not in EVENTS:
        raise KeyError(UNKNOWN_EVENT.format(name=name))
    if handler not in _handlers.setdefault(name, []):
        _handlers[name].append(handler)


def unregister(name: str, handler: Handler) -> None:
    if handler in _handlers.get(name, []):
        _handlers[name].remove(handler)


def register_batch(name: str, handler: BatchHandler) -> None:
    """Register ``handler`` to get every payload of ``name`` emitted in one transaction as one
    list, once it commits: a handler that queues a task per payload queues one task for the
    lot instead (a parse chunk opening fifty items queues one task, not fifty)."""
    if name not in EVENTS:
        raise KeyError(UNKNOWN_EVENT.format(name=name))
    if handler not in _batch_handlers.setdefault(name, []):
        _batch_handlers[name].append(handler)


def unregister_batch(name: str, handler: BatchHandler) -> None:
    if handler in _batch_handlers.get(name, []):
        _batch_handlers[name].remove(handler)


def _batch(handler: BatchHandler) -> list[dict[str, Any]] | None:
    """The open batch of ``handler`` in the current transaction and savepoint, opened (with
    its after-commit call) when there is none; None outside a transaction. Batches are kept
    per savepoint, so the payloads of a rolled-back savepoint go with its after-commit call,
    and a batch whose call already ran or was dropped is never appended to."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return None
    batches = connection.__dict__.setdefault(_BATCHES, {})
    key = (handler, tuple(connection.savepoint_ids))
    batch = batches.get(key)
    if batch is not None and any(call is batch[1] for _, call, _ in connection.run_on_commit):
        return batch[0]
    payloads: list[dict[str, Any]] = []

    def flush() -> None:
        batches.pop(key, None)
        handler(payloads)

    batches[key] = (payloads, flush)
    transaction.on_commit(flush, robust=True)
    return payloads


def emit(name: str, **payload: Any) -> None:
    """Call every handler of ``name`` once the current transaction commits (at once outside one)."""
    if name not in EVENTS:
        raise KeyError(UNKNOWN_EVENT.format(name=name))
    missing = set(EVENTS[name]) - payload.keys()
    if missing:
        raise TypeError(f"Event {name!r} needs {', '.join(sorted(missing))}.")
    for handler in list(_handlers.get(name, [])):
        transaction.on_commit(lambda handler=handler: handler(dict(payload)), robust=True)
    for batch_handler in list(_batch_handlers.get(name, [])):
        payloads = _batch(batch_handler)
        if payloads is None:
            # Outside a transaction: at once, as on_commit runs a handler there.
            transaction.on_commit(
                lambda handler=batch_handler: handler([dict(payload)]), robust=True
            )
        else:
            payloads.append(dict(payload))
