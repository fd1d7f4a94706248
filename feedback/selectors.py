"""Reads of the feedback app, team-scoped: a user sees the channels, items, messages,
attachments and quarantine of the teams they belong to (superusers and the system actor all).
Another team's object is a 404 (``get_or_404``). Filters take objects or ids.

Every list applies its ``select_related`` / ``prefetch_related`` so that a page or an API list
runs a fixed number of queries however long it is; the health figures are subqueries, one
query for all channels.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import (
    Count,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextChoices,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from feedback.channels import ConfigError, get_connector

# The inbox's list (query, items, pages, counts, CSV rows) is feedback.inbox's; callers reach
# it through these names.
from feedback.inbox.counts import inbox_counts_cached as inbox_counts_cached
from feedback.inbox.export import inbox_export_rows as inbox_export_rows
from feedback.inbox.keyset import CursorInvalid as CursorInvalid
from feedback.inbox.params import InboxQuery as InboxQuery
from feedback.inbox.params import inbox_query_from_params as inbox_query_from_params
from feedback.inbox.query import InboxPage as InboxPage
from feedback.inbox.query import inbox_counts as inbox_counts
from feedback.inbox.query import inbox_items as inbox_items
from feedback.inbox.query import inbox_page as inbox_page
from feedback.models import (
    Attachment,
    Channel,
    Direction,
    FeedbackItem,
    LikelyDuplicate,
    MergedItem,
    Message,
    PayloadStatus,
    Quarantine,
    QuarantineStatus,
    RawPayload,
    ResponseTemplate,
    SavedView,
    Tag,
)
from portal import access
from portal.access import User
from portal.actors import is_system
from portal.models import Role
from portal.selectors import get_or_404, team_scope

NO_SUCH_CHANNEL = "No such channel."
NO_SUCH_ITEM = "No such feedback item."
NO_SUCH_MESSAGE = "No such message."
NO_SUCH_ATTACHMENT = "No such attachment."
NO_SUCH_QUARANTINE = "No such quarantined payload."
NO_SUCH_PAYLOAD = "No such payload."
NO_SUCH_TAG = "No such tag."
NO_SUCH_SAVED_VIEW = "No such saved view."


def _values(value: Any) -> list[Any]:
    """One value or several (``status=open&status=new``) as a list."""
    if value is None:
        return []
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    return [value]


# Channels ----------------------------------------------------------------------------------


def channel_list(
    *,
    user: User,
    team: Any = None,
    kind: str | None = None,
    enabled: bool | None = None,
    healthy: bool | None = None,
) -> QuerySet[Channel]:
    channels = Channel.objects.filter(team_scope(user)).select_related("team")
    if team is not None:
        channels = channels.filter(team=team)
    if kind:
        channels = channels.filter(kind=kind)
    if enabled is not None:
        channels = channels.filter(enabled=enabled)
    if healthy is not None:
        channels = channels.filter(healthy=healthy)
    return channels.order_by("team__name", "name", "pk")


def channel_get(*, user: User, pk: int, team: Any = None) -> Channel:
    """One channel; with ``team``, only a channel of that team (a page under a team's URL
    answers 404 for another team's channel id)."""
    return get_or_404(channel_list(user=user, team=team), NO_SUCH_CHANNEL, pk=pk)


def channel_public_config(channel: Channel) -> dict[str, Any]:
    """The channel's config without its secrets: what pages and the API may show. The secret
    fields are named by the connector; for an unknown kind nothing is shown."""
    try:
        connector = get_connector(channel.kind)
    except ConfigError:
        return {}
    return {
        key: value
        for key, value in channel.read_config().items()
        if key not in connector.secret_fields
    }


def channel_unhealthy_list(*, user: User, team: Any = None) -> QuerySet[Channel]:
    """Enabled, unhealthy channels of the teams ``user`` administers (of ``team`` only, when
    given): the notice admins see."""
    channels = channel_list(user=user, team=team, enabled=True, healthy=False)
    if user.is_superuser or is_system(user):
        return channels
    admin_of = [
        team_id for team_id, role in access.team_roles(user).items() if role.at_least(Role.ADMIN)
    ]
    return channels.filter(team_id__in=admin_of)


class ChannelState(TextChoices):
    """A channel's state in one word, as the channel list and the health page both show it."""

    DISABLED = "disabled", "Disabled"
    UNHEALTHY = "unhealthy", "Unhealthy"
    # Mail or the widget's posts reach the portal: nothing to poll, nothing to lag.
    RECEIVING = "push", "Receiving"
    NOT_POLLED = "new", "Not polled yet"
    HEALTHY = "healthy", "Healthy"


def channel_is_push(kind: str) -> bool:
    """Whether channels of ``kind`` are posted to rather than polled (False for an unknown
    kind)."""
    try:
        return get_connector(kind).push
    except ConfigError:
        return False


def channel_state(channel: Channel) -> ChannelState:
    if not channel.enabled:
        return ChannelState.DISABLED
    if not channel.healthy:
        return ChannelState.UNHEALTHY
    if channel_is_push(channel.kind):
        return ChannelState.RECEIVING
    if channel.last_polled_at is None:
        return ChannelState.NOT_POLLED
    return ChannelState.HEALTHY


@dataclass(frozen=True)
class ChannelHealth:
    channel: Channel
    healthy: bool
    last_success_at: datetime | None
    # Seconds since the last successful poll; None when there was none yet.
    lag_seconds: float | None
    error_streak: int
    last_error: str
    last_error_at: datetime | None
    next_poll_at: datetime | None
    messages_last_hour: int
    # Messages stored in the last 24 hours, per hour (one decimal).
    messages_per_hour: float
    quarantine_count: int
    pending_count: int


def _count_per_channel(queryset: QuerySet, field: str = "channel") -> Coalesce:
    counts = (
        queryset.filter(**{field: OuterRef("pk")})
        .order_by()
        .values(field)
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


def channel_health_list(
    *, user: User, team: Any = None, now: datetime | None = None
) -> list[ChannelHealth]:
    """Health figures for each channel the user may see, in one query."""
    now = now or timezone.now()
    channels = channel_list(user=user, team=team).annotate(
        messages_last_hour=_count_per_channel(
            Message.objects.filter(received_at__gte=now - timedelta(hours=1))
        ),
        messages_last_day=_count_per_channel(
            Message.objects.filter(received_at__gte=now - timedelta(hours=24))
        ),
        quarantine_count=_count_per_channel(
            Quarantine.objects.filter(status=QuarantineStatus.OPEN), field="payload__channel"
        ),
        pending_count=_count_per_channel(RawPayload.objects.filter(status=PayloadStatus.PENDING)),
    )
    return [
        ChannelHealth(
            channel=channel,
            healthy=channel.healthy,
            last_success_at=channel.last_success_at,
            lag_seconds=(
                max((now - channel.last_success_at).total_seconds(), 0.0)
                if channel.last_success_at
                else None
            ),
            error_streak=channel.error_streak,
            last_error=channel.last_error,
            last_error_at=channel.last_error_at,
            next_poll_at=channel.next_poll_at,
            messages_last_hour=channel.messages_last_hour,
            messages_per_hour=round(channel.messages_last_day / 24, 1),
            quarantine_count=channel.quarantine_count,
            pending_count=channel.pending_count,
        )
        for channel in channels
    ]


# Items, messages, attachments, tags ---------------------------------------------------------


def item_list(
    *,
    user: User,
    team: Any = None,
    status: Any = None,
    channel: Any = None,
    customer: Any = None,
    tag: Any = None,
) -> QuerySet[FeedbackItem]:
    """Most recent conversation first (``last_message_at``, then id: a stable order for
    keyset pagination)."""
    items = (
        FeedbackItem.objects.filter(team_scope(user))
        .select_related("team", "customer", "customer__account", "channel")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
    )
    if team is not None:
        items = items.filter(team=team)
    statuses = _values(status)
    if statuses:
        items = items.filter(status__in=statuses)
    if channel is not None:
        items = items.filter(channel=channel)
    if customer is not None:
        items = items.filter(customer=customer)
    if tag is not None:
        items = items.filter(tags=tag)
    return items.order_by("-last_message_at", "-pk")


def item_get(*, user: User, pk: int) -> FeedbackItem:
    return get_or_404(item_list(user=user), NO_SUCH_ITEM, pk=pk)


def merged_item_target(*, user: User, pk: int) -> int | None:
    """The id of the item whose messages item ``pk`` was merged into (``MergedItem``), when
    ``user`` may read that item; None otherwise, as for any item not found."""
    merged = MergedItem.objects.filter(merged_id=pk).first()
    if merged is None or not item_list(user=user).filter(pk=merged.into_id).exists():
        return None
    return merged.into_id


def message_list(
    *,
    user: User,
    team: Any = None,
    item: Any = None,
    channel: Any = None,
    lane: Any = None,
    external_id: str | None = None,
) -> QuerySet[Message]:
    """Oldest first (``sent_at``, then id), as a conversation reads."""
    messages = (
        Message.objects.filter(team_scope(user))
        .select_related("team", "item", "channel")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("pk")))
    )
    if team is not None:
        messages = messages.filter(team=team)
    if item is not None:
        messages = messages.filter(item=item)
    if channel is not None:
        messages = messages.filter(channel=channel)
    lanes = _values(lane)
    if lanes:
        messages = messages.filter(lane__in=lanes)
    if external_id is not None:
        messages = messages.filter(external_id=external_id.strip().strip("<>"))
    return messages.order_by("sent_at", "pk")


def message_get(*, user: User, pk: int) -> Message:
    return get_or_404(message_list(user=user), NO_SUCH_MESSAGE, pk=pk)


def attachment_list(*, user: User, message: Any = None) -> QuerySet[Attachment]:
    attachments = Attachment.objects.filter(team_scope(user, field="message__team")).select_related(
        "message", "message__team"
    )
    if message is not None:
        attachments = attachments.filter(message=message)
    return attachments.order_by("message", "pk")


def attachment_get(*, user: User, pk: int) -> Attachment:
    return get_or_404(attachment_list(user=user), NO_SUCH_ATTACHMENT, pk=pk)


def tag_list(*, user: User, team: Any = None) -> QuerySet[Tag]:
    tags = Tag.objects.filter(team_scope(user)).select_related("team")
    if team is not None:
        tags = tags.filter(team=team)
    return tags.order_by("team__name", "name", "pk")


def tag_get(*, user: User, pk: int) -> Tag:
    return get_or_404(tag_list(user=user), NO_SUCH_TAG, pk=pk)


# Raw payloads and quarantine ----------------------------------------------------------------


def payload_list(*, user: User, channel: Any = None, status: Any = None) -> QuerySet[RawPayload]:
    payloads = RawPayload.objects.filter(team_scope(user, field="channel__team")).select_related(
        "channel", "channel__team"
    )
    if channel is not None:
        payloads = payloads.filter(channel=channel)
    statuses = _values(status)
    if statuses:
        payloads = payloads.filter(status__in=statuses)
    return payloads.order_by("-created_at", "-pk")


def payload_get(*, user: User, pk: int) -> RawPayload:
    """One payload, for downloading its raw bytes (``payload.file``)."""
    return get_or_404(payload_list(user=user), NO_SUCH_PAYLOAD, pk=pk)


def quarantine_list(
    *,
    user: User,
    team: Any = None,
    channel: Any = None,
    status: Any = QuarantineStatus.OPEN,
) -> QuerySet[Quarantine]:
    """Open quarantine rows by default, newest first; ``status=None`` for all."""
    rows = Quarantine.objects.filter(
        team_scope(user, field="payload__channel__team")
    ).select_related("payload", "payload__channel", "payload__channel__team", "closed_by")
    if team is not None:
        rows = rows.filter(payload__channel__team=team)
    if channel is not None:
        rows = rows.filter(payload__channel=channel)
    statuses = _values(status)
    if statuses:
        rows = rows.filter(status__in=statuses)
    return rows.order_by("-created_at", "-pk")


def quarantine_get(*, user: User, pk: int, team: Any = None) -> Quarantine:
    """One quarantine row whatever its status; with ``team``, only one of that team."""
    return get_or_404(quarantine_list(user=user, team=team, status=None), NO_SUCH_QUARANTINE, pk=pk)


def quarantine_count(*, user: User, team: Any = None) -> int:
    return quarantine_list(user=user, team=team).count()


# Across channels ---------------------------------------------------------------------------
# For items already read through ``item_list`` (so of the user's teams): one query for a whole
# page, not one per item.


def items_channel_kinds(*, item_ids: list[int]) -> dict[int, set[str]]:
    """The kinds of channel each item's messages came through (messages without one left out)."""
    kinds: dict[int, set[str]] = {pk: set() for pk in item_ids}
    rows = (
        Message.objects.filter(item_id__in=item_ids, channel__isnull=False)
        .values_list("item_id", "channel__kind")
        .distinct()
    )
    for item_id, kind in rows:
        kinds[item_id].add(kind)
    return kinds


def _open_pairs(item_ids: list[int]) -> QuerySet[LikelyDuplicate]:
    """The likely-duplicate pairs not dismissed that name any of ``item_ids``."""
    return LikelyDuplicate.objects.filter(
        Q(item_id__in=item_ids) | Q(other_id__in=item_ids), dismissed_at__isnull=True
    )


def _by_item(
    found: dict[int, list[tuple[int, float]]], pairs: Iterable[tuple[int, int, float]]
) -> None:
    """Each pair (item, other, score) listed on both of its items that ``found`` holds."""
    for low, high, score in pairs:
        if low in found:
            found[low].append((high, score))
        if high in found:
            found[high].append((low, score))


def items_likely_duplicates(*, item_ids: list[int]) -> dict[int, list[tuple[int, float]]]:
    """Each item's likely duplicates not dismissed, as (other item id, score), most similar
    first; a pair is listed on both of its items."""
    found: dict[int, list[tuple[int, float]]] = {pk: [] for pk in item_ids}
    pairs = _open_pairs(item_ids).order_by("-score", "pk")
    _by_item(found, pairs.values_list("item_id", "other_id", "score"))
    return found


def items_tags_and_duplicates(
    *, item_ids: list[int]
) -> tuple[dict[int, list[int]], dict[int, list[tuple[int, float]]]]:
    """Each item's tag ids, and its likely duplicates as ``items_likely_duplicates`` gives
    them, in one query (a list page's rows: the tags' names and colours are the team's)."""
    tag_ids: dict[int, list[int]] = {pk: [] for pk in item_ids}
    duplicates: dict[int, list[tuple[int, float]]] = {pk: [] for pk in item_ids}
    tagged = (
        FeedbackItem.tags.through.objects.filter(feedbackitem_id__in=item_ids)
        .order_by()
        .values_list("feedbackitem_id", "tag_id", Value(None, output_field=FloatField()))
    )
    pairs = _open_pairs(item_ids).order_by().values_list("item_id", "other_id", "score")
    # A tag's row has no score; a pair of likely duplicates always has one.
    rows = sorted(tagged.union(pairs, all=True), key=lambda row: (-(row[2] or 0), row[0], row[1]))
    for item_id, tag_id, _ in (row for row in rows if row[2] is None):
        tag_ids[item_id].append(tag_id)
    _by_item(duplicates, (row for row in rows if row[2] is not None))
    return tag_ids, duplicates


# Response templates and replies --------------------------------------------------------------

NO_SUCH_TEMPLATE = "No such response template."


def response_template_list(
    *, user: User, team: Any = None, shared: bool | None = None
) -> QuerySet[ResponseTemplate]:
    """The templates of the user's teams and the shared ones (``team`` empty), which every
    signed-in user reads; with ``team``, that team's and the shared ones. By name."""
    if not (user.is_authenticated and user.is_active):
        return ResponseTemplate.objects.none()
    scope = team_scope(user)
    # An empty scope (superusers, the system) is every team: ``Q() | Q(...)`` would drop it.
    visible = scope | Q(team__isnull=True) if scope else Q()
    templates = ResponseTemplate.objects.filter(visible)
    if team is not None:
        templates = templates.filter(Q(team=team) | Q(team__isnull=True))
    if shared is not None:
        templates = templates.filter(team__isnull=shared)
    return templates.select_related("team", "created_by").order_by("name_key", "pk")


def response_template_get(*, user: User, pk: int) -> ResponseTemplate:
    return get_or_404(response_template_list(user=user), NO_SUCH_TEMPLATE, pk=pk)


def reply_list(*, user: User, team: Any = None, item: Any = None) -> QuerySet[Message]:
    """Replies the portal sent or is sending (outbound messages with a delivery state; notes
    and copies of our own mail read from a mailbox are not replies), oldest first."""
    return (
        message_list(user=user, team=team, item=item)
        .filter(direction=Direction.OUT, is_note=False)
        .exclude(delivery="")
        .select_related("author")
    )


# Saved views of the inbox -------------------------------------------------------------------


# Shared views first, then a person's own, each by name.
SAVED_VIEW_ORDER = (F("owner").asc(nulls_first=True), "name_key", "pk")


def saved_view_list(*, user: User, team: Any = None) -> QuerySet[SavedView]:
    """The user's own views and the views shared with their teams (of ``team`` only, when
    given), shared ones first, then by name. Nobody else's personal views, superusers' neither:
    they are a person's own."""
    if not (user.is_authenticated and user.is_active) or is_system(user):
        return SavedView.objects.none()
    views = SavedView.objects.filter(team_scope(user)).filter(Q(owner__isnull=True) | Q(owner=user))
    if team is not None:
        views = views.filter(team=team)
    return views.select_related("team", "owner").order_by(*SAVED_VIEW_ORDER)


def saved_view_get(*, user: User, pk: int) -> SavedView:
    return get_or_404(saved_view_list(user=user), NO_SUCH_SAVED_VIEW, pk=pk)
