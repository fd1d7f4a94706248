"""Small helpers shared by the page views: one URL, one view, two renderings."""

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

from portal.forms import add_service_errors


def wants_fragment(request: HttpRequest) -> bool:
    """An htmx request gets the fragment; a history restore needs the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    """Mark a response that depends on whether htmx asked, so that no cache hands the
    fragment to a browser that wanted the page, or the other way round."""
    patch_vary_headers(response, ("HX-Request",))
    return response


def render_page_or_fragment(
    request: HttpRequest,
    page_template: str,
    fragment_template: str,
    context: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    """The page, or for htmx only the fragment the page includes, from the same context."""
    template = fragment_template if wants_fragment(request) else page_template
    return vary_on_htmx(render(request, template, context, status=status))


def redirect_after_post(request: HttpRequest, url: str) -> HttpResponse:
    """The redirect of post/redirect/get, for both kinds of POST. A plain POST gets a 302.
    An htmx POST gets ``HX-Redirect``, on which htmx makes the browser load the next page
    itself: a 302 would be followed inside htmx's own request, and the whole next page
    swapped into the form's place, with the address bar still showing the form."""
    htmx = getattr(request, "htmx", None)
    if not htmx:
        return vary_on_htmx(redirect(url))
    response = HttpResponseClientRedirect(url)
    if _same_document(htmx.current_url, url):
        # The browser treats an address that differs from the current one only by its
        # fragment (the item page and its "#reply") as a jump within the page: nothing is
        # loaded, so the reply just sent would not show. htmx reloads after the jump.
        response["HX-Refresh"] = "true"
    return vary_on_htmx(response)


def _same_document(current_url: str | None, url: str) -> bool:
    if not current_url:
        return False
    here, there = urlsplit(current_url), urlsplit(url)
    return "#" in url and (here.path, here.query) == (there.path, there.query)


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
    fragment_template: str,
    context: dict[str, Any],
) -> HttpResponse:
    """The one loop behind every form on a page, including pages with several forms.

    On a POST a valid form is written by ``save(cleaned_data)`` (a service); ``success(obj)``
    gives the message and the URL to redirect to (:func:`redirect_after_post`). Otherwise (a
    GET, an invalid form, or a ValidationError from the service, which is put on the form) it
    answers 200 with ``template``, the whole page, or for htmx with ``fragment_template``, the
    form's fragment that the page includes. Both see ``context`` with the form as ``form``; a
    page with several forms also puts this one under its own name in ``context``."""
    if form.is_bound and form.is_valid():
        try:
            saved = save(form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            message, url = success(saved)
            messages.success(request, message)
            return redirect_after_post(request, url)
    return render_page_or_fragment(request, template, fragment_template, {**context, "form": form})
