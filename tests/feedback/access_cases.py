"""The feedback app's pages and endpoints in the access matrix (tests/test_access_matrix.py)."""

from tests.access import ORG_PAGE, Case, url

CASES: dict[str, Case] = {
    # The inbox answers with an honest empty state until ingestion and triage are built.
    "feedback:inbox": Case(url("feedback:inbox"), ORG_PAGE),
}
