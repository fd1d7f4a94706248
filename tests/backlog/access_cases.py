"""The backlog app's pages and endpoints in the access matrix (tests/test_access_matrix.py)."""

from tests.access import ORG_PAGE, Case, url

CASES: dict[str, Case] = {
    # Honest empty states until the backlog and objectives are built.
    "backlog:index": Case(url("backlog:index"), ORG_PAGE),
    "backlog:objectives": Case(url("backlog:objectives"), ORG_PAGE),
}
