"""Thin Celery entry points for ingestion. Arguments are ids and strings (JSON); each task is
safe to run twice, because leases and payload statuses in the database decide what happens,
not the broker delivering once."""

from celery import shared_task

from feedback import services
from feedback.services import sla
from feedback.services.duplicates import items_duplicates_find
from feedback.services.replies import reply_deliver


@shared_task(soft_time_limit=20, time_limit=30)
def dispatch_due_channels() -> int:
    """Run by beat every few seconds: claim the channels due for a poll, queue one poll each."""
    claimed = services.channels_dispatch()
    for channel_id, owner in claimed:
        poll_channel.delay(channel_id, owner)
    return len(claimed)


# The channel's lease (feedback.services.polling.LEASE_SECONDS) outlasts the hard limit.
@shared_task(soft_time_limit=240, time_limit=300, acks_late=True, reject_on_worker_lost=True)
def poll_channel(channel_id: int, owner: str) -> dict:
    """One poll under the lease the dispatcher took for ``owner``. Delivered again after a
    worker died, it takes the lease again if it ran out and nobody else holds it."""
    if not services.channel_claim(channel_id=channel_id, owner=owner):
        return {"channel_id": channel_id, "claimed": False}
    report = services.channel_poll(channel_id=channel_id, owner=owner)
    return {"channel_id": channel_id, "claimed": report.claimed, "stored": report.stored}


@shared_task(soft_time_limit=240, time_limit=300, acks_late=True, reject_on_worker_lost=True)
def parse_payloads(payload_ids: list[int]) -> int:
    """Parse stored payloads (queued after a push stored them); parsed ones are left alone."""
    return len(services.payloads_parse(payload_ids=payload_ids))


@shared_task(soft_time_limit=240, time_limit=300)
def parse_stale_payloads() -> int:
    """Run by beat: parse the payloads whose parse was lost (a worker died after storing)."""
    return len(services.payloads_parse(payload_ids=services.payloads_stale()))


@shared_task(soft_time_limit=240, time_limit=300, acks_late=True, reject_on_worker_lost=True)
def score_sentiment(message_ids: list[int] | None = None) -> int:
    """Queued after a parse or a push committed: score the sentiment of the messages it stored
    and of their items. Without ids, every inbound customer message not scored yet (a
    backfill: ``score_sentiment.delay()``). Safe to run twice: the same text scores the same."""
    return services.messages_sentiment_score(message_ids=message_ids)


@shared_task(soft_time_limit=240, time_limit=300, acks_late=True, reject_on_worker_lost=True)
def erase_customer_feedback(customer_id: int) -> int:
    """Queued on ``portal.customer_erased``: erase what feedback holds about the customer."""
    return services.customer_feedback_erase(customer_id=customer_id)


@shared_task(soft_time_limit=60, time_limit=90, acks_late=True, reject_on_worker_lost=True)
def move_merged_customer_items(source_id: int, target_id: int) -> int:
    """Queued on ``portal.customers_merged``: the source customer's items become the target's."""
    return services.customer_items_move(source_id=source_id, target_id=target_id)


@shared_task(soft_time_limit=240, time_limit=300)
def find_likely_duplicates_of_items(item_ids: list[int]) -> int:
    """Queued on ``feedback.item_created`` for a transaction's new items and for the items a
    customers merge moved (``feedback.services.duplicates.duplicates_queue``, at most
    ``DUPLICATE_CHUNK`` ids): flag each item's likely duplicates (the same customer, another
    channel, similar text). Safe to run twice: pairs are stored once."""
    return items_duplicates_find(item_ids=item_ids)


@shared_task(soft_time_limit=120, time_limit=150)
def start_items_sla(item_ids: list[int]) -> int:
    """Queued on ``feedback.item_created`` (a transaction's new items at once): each item's
    automatic priority and SLA due times. Safe to run twice: one UPDATE an item that writes
    the same values again. Returns how many items were still there."""
    return sum(sla.item_sla_start(item_id=item_id) for item_id in item_ids)


@shared_task(soft_time_limit=30, time_limit=60)
def restart_item_sla(item_id: int) -> bool:
    """Queued on ``feedback.item_reopened``: a fresh resolution period from now."""
    return sla.item_sla_restart(item_id=item_id)


@shared_task(soft_time_limit=240, time_limit=300, acks_late=True, reject_on_worker_lost=True)
def refresh_customers_priorities(customer_ids: list[int]) -> int:
    """Queued on ``portal.customer_saved`` (a transaction's saved customers at once): their
    open items follow their tier and account. Safe to run twice: the second run finds nothing
    to change."""
    return sum(
        sla.customer_items_priority_refresh(customer_id=customer_id) for customer_id in customer_ids
    )


@shared_task(soft_time_limit=240, time_limit=300, acks_late=True, reject_on_worker_lost=True)
def refresh_account_priorities(account_id: int) -> int:
    """Queued on ``portal.account_saved``: a new plan or MRR reaches the open items of every
    customer of the account. Safe to run twice."""
    return sla.account_items_priority_refresh(account_id=account_id)


@shared_task(soft_time_limit=50, time_limit=58)
def mark_sla_breaches() -> int:
    """Run by beat every minute: mark, escalate and notify each new SLA breach once."""
    return sla.sla_breaches_mark()


# Not acks_late: a worker lost while sending is not handed the reply again (at most once; see
# feedback.services.replies). Running it twice sends one mail: only a queued reply is sent.
@shared_task(soft_time_limit=60, time_limit=90)
def send_reply(message_id: int) -> str:
    """Queued after a reply (or its retry) committed: send it through the e-mail backend."""
    return reply_deliver(message_id=message_id)


@shared_task(soft_time_limit=60, time_limit=90)
def recount_inbox_counts(user_id: int, team_id: int, params: dict[str, list[str]]) -> bool:
    """Queued by an inbox page that showed counts older than ``COUNTS_FRESH_FOR`` seconds:
    count them again for the next pages (feedback.inbox.counts). Safe to run twice."""
    from feedback.inbox.counts import inbox_counts_recount

    return inbox_counts_recount(user_id=user_id, team_id=team_id, params=params)
