"""The item page's actions (the page itself is ``feedback.views.item``): the header's forms
(status, assignee, tags, priority, snooze), merging with another item after a confirmation,
splitting a message off into its own item, and dismissing a likely duplicate.

Agents and above of the item's team; a viewer is answered 403, another team's item 404. A
plain POST ends in a redirect back to the page with a message; an htmx POST of a header form
gets the header fragment (``#item-header``) with the outcome or the refusal in place, a
dismissal the duplicates' fragment, a merge or a split ``HX-Redirect`` to the item that is
shown next.
"""

from datetime import datetime, time, timedelta
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from feedback import selectors
from feedback.models import FeedbackItem, ItemPriority, ItemStatus, Message
from feedback.services.duplicates import likely_duplicate_dismiss
from feedback.services.merging import (
    MERGE_ACROSS_TEAMS,
    MERGE_INTO_ITSELF,
    item_merge,
    merge_customers_notice,
    message_split,
)
from feedback.services.triage import PRIORITY_AUTOMATIC, item_update
from feedback.views.item import (
    INTO_THIS,
    MERGE_DIRECTIONS,
    header_context,
    item_url,
    likely_duplicates,
    readable_item,
    team_agents,
    writable_item,
)
from portal.actors import person_name
from portal.validation import is_id, parse_id
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
MERGED_BEFORE = "#{merged} was merged into #{into}: its messages are here."
MERGE_OTHER_UNKNOWN = (
    "There is no item #{other} that you can see: give the number of an item of {team}."
)
MERGE_OTHER_MISSING = "Give the number of the other item."
MERGE_DIRECTION_UNKNOWN = "Choose which item to keep."
MERGE_ITEM_GONE = "One of the two items was deleted meanwhile: nothing was merged."
SPLIT_DONE = "The message is now item #{id}, of the same customer."
DUPLICATE_DISMISSED = "Marked as not a duplicate: #{other} is not suggested again."

MORNING = time(9, 0)


# Header actions --------------------------------------------------------------------------------


def _header_response(
    request: HttpRequest, item: FeedbackItem, done: str | None, error: ValidationError | None
) -> HttpResponse:
    """After a header form: htmx gets the header with the outcome in place; a plain POST a
    redirect back to the page with the outcome as a message."""
    refusals = error.messages if error is not None else []
    if request.htmx:
        item = readable_item(request, item.pk)
        context = header_context(request, item, notice=done or "", errors=refusals)
        return vary_on_htmx(render(request, "feedback/partials/item_header.html", context))
    if error is not None:
        for refusal in refusals:
            messages.error(request, refusal)
    else:
        messages.success(request, done)
    return redirect_after_post(request, item_url(item.pk))


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
    item = writable_item(request, pk)
    status = request.POST.get("status", "")
    label = dict(ItemStatus.choices).get(status, status).lower()
    return _update(request, item, STATUS_SET.format(status=label), status=status)


@login_required
@require_POST
def item_assign(request: HttpRequest, pk: int) -> HttpResponse:
    item = writable_item(request, pk)
    wanted = request.POST.get("assignee", "")
    if wanted == "":
        return _update(request, item, UNASSIGNED, assignee=None)
    if wanted == "me":
        user = request.user
    else:
        user = next(
            (agent for agent in team_agents(request, item) if str(agent.pk) == wanted), None
        )
        if user is None:
            return _refused(request, item, ASSIGNEE_UNKNOWN)
    return _update(request, item, ASSIGNED.format(name=person_name(user)), assignee=user)


@login_required
@require_POST
def item_tags(request: HttpRequest, pk: int) -> HttpResponse:
    item = writable_item(request, pk)
    wanted = request.POST.getlist("tags")
    tags = {str(tag.pk): tag for tag in selectors.tag_list(user=request.user, team=item.team)}
    if any(value not in tags for value in wanted):
        return _refused(request, item, TAG_UNKNOWN)
    return _update(request, item, TAGS_SAVED, tags=[tags[value] for value in wanted])


@login_required
@require_POST
def item_priority(request: HttpRequest, pk: int) -> HttpResponse:
    item = writable_item(request, pk)
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
    item = writable_item(request, pk)
    if request.POST.get("preset") == "clear":
        return _update(request, item, UNSNOOZED, snoozed_until=None)
    try:
        until = snooze_from_post(request.POST, timezone.now())
    except (ValueError, OverflowError):
        return _refused(request, item, SNOOZE_UNREADABLE)
    try:
        item_update(actor=request.user, item=item, snoozed_until=until)
    except ValidationError as error:
        return _header_response(request, item, None, error)
    # Shown once the service kept it: a time it refuses (at the calendar's edge, say) cannot
    # be shown in every zone.
    when = timezone.localtime(until).strftime("%a %d %b, %H:%M")
    return _header_response(request, item, SNOOZED.format(when=when), None)


# Merge, split, duplicates ----------------------------------------------------------------------


def _customers_notice(item: FeedbackItem, other: FeedbackItem | None, direction: str) -> str:
    if other is None:
        return ""
    into = item if direction == INTO_THIS else other
    return merge_customers_notice([item, other], into)


def follow_merged(view):
    """``view`` of an item's page, where the page of an item merged into another (its row is
    gone) leads to the item that holds its messages, for a reader of that item; anything else
    that is not found stays a 404."""

    @wraps(view)
    def page(request: HttpRequest, pk: int, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, pk, *args, **kwargs)
        except Http404:
            if request.method not in ("GET", "HEAD"):
                raise
            into = selectors.merged_item_target(user=request.user, pk=pk)
            if into is None:
                raise
            messages.info(request, MERGED_BEFORE.format(merged=pk, into=into))
            return redirect("feedback:item", pk=into)

    return page


def _merged_meanwhile(request: HttpRequest, *pks: int) -> HttpResponse | None:
    """The redirect to the item that holds the messages of the first of ``pks`` that was merged
    (with a message saying so), or None when none of them was merged into an item the user may
    read."""
    for pk in pks:
        into = selectors.merged_item_target(user=request.user, pk=pk)
        if into is not None:
            messages.info(request, MERGED_BEFORE.format(merged=pk, into=into))
            return redirect_after_post(request, item_url(into))
    return None


@login_required
@require_http_methods(["GET", "POST"])
def item_merge_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Merge this item with another, by its number: GET shows what would happen and asks for
    the confirmation, POST with ``confirm`` merges and goes to the item that is kept."""
    item = writable_item(request, pk)
    data = request.POST if request.method == "POST" else request.GET
    wanted, direction = data.get("other", "").strip().lstrip("#"), data.get("direction", INTO_THIS)
    error, other = "", None
    if direction not in dict(MERGE_DIRECTIONS):
        error = MERGE_DIRECTION_UNKNOWN
    elif not wanted:
        error = MERGE_OTHER_MISSING if "other" in data else ""
    elif not is_id(wanted):
        error = MERGE_OTHER_UNKNOWN.format(other=wanted, team=item.team)
    else:
        try:
            other = readable_item(request, parse_id(wanted))
        except Http404:
            confirmed = request.method == "POST" and data.get("confirm")
            # A second click on the confirmation finds the other item merged already.
            gone = _merged_meanwhile(request, parse_id(wanted)) if confirmed else None
            if gone is not None:
                return gone
            error = MERGE_OTHER_UNKNOWN.format(other=wanted, team=item.team)
    # Refused at the review already, not only once confirmed.
    if other is not None and other.pk == item.pk:
        error, other = MERGE_INTO_ITSELF, None
    elif other is not None and other.team_id != item.team_id:
        error, other = MERGE_ACROSS_TEAMS.format(team=item.team), None
    if other is not None and request.method == "POST" and data.get("confirm"):
        source, into = (other, item) if direction == INTO_THIS else (item, other)
        try:
            kept = item_merge(actor=request.user, source=source, into=into)
        except ValidationError as refusal:
            error = " ".join(refusal.messages)
        except FeedbackItem.DoesNotExist:
            # Another merge of the same items won the race (a double click on the confirmation).
            gone = _merged_meanwhile(request, source.pk, into.pk)
            if gone is not None:
                return gone
            error = MERGE_ITEM_GONE
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
        "customers_notice": _customers_notice(item, other, direction),
    }
    return render_page_or_fragment(
        request, "feedback/item_merge.html", "feedback/partials/item_merge_form.html", context
    )


@login_required
@require_POST
def item_split(request: HttpRequest, pk: int, message_pk: int) -> HttpResponse:
    item = writable_item(request, pk)
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
    item = writable_item(request, pk)
    duplicate = next((d for d in likely_duplicates(request, item) if d.pair.pk == pair_pk), None)
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
            "duplicates": likely_duplicates(request, item),
            "can_write": True,
            "duplicates_notice": error or done,
        }
        return vary_on_htmx(render(request, "feedback/partials/item_duplicates.html", context))
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    return redirect_after_post(request, item_url(item.pk) + "#duplicates")
