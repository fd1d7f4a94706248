"""Likely duplicates: the same customer saying nearly the same thing in two channels.

A new item (``feedback.item_created``) is compared with the items of the same team and the same
customer whose first message came within ``PORTAL_DUPLICATE_WINDOW_HOURS`` of its own (either
side: a forum post may be polled after the mail that repeated it) through another channel (no
channel counts as one: the API; two API pushes are the same channel). Those candidates are read
through ``item_customer_idx`` (team, customer, first_message_at), so the check costs the same
with 10,000 items as with 100,000. Items without a customer are never compared: an unknown
sender says nothing about who repeated themselves.

The compared text is the subject and text of each item's first inbound customer message, capped
at ``MAX_COMPARED_CHARS`` in SQL so that both sides are cut alike. On PostgreSQL the score is
pg_trgm's ``similarity()``, computed in the candidate query; elsewhere rapidfuzz's
``token_sort_ratio`` / 100 after its default processing (lower case, punctuation removed). Token
sort is chosen because, like trigram similarity, it ignores case, punctuation and word order but
counts what one text has and the other lacks: ``token_set_ratio`` scores a one-line "thanks!"
100 against any message that contains the word, and plain ``ratio`` punishes reordered words.
Pairs scoring at least ``PORTAL_DUPLICATE_THRESHOLD`` are stored once each (smaller id first),
inserted ignoring conflicts: a check run twice, or a pair found from both sides, stores one row,
and a dismissed pair stays dismissed.

The items of one transaction (a parse chunk, an API bulk push, a CSV import, or a single new
item) are checked by one task per ``DUPLICATE_CHUNK`` of them (``duplicates_queue``, from the
batched ``feedback.item_created`` handler in ``feedback.apps``); so are the items a customers
merge moves to the surviving customer, whose other items may now say the same.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, FloatField, Func, OuterRef, Q, QuerySet, Subquery, TextField, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from rapidfuzz import fuzz, utils

from feedback.models import Direction, FeedbackItem, Lane, LikelyDuplicate, Message
from portal import access
from portal.actors import SystemActor, person_or_none
from portal.models import Role
from portal.services import audit

Actor = AbstractBaseUser | SystemActor

# Characters of subject and text compared: enough for what a customer repeats, and a bound on
# the cost of scoring a pasted log file.
MAX_COMPARED_CHARS = 2000
# Candidates scored for one new item at most (the most recent first): one customer's items of
# a few days are a handful; the bound keeps a bulk import by one address cheap.
MAX_CANDIDATES = 50

DUPLICATE_ALREADY_DISMISSED = "This pair was already dismissed as not the same."


def _first_text() -> Subquery:
    """The subject and text of an item's first inbound customer message, capped."""
    first = (
        Message.objects.filter(item=OuterRef("pk"), direction=Direction.IN, lane=Lane.CUSTOMER)
        .order_by("sent_at", "pk")
        .annotate(
            compared=Substr(
                Concat("subject", Value("\n"), "text", output_field=TextField()),
                1,
                MAX_COMPARED_CHARS,
            )
        )
        .values("compared")[:1]
    )
    return Subquery(first, output_field=TextField())


def candidates(item: FeedbackItem, *, window: timedelta) -> QuerySet[FeedbackItem]:
    """Items of ``item``'s team and customer whose first message is within ``window`` of its
    own and that came through another channel, most recent first (at most
    ``MAX_CANDIDATES``). Filters on the columns of ``item_customer_idx`` only, then the channel."""
    found = FeedbackItem.objects.filter(
        team_id=item.team_id,
        customer_id=item.customer_id,
        first_message_at__gte=item.first_message_at - window,
        first_message_at__lte=item.first_message_at + window,
    ).exclude(pk=item.pk)
    if item.channel_id is None:
        found = found.exclude(channel__isnull=True)
    else:
        found = found.filter(Q(channel__isnull=True) | ~Q(channel_id=item.channel_id))
    return found.order_by("-first_message_at", "-pk")[:MAX_CANDIDATES]


def text_similarity(left: str, right: str) -> float:
    """The portable score in [0, 1] (rapidfuzz), used where pg_trgm is not available."""
    return fuzz.token_sort_ratio(left, right, processor=utils.default_process) / 100


def _scores(item: FeedbackItem, text: str, window: timedelta) -> list[tuple[int, float]]:
    """(candidate id, score) for every candidate of ``item`` whose first message has text."""
    found = candidates(item, window=window).annotate(first_text=_first_text())
    if connection.vendor == "postgresql":
        scored = found.annotate(
            score=Func(
                F("first_text"), Value(text), function="similarity", output_field=FloatField()
            )
        )
        return [(pk, score) for pk, score in scored.values_list("pk", "score") if score is not None]
    return [
        (pk, text_similarity(text, other))
        for pk, other in found.values_list("pk", "first_text")
        if other
    ]


def item_duplicates_find(
    *, item_id: int, window: timedelta | None = None, threshold: float | None = None
) -> list[LikelyDuplicate]:
    """Compare the item with its candidates and store the pairs at or above the threshold
    (settings unless given). Idempotent; the pairs of the item scoring enough, stored now or
    before. An item that is gone (merged, erased) or has no customer finds nothing."""
    window = (
        window if window is not None else timedelta(hours=settings.PORTAL_DUPLICATE_WINDOW_HOURS)
    )
    threshold = threshold if threshold is not None else settings.PORTAL_DUPLICATE_THRESHOLD
    item = (
        FeedbackItem.objects.filter(pk=item_id, customer__isnull=False)
        .annotate(first_text=_first_text())
        .first()
    )
    if item is None or not item.first_text:
        return []
    pairs = []
    for other_id, score in _scores(item, item.first_text, window):
        if score < threshold:
            continue
        low, high = sorted((item.pk, other_id))
        # Rounded so that the same texts give the same stored score on every run; clamped
        # because a float sum may land a hair outside [0, 1].
        score = min(max(round(score, 4), 0.0), 1.0)
        pairs.append(LikelyDuplicate(team_id=item.team_id, item_id=low, other_id=high, score=score))
    if pairs:
        LikelyDuplicate.objects.bulk_create(pairs, ignore_conflicts=True)
    return list(
        LikelyDuplicate.objects.filter(Q(item_id=item.pk) | Q(other_id=item.pk)).order_by("pk")
    )


# Items one queued check takes: a CSV import of thousands queues a few tasks, not one per row.
DUPLICATE_CHUNK = 200


def duplicates_queue(item_ids: Iterable[int | None]) -> None:
    """Queue the duplicate check of ``item_ids``, ``DUPLICATE_CHUNK`` items per task, once the
    current transaction commits (at once outside one); nothing when there are none."""
    ids = sorted({pk for pk in item_ids if pk is not None})
    if ids:
        transaction.on_commit(lambda: _queue(ids), robust=True)


def _queue(item_ids: list[int]) -> None:
    from feedback.tasks import find_likely_duplicates_of_items

    for start in range(0, len(item_ids), DUPLICATE_CHUNK):
        find_likely_duplicates_of_items.delay(item_ids[start : start + DUPLICATE_CHUNK])


def items_duplicates_find(*, item_ids: Iterable[int]) -> int:
    """``item_duplicates_find`` for each of ``item_ids``; the number of pairs they have."""
    return sum(len(item_duplicates_find(item_id=item_id)) for item_id in item_ids)


@transaction.atomic
def likely_duplicate_dismiss(
    *, actor: Actor, pair: LikelyDuplicate, now: datetime | None = None
) -> LikelyDuplicate:
    """Record that the two items are not the same request: the pair is no longer shown, and
    checking either item again does not bring it back. Agents of the team."""
    access.require_team_role(actor, pair.team, Role.AGENT)
    pair = LikelyDuplicate.objects.select_for_update().select_related("team").get(pk=pair.pk)
    if pair.dismissed_at is not None:
        raise ValidationError(DUPLICATE_ALREADY_DISMISSED)
    pair.dismissed_at = now or timezone.now()
    pair.dismissed_by = person_or_none(actor)
    pair.save(update_fields=["dismissed_at", "dismissed_by"])
    audit(
        actor=actor,
        action="likely_duplicate.dismissed",
        target=pair,
        team=pair.team,
        changes={"dismissed_at": {"before": None, "after": pair.dismissed_at.isoformat()}},
    )
    return pair
