"""The organisation-wide directory: customers and accounts, their forms and CSV imports."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from portal import access, selectors, services
from portal.forms import (
    AccountFilterForm,
    AccountForm,
    CustomerFilterForm,
    CustomerForm,
)
from portal.views.common import (
    bound_on_post,
    form_page,
    paginate,
    render_page_or_fragment,
)
from portal.views.imports import import_upload_page

ACCOUNT_CUSTOMERS_SHOWN = 50


def _filters(form) -> dict:
    """The valid filters of a GET form; an invalid value is ignored rather than refused."""
    form.is_valid()
    return getattr(form, "cleaned_data", {})


# Customers ---------------------------------------------------------------------------------


@login_required
def customer_list(request: HttpRequest) -> HttpResponse:
    form = CustomerFilterForm(request.GET, user=request.user)
    filters = _filters(form)
    account = filters.get("account")
    customers = selectors.customer_list(
        user=request.user,
        search=filters.get("q", ""),
        tier=filters.get("tier", ""),
        account_id=account.pk if account else None,
    )
    context = {
        "section": "customers",
        "filter_form": form,
        "page_obj": paginate(request, customers),
        "can_edit": access.can_edit_directory(request.user),
    }
    return render_page_or_fragment(
        request, "portal/customer_list.html", "portal/partials/customer_results.html", context
    )


@login_required
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_get(user=request.user, pk=pk)
    context = {
        "section": "customers",
        "customer": customer,
        "attributes": sorted(customer.attributes.items()),
        "can_edit": access.can_edit_directory(request.user),
    }
    return render(request, "portal/customer_detail.html", context)


def _customer_form(request: HttpRequest, form: CustomerForm, save, verb: str, customer=None):
    return form_page(
        request,
        form=form,
        save=save,
        success=lambda saved: (
            f"Customer {saved} {verb}.",
            reverse("portal:customer_detail", args=[saved.pk]),
        ),
        template="portal/customer_form.html",
        fragment_template="portal/partials/customer_form.html",
        context={"section": "customers", "customer": customer},
    )


@login_required
@require_http_methods(["GET", "POST"])
def customer_create(request: HttpRequest) -> HttpResponse:
    access.require_directory_editor(request.user)
    form = CustomerForm(bound_on_post(request), user=request.user)
    return _customer_form(
        request,
        form,
        lambda data: services.customer_create(actor=request.user, **data),
        "created",
    )


@login_required
@require_http_methods(["GET", "POST"])
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_get(user=request.user, pk=pk)
    access.require_directory_editor(request.user)
    form = CustomerForm(
        bound_on_post(request), initial=CustomerForm.initial_for(customer), user=request.user
    )
    return _customer_form(
        request,
        form,
        lambda data: services.customer_update(actor=request.user, customer=customer, **data),
        "saved",
        customer,
    )


@login_required
@require_http_methods(["GET", "POST"])
def customer_import(request: HttpRequest) -> HttpResponse:
    return import_upload_page(request, kind="customers")


# Accounts ----------------------------------------------------------------------------------


@login_required
def account_list(request: HttpRequest) -> HttpResponse:
    form = AccountFilterForm(request.GET)
    filters = _filters(form)
    accounts = selectors.account_list(
        user=request.user, search=filters.get("q", ""), segment=filters.get("segment", "")
    )
    context = {
        "section": "customers",
        "filter_form": form,
        "page_obj": paginate(request, accounts),
        "can_edit": access.can_edit_directory(request.user),
    }
    return render_page_or_fragment(
        request, "portal/account_list.html", "portal/partials/account_results.html", context
    )


@login_required
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = selectors.account_get(user=request.user, pk=pk)
    customers = selectors.customer_list(user=request.user, account_id=account.pk)
    context = {
        "section": "customers",
        "account": account,
        "customers": customers[:ACCOUNT_CUSTOMERS_SHOWN],
        "customers_shown": ACCOUNT_CUSTOMERS_SHOWN,
        "can_edit": access.can_edit_directory(request.user),
    }
    return render(request, "portal/account_detail.html", context)


def _account_form(request: HttpRequest, form: AccountForm, save, verb: str, account=None):
    return form_page(
        request,
        form=form,
        save=save,
        success=lambda saved: (
            f"Account {saved} {verb}.",
            reverse("portal:account_detail", args=[saved.pk]),
        ),
        template="portal/account_form.html",
        fragment_template="portal/partials/account_form.html",
        context={"section": "customers", "account": account},
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_create(request: HttpRequest) -> HttpResponse:
    access.require_directory_editor(request.user)
    form = AccountForm(bound_on_post(request), user=request.user)
    return _account_form(
        request,
        form,
        lambda data: services.account_create(actor=request.user, **data),
        "created",
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    account = selectors.account_get(user=request.user, pk=pk)
    access.require_directory_editor(request.user)
    form = AccountForm(
        bound_on_post(request), initial=AccountForm.initial_for(account), user=request.user
    )
    return _account_form(
        request,
        form,
        lambda data: services.account_update(actor=request.user, account=account, **data),
        "saved",
        account,
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_import(request: HttpRequest) -> HttpResponse:
    return import_upload_page(request, kind="accounts")
