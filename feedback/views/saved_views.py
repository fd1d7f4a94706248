"""Saved views from the inbox list: "Save this view" keeps the list's current filters under a
name (the person's own; a lead may share it with the team), and a view of one's own (or, for
a lead, a shared one) can be deleted. Choosing a view is a plain GET of the list
(``/inbox/?view=<id>``). The rules (who may share, names, parameters) are
``feedback.services.saved_views``'; a refusal comes back as a message on the list, or for
htmx in the save form."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from feedback import selectors
from feedback.services.saved_views import saved_view_create, saved_view_delete
from feedback.views.items import NO_TEAM, _params_from_url
from portal import access
from portal.jinja2 import render_fragment
from portal.models import Role
from portal.selectors import current_team_get
from portal.views.common import redirect_after_post, safe_next, vary_on_htmx

VIEW_SAVED = "Saved the view {name!r}."
VIEW_SHARED = "Saved the view {name!r} for everyone in {team}."
VIEW_DELETED = "Deleted the view {name!r}."


def _view_url(view) -> str:
    return reverse("feedback:inbox") + "?" + urlencode({"view": view.pk})


@login_required
@require_POST
def saved_view_save(request: HttpRequest) -> HttpResponse:
    """The filters of the list in ``next`` saved as a view named ``name``; ``shared`` asks
    for a view of the team (leads)."""
    team = current_team_get(request)
    if team is None:
        raise Http404(NO_TEAM)
    access.require_team_role(request.user, team, Role.AGENT)
    back = safe_next(request, reverse("feedback:inbox"))
    shared = request.POST.get("shared") in ("1", "on", "true")
    name = request.POST.get("name", "")
    try:
        view = saved_view_create(
            actor=request.user,
            team=team,
            name=name,
            params=_params_from_url(back),
            shared=shared,
        )
    except ValidationError as error:
        errors = error.messages
        if request.htmx:
            context = {
                "team": team,
                "current_url": back,
                "can_share": access.has_team_role(request.user, team, Role.LEAD),
                "save_errors": errors,
                "save_name": name,
            }
            form = render_fragment("feedback/partials/inbox_save_view.html", context, request)
            return vary_on_htmx(HttpResponse(form))
        for message in errors:
            messages.error(request, message)
        return redirect_after_post(request, back)
    message = VIEW_SHARED if shared else VIEW_SAVED
    messages.success(request, message.format(name=view.name, team=team))
    return redirect_after_post(request, _view_url(view))


@login_required
@require_POST
def saved_view_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a saved view: one's own, or a shared one as a lead (the service checks)."""
    view = selectors.saved_view_get(user=request.user, pk=pk)
    saved_view_delete(actor=request.user, view=view)
    messages.success(request, VIEW_DELETED.format(name=view.name))
    return redirect_after_post(request, reverse("feedback:inbox"))
