"""A customer's mail on an item already stored: the item's message times move, a waiting or
resolved item reopens and a snooze ends (the customer wrote again: it is back in the list).
A copy of our own mail on an item (an agent answered from a mail client; the mailbox read it
back) is the item's first response when none came earlier, so that its SLA counts an answer
however it was sent; nothing else of the item changes. Alone, the item is locked and written
at once; in a parse chunk every such item is noted and then locked in one statement and
written in one (``_reopen_chunk``, from ``store._flush``)."""

from datetime import datetime

from feedback.models import FeedbackItem, ItemStatus
from feedback.services.parsing.common import _Chunk
from portal import events

# A customer's new mail on an item in one of these states brings it back to the inbox.
REOPENED_FROM = (ItemStatus.WAITING, ItemStatus.RESOLVED)


def _reopen(item: FeedbackItem, sent_at: datetime, chunk: _Chunk | None = None) -> bool:
    """A customer's mail moves the item's message times, reopens a waiting or resolved item
    and ends its snooze (the customer wrote again: it is back in the list); True when it
    reopened it. In a chunk, a stored item is only noted: ``_reopen_chunk`` moves them all."""
    if item.pk is None:
        # An item this chunk opens (inserted with its others by ``_flush``): nobody else can
        # see it yet, and it is new, so only its times move.
        item.first_message_at = min(item.first_message_at, sent_at)
        item.last_message_at = max(item.last_message_at, sent_at)
        return False
    if chunk is not None:
        first, last = chunk.reopen.get(item.pk, (sent_at, sent_at))
        chunk.reopen[item.pk] = (min(first, sent_at), max(last, sent_at))
        return False
    item = FeedbackItem.objects.select_for_update().get(pk=item.pk)
    changed, reopened = _moved(item, sent_at, sent_at)
    if changed:
        item.save(update_fields=[*changed, "updated_at"])
    return reopened


def _answered(item: FeedbackItem, sent_at: datetime, chunk: _Chunk | None = None) -> None:
    """A copy of our own mail sent at ``sent_at`` on ``item``: its first response, unless an
    earlier one is known. In a chunk, a stored item is only noted."""
    if item.pk is None:
        _responded(item, sent_at)
        return
    if chunk is not None:
        chunk.answered[item.pk] = min(chunk.answered.get(item.pk, sent_at), sent_at)
        return
    item = FeedbackItem.objects.select_for_update().get(pk=item.pk)
    if _responded(item, sent_at):
        item.save(update_fields=["first_responded_at", "updated_at"])


def _responded(item: FeedbackItem, sent_at: datetime) -> bool:
    if item.first_responded_at is not None and item.first_responded_at <= sent_at:
        return False
    item.first_responded_at = sent_at
    return True


def _moved(item: FeedbackItem, first: datetime, last: datetime) -> tuple[list[str], bool]:
    """Customer mail sent from ``first`` to ``last`` on a stored ``item``: its fields changed
    (message times, status, resolved time, snooze) and whether it reopened."""
    changed = []
    if first < item.first_message_at:
        item.first_message_at = first
        changed.append("first_message_at")
    if last > item.last_message_at:
        item.last_message_at = last
        changed.append("last_message_at")
    reopened = item.status in REOPENED_FROM
    if reopened:
        item.status = ItemStatus.OPEN
        changed.append("status")
        if item.resolved_at is not None:
            # Open again: it is resolved (and stamped) anew when an agent resolves it.
            item.resolved_at = None
            changed.append("resolved_at")
    if item.snoozed_until is not None:
        item.snoozed_until = None
        changed.append("snoozed_until")
    return changed, reopened


def _reopen_chunk(chunk: _Chunk, now: datetime) -> None:
    """The stored items the chunk's customer mails answered, locked in one statement (in id
    order, as every chunk locks them) and written in one, as ``_reopen`` does each."""
    if not chunk.reopen and not chunk.answered:
        return
    pks = {*chunk.reopen, *chunk.answered}
    items = FeedbackItem.objects.select_for_update().filter(pk__in=pks).order_by("pk")
    changed: list[FeedbackItem] = []
    fields: set[str] = set()
    for item in items:
        names, reopened = [], False
        if item.pk in chunk.reopen:
            names, reopened = _moved(item, *chunk.reopen[item.pk])
        if item.pk in chunk.answered and _responded(item, chunk.answered[item.pk]):
            names.append("first_responded_at")
        if names:
            item.updated_at = now
            changed.append(item)
            fields.update(names)
        if reopened:
            chunk.announcements.append(
                lambda pk=item.pk: events.emit("feedback.item_reopened", item_id=pk)
            )
    if changed:
        FeedbackItem.objects.bulk_update(changed, [*sorted(fields), "updated_at"])
    chunk.reopen = {}
    chunk.answered = {}
