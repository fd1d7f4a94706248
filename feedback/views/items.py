"""The inbox list: the current team's items as an agent works through them.

One view, two renderings (``inbox``): the whole page, or for htmx the list's fragment
(``#inbox-main``: saved views, filters and results; the filter form picks out
``#inbox-results`` with ``hx-select`` so that typing keeps its focus). The filters are the
inbox query's (``feedback.inbox``, read through ``feedback.selectors``); a refused value shows
its message above an empty list instead of failing. A saved view (``?view=<id>``) stands for
its parameters.

Each row's quick actions (assign to me, resolve, a status) post to ``inbox_row_action``, which
answers htmx with the row and a plain form with a redirect back to the list; bulk actions are
``feedback.views.bulk``'s, saved views ``feedback.views.saved_views``', the CSV export of the
view ``feedback.views.inbox_export``'s; what a row shows is ``feedback.views.inbox_rows``'.
Times are shown in the reader's zone (the portal's middleware activates the profile's).
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import (
    HttpRequest,
    HttpResponse,
    QueryDict,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from feedback import selectors
from feedback.channels import kind_label
from feedback.inbox.choices import TeamChoices
from feedback.inbox.kept import inbox_kept
from feedback.inbox.params import API_KIND, SNOOZED_CHOICES, SNOOZED_HIDE
from feedback.models import FeedbackItem, ItemPriority, ItemStatus, Sentiment
from feedback.services.triage import item_update
from feedback.templatetags.inbox import MAIN_TEMPLATE
from feedback.views.inbox_rows import KIND_LABEL_API, inbox_rows
from portal import access
from portal.jinja2 import render_fragment
from portal.models import Role, Team, Tier
from portal.selectors import current_team_get
from portal.validation import validation_messages
from portal.views.common import redirect_after_post, safe_next, vary_on_htmx, wants_fragment

PAGE_SIZE = 25

NO_TEAM = "You are not a member of any team yet: there is no inbox to show."
FILTERS_REFUSED = "Some filters could not be used; change them or clear the filters."
CURSOR_STALE = "That page link no longer fits this list; here is its first page."
SAVED_VIEW_GONE = "That saved view is gone or belongs to another team; showing the whole inbox."
ROW_ACTION_UNKNOWN = "Choose an action: assign to me, resolve, or a status."
ROW_ASSIGNED = "#{id} is assigned to you."
ROW_RESOLVED = "#{id} is resolved."
ROW_STATUS = "#{id} is now {status}."

# Parameters that belong to one visit of the list, not to its filters.
VISIT_PARAMS = ("cursor", "view")

# The sort select: the useful orders first; an order given otherwise is added as it came.
SORT_CHOICES = (
    ("priority", "Priority: escalated, urgent first"),
    ("-last_message_at", "Latest activity"),
    ("last_message_at", "Oldest activity"),
    ("sla_due", "SLA due soonest"),
    ("-created_at", "Newest"),
    ("created_at", "Oldest"),
)
SNOOZED_LABELS = {
    "hide": "Hide snoozed",
    "include": "Include snoozed",
    "only": "Only snoozed",
}


# Parameters and links --------------------------------------------------------------------------


def filter_params(params: Mapping[str, Any]) -> dict[str, list[str]]:
    """The list's filters from a query string (a QueryDict or a dict of lists): blank values
    and the visit's own parameters (cursor, view) left out."""
    result: dict[str, list[str]] = {}
    for name in params:
        if name in VISIT_PARAMS:
            continue
        values = params.getlist(name) if hasattr(params, "getlist") else params[name]
        values = [values] if isinstance(values, str) else list(values)
        values = [str(value) for value in values if str(value).strip()]
        if values:
            result[name] = values
    return result


# What the list shows when no status is asked for: the work still to do, as a help desk opens
# on its unsolved tickets; "All" asks for every status by name.
UNSOLVED = [ItemStatus.NEW.value, ItemStatus.OPEN.value, ItemStatus.WAITING.value]
ALL_STATUSES = [value for value, _ in ItemStatus.choices]


def with_default_status(params: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """``params`` with the unsolved statuses when they ask for no status."""
    return dict(params) if params.get("status") else {**params, "status": UNSOLVED}


def active_filter_count(params: Mapping[str, list[str]]) -> int:
    """How many filters narrow the list beyond its defaults. The search and the order are not
    counted as filters, and the no-JS form sends the default snoozed choice with every apply
    (a status filter of just the unsolved statuses is the default too)."""
    defaults = {"snoozed": {SNOOZED_HIDE}, "status": set(UNSOLVED)}
    return len(
        [
            name
            for name, values in params.items()
            if name not in ("q", "ordering") and set(values) != defaults.get(name)
        ]
    )


def list_url(params: Mapping[str, list[str]], **overrides: list[str] | None) -> str:
    """The inbox with these filters, each override replacing (or with None removing) one."""
    merged = dict(params)
    for name, values in overrides.items():
        if values is None:
            merged.pop(name, None)
        else:
            merged[name] = values
    query = urlencode(merged, doseq=True)
    return reverse("feedback:inbox") + (f"?{query}" if query else "")


def _params_from_url(url: str) -> dict[str, list[str]]:
    return filter_params(QueryDict(urlsplit(url).query))


def _cursor_from_url(url: str) -> str | None:
    """The page of the list ``url`` is on (its ``cursor``), None for the first."""
    return QueryDict(urlsplit(url).query).get("cursor") or None


# The list ---------------------------------------------------------------------------------------


def _options(choices: TeamChoices, user) -> dict[str, Any]:
    members, channels = choices.members, choices.channels
    kinds = sorted({channel.kind for channel in channels})
    return {
        "statuses": ItemStatus.choices,
        "priorities": ItemPriority.choices,
        "sentiments": Sentiment.choices,
        "tiers": Tier.choices,
        "members": [membership.user for membership in members],
        "agents": [m.user for m in members if Role(m.role).at_least(Role.AGENT)],
        "tags": choices.tags,
        "saved_view_groups": _saved_view_groups(choices.saved_views_of(user)),
        "channels": channels,
        "channel_kinds": [
            *((kind, kind_label(kind)) for kind in kinds),
            (API_KIND, KIND_LABEL_API),
        ],
        "snoozed_choices": [(value, SNOOZED_LABELS[value]) for value in SNOOZED_CHOICES],
    }


def _saved_view_groups(views: list) -> list[tuple[bool, list]]:
    """The reader's saved views as the view select groups them: (shared, views), the shared
    ones first (as they come)."""
    shared = [view for view in views if view.owner_id is None]
    own = [view for view in views if view.owner_id is not None]
    return [(is_shared, group) for is_shared, group in ((True, shared), (False, own)) if group]


def _sort_choices(current: str) -> list[tuple[str, str]]:
    choices = list(SORT_CHOICES)
    if current not in dict(choices):
        choices.append((current, current))
    return choices


def inbox_context(
    request: HttpRequest,
    team: Team,
    params: dict[str, list[str]],
    *,
    cursor: str | None = None,
    saved_view: Any = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Everything the list's templates show for these filters: rows, counts per status,
    paging links, the filter form's state and options, saved views."""
    user = request.user
    now = now or timezone.now()
    active_filters = active_filter_count(params)
    context: dict[str, Any] = {
        "section": "inbox",
        "team": team,
        "params": params,
        # With a default for the filters not given: the form's options look their filter up
        # once each, and a missing key costs the template engine an exception and a dir().
        "selected": defaultdict(set, {name: set(values) for name, values in params.items()}),
        "text": defaultdict(str, {name: values[0] for name, values in params.items()}),
        "current_url": list_url(params),
        # Narrowed by the reader (a search, or a filter beyond the defaults the form sends).
        "filtered": bool(params.get("q")) or active_filters > 0,
        "has_items": False,
        "all_url": list_url(params, status=ALL_STATUSES),
        "active_filters": active_filters,
        "customer_clear_url": list_url(params, customer=None),
        "account_clear_url": list_url(params, account=None),
        "export_url": reverse("feedback:inbox_export")
        + (f"?{urlencode(params, doseq=True)}" if params else ""),
        "can_write": access.has_team_role(user, team, Role.AGENT),
        "can_share": access.has_team_role(user, team, Role.LEAD),
        "saved_view": saved_view,
        "rows": [],
        "errors": {},
        "notices": [],
        "now": now,
        # What only a listed page (or a bulk action) sets: the templates read every name.
        "query": None,
        "tabs": [],
        "next_url": None,
        "previous_url": None,
        "first_url": None,
        "mine_url": None,
        "unassigned_url": None,
        "customer_filter": None,
        "account_filter": None,
        "bulk_errors": [],
        "bulk_summary": None,
        "bulk_lines": [],
        "save_errors": [],
        "save_name": "",
    }
    try:
        query = selectors.inbox_query_from_params(
            with_default_status(params), user=user, team=team, ignore_blank=True
        )
    except ValidationError as error:
        context["errors"] = error.message_dict
        query = None
    choices, counts = inbox_kept(user=user, team=team, query=query, now=now)
    context.update(_options(choices, user))
    if query is None:
        context["sort_choices"] = _sort_choices(context["text"].get("ordering", "priority"))
        return context
    context["sort_choices"] = _sort_choices(query.ordering)
    try:
        page = selectors.inbox_page(
            user=user, team=team, query=query, cursor=cursor, size=PAGE_SIZE, now=now
        )
    except selectors.CursorInvalid:
        context["notices"].append(CURSOR_STALE)
        cursor = None
        page = selectors.inbox_page(
            user=user, team=team, query=query, cursor=None, size=PAGE_SIZE, now=now
        )
    context.update(
        # The page the reader is on: where a row's or the bulk bar's action comes back to.
        current_url=list_url(params, cursor=[cursor]) if cursor else context["current_url"],
        query=query,
        rows=inbox_rows(page.items, now=now, team_tags=context["tags"], reader=user),
        next_url=list_url(params, cursor=[page.next_cursor]) if page.next_cursor else None,
        previous_url=(
            list_url(params, cursor=[page.previous_cursor])
            if page.previous_cursor
            else list_url(params)
            if page.previous_is_first or page.next_is_first
            else None
        ),
        first_url=list_url(params) if cursor else None,
        tabs=_tabs(params, counts),
        has_items=sum(counts.values()) > 0,
        mine_url=list_url(params, assignee=["me"], mine=None, unassigned=None),
        unassigned_url=list_url(params, assignee=["none"], mine=None, unassigned=None),
        mine_active=query.assignee_me and not query.unassigned and not query.assignee_ids,
        unassigned_active=query.unassigned and not query.assignee_me and not query.assignee_ids,
        customer_filter=_filtered_name(page.items, query.customer_id, "customer"),
        account_filter=_filtered_name(page.items, query.account_id, "account"),
    )
    return context


def _tabs(params: dict[str, list[str]], counts: dict[str, int]) -> list[dict[str, Any]]:
    """The unsolved work (the default), all, and one per status, each with its count under
    the other filters (the counts cover every status whatever the list shows)."""
    asked = set(params.get("status", []))
    tabs = [
        {
            "label": "Unsolved",
            "count": sum(counts.get(value, 0) for value in UNSOLVED),
            "url": list_url(params, status=None),
            "active": not asked or asked == set(UNSOLVED),
        },
        {
            "label": "All",
            "count": sum(counts.values()),
            "url": list_url(params, status=ALL_STATUSES),
            "active": asked == set(ALL_STATUSES),
        },
    ]
    for value, label in ItemStatus.choices:
        tabs.append(
            {
                "label": label,
                "count": counts.get(value, 0),
                "url": list_url(params, status=[value]),
                "active": asked == {value},
            }
        )
    return tabs


def _filtered_name(items: list[FeedbackItem], pk: int | None, what: str) -> str | None:
    """The name of the customer or account the list is narrowed to, read from its rows
    (their id when none is on this page)."""
    if pk is None:
        return None
    for item in items:
        customer = item.customer
        if what == "customer" and customer and customer.pk == pk:
            return customer.name or customer.email or f"#{pk}"
        if what == "account" and customer and customer.account_id == pk:
            return customer.account.name
    return f"#{pk}"


def _saved_view_params(
    request: HttpRequest, team: Team
) -> tuple[Any, dict[str, list[str]], list[str]]:
    """The saved view asked for (``view``) and the filters to show: the view's, or the query
    string's when none is asked for or the view is not one of the reader's in this team."""
    raw = request.GET.get("view", "").strip()
    if not raw:
        return None, filter_params(request.GET), []
    view = (
        selectors.saved_view_list(user=request.user, team=team)
        .filter(pk=int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else 0)
        .first()
    )
    if view is None:
        return None, filter_params(request.GET), [SAVED_VIEW_GONE]
    return view, filter_params(view.params), []


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    team = current_team_get(request)
    if team is None:
        return render(request, "feedback/inbox.html", {"section": "inbox", "team": None})
    saved_view, params, notices = _saved_view_params(request, team)
    context = inbox_context(
        request, team, params, cursor=request.GET.get("cursor") or None, saved_view=saved_view
    )
    context["notices"] = [*notices, *context["notices"]]
    if wants_fragment(request):
        return vary_on_htmx(HttpResponse(render_fragment(MAIN_TEMPLATE, context, request)))
    return vary_on_htmx(render(request, "feedback/inbox.html", context))


# Row actions -----------------------------------------------------------------------------------


def _row_changes(request: HttpRequest) -> tuple[dict[str, Any], str]:
    action = request.POST.get("action", "")
    if action == "assign_me":
        return {"assignee": request.user}, ROW_ASSIGNED
    if action == "resolve":
        return {"status": ItemStatus.RESOLVED}, ROW_RESOLVED
    if action == "status":
        return {"status": request.POST.get("status", "")}, ROW_STATUS
    raise ValidationError({"action": [ROW_ACTION_UNKNOWN]})


@login_required
@require_POST
def inbox_row_action(request: HttpRequest, pk: int) -> HttpResponse:
    """A row's quick action on one item. Another team's item is a 404, a viewer's 403; a
    refused value comes back in the row (htmx) or as a message on the list."""
    item = selectors.item_get(user=request.user, pk=pk)
    access.require_team_role(request.user, item.team, Role.AGENT)
    back = safe_next(request, reverse("feedback:inbox"))
    errors: list[str] = []
    try:
        changes, done = _row_changes(request)
        item = item_update(actor=request.user, item=item, **changes)
    except ValidationError as error:
        errors = validation_messages(error)
    if not request.htmx:
        for message in errors:
            messages.error(request, f"#{pk}: {message}")
        if not errors:
            messages.success(request, done.format(id=pk, status=item.get_status_display().lower()))
        return redirect_after_post(request, back)
    fresh = selectors.item_list(user=request.user).get(pk=pk)
    tags = list(selectors.tag_list(user=request.user, team=item.team))
    row = inbox_rows([fresh], now=timezone.now(), team_tags=tags, reader=request.user)[0]
    context = {"row": replace(row, errors=errors), "current_url": back, "can_write": True}
    return render(request, "feedback/partials/inbox_row.html", context, using="jinja2")
