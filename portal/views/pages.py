"""The home page, the team switcher and the dashboards page."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from portal import access, selectors, services
from portal.validation import is_id, parse_id
from portal.views.common import safe_next
from portal.views.north_star import north_star_summary


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    teams = [(team, access.role_in(user, team)) for team in selectors.team_list(user=user)]
    context = {
        "section": "home",
        "teams_with_roles": teams,
        "customer_count": selectors.customer_list(user=user).count(),
        "account_count": selectors.account_list(user=user).count(),
        **north_star_summary(user),
    }
    return render(request, "portal/home.html", context)


@login_required
@require_POST
def team_switch(request: HttpRequest) -> HttpResponse:
    raw = request.POST.get("team", "")
    if not is_id(raw):
        raise Http404("No such team.")
    team = selectors.team_get(user=request.user, pk=parse_id(raw))
    request.session[selectors.CURRENT_TEAM_SESSION_KEY] = team.pk
    services.profile_set_last_team(actor=request.user, team=team)
    return HttpResponseRedirect(safe_next(request, reverse("portal:home")))


@login_required
def dashboards(request: HttpRequest) -> HttpResponse:
    context = {"section": "dashboards", **north_star_summary(request.user)}
    return render(request, "portal/dashboards.html", context)
