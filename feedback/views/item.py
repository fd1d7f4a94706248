"""The item page, ``/inbox/<id>/``: one conversation as an agent works on it.

The whole conversation across channels in order (sanitised HTML, quoted history and
signatures folded, attachments, why each message was threaded, internal notes set apart,
replies with their delivery), the header with the item's status, assignee, priority, tags,
SLA due times and snooze (each with a small form), the history of who did what (the portal's
audit entries of the item), likely duplicates, the customer 360 panel, the reply composer
(``feedback.views.replies``) and the collision notice (``feedback.services.presence``).

Every member of the item's team reads the page; agents and above change it. Each header
form posts to its own URL: a plain POST ends in a redirect back to the page with a message,
an htmx POST gets the header fragment (``#item-header``) with the message or the refusal in
place. Merging asks for a confirmation on a page of its own; splitting a message off and
dismissing a duplicate are single POSTs. Times are shown in the reader's zone (the portal's
middleware activates the profile's).
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from feedback import selectors
from feedback.models import (
    FeedbackItem,
    ItemPriority,
    ItemStatus,
    LikelyDuplicate,
    Message,
    PresenceActivity,
)
from feedback.services.duplicates import likely_duplicate_dismiss
from feedback.services.merging import item_merge, message_split
from feedback.services.presence import presence_others, presence_touch
from feedback.services.triage import PRIORITY_AUTOMATIC, actor_name, item_update
from feedback.views.inbox_rows import KIND_BADGES, relative
from feedback.views.replies import composer_context
from portal import access
from portal.models import Role
from portal.selectors import audit_list_for, membership_list
from portal.views.common import redirect_after_post, render_page_or_fragment, vary_on_htmx

STATUS_SET = "Status set to {status}."
ASSIGNED = "Assigned to {name}."
UNASSIGNED = "Nobody is assigned now."
TAGS_SAVED = "Tags saved."
PRIORITY_SET = "Priority set to {priority}."
PRIORITY_AUTO = "Priority follows the team's rules again."
SNOOZED = "Snoozed until {when}: the item leaves the inbox until then."
UNSNOOZED = "Snooze cleared: the item is back in the inbox."
SNOOZE_UNREADABLE = "Choose a snooze preset, or give a date and time such as 2026-03-04 09:00."
ASSIGNEE_UNKNOWN = "Choose a member of the team, or nobody."
TAG_UNKNOWN = "Choose tags of this team."
MERGED = "#{source} was merged into this item: its messages are below."
MERGE_OTHER_UNKNOWN = (
    "There is no item #{other} that you can see: give the number of an item of {team}."
)
MERGE_OTHER_MISSING = "Give the number of the other item."
MERGE_DIRECTION_UNKNOWN = "Choose which item to keep."
SPLIT_DONE = "The message is now item #{id}, of the same customer."
DUPLICATE_DISMISSED = "Marked as not a duplicate: #{other} is not suggested again."

# How many of the customer's other items and history entries the page shows.
OTHER_ITEMS_SHOWN = 10
HISTORY_SHOWN = 200

SNOOZE_PRESETS = (
    ("later_today", "Later today (in 3 hours)"),
    ("tomorrow", "Tomorrow at 9:00"),
    ("next_week", "Next week (Monday 9:00)"),
)
MORNING = time(9, 0)

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
EXTERNAL_LINK_LABELS = {"discourse": "View on forum", "mastodon": "View on Mastodon"}


# Reading the item ------------------------------------------------------------------------------


def _item(request: HttpRequest, pk: int) -> FeedbackItem:
    return selectors.item_get(user=request.user, pk=pk)


def _agent_item(request: HttpRequest, pk: int) -> FeedbackItem:
    """The item for a write: another team's item is a 404 before a viewer's 403."""
    item = _item(request, pk)
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
    history = []
    for entry in entries:
        changes = []
        for name, change in (entry.changes or {}).items():
            if isinstance(change, dict):
                changes.append((name.replace("_", " "), change.get("before"), change.get("after")))
        history.append(
            HistoryEntry(
                when=entry.created_at,
                who=entry.actor_label,
                what=HISTORY_VERBS.get(entry.action, entry.action),
                changes=changes,
            )
        )
    return history


@dataclass(frozen=True)
class Duplicate:
    pair: LikelyDuplicate
    other: FeedbackItem


def _duplicates(request: HttpRequest, item: FeedbackItem) -> list[Duplicate]:
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


def _agents(request: HttpRequest, item: FeedbackItem) -> list[Any]:
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
            agents=_agents(request, item),
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


# The page --------------------------------------------------------------------------------------


@login_required
def item_page(request: HttpRequest, pk: int) -> HttpResponse:
    item = _item(request, pk)
    now = timezone.now()
    if access.has_team_role(request.user, item.team, Role.AGENT):
        # Only someone who could answer the customer makes a collision.
        presence_touch(user=request.user, item=item, activity=PresenceActivity.VIEWING, now=now)
    conversation = _messages(request, item)
    context = {
        "section": "inbox",
        **header_context(request, item),
        "conversation": [
            (message, *kind, EXTERNAL_LINK_LABELS.get(kind[0], "View original"))
            for message, kind in ((message, message_kind(message)) for message in conversation)
        ],
        "history": _history(request, item),
        "duplicates": _duplicates(request, item),
        **_customer_panel(request, item),
        **_presence_context(request, item, now),
        **composer_context(request, item),
        "merge_choices": MERGE_DIRECTIONS,
    }
    return vary_on_htmx(render(request, "feedback/item.html", context))


# Header actions --------------------------------------------------------------------------------


def _header_response(
    request: HttpRequest, item: FeedbackItem, done: str | None, error: ValidationError | None
) -> HttpResponse:
    """After a header form: htmx gets the header with the outcome in place; a plain POST a
    redirect back to the page with the outcome as a message."""
    refusals = error.messages if error is not None else []
    if request.htmx:
        item = _item(request, item.pk)
        context = header_context(request, item, notice=done or "", errors=refusals)
        return vary_on_htmx(render(request, "feedback/partials/item_header.html", context))
    if error is not None:
        for refusal in refusals:
            messages.error(request, refusal)
    else:
        messages.success(request, done)
    return redirect_after_post(request, item_url(item.pk))


def item_url(pk: int) -> str:
    return reverse("feedback:item", args=[pk])


def _update(request: HttpRequest, item: FeedbackItem, done: str, **changes: Any) -> HttpResponse:
    try:
        item_update(actor=request.user, item=item, **changes)
    except ValidationError as error:
        return _header_response(request, item, None, error)
    return _header_response(request, item, done, None)


def _refused(request: HttpRequest, item: FeedbackItem, message: str) -> HttpResponse:
    return _header_response(request, item, None, ValidationError(message))


@login_required
@require_POST
def item_status(request: HttpRequest, pk: int) -> HttpResponse:
    item = _agent_item(request, pk)
    status = request.POST.get("status", "")
    label = dict(ItemStatus.choices).get(status, status).lower()
    return _update(request, item, STATUS_SET.format(status=label), status=status)


@login_required
@require_POST
def item_assign(request: HttpRequest, pk: int) -> HttpResponse:
    item = _agent_item(request, pk)
    wanted = request.POST.get("assignee", "")
    if wanted == "":
        return _update(request, item, UNASSIGNED, assignee=None)
    if wanted == "me":
        user = request.user
    else:
        user = next((agent for agent in _agents(request, item) if str(agent.pk) == wanted), None)
        if user is None:
            return _refused(request, item, ASSIGNEE_UNKNOWN)
    return _update(request, item, ASSIGNED.format(name=actor_name(user)), assignee=user)


@login_required
@require_POST
def item_tags(request: HttpRequest, pk: int) -> HttpResponse:
    item = _agent_item(request, pk)
    wanted = request.POST.getlist("tags")
    tags = {str(tag.pk): tag for tag in selectors.tag_list(user=request.user, team=item.team)}
    if any(value not in tags for value in wanted):
        return _refused(request, item, TAG_UNKNOWN)
    return _update(request, item, TAGS_SAVED, tags=[tags[value] for value in wanted])


@login_required
@require_POST
def item_priority(request: HttpRequest, pk: int) -> HttpResponse:
    item = _agent_item(request, pk)
    priority = request.POST.get("priority", "")
    if priority == PRIORITY_AUTOMATIC:
        done = PRIORITY_AUTO
    else:
        done = PRIORITY_SET.format(priority=dict(ItemPriority.choices).get(priority, priority))
    return _update(request, item, done, priority=priority)


def snooze_preset(preset: str, now: datetime) -> datetime | None:
    """A preset's time in the reader's zone (the active one): later today is three hours on,
    tomorrow and next week are at 9:00 of that day."""
    local = timezone.localtime(now)
    zone = timezone.get_current_timezone()
    if preset == "later_today":
        return now + timedelta(hours=3)
    if preset == "tomorrow":
        day = local.date() + timedelta(days=1)
    elif preset == "next_week":
        day = local.date() + timedelta(days=7 - local.weekday())
    else:
        return None
    return timezone.make_aware(datetime.combine(day, MORNING), zone)


def snooze_from_post(post: Any, now: datetime) -> datetime | None:
    """The snooze time a form asks for: a preset, or a local date and time; ValueError when
    neither can be read."""
    preset = post.get("preset", "")
    if preset:
        until = snooze_preset(preset, now)
        if until is None:
            raise ValueError(preset)
        return until
    given = post.get("until", "").strip()
    if not given:
        raise ValueError(given)
    moment = datetime.fromisoformat(given.replace(" ", "T"))
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    return moment


@login_required
@require_POST
def item_snooze(request: HttpRequest, pk: int) -> HttpResponse:
    item = _agent_item(request, pk)
    if request.POST.get("preset") == "clear":
        return _update(request, item, UNSNOOZED, snoozed_until=None)
    try:
        until = snooze_from_post(request.POST, timezone.now())
    except ValueError:
        return _refused(request, item, SNOOZE_UNREADABLE)
    when = timezone.localtime(until).strftime("%a %d %b, %H:%M")
    return _update(request, item, SNOOZED.format(when=when), snoozed_until=until)


# Merge, split, duplicates ----------------------------------------------------------------------

INTO_THIS = "into_this"
INTO_OTHER = "into_other"
MERGE_DIRECTIONS = (
    (INTO_THIS, "Keep this item: merge that one into it"),
    (INTO_OTHER, "Keep that item: merge this one into it"),
)


@login_required
@require_http_methods(["GET", "POST"])
def item_merge_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Merge this item with another, by its number: GET shows what would happen and asks for
    the confirmation, POST with ``confirm`` merges and goes to the item that is kept."""
    item = _agent_item(request, pk)
    data = request.POST if request.method == "POST" else request.GET
    wanted, direction = data.get("other", "").strip().lstrip("#"), data.get("direction", INTO_THIS)
    error, other = "", None
    if direction not in dict(MERGE_DIRECTIONS):
        error = MERGE_DIRECTION_UNKNOWN
    elif not wanted:
        error = MERGE_OTHER_MISSING if "other" in data else ""
    elif not wanted.isdigit():
        error = MERGE_OTHER_UNKNOWN.format(other=wanted, team=item.team)
    else:
        try:
            other = _item(request, int(wanted))
        except Http404:
            error = MERGE_OTHER_UNKNOWN.format(other=wanted, team=item.team)
    if other is not None and request.method == "POST" and data.get("confirm"):
        source, into = (other, item) if direction == INTO_THIS else (item, other)
        try:
            kept = item_merge(actor=request.user, source=source, into=into)
        except ValidationError as refusal:
            error = " ".join(refusal.messages)
        else:
            messages.success(request, MERGED.format(source=source.pk))
            return redirect_after_post(request, item_url(kept.pk))
    context = {
        "section": "inbox",
        "item": item,
        "other": other,
        "other_value": wanted,
        "direction": direction,
        "directions": MERGE_DIRECTIONS,
        "error": error,
        "item_count": Message.objects.filter(item=item).count(),
        "other_count": Message.objects.filter(item=other).count() if other else 0,
    }
    return render_page_or_fragment(
        request, "feedback/item_merge.html", "feedback/partials/item_merge_form.html", context
    )


@login_required
@require_POST
def item_split(request: HttpRequest, pk: int, message_pk: int) -> HttpResponse:
    item = _agent_item(request, pk)
    message = selectors.message_get(user=request.user, pk=message_pk)
    if message.item_id != item.pk:
        raise Http404(selectors.NO_SUCH_MESSAGE)
    try:
        new_item = message_split(actor=request.user, message=message)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect_after_post(request, item_url(item.pk))
    messages.success(request, SPLIT_DONE.format(id=new_item.pk))
    return redirect_after_post(request, item_url(new_item.pk))


@login_required
@require_POST
def item_duplicate_dismiss(request: HttpRequest, pk: int, pair_pk: int) -> HttpResponse:
    item = _agent_item(request, pk)
    duplicate = next((d for d in _duplicates(request, item) if d.pair.pk == pair_pk), None)
    if duplicate is None:
        raise Http404(selectors.NO_SUCH_ITEM)
    error = ""
    try:
        likely_duplicate_dismiss(actor=request.user, pair=duplicate.pair)
    except ValidationError as refusal:
        error = " ".join(refusal.messages)
    done = DUPLICATE_DISMISSED.format(other=duplicate.other.pk)
    if request.htmx:
        context = {
            "item": item,
            "duplicates": _duplicates(request, item),
            "can_write": True,
            "duplicates_notice": error or done,
        }
        return vary_on_htmx(render(request, "feedback/partials/item_duplicates.html", context))
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    return redirect_after_post(request, item_url(item.pk) + "#duplicates")


# Presence --------------------------------------------------------------------------------------


@login_required
@require_POST
def item_presence(request: HttpRequest, pk: int) -> HttpResponse:
    """The collision notice's poll: record what the agent is doing (viewing, or replying
    while the composer holds text) and answer with who else is on the item now."""
    item = _agent_item(request, pk)
    now = timezone.now()
    activity = request.POST.get("activity", PresenceActivity.VIEWING)
    if activity not in PresenceActivity.values:
        activity = PresenceActivity.VIEWING
    presence_touch(user=request.user, item=item, activity=activity, now=now)
    if not request.htmx:
        return redirect_after_post(request, item_url(item.pk))
    context = _presence_context(request, item, now)
    return vary_on_htmx(render(request, "feedback/partials/item_presence.html", context))
