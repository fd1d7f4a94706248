"""The inbox. Triage is not built yet, so the page says so honestly."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    return render(request, "feedback/inbox.html", {"section": "inbox"})
