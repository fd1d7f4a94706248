"""The bare view: one inbox page's rows from one hand-written query (``rows.page_sql``),
rendered by a small template. No login, no session read, no forms: what is left of a page
when everything but its rows is taken away."""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404
from django.shortcuts import render

from bench.inbox_site.rows import COLUMNS, page_params, page_sql
from portal import access


def rows(request):
    team = int(request.GET["team"])
    q = request.GET.get("q", "")
    after = request.GET.get("after")
    key = None
    if after:
        escalated, rank, last, pk = after.split(",")
        key = [int(escalated), int(rank), last, int(pk)]
    with connection.cursor() as cursor:
        cursor.execute(
            page_sql(after=key is not None, search=bool(q)), page_params(team, key=key, q=q)
        )
        items = [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]
    return render(request, "bench_inbox/rows.html", {"items": items})


@login_required
def scoped_rows(request):
    """The bare view behind what every team-scoped page of the portal does before its own work:
    the session's user read, and their membership of the team asked for checked (another
    team's rows are a 404). The floor of a logged-in page that shows these rows."""
    if int(request.GET["team"]) not in access.team_roles(request.user):
        raise Http404
    return rows(request)
