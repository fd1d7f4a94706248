"""The feedback app's web pages in the access matrix."""

from tests.access import ORG_PAGE, Case, Objects, url

CASES: dict[str, Case] = {
    # The inbox answers with an honest empty state until triage is built.
    "feedback:inbox": Case(url("feedback:inbox"), ORG_PAGE),
}


def objects(world) -> Objects:
    return {}
