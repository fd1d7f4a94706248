"""The backlog and objectives. Neither is built yet, so the pages say so honestly."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "backlog/index.html", {"section": "backlog"})


@login_required
def objectives(request: HttpRequest) -> HttpResponse:
    return render(request, "backlog/objectives.html", {"section": "objectives"})
