"""The CSV import of feedback in the access matrix: agents of any team open the upload page
(each row then names a team the importer must be an agent of)."""

from tests.access import LOGIN, Case, Objects, expect, url

CASES: dict[str, Case] = {
    "feedback:item_import": Case(
        url("feedback:item_import"), expect(LOGIN, 403, 200, 200, 200, 200, 200)
    ),
}


def objects(world) -> Objects:
    return {}
