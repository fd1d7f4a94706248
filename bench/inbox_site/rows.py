"""The hand-written query behind the inbox benchmark's floors: the rows of one inbox page (the
default order: escalated first, then urgent, high, normal, then latest activity) with what a
row shows (customer, account, channel, assignee, tags), in one statement.

It returns the rows the portal's page shows, written by hand: the same team, the unsolved
statuses the page opens on, the same "not snoozed" condition, the same row comparison after the
cursor's key, the same full-text match
(``to_tsvector('english', search_document) @@ websearch_to_tsquery('english', …)``, as the GIN
index is built), the same ORDER BY and LIMIT, applied to the items alone before the joins; the
tags of the page's items are read by a correlated subquery rather than a second query.
``bench/inbox.py`` runs it through psycopg2 (the SQL floor) and ``views.rows`` renders it (the
bare Django view).
"""

ESCALATED = "CASE WHEN escalated_at IS NOT NULL THEN 1 ELSE 0 END"
RANK = "CASE WHEN priority = 'urgent' THEN 2 WHEN priority = 'high' THEN 1 ELSE 0 END"
COLUMNS = (
    "id", "subject", "status", "priority", "priority_reason", "last_message_at", "sentiment",
    "snippet", "customer", "email", "tier", "account", "channel", "assignee", "tags",
)  # fmt: skip

# The page's rows are chosen first (an index range with its LIMIT, nothing joined), then joined
# to what a row shows: the planner cannot estimate a row comparison (it guesses one row), and
# with the joins in the same query it may join every row after the key before sorting.
PAGE = f"""
SELECT id, team_id, subject, status, priority, priority_reason, last_message_at, sentiment,
       left(search_document, 240) AS snippet, customer_id, channel_id, assignee_id,
       {ESCALATED} AS escalated, {RANK} AS rank
  FROM feedback_feedbackitem
 WHERE team_id = %(team)s
   AND status = ANY(%(statuses)s)
   AND (snoozed_until IS NULL OR snoozed_until <= now())"""
AFTER = f"""
   AND ({ESCALATED}, {RANK}, last_message_at, id)
       < (%(escalated)s, %(rank)s, %(last)s, %(id)s)"""
SEARCH = """
   AND to_tsvector('english'::regconfig, search_document)
       @@ websearch_to_tsquery('english'::regconfig, %(q)s)"""
ORDER = f"""
 ORDER BY {ESCALATED} DESC, {RANK} DESC, last_message_at DESC, id DESC
 LIMIT %(size)s"""
SELECT = """
SELECT i.id, i.subject, i.status, i.priority, i.priority_reason, i.last_message_at,
       i.sentiment, i.snippet, c.name, c.email, c.tier, a.name, ch.kind,
       trim(u.first_name || ' ' || u.last_name),
       (SELECT string_agg(t.name, ', ' ORDER BY t.name)
          FROM feedback_feedbackitem_tags it JOIN feedback_tag t ON t.id = it.tag_id
         WHERE it.feedbackitem_id = i.id)
  FROM ({page}) i
  LEFT JOIN portal_customer c ON c.id = i.customer_id
  LEFT JOIN portal_account a ON a.id = c.account_id
  LEFT JOIN feedback_channel ch ON ch.id = i.channel_id
  LEFT JOIN auth_user u ON u.id = i.assignee_id
 ORDER BY i.escalated DESC, i.rank DESC, i.last_message_at DESC, i.id DESC"""


def page_sql(*, after: bool, search: bool) -> str:
    page = PAGE + (AFTER if after else "") + (SEARCH if search else "") + ORDER
    return SELECT.format(page=page)


# The statuses the inbox opens on (``feedback.views.items.UNSOLVED``).
UNSOLVED = ["new", "open", "waiting"]


def page_params(
    team: int, *, key: list | None = None, q: str = "", size: int = 25
) -> dict[str, object]:
    """Parameters of :func:`page_sql`; ``key``: (escalated, rank, last_message_at, id) of the
    row the page follows."""
    params: dict[str, object] = {"team": team, "q": q, "size": size, "statuses": UNSOLVED}
    if key is not None:
        params.update(zip(("escalated", "rank", "last", "id"), key, strict=True))
    return params
