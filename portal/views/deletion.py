"""Delete pages for teams, value streams, accounts and customers, and a customer's erasure page.

A GET shows what goes with the object, or what refuses its delete; the POST of its button
deletes (or erases) through the service and redirects (post/redirect/get, ``HX-Redirect`` for
htmx). A refusal re-renders the confirmation with the service's message: the whole page, or for
htmx the confirmation's fragment."""

from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from portal import access, selectors, services
from portal.forms import ConfirmForm
from portal.views.common import bound_on_post, form_page

CONFIRM_FRAGMENT = "portal/partials/confirm_delete.html"


def _confirmation(
    request: HttpRequest,
    *,
    target: models.Model,
    template: str,
    section: str,
    form_url: str,
    cancel_url: str,
    act: Callable[[], Any],
    done: tuple[str, str],
    erase: bool = False,
) -> HttpResponse:
    """The confirmation page of deleting (or, with ``erase``, erasing) ``target``; ``act``
    calls the service, ``done`` is the message and the address that follow it."""
    return form_page(
        request,
        form=ConfirmForm(bound_on_post(request)),
        save=lambda _data: act(),
        success=lambda _result: done,
        template=template,
        fragment_template=CONFIRM_FRAGMENT,
        context={
            "section": section,
            "object": target,
            "plan": None if erase else services.deletion_plan(target),
            "erase": erase,
            "erased_email": services.ERASED_EMAIL.format(id=target.pk) if erase else "",
            "form_url": form_url,
            "cancel_url": cancel_url,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def team_delete(request: HttpRequest, slug: str) -> HttpResponse:
    team = selectors.team_get(user=request.user, slug=slug)
    access.require_superuser(request.user)
    return _confirmation(
        request,
        target=team,
        template="portal/team_confirm_delete.html",
        section="settings",
        form_url=reverse("portal:team_delete", args=[team.slug]),
        cancel_url=reverse("portal:team_settings", args=[team.slug]),
        act=lambda: services.team_delete(actor=request.user, team=team),
        done=(f"Team {team} deleted.", reverse("portal:settings")),
    )


@login_required
@require_http_methods(["GET", "POST"])
def value_stream_delete(request: HttpRequest, pk: int) -> HttpResponse:
    access.require_superuser(request.user)
    stream = selectors.value_stream_get(user=request.user, pk=pk)
    return _confirmation(
        request,
        target=stream,
        template="portal/value_stream_confirm_delete.html",
        section="settings",
        form_url=reverse("portal:value_stream_delete", args=[stream.pk]),
        cancel_url=reverse("portal:value_stream_edit", args=[stream.pk]),
        act=lambda: services.value_stream_delete(actor=request.user, value_stream=stream),
        done=(f"Value stream {stream} deleted.", reverse("portal:value_stream_list")),
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request: HttpRequest, pk: int) -> HttpResponse:
    account = selectors.account_get(user=request.user, pk=pk)
    access.require_directory_editor(request.user)
    return _confirmation(
        request,
        target=account,
        template="portal/account_confirm_delete.html",
        section="customers",
        form_url=reverse("portal:account_delete", args=[account.pk]),
        cancel_url=reverse("portal:account_detail", args=[account.pk]),
        act=lambda: services.account_delete(actor=request.user, account=account),
        done=(f"Account {account} deleted.", reverse("portal:account_list")),
    )


@login_required
@require_http_methods(["GET", "POST"])
def customer_delete(request: HttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_get(user=request.user, pk=pk)
    access.require_directory_editor(request.user)
    return _confirmation(
        request,
        target=customer,
        template="portal/customer_confirm_delete.html",
        section="customers",
        form_url=reverse("portal:customer_delete", args=[customer.pk]),
        cancel_url=reverse("portal:customer_detail", args=[customer.pk]),
        act=lambda: services.customer_delete(actor=request.user, customer=customer),
        done=(f"Customer {customer} deleted.", reverse("portal:customer_list")),
    )


@login_required
@require_http_methods(["GET", "POST"])
def customer_erase(request: HttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_get(user=request.user, pk=pk)
    access.require_directory_editor(request.user)
    detail_url = reverse("portal:customer_detail", args=[customer.pk])
    return _confirmation(
        request,
        target=customer,
        template="portal/customer_confirm_erase.html",
        section="customers",
        form_url=reverse("portal:customer_erase", args=[customer.pk]),
        cancel_url=detail_url,
        act=lambda: services.customer_erase(actor=request.user, customer=customer),
        done=("The customer's personal data was erased.", detail_url),
        erase=True,
    )
