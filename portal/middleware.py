"""Request middleware of the portal."""

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from rest_framework.views import APIView

from portal import selectors


def _is_api_view(view_func: Callable) -> bool:
    view_class = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
    return isinstance(view_class, type) and issubclass(view_class, APIView)


class UserTimeZoneMiddleware:
    """Show times in the signed-in person's time zone: pages, fragments and forms read and
    write local times in the zone activated here (times are stored in UTC regardless).

    The REST API keeps the default zone: DRF writes datetimes in the active zone, and the API's
    times do not change with who asks. The zone is activated in ``process_view``, once the
    view is known, and deactivated after every response, because a worker thread serves other
    people's requests next."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args: Any, view_kwargs: Any
    ) -> None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or _is_api_view(view_func):
            return None
        try:
            timezone.activate(ZoneInfo(selectors.profile_get(user=user).effective_time_zone))
        except (ZoneInfoNotFoundError, ValueError):
            # A zone removed from the system's database since it was chosen: the default.
            timezone.deactivate()
        return None
