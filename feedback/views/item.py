"""The item page, ``/inbox/<id>/``: one conversation as an agent works on it.

The whole conversation across channels in order (sanitised HTML, quoted history and
signatures folded, attachments, why each message was threaded, internal notes set apart,
replies with their delivery), the header with the item's status, assignee, priority, tags,
SLA due times and snooze (each with a small form), the history of who did what (the portal's
audit entries of the item), likely duplicates, the customer 360 panel, the reply composer
(``feedback.views.replies``) and the collision notice (``feedback.services.presence``).

Every member of the item's team reads the page; agents and above change it through the
actions in ``feedback.views.item_actions``, which render this module's fragments
(:func:`header_context`). The presence poll (``item_presence``) is here, beside the notice it
answers with. Times are shown in the reader's zone (the portal's middleware activates the
profile's).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from feedback import selectors
from feedback.models import (
    FeedbackItem,
    ItemPriority,
    ItemStatus,
    LikelyDuplicate,
    Message,
    PresenceActivity,
)
from feedback.services.presence import presence_others, presence_touch
from feedback.services.replies import delivery_stalled
from feedback.services.triage import PRIORITY_AUTOMATIC
from feedback.views.inbox_rows import KIND_BADGES, relative
from feedback.views.replies import composer_context
from portal import access
from portal.models import Role
from portal.selectors import audit_list_for, membership_list, user_names_find
from portal.views.common import redirect_after_post, vary_on_htmx

# How many of the customer's other items and history entries the page shows.
OTHER_ITEMS_SHOWN = 10
HISTORY_SHOWN = 200

SNOOZE_PRESETS = (
    ("later_today", "Later today (in 3 hours)"),
    ("tomorrow", "Tomorrow at 9:00"),
    ("next_week", "Next week (Monday 9:00)"),
)

# The history's verbs for the item's audit actions; another action shows as it is stored.
HISTORY_VERBS = {
    "feedback_item.status_changed": "changed the status",
    "feedback_item.assignee_changed": "changed the assignee",
    "feedback_item.priority_changed": "changed the priority",
    "feedback_item.priority_evaluated": "set the priority by the team's rules",
    "feedback_item.tags_changed": "changed the tags",
    "feedback_item.snooze_changed": "changed the snooze",
    "feedback_item.merged": "merged another item into this one",
    "feedback_item.message_split_off": "split a message off into its own item",
    "feedback_item.split_from": "created this item from a message of another",
    "feedback_item.replied": "replied",
    "feedback_item.note_added": "added an internal note",
    "feedback_item.reply_retried": "retried a failed reply",
    "feedback_item.sla_breached": "recorded an SLA breach",
}
# Changes whose values are people, recorded by username (feedback.services.triage).
PERSON_CHANGES = {"assignee"}
# Changes that only name the message an action wrote (a reply's or a note's id).
MESSAGE_REFERENCES = {"reply", "note"}
# The merge form's choice of the item that is kept.
INTO_THIS = "into_this"
INTO_OTHER = "into_other"
MERGE_DIRECTIONS = (
    (INTO_THIS, "Keep this item: merge that one into it"),
    (INTO_OTHER, "Keep that item: merge this one into it"),
)

EXTERNAL_LINK_LABELS = {"discourse": "View on forum", "mastodon": "View on Mastodon"}


# Reading the item ------------------------------------------------------------------------------


def readable_item(request: HttpRequest, pk: int) -> FeedbackItem:
    return selectors.item_get(user=request.user, pk=pk)


def writable_item(request: HttpRequest, pk: int) -> FeedbackItem:
    """The item for a write: another team's item is a 404 before a viewer's 403."""
    item = readable_item(request, pk)
    access.require_team_role(request.user, item.team, Role.AGENT)
    return item


def _messages(request: HttpRequest, item: FeedbackItem) -> list[Message]:
    return list(
        selectors.message_list(user=request.user, item=item).select_related("author", "channel")
    )


def message_kind(message: Message) -> tuple[str, str, str]:
    """The channel kind of a message, its glyph and short name."""
    kind = message.channel.kind if message.channel_id else "api"
    icon, short = KIND_BADGES.get(kind, ("•", kind))
    return kind, icon, short


@dataclass(frozen=True)
class HistoryEntry:
    when: datetime
    who: str
    what: str
    changes: list[tuple[str, Any, Any]]


def _history(request: HttpRequest, item: FeedbackItem) -> list[HistoryEntry]:
    """The item's audit entries, oldest first: who did what, when."""
    entries = list(audit_list_for(user=request.user, target=item)[:HISTORY_SHOWN])
    entries.reverse()
    # People are named as the rest of the page names them, all of the history's in one query;
    # someone no longer found keeps the name the log recorded.
    names_by_id, names_by_username = user_names_find(
        ids=[entry.actor_id for entry in entries if entry.actor_id],
        usernames=[
            value
            for entry in entries
            for name, change in (entry.changes or {}).items()
            if name in PERSON_CHANGES and isinstance(change, dict)
            for value in (change.get("before"), change.get("after"))
            if isinstance(value, str)
        ],
    )
    history = []
    for entry in entries:
        changes = []
        for name, change in (entry.changes or {}).items():
            if name in MESSAGE_REFERENCES:
                # The message's id: the verb says what was written, the thread shows it.
                continue
            if isinstance(change, dict):
                before, after = change.get("before"), change.get("after")
                if name in PERSON_CHANGES:
                    before = names_by_username.get(before, before)
                    after = names_by_username.get(after, after)
                changes.append((name.replace("_", " "), before, after))
        history.append(
            HistoryEntry(
                when=entry.created_at,
                who=names_by_id.get(entry.actor_id, entry.actor_label),
                what=HISTORY_VERBS.get(entry.action, entry.action),
                changes=changes,
            )
        )
    return history


@dataclass(frozen=True)
class Duplicate:
    pair: LikelyDuplicate
    other: FeedbackItem


def likely_duplicates(request: HttpRequest, item: FeedbackItem) -> list[Duplicate]:
    """The item's likely duplicates still standing (not dismissed), best first. The pairs
    are read through the item, which the reader may see; the other items through the item
    selector, so a pair never shows an item of a team the reader is not in."""
    pairs = LikelyDuplicate.objects.filter(
        Q(item=item) | Q(other=item), dismissed_at__isnull=True
    ).order_by("-score", "pk")
    other_ids = {
        pair.pk: pair.other_id if pair.item_id == item.pk else pair.item_id for pair in pairs
    }
    others = selectors.item_list(user=request.user).in_bulk(other_ids.values())
    return [
        Duplicate(pair=pair, other=others[other_ids[pair.pk]])
        for pair in pairs
        if other_ids[pair.pk] in others
    ]


def _customer_panel(request: HttpRequest, item: FeedbackItem) -> dict[str, Any]:
    """The customer 360 panel: who they are, their account, and their other items in every
    team the reader may see (the item selector scopes them to the reader's teams)."""
    customer = item.customer
    if customer is None:
        return {"customer": None}
    others = (
        selectors.item_list(user=request.user, customer=customer)
        .exclude(pk=item.pk)
        .select_related("team")[:OTHER_ITEMS_SHOWN]
    )
    return {
        "customer": customer,
        "identities": list(customer.identities.order_by("kind", "handle")),
        "account": customer.account,
        "other_items": list(others),
    }


def _sla_rows(item: FeedbackItem, now: datetime) -> list[dict[str, Any]]:
    rows = []
    for what, due, done, breached in (
        (
            "First response",
            item.first_response_due_at,
            item.first_responded_at,
            item.first_response_breached_at,
        ),
        ("Resolution", item.resolution_due_at, item.resolved_at, item.resolution_breached_at),
    ):
        if due is None:
            continue
        late = breached is not None or (done is None and due <= now)
        rows.append(
            {
                "what": what,
                "due": due,
                "done": done,
                "breached": late,
                "relative": "" if done else relative(due, now),
            }
        )
    return rows


def team_agents(request: HttpRequest, item: FeedbackItem) -> list[Any]:
    return [
        membership.user
        for membership in membership_list(user=request.user, team=item.team)
        if Role(membership.role).at_least(Role.AGENT)
    ]


def header_context(
    request: HttpRequest, item: FeedbackItem, *, notice: str = "", errors: list[str] | None = None
) -> dict[str, Any]:
    """What ``feedback/partials/item_header.html`` needs: the item, its SLA, the choices of
    its forms (for agents), and a notice or refusal shown in place after an htmx POST."""
    now = timezone.now()
    can_write = access.has_team_role(request.user, item.team, Role.AGENT)
    context: dict[str, Any] = {
        "item": item,
        "now": now,
        "can_write": can_write,
        "sla_rows": _sla_rows(item, now),
        "snoozed": item.snoozed_until is not None and item.snoozed_until > now,
        "header_notice": notice,
        "header_errors": errors or [],
    }
    if can_write:
        context.update(
            statuses=ItemStatus.choices,
            priorities=ItemPriority.choices,
            priority_auto=PRIORITY_AUTOMATIC,
            agents=team_agents(request, item),
            team_tags=list(selectors.tag_list(user=request.user, team=item.team)),
            item_tag_ids={tag.pk for tag in item.tags.all()},
            snooze_presets=SNOOZE_PRESETS,
        )
    return context


def _presence_context(request: HttpRequest, item: FeedbackItem, now: datetime) -> dict[str, Any]:
    return {
        "item": item,
        "others": presence_others(user=request.user, item=item, now=now),
        "can_write": access.has_team_role(request.user, item.team, Role.AGENT),
    }


def item_url(pk: int) -> str:
    return reverse("feedback:item", args=[pk])


# The page --------------------------------------------------------------------------------------


@login_required
def item_page(request: HttpRequest, pk: int) -> HttpResponse:
    item = readable_item(request, pk)
    now = timezone.now()
    if access.has_team_role(request.user, item.team, Role.AGENT):
        # Only someone who could answer the customer makes a collision.
        presence_touch(user=request.user, item=item, activity=PresenceActivity.VIEWING, now=now)
    conversation = _messages(request, item)
    for message in conversation:
        # A reply a stopped worker left "sending" is shown as stalled, with a retry.
        message.delivery_stalled = delivery_stalled(message, now)
    context = {
        "section": "inbox",
        **header_context(request, item),
        "conversation": [
            (message, *kind, EXTERNAL_LINK_LABELS.get(kind[0], "View original"))
            for message, kind in ((message, message_kind(message)) for message in conversation)
        ],
        "history": _history(request, item),
        "duplicates": likely_duplicates(request, item),
        **_customer_panel(request, item),
        **_presence_context(request, item, now),
        **composer_context(request, item),
        "merge_choices": MERGE_DIRECTIONS,
    }
    return vary_on_htmx(render(request, "feedback/item.html", context))


# Presence --------------------------------------------------------------------------------------


@login_required
@require_POST
def item_presence(request: HttpRequest, pk: int) -> HttpResponse:
    """The collision notice's poll: record what the agent is doing (viewing, or replying
    while the composer holds text) and answer with who else is on the item now."""
    item = writable_item(request, pk)
    now = timezone.now()
    activity = request.POST.get("activity", PresenceActivity.VIEWING)
    if activity not in PresenceActivity.values:
        activity = PresenceActivity.VIEWING
    presence_touch(user=request.user, item=item, activity=activity, now=now)
    if not request.htmx:
        return redirect_after_post(request, item_url(item.pk))
    context = _presence_context(request, item, now)
    return vary_on_htmx(render(request, "feedback/partials/item_presence.html", context))
