"""Who else has an item open: the collision notice ("Sam Agent is replying"), so that two
agents do not answer the same customer.

The item page touches "viewing" when it is loaded and then every 15 seconds while it stays
open (a small htmx poll); the poll says "replying" while the reply composer holds text. Each
touch keeps one row per (item, user) alive for ``PRESENCE_SECONDS``: an agent who closes the
tab simply stops touching and drops out of the notice within a minute, so nothing has to
notice a tab closing. Time is passed in (``now``) so that tests move a clock instead of
sleeping.
"""

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from feedback.models import FeedbackItem, ItemPresence, PresenceActivity

# Four missed polls (15 s apart) and a presence is gone.
PRESENCE_SECONDS = 60
ACTIVITY_UNKNOWN = "Unknown activity {value!r}: say viewing or replying."


def presence_touch(*, user: Any, item: FeedbackItem, activity: str, now: datetime) -> ItemPresence:
    """Record that ``user`` is viewing or replying to ``item`` until ``now`` plus a minute;
    the stored row. The caller has already checked that the user may see the item. Expired
    rows of the item are removed on the way, so the table holds only the current minute."""
    if activity not in PresenceActivity.values:
        raise ValidationError({"activity": ACTIVITY_UNKNOWN.format(value=activity)})
    with transaction.atomic():
        ItemPresence.objects.filter(item=item, expires_at__lte=now).delete()
        presence, _ = ItemPresence.objects.update_or_create(
            item=item,
            user=user,
            defaults={
                "activity": activity,
                "expires_at": now + timedelta(seconds=PRESENCE_SECONDS),
            },
        )
    return presence


def presence_others(*, user: Any, item: FeedbackItem, now: datetime) -> list[tuple[Any, str]]:
    """The other people on the item now, as (user, activity), those replying first."""
    rows = (
        ItemPresence.objects.filter(item=item, expires_at__gt=now)
        .exclude(user=user)
        .select_related("user")
        .order_by("user__first_name", "user__username")
    )
    others = [(row.user, row.activity) for row in rows]
    return sorted(others, key=lambda pair: pair[1] != PresenceActivity.REPLYING)
