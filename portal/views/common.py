"""Small helpers shared by the page views: one URL, one view, two renderings."""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from portal.forms import CsvUploadForm, add_service_errors


def wants_fragment(request: HttpRequest) -> bool:
    """An htmx request gets the fragment; a history restore needs the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def render_page_or_fragment(
    request: HttpRequest,
    page_template: str,
    fragment_template: str,
    context: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    template = fragment_template if wants_fragment(request) else page_template
    return render(request, template, context, status=status)


def paginate(request: HttpRequest, queryset, per_page: int | None = None) -> Page:
    return Paginator(queryset, per_page or settings.PORTAL_PAGE_SIZE).get_page(
        request.GET.get("page")
    )


def safe_next(request: HttpRequest, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def bound_on_post(request: HttpRequest) -> dict | None:
    """The data to bind a form to: the POST on a POST, nothing (an unbound form) on a GET."""
    return request.POST if request.method == "POST" else None


def form_page(
    request: HttpRequest,
    *,
    form: Form,
    save: Callable[[dict[str, Any]], Any],
    success: Callable[[Any], tuple[str, str]],
    template: str,
    context: dict[str, Any],
) -> HttpResponse:
    """A form page. On a POST a valid form is written by ``save(cleaned_data)`` (a service);
    ``success(obj)`` gives the message and the URL to redirect to (post/redirect/get). An
    invalid form, or a ValidationError from the service, renders the page again with 200."""
    if form.is_bound and form.is_valid():
        try:
            saved = save(form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            message, url = success(saved)
            messages.success(request, message)
            return redirect(url)
    return render(request, template, {**context, "form": form})


def csv_import_page(
    request: HttpRequest,
    *,
    importer,
    context: dict[str, Any],
) -> HttpResponse:
    """GET shows the upload form; POST runs ``importer(actor=, upload=)`` and shows its
    per-row report with 200. Problems with the file as a whole become form errors."""
    report = None
    if request.method == "POST":
        form = CsvUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                report = importer(actor=request.user, upload=form.cleaned_data["file"])
            except ValidationError as error:
                add_service_errors(form, error)
    else:
        form = CsvUploadForm()
    return render(request, "portal/csv_import.html", {**context, "form": form, "report": report})
