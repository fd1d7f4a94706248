"""The settings area besides Django's admin: teams, their members, value streams."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from portal import access, selectors, services
from portal.forms import (
    MemberAddForm,
    MemberRoleForm,
    TeamCreateForm,
    TeamForm,
    ValueStreamForm,
    add_service_errors,
)
from portal.models import Role, Team
from portal.views.common import bound_on_post, form_page


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


@login_required
def settings_home(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "section": "settings",
        "teams_with_roles": [
            (team, access.role_in(user, team)) for team in selectors.team_list(user=user)
        ],
        "value_streams": selectors.value_stream_list(user=user) if user.is_superuser else None,
    }
    return render(request, "portal/settings.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def team_create(request: HttpRequest) -> HttpResponse:
    access.require_superuser(request.user)
    return form_page(
        request,
        form=TeamCreateForm(bound_on_post(request), user=request.user),
        save=lambda data: services.team_create(actor=request.user, **data),
        success=lambda team: (
            f"Team {team} created. Add its members below.",
            reverse("portal:team_settings", args=[team.slug]),
        ),
        template="portal/team_create.html",
        context={"section": "settings"},
    )


def _team_page(
    request: HttpRequest,
    team: Team,
    *,
    team_form: TeamForm | None = None,
    member_form: MemberAddForm | None = None,
) -> HttpResponse:
    user = request.user
    is_admin = access.has_team_role(user, team, Role.ADMIN)
    if is_admin and team_form is None:
        team_form = TeamForm(
            initial={
                "name": team.name,
                "mission": team.mission,
                "value_stream": team.value_stream_id,
            },
            user=user,
        )
    if is_admin and member_form is None:
        member_form = MemberAddForm(actor=user)
    context = {
        "section": "settings",
        "team": team,
        "role": access.role_in(user, team),
        "is_admin": is_admin,
        "memberships": selectors.membership_list(user=user, team=team),
        "role_choices": Role.choices,
        "team_form": team_form,
        "member_form": member_form,
    }
    return render(request, "portal/team_settings.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def team_settings(request: HttpRequest, slug: str) -> HttpResponse:
    team = selectors.team_get(user=request.user, slug=slug)
    if request.method != "POST":
        return _team_page(request, team)
    access.require_team_role(request.user, team, Role.ADMIN)
    form = TeamForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            services.team_update(actor=request.user, team=team, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Team {team} saved.")
            return redirect("portal:team_settings", slug=team.slug)
    # The failed write may have changed the object in memory; show what is stored.
    return _team_page(request, selectors.team_get(user=request.user, pk=team.pk), team_form=form)


@login_required
@require_POST
def member_add(request: HttpRequest, slug: str) -> HttpResponse:
    team = selectors.team_get(user=request.user, slug=slug)
    access.require_team_role(request.user, team, Role.ADMIN)
    form = MemberAddForm(request.POST, actor=request.user)
    if form.is_valid():
        try:
            membership = services.membership_create(
                actor=request.user,
                team=team,
                user=form.cleaned_data["user"],
                role=form.cleaned_data["role"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Added {membership.user} as {membership.role}.")
            return redirect("portal:team_settings", slug=team.slug)
    return _team_page(request, team, member_form=form)


@login_required
@require_POST
def member_update(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = selectors.team_get(user=request.user, slug=slug)
    membership = selectors.membership_get(user=request.user, pk=pk, team=team)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, services.INVALID_ROLE)
        return _team_page(request, team)
    try:
        membership = services.membership_update(
            actor=request.user, membership=membership, role=form.cleaned_data["role"]
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return _team_page(request, team)
    messages.success(request, f"{membership.user} is now {membership.role}.")
    return redirect("portal:team_settings", slug=team.slug)


@login_required
@require_POST
def member_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = selectors.team_get(user=request.user, slug=slug)
    membership = selectors.membership_get(user=request.user, pk=pk, team=team)
    try:
        services.membership_delete(actor=request.user, membership=membership)
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return _team_page(request, team)
    messages.success(request, f"Removed {membership.user} from {team}.")
    if membership.user_id == request.user.pk and not request.user.is_superuser:
        return redirect("portal:settings")
    return redirect("portal:team_settings", slug=team.slug)


@login_required
@require_http_methods(["GET", "POST"])
def value_stream_list(request: HttpRequest) -> HttpResponse:
    access.require_superuser(request.user)
    return form_page(
        request,
        form=ValueStreamForm(bound_on_post(request)),
        save=lambda data: services.value_stream_create(actor=request.user, **data),
        success=lambda stream: (
            f"Value stream {stream} created.",
            reverse("portal:value_stream_list"),
        ),
        template="portal/value_stream_list.html",
        context={
            "section": "settings",
            "value_streams": selectors.value_stream_list(user=request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def value_stream_edit(request: HttpRequest, pk: int) -> HttpResponse:
    access.require_superuser(request.user)
    stream = selectors.value_stream_get(user=request.user, pk=pk)

    def save(data: dict) -> object:
        # A fresh copy: a refused write must not change the name the page shows.
        fresh = selectors.value_stream_get(user=request.user, pk=pk)
        return services.value_stream_update(actor=request.user, value_stream=fresh, **data)

    return form_page(
        request,
        form=ValueStreamForm(
            bound_on_post(request),
            initial={"name": stream.name, "description": stream.description},
        ),
        save=save,
        success=lambda saved: (
            f"Value stream {saved} saved.",
            reverse("portal:value_stream_list"),
        ),
        template="portal/value_stream_form.html",
        context={"section": "settings", "value_stream": stream},
    )
