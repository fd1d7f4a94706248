from django.conf import settings
from rest_framework.pagination import CursorPagination, PageNumberPagination


class PortalPageSize:
    """Lists default to ``PORTAL_PAGE_SIZE``, the same setting the pages use."""

    page_size_query_param = "page_size"
    max_page_size = 200

    def __init__(self) -> None:
        self.page_size = settings.PORTAL_PAGE_SIZE


class PagePagination(PortalPageSize, PageNumberPagination):
    """``{"count", "next", "previous", "results"}``; ``page_size`` up to 200."""


class KeysetPagination(PortalPageSize, CursorPagination):
    """For long, growing lists (feedback items, messages): no count, stable under inserts."""

    ordering = "-id"
