"""How a team's channels are doing: the health page (every member reads it; admins also see
a notice for each unhealthy channel) and the quarantine (members read it, agents retry or
discard a payload, and anyone who reads it may download the raw bytes)."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from feedback import selectors, services
from feedback.channels import kind_label
from feedback.forms import QuarantineFilterForm
from feedback.models import QuarantineStatus
from feedback.selectors import ChannelHealth, ChannelState
from feedback.views.downloads import OCTET_STREAM, storage_download
from portal import access
from portal import selectors as portal_selectors
from portal.models import Role, Team
from portal.validation import validation_messages
from portal.views.common import (
    paginate,
    redirect_after_post,
    render_page_or_fragment,
    safe_next,
)

RETRY_PARSED = "The payload parsed and left the quarantine."
RETRY_FAILED = "The payload still does not parse: {error}"
DISCARDED = "The payload was discarded. Its raw bytes stay available for download."
NEVER = "—"


def duration_words(seconds: float | None) -> str:
    """A lag as a person reads it: "45 s", "12 min", "3 h 5 min", "2 d 4 h"; a dash when
    there was no success yet (the last-success column says "never")."""
    if seconds is None:
        return NEVER
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, hours, days = whole // 60, whole // 3600, whole // 86400
    if hours == 0:
        return f"{minutes} min"
    if days == 0:
        rest = minutes % 60
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    rest = hours % 24
    return f"{days} d {rest} h" if rest else f"{days} d"


@dataclass(frozen=True)
class HealthRow:
    health: ChannelHealth
    kind_label: str
    lag: str
    push: bool

    @property
    def state(self) -> ChannelState:
        return selectors.channel_state(self.health.channel)


def _member_team(request: HttpRequest, slug: str) -> Team:
    return portal_selectors.team_get(user=request.user, slug=slug)


@login_required
def channel_health(request: HttpRequest, slug: str) -> HttpResponse:
    team = _member_team(request, slug)
    is_admin = access.has_team_role(request.user, team, Role.ADMIN)
    rows = [
        HealthRow(
            health,
            kind_label(health.channel.kind),
            duration_words(health.lag_seconds),
            push=selectors.channel_is_push(health.channel.kind),
        )
        for health in selectors.channel_health_list(user=request.user, team=team)
    ]
    context = {
        "section": "channels",
        "team": team,
        "rows": rows,
        "is_admin": is_admin,
        "unhealthy": [row.health.channel for row in rows if row.state == ChannelState.UNHEALTHY]
        if is_admin
        else [],
        "checked_at": datetime.now().astimezone(),
    }
    return render_page_or_fragment(
        request,
        "feedback/channel_health.html",
        "feedback/partials/channel_health_table.html",
        context,
    )


@login_required
def quarantine_list(request: HttpRequest, slug: str) -> HttpResponse:
    team = _member_team(request, slug)
    form = QuarantineFilterForm(request.GET)
    status = form.statuses()
    rows = selectors.quarantine_list(user=request.user, team=team, status=status)
    context = {
        "section": "channels",
        "team": team,
        "filter_form": form,
        "showing_open": status == QuarantineStatus.OPEN,
        "page_obj": paginate(request, rows),
        "can_act": access.has_team_role(request.user, team, Role.AGENT),
        "open_status": QuarantineStatus.OPEN.value,
    }
    return render_page_or_fragment(
        request,
        "feedback/quarantine_list.html",
        "feedback/partials/quarantine_results.html",
        context,
    )


def _back(request: HttpRequest, team: Team) -> str:
    return safe_next(request, reverse("feedback:quarantine_list", args=[team.slug]))


@login_required
@require_POST
def quarantine_retry(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = _member_team(request, slug)
    quarantine = selectors.quarantine_get(user=request.user, pk=pk, team=team)
    try:
        outcome = services.quarantine_retry(actor=request.user, quarantine=quarantine)
    except ValidationError as error:
        messages.error(request, " ".join(validation_messages(error)))
    else:
        after = outcome.quarantine
        if after is None or after.status != QuarantineStatus.OPEN:
            messages.success(request, RETRY_PARSED)
        else:
            messages.error(request, RETRY_FAILED.format(error=after.error))
    return redirect_after_post(request, _back(request, team))


@login_required
@require_POST
def quarantine_discard(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = _member_team(request, slug)
    quarantine = selectors.quarantine_get(user=request.user, pk=pk, team=team)
    try:
        services.quarantine_discard(actor=request.user, quarantine=quarantine)
    except ValidationError as error:
        messages.error(request, " ".join(validation_messages(error)))
    else:
        messages.success(request, DISCARDED)
    return redirect_after_post(request, _back(request, team))


@login_required
def quarantine_download(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The payload's raw bytes, exactly as they arrived, as a file to save (never shown)."""
    team = _member_team(request, slug)
    quarantine = selectors.quarantine_get(user=request.user, pk=pk, team=team)
    payload = quarantine.payload
    return storage_download(
        payload.file,
        filename=f"payload-{payload.pk}.eml",
        content_type=OCTET_STREAM,
        request=request,
    )
