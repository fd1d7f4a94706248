"""Error pages: HTML for people, ``{"detail": ...}`` for API clients."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

MESSAGES = {
    403: "You do not have permission to do this.",
    404: "Not found.",
    500: "Something went wrong on our side. It has been logged; please try again.",
}


def _respond(request: HttpRequest, status: int, detail: str = "") -> HttpResponse:
    detail = detail or MESSAGES[status]
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": detail}, status=status)
    return render(request, f"{status}.html", {"detail": detail}, status=status)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = str(exception) if exception and str(exception) else ""
    return _respond(request, 403, message)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # Http404 messages can echo internals (model names), so people get the plain message.
    return _respond(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": MESSAGES[500]}, status=500)
    # Rendered without the request context: the failure may lie in a context processor.
    return render(None, "500.html", {"detail": MESSAGES[500]}, status=500)
