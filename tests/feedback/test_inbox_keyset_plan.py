"""A keyset page chooses its rows by id before joining what a row shows (``Keyset.page``).

PostgreSQL estimates the row comparison after a cursor, ``(escalated, rank, last_message_at,
id) < (…)``, from its first column alone, as one row; with the joins in the same statement it
then joined every row after the key and sorted them for one page (3.9 s at row 10,000 of
100,000 in ``bench/inbox.py``). Reading the page's ids with their LIMIT in a subquery keeps that
estimate harmless: the joins see at most a page of ids.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feedback import selectors
from tests.feedback.test_inbox_query import item, mixed_items, query

pytestmark = pytest.mark.django_db


def _rows_statement(captured) -> str:
    return next(q["sql"] for q in captured.captured_queries if "feedback_feedbackitem" in q["sql"])


@pytest.mark.parametrize("direction", ["next", "previous"])
def test_a_page_reads_its_ids_with_the_limit_then_the_rows(world, direction):
    team = world.team_a
    mixed_items(team, 9)
    asked = query(world.superuser, team)
    first = selectors.inbox_page(user=world.superuser, team=team, query=asked, cursor=None, size=3)
    second = selectors.inbox_page(
        user=world.superuser, team=team, query=asked, cursor=first.next_cursor, size=3
    )
    cursor = second.next_cursor if direction == "next" else second.previous_cursor

    with CaptureQueriesContext(connection) as captured:
        page = selectors.inbox_page(
            user=world.superuser, team=team, query=asked, cursor=cursor, size=3
        )

    statement = _rows_statement(captured)
    outer, inner = statement.split(" IN (SELECT ", 1)
    assert "LIMIT 4" in inner and "LIMIT" not in outer
    everything = list(selectors.inbox_items(user=world.superuser, team=team, query=asked))
    expected = everything[6:9] if direction == "next" else everything[0:3]
    assert [item.pk for item in page.items] == [item.pk for item in expected]


def test_the_filters_are_written_once_in_the_ids_subquery(world):
    # The rows are read by the ids the filtered items give: the team scope, statuses and
    # search are not tested again on every row of the page (a search tested each row's text
    # twice, about 2 ms of its statement in bench/inbox.py).
    team = world.team_a
    for n in range(4):
        subject = f"Export times out {n}"
        item(team, subject=subject, search_document=subject, status="open")
    item(team, subject="Dark mode, please", search_document="Dark mode, please", status="open")
    asked = query(world.agent_a, team, "q=export&status=open&status=new")

    with CaptureQueriesContext(connection) as captured:
        page = selectors.inbox_page(user=world.agent_a, team=team, query=asked, cursor=None, size=3)

    statement = _rows_statement(captured)
    # The subquery names the items V0; the statement around it only their ids.
    assert statement.count('"status" IN (') == 1
    assert '"feedback_feedbackitem"."status"' in statement.split(" IN (SELECT ", 1)[0]
    assert '"feedback_feedbackitem"."team_id" =' not in statement
    assert '"feedback_feedbackitem"."status" IN' not in statement
    assert [i.subject for i in page.items] == [f"Export times out {n}" for n in (3, 2, 1)]
    assert page.next_cursor is not None
