"""Erasing what the feedback app holds about a customer whose personal data was erased
(``portal.customer_erased``, the right to erasure).

The customer's items stay (they count in rankings and figures) but lose their subjects; every
message of those items loses its addresses, names and contents, our own replies included
(they quote and greet the customer); attachments go, and so do the raw payloads' bytes, which
hold the whole mail. Files are content-addressed and may be shared, so a file goes only when
nothing else names it. Safe to run again for the same customer.
"""

from django.core.files.storage import default_storage
from django.db import transaction

from feedback.models import Attachment, FeedbackItem, Message, RawPayload
from portal.services.deletion import ERASED_VALUE

_ERASED_MESSAGE = {
    "sender_name": "",
    "sender": "",
    "sender_handle": "",
    "external_url": "",
    "reply_to": "",
    "to": [],
    "cc": [],
    "subject": ERASED_VALUE,
    "text": ERASED_VALUE,
    "quoted_text": "",
    "signature": "",
    "html": "",
    "defects": [],
    "sentiment": "",
    "sentiment_score": None,
}


def _delete_unreferenced(names: set[str]) -> None:
    for name in names:
        if not name:
            continue
        named = (
            Attachment.objects.filter(file=name).exists()
            or RawPayload.objects.filter(file=name).exists()
        )
        if not named:
            default_storage.delete(name)


def customer_feedback_erase(*, customer_id: int) -> int:
    """Erase the feedback of the customer; the number of messages erased."""
    with transaction.atomic():
        items = FeedbackItem.objects.filter(customer_id=customer_id)
        messages = Message.objects.filter(item__in=items)
        attachments = Attachment.objects.filter(message__in=messages)
        payloads = RawPayload.objects.filter(message__in=messages)
        names = set(attachments.values_list("file", flat=True))
        names |= set(payloads.values_list("file", flat=True))
        attachments.delete()
        payloads.update(file="", metadata={})
        erased = messages.update(**_ERASED_MESSAGE)
        items.update(subject=ERASED_VALUE, search_document="", sentiment="", sentiment_score=None)
        # After the commit: a file deleted for a write rolled back could not come back.
        transaction.on_commit(lambda: _delete_unreferenced(names))
    return erased
