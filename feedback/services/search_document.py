"""The search document of feedback items: what full-text search reads (``FeedbackItem.
search_document``, indexed on PostgreSQL by the inbox's migration).

It holds the item's subject and then the texts of its customer-visible messages in the order
they were sent: the customer's mail and our replies, not internal notes (a customer who is
shown search results never matches on what staff wrote about them) and not machine mail
(auto-replies and bounces would make every item match "out of office"). It is capped at
``MAX_SEARCH_DOCUMENT`` characters, the earliest text kept: a conversation's opening says what
it is about.

Every write that changes those texts calls :func:`item_search_document_refresh` with the items
it touched, set-based: one SELECT of their texts and one UPDATE of their documents however many
items there are, so that the mail ingest pays two round trips per chunk, not per message.
"""

from collections.abc import Iterable

from django.db.models import Case, Q, TextField, Value, When
from django.db.models.functions import Substr

from feedback.models import MAX_SEARCH_DOCUMENT, Direction, FeedbackItem, Lane, Message

# Items refreshed per UPDATE: SQLite limits the parameters of one statement.
REFRESH_BATCH = 200

# Messages whose text a customer sees: their own mail and our replies, never notes.
CUSTOMER_VISIBLE = Q(is_note=False) & (Q(lane=Lane.CUSTOMER) | Q(direction=Direction.OUT))


def search_document_of(subject: str, texts: Iterable[str]) -> str:
    """The document of an item with this subject and these message texts (in order)."""
    parts = [part.strip() for part in (subject, *texts)]
    return "\n".join(part for part in parts if part)[:MAX_SEARCH_DOCUMENT]


def item_search_document_refresh(item_ids: Iterable[int | None]) -> int:
    """Rebuild the search documents of these items from their subjects and messages; the
    number of items written. Ids of items that no longer exist are passed over."""
    wanted = sorted({pk for pk in item_ids if pk is not None})
    written = 0
    for start in range(0, len(wanted), REFRESH_BATCH):
        written += _refresh(wanted[start : start + REFRESH_BATCH])
    return written


def _refresh(ids: list[int]) -> int:
    subjects = dict(FeedbackItem.objects.filter(pk__in=ids).values_list("pk", "subject"))
    if not subjects:
        return 0
    texts: dict[int, list[str]] = {pk: [] for pk in subjects}
    # Each text cut in the database: no message is read whole beyond what the cap keeps.
    rows = (
        Message.objects.filter(CUSTOMER_VISIBLE, item_id__in=subjects)
        .order_by("item_id", "sent_at", "pk")
        .values_list("item_id", Substr("text", 1, MAX_SEARCH_DOCUMENT))
    )
    for item_id, text in rows:
        texts[item_id].append(text or "")
    documents = Case(
        *(
            When(pk=pk, then=Value(search_document_of(subject, texts[pk])))
            for pk, subject in subjects.items()
        ),
        output_field=TextField(),
    )
    return FeedbackItem.objects.filter(pk__in=subjects).update(search_document=documents)
