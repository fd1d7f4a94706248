"""The feedback app's pages and endpoints in the access matrix (tests/test_access_matrix.py).

The cases are kept in three modules, the pages', the API's and the webhooks'; this one
merges them (and the objects their URLs name) for the matrix."""

from tests.access import Case, Objects
from tests.feedback import (
    access_cases_api,
    access_cases_hooks,
    access_cases_imports,
    access_cases_inbox,
    access_cases_item,
    access_cases_pages,
    access_cases_replies,
    access_cases_saved_views,
    access_cases_sla,
    access_cases_tags,
    access_cases_widget,
)

CASES: dict[str, Case] = {
    **access_cases_pages.CASES,
    **access_cases_replies.CASES,
    **access_cases_sla.CASES,
    **access_cases_tags.CASES,
    **access_cases_api.CASES,
    **access_cases_saved_views.CASES,
    **access_cases_hooks.CASES,
    **access_cases_imports.CASES,
    **access_cases_inbox.CASES,
    **access_cases_item.CASES,
    **access_cases_widget.CASES,
}


def objects(world) -> Objects:
    return {
        **access_cases_pages.objects(world),
        **access_cases_replies.objects(world),
        **access_cases_sla.objects(world),
        **access_cases_tags.objects(world),
        **access_cases_api.objects(world),
        **access_cases_saved_views.objects(world),
        **access_cases_hooks.objects(world),
        **access_cases_inbox.objects(world),
        **access_cases_item.objects(world),
        **access_cases_widget.objects(world),
    }
