"""The organisation-wide directory: customers and accounts, their forms and CSV imports."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from portal import access, selectors, services
from portal.forms import (
    AccountFilterForm,
    AccountForm,
    CustomerFilterForm,
    CustomerForm,
    CustomerMergeForm,
    CustomerMergeSearchForm,
    add_service_errors,
)
from portal.views.common import (
    bound_on_post,
    form_page,
    paginate,
    redirect_after_post,
    render_page_or_fragment,
)
from portal.views.imports import import_upload_page

ACCOUNT_CUSTOMERS_SHOWN = 50
MERGE_CANDIDATES_SHOWN = 20
CUSTOMER_WAS_MERGED = "{customer} was merged into {target}; this is {target}'s page."
CUSTOMERS_MERGED = "{source} was merged into {target}."


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
    customer = selectors.customer_get(user=request.user, pk=pk, include_merged=True)
    if customer.merged_into_id is not None:
        # A merge repoints earlier merges at its target, so one step reaches a live customer.
        messages.info(
            request, CUSTOMER_WAS_MERGED.format(customer=customer, target=customer.merged_into)
        )
        return redirect("portal:customer_detail", pk=customer.merged_into_id)
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


def _merge_moves(source, target) -> list[str]:
    """What merging ``source`` into ``target`` changes, in words, for the confirmation page
    (``portal.services.customers_merge`` does it)."""
    moves = []
    if source.email:
        role = "another address of" if target.email else "the address of"
        moves.append(f"The address {source.email} becomes {role} {target}.")
    others = [other.email for other in source.other_emails.all()]
    if others:
        moves.append(f"The further addresses {', '.join(others)} move to {target}.")
    handles = [f"{i.get_kind_display()} {i.handle}" for i in source.identities.all()]
    if handles:
        moves.append(f"The identities {', '.join(handles)} move to {target}.")
    filled = [
        label
        for label, empty, given in (
            ("name", not target.name, source.name),
            ("account", target.account_id is None, source.account_id),
            ("external id", not target.external_id, source.external_id),
        )
        if empty and given
    ]
    if filled:
        moves.append(
            f"{target}'s empty {', '.join(filled)} {'is' if len(filled) == 1 else 'are'} "
            f"taken from {source}."
        )
    return moves


@login_required
@require_http_methods(["GET", "POST"])
def customer_merge(request: HttpRequest, pk: int) -> HttpResponse:
    """Merge this customer into another, without JavaScript: a GET searches for the other
    customer (``q``) and lists the matches to pick from; a POST of the pick shows what will
    move; the confirmation page's POST (``confirm``) merges and redirects to the customer
    merged into."""
    source = selectors.customer_get(user=request.user, pk=pk)
    access.require_directory_editor(request.user)
    search = CustomerMergeSearchForm(request.GET or None)
    query = search.cleaned_data.get("q", "") if search.is_valid() else ""
    candidates = []
    if query:
        matches = selectors.customer_list(user=request.user, search=query).exclude(pk=source.pk)
        candidates = list(matches[:MERGE_CANDIDATES_SHOWN])
    form = CustomerMergeForm(bound_on_post(request), user=request.user)
    context = {
        "section": "customers",
        "customer": source,
        "search_form": search,
        "query": query,
        "candidates": candidates,
        "candidates_shown": MERGE_CANDIDATES_SHOWN,
        "form": form,
    }
    if form.is_bound and form.is_valid():
        target = form.cleaned_data["into"]
        refusal = services.merge_refusal(source=source, target=target)
        if refusal:
            form.add_error("into", refusal)
        elif not form.cleaned_data["confirm"]:
            context["target"] = target
            context["moves"] = _merge_moves(source, target)
            return render(request, "portal/customer_confirm_merge.html", context)
        else:
            try:
                merged = services.customers_merge(actor=request.user, source=source, target=target)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, CUSTOMERS_MERGED.format(source=source, target=merged))
                return redirect_after_post(
                    request, reverse("portal:customer_detail", args=[merged.pk])
                )
    return render(request, "portal/customer_merge.html", context)


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
