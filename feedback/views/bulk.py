"""Bulk actions of the inbox list: the selected items assigned, tagged or untagged, given a
status, or merged into the oldest of them (``feedback.services.triage``).

``POST /inbox/bulk/`` with ``items`` (ids, repeated), the clicked button's ``action`` and its
value. Only items of the current team are acted on: an id of another team's item (or of none)
is refused for that item alone, as the service refuses an item it may not change; every item
gets its own result. A plain POST ends in a redirect back to the list (``next``) with one
message per refused item; htmx gets the list's results fragment for that same list, with the
results on top.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from feedback import selectors
from feedback.services.merging import merge_customers_notice
from feedback.services.triage import (
    BULK_EMPTY,
    BulkResult,
    bulk_merge_target,
    items_bulk_merge,
    items_bulk_update,
)
from feedback.views.items import NO_TEAM, _cursor_from_url, _params_from_url, inbox_context
from portal import access
from portal.jinja2 import render_fragment
from portal.models import Role
from portal.selectors import current_team_get, membership_list
from portal.validation import parse_id, validation_messages
from portal.views.common import redirect_after_post, safe_next, vary_on_htmx

ACTION_UNKNOWN = "Choose what to do with the selected items."
NOT_AN_ITEM = "{value!r} is not an item id."
NO_SUCH_ITEM = "No such feedback item in {team}."
CHOOSE_ASSIGNEE = "Choose whom to assign the selected items to."
NO_SUCH_ASSIGNEE = "That person is not a member of {team}; choose one from the list."
CHOOSE_TAG = "Choose a tag of {team}."
BULK_DONE = "{done} of {total} selected items changed."
MERGE_REVIEW_TEMPLATE = "feedback/partials/inbox_bulk_merge.html"
BULK_MERGED = "{done} of {total} selected items merged into #{into}."

# The bar's buttons: action -> what it changes.
ACTIONS = ("assign", "tag", "untag", "status", "merge")


def _assignee(request: HttpRequest, team) -> Any:
    value = request.POST.get("assignee", "").strip()
    if value == "me":
        return request.user
    if value == "none":
        return None
    if not value:
        raise ValidationError({"assignee": [CHOOSE_ASSIGNEE]})
    try:
        pk = parse_id(value)
    except ValidationError:
        raise ValidationError({"assignee": [NO_SUCH_ASSIGNEE.format(team=team)]}) from None
    membership = membership_list(user=request.user, team=team).filter(user_id=pk).first()
    if membership is None:
        raise ValidationError({"assignee": [NO_SUCH_ASSIGNEE.format(team=team)]})
    return membership.user


def _tag(request: HttpRequest, team) -> Any:
    value = request.POST.get("tag", "").strip()
    tag = None
    if value.isascii() and value.isdigit() and len(value) < 10:
        tag = selectors.tag_list(user=request.user, team=team).filter(pk=int(value)).first()
    if tag is None:
        raise ValidationError({"tag": [CHOOSE_TAG.format(team=team)]})
    return tag


def _selection(request: HttpRequest, team) -> tuple[list, list[BulkResult]]:
    """The selected items of the team, in the order given, and a refusal for each id that
    names no item of the team."""
    ids: list[int] = []
    refused: list[BulkResult] = []
    for value in dict.fromkeys(request.POST.getlist("items")):
        try:
            ids.append(parse_id(value))
        except ValidationError:
            detail = NOT_AN_ITEM.format(value=value[:40])
            refused.append(BulkResult(0, False, {"detail": [detail]}, status=400))
    found = {
        item.pk: item
        for item in selectors.item_list(user=request.user, team=team).filter(pk__in=ids)
    }
    for pk in ids:
        if pk not in found:
            detail = NO_SUCH_ITEM.format(team=team)
            refused.append(BulkResult(pk, False, {"detail": [detail]}, status=404))
    return [found[pk] for pk in ids if pk in found], refused


def _apply(request: HttpRequest, team, items: list) -> list[BulkResult]:
    action = request.POST.get("action", "")
    if action == "merge":
        return items_bulk_merge(actor=request.user, items=items)
    if action == "assign":
        changes: dict[str, Any] = {"assignee": _assignee(request, team)}
    elif action == "tag":
        changes = {"add_tags": [_tag(request, team)]}
    elif action == "untag":
        changes = {"remove_tags": [_tag(request, team)]}
    elif action == "status":
        changes = {"status": request.POST.get("status", "")}
    else:
        raise ValidationError({"action": [ACTION_UNKNOWN]})
    return items_bulk_update(actor=request.user, items=items, **changes)


def _merge_review(request: HttpRequest, items: list, back: str) -> HttpResponse:
    """What a bulk merge would do, to confirm before it is done (it is not undone): the item
    kept, the items that go, and a warning when they are different customers'."""
    into = bulk_merge_target(items)
    context = {
        "into": into,
        "items": items,
        "others": [item for item in items if item.pk != into.pk],
        "notice": merge_customers_notice(items, into),
        "back": back,
    }
    review = render_fragment(MERGE_REVIEW_TEMPLATE, context, request)
    if request.htmx:
        return vary_on_htmx(HttpResponse(review))
    page = {"section": "inbox", "review": review}
    return vary_on_htmx(render(request, "feedback/bulk_merge.html", page))


def result_lines(results: list[BulkResult]) -> list[tuple[int, bool, str]]:
    """(item id, ok, what happened) per result, for messages and the fragment."""
    lines = []
    for result in results:
        if result.ok:
            lines.append((result.item_id, True, "done"))
        else:
            text = " ".join(
                message for messages_ in (result.errors or {}).values() for message in messages_
            )
            lines.append((result.item_id, False, text))
    return lines


@login_required
@require_POST
def inbox_bulk(request: HttpRequest) -> HttpResponse:
    team = current_team_get(request)
    if team is None:
        raise Http404(NO_TEAM)
    access.require_team_role(request.user, team, Role.AGENT)
    back = safe_next(request, reverse("feedback:inbox"))
    items, refused = _selection(request, team)
    # A merge is not undone: it is reviewed first (unless the review itself was confirmed).
    merging = request.POST.get("action") == "merge" and not request.POST.get("confirm")
    if merging and len(items) > 1:
        # Ids that name no item of the team are left out of the review, as of the merge.
        return _merge_review(request, items, back)
    errors: list[str] = []
    results: list[BulkResult] = []
    try:
        if items:
            results = _apply(request, team, items)
        elif not refused:
            raise ValidationError(BULK_EMPTY)
    except ValidationError as error:
        errors = validation_messages(ValidationError(getattr(error, "error_dict", error)))
    results = results + refused
    done = sum(1 for result in results if result.ok)
    summary = None
    if results and not errors:
        if request.POST.get("action") == "merge" and done:
            into = next(r.item for r in results if r.ok and r.item is not None)
            summary = BULK_MERGED.format(done=done - 1, total=len(results) - 1, into=into.pk)
        else:
            summary = BULK_DONE.format(done=done, total=len(results))
    lines = result_lines(results)
    if not request.htmx:
        for message in errors:
            messages.error(request, message)
        if summary:
            (messages.success if done else messages.warning)(request, summary)
        for item_id, ok, text in lines:
            if not ok:
                messages.error(request, f"#{item_id}: {text}" if item_id else text)
        return redirect_after_post(request, back)
    context = inbox_context(request, team, _params_from_url(back), cursor=_cursor_from_url(back))
    context.update(bulk_errors=errors, bulk_summary=summary, bulk_lines=lines)
    results_html = render_fragment("feedback/partials/inbox_results.html", context, request)
    return vary_on_htmx(HttpResponse(results_html))
