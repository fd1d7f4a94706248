"""Sentiment stored on messages and items, outside the transactions that store the messages.

Scoring costs about 0.7 ms a message (a fifth of ingesting a mail), so parsing and pushes only
queue ``feedback.tasks.score_sentiment`` after their commit with the ids they stored
(``sentiment_queue``); the task calls ``messages_sentiment_score``. Only inbound messages of
the customer lane are scored (what a customer wrote: not our replies, not auto-replies or
bounces). An item's sentiment is its latest inbound customer message's, by ``sent_at`` then
id, recomputed for every item whose messages were scored. Scoring is idempotent: the same text
gets the same values, so a task run twice, or a backfill over messages already scored, writes
what is already there.
"""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from feedback import sentiment
from feedback.models import Direction, FeedbackItem, Lane, Message

# Messages scored per transaction when scoring every unscored message.
SCORE_BATCH = 500


def scored_kind(message: Message) -> bool:
    """Whether ``message`` is one whose sentiment is scored."""
    return message.direction == Direction.IN and message.lane == Lane.CUSTOMER


def sentiment_queue(message_ids: Iterable[int | None]) -> None:
    """Queue one scoring task for ``message_ids`` once the current transaction commits (at
    once outside one); nothing when there are none."""
    ids = sorted({pk for pk in message_ids if pk is not None})
    if ids:
        transaction.on_commit(lambda: _queue(ids))


def _queue(message_ids: list[int]) -> None:
    from feedback.tasks import score_sentiment

    score_sentiment.delay(message_ids)


def _scorable():
    return Message.objects.filter(direction=Direction.IN, lane=Lane.CUSTOMER)


def messages_sentiment_score(*, message_ids: list[int] | None = None) -> int:
    """Score the inbound customer messages of ``message_ids`` (None: every one not scored yet,
    in batches) and set their items' sentiment; the number of messages scored."""
    if message_ids is not None:
        return _score_batch(_scorable().filter(pk__in=message_ids))
    scored = 0
    while True:
        batch = _scorable().filter(sentiment_score__isnull=True).order_by("pk")[:SCORE_BATCH]
        done = _score_batch(Message.objects.filter(pk__in=list(batch.values_list("pk", flat=True))))
        if not done:
            return scored
        scored += done


@transaction.atomic
def _score_batch(messages) -> int:
    rows = list(messages.only("pk", "item_id", "subject", "text"))
    for message in rows:
        # A pushed item may carry only a subject; then the subject is what they wrote.
        message.sentiment_score, message.sentiment = sentiment.score(
            message.text or message.subject
        )
    Message.objects.bulk_update(rows, ["sentiment", "sentiment_score"])
    items_sentiment_update(item_ids={message.item_id for message in rows})
    return len(rows)


def items_sentiment_update(*, item_ids: Iterable[int | None]) -> None:
    """Set each item's sentiment to its latest inbound customer message's, in one UPDATE (an
    item without one, or whose latest is not scored yet, gets none)."""
    ids = {pk for pk in item_ids if pk is not None}
    if not ids:
        return
    latest = _scorable().filter(item=OuterRef("pk")).order_by("-sent_at", "-pk")
    FeedbackItem.objects.filter(pk__in=ids).update(
        sentiment=Coalesce(Subquery(latest.values("sentiment")[:1]), Value("")),
        sentiment_score=Subquery(latest.values("sentiment_score")[:1]),
    )
