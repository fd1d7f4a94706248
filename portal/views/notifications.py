"""A person's notifications: the list under the bell, marking them read."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from portal import selectors, services
from portal.views.common import render_page_or_fragment, safe_next, wants_fragment

ALL_MARKED_READ = "Marked {count} notifications read."
ONE_MARKED_READ = "Marked 1 notification read."


def _list_page(request: HttpRequest, params, *, after_post: bool = False) -> HttpResponse:
    """The list as ``params`` (the query, or a form's hidden copy of it) filter it. After an
    htmx POST the fragment also replaces the bell, whose count just changed."""
    unread_only = params.get("unread") == "1"
    notifications = selectors.notification_list(user=request.user, unread_only=unread_only)
    page_obj = Paginator(notifications, settings.PORTAL_PAGE_SIZE).get_page(params.get("page"))
    query = {"unread": "1"} if unread_only else {}
    if page_obj.number > 1:
        query["page"] = str(page_obj.number)
    # Where a form without JavaScript returns to: this list, also after an htmx POST, whose own
    # address is the POST's.
    list_url = reverse("portal:notification_list") + (f"?{urlencode(query)}" if query else "")
    context = {
        "section": "notifications",
        "page_obj": page_obj,
        "list_url": list_url,
        "unread_only": unread_only,
        "oob_bell": after_post,
    }
    return render_page_or_fragment(
        request,
        "portal/notification_list.html",
        "portal/partials/notification_list.html",
        context,
    )


def _after_post(request: HttpRequest) -> HttpResponse:
    if wants_fragment(request):
        return _list_page(request, request.POST, after_post=True)
    return redirect(safe_next(request, reverse("portal:notification_list")))


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, request.GET)


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    notification = selectors.notification_get(user=request.user, pk=pk)
    services.notification_mark_read(actor=request.user, notification=notification)
    return _after_post(request)


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    count = services.notification_mark_all_read(actor=request.user)
    if not wants_fragment(request):
        messages.success(
            request, ONE_MARKED_READ if count == 1 else ALL_MARKED_READ.format(count=count)
        )
    return _after_post(request)
