"""The inbox. Ingestion stores feedback items; triage (assigning, replying, tagging in the
list) is the inbox capability still to come, so the page shows what has been collected for the
current team, read-only, and says honestly what is not there yet."""

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from feedback import selectors
from feedback.models import ItemStatus
from portal.selectors import current_team_get

LATEST_ITEMS = 20


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    team = current_team_get(request)
    context: dict = {"section": "inbox", "team": team, "items": [], "status_counts": []}
    if team is not None:
        items = selectors.item_list(user=request.user, team=team)
        counts = dict(
            items.order_by()
            .values_list("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
        context["status_counts"] = [
            (label, counts.get(value, 0)) for value, label in ItemStatus.choices
        ]
        context["total"] = sum(counts.values())
        latest = list(items[:LATEST_ITEMS])
        duplicates = selectors.items_likely_duplicates(item_ids=[item.pk for item in latest])
        context["items"] = [(item, duplicates[item.pk]) for item in latest]
    return render(request, "feedback/inbox.html", context)
