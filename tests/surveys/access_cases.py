"""The surveys app's pages and endpoints in the access matrix (tests/test_access_matrix.py)."""

from tests.access import ORG_PAGE, Case, url

CASES: dict[str, Case] = {
    # An honest empty state until surveys and campaigns are built.
    "surveys:index": Case(url("surveys:index"), ORG_PAGE),
}
