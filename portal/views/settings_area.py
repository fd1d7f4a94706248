"""The settings area besides Django's admin: teams, their members, value streams."""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from portal import access, selectors, services
from portal.access import User
from portal.forms import (
    MemberAddForm,
    MemberRemoveForm,
    MemberRoleForm,
    TeamCreateForm,
    TeamForm,
    ValueStreamForm,
)
from portal.models import Membership, Role, Team
from portal.views.common import bound_on_post, form_page


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
        fragment_template="portal/partials/team_form.html",
        context={"section": "settings"},
    )


@dataclass(frozen=True)
class MemberRow:
    """One member in the team page's table, with the forms an admin uses on that row."""

    membership: Membership
    role_form: MemberRoleForm | None
    remove_form: MemberRemoveForm | None


def _team_form(team: Team, user: User, data: QueryDict | None = None) -> TeamForm:
    initial = {"name": team.name, "mission": team.mission, "value_stream": team.value_stream_id}
    return TeamForm(data, initial=initial, user=user)


def _role_form(membership: Membership, data: QueryDict | None = None) -> MemberRoleForm:
    # Every row has a role select; its own id prefix keeps the ids unique on the page.
    return MemberRoleForm(
        data, initial={"role": membership.role}, auto_id=f"member-{membership.pk}-%s"
    )


def _team_context(
    request: HttpRequest,
    team: Team,
    *,
    team_form: TeamForm | None = None,
    member_form: MemberAddForm | None = None,
    membership: Membership | None = None,
    role_form: MemberRoleForm | None = None,
    remove_form: MemberRemoveForm | None = None,
) -> dict[str, Any]:
    """The team page with every form unbound except the one being posted; ``membership`` is
    the row whose ``role_form`` or ``remove_form`` that is."""
    user = request.user
    is_admin = access.has_team_role(user, team, Role.ADMIN)
    context = {
        "section": "settings",
        "team": team,
        "role": access.role_in(user, team),
        "is_admin": is_admin,
    }
    memberships = selectors.membership_list(user=user, team=team)
    if not is_admin:
        context["member_rows"] = [
            MemberRow(m, role_form=None, remove_form=None) for m in memberships
        ]
        return context
    rows = []
    for row in memberships:
        posted = membership is not None and row.pk == membership.pk
        rows.append(
            MemberRow(
                row,
                role_form=role_form if posted and role_form is not None else _role_form(row),
                remove_form=(
                    remove_form if posted and remove_form is not None else MemberRemoveForm()
                ),
            )
        )
    return {
        **context,
        "member_rows": rows,
        "team_form": team_form if team_form is not None else _team_form(team, user),
        "member_form": member_form if member_form is not None else MemberAddForm(actor=user),
        "membership": membership,
    }


@login_required
@require_http_methods(["GET", "POST"])
def team_settings(request: HttpRequest, slug: str) -> HttpResponse:
    user = request.user
    team = selectors.team_get(user=user, slug=slug)
    if request.method == "POST":
        access.require_team_role(user, team, Role.ADMIN)
    elif not access.has_team_role(user, team, Role.ADMIN):
        return render(request, "portal/team_settings.html", _team_context(request, team))
    form = _team_form(team, user, bound_on_post(request))

    def save(data: dict[str, Any]) -> Team:
        # A fresh copy: a refused write must not change the name the page shows.
        fresh = selectors.team_get(user=user, pk=team.pk)
        return services.team_update(actor=user, team=fresh, **data)

    return form_page(
        request,
        form=form,
        save=save,
        success=lambda saved: (
            f"Team {saved} saved.",
            reverse("portal:team_settings", args=[saved.slug]),
        ),
        template="portal/team_settings.html",
        fragment_template="portal/partials/team_form.html",
        context=_team_context(request, team, team_form=form),
    )


@login_required
@require_POST
def member_add(request: HttpRequest, slug: str) -> HttpResponse:
    team = selectors.team_get(user=request.user, slug=slug)
    access.require_team_role(request.user, team, Role.ADMIN)
    form = MemberAddForm(request.POST, actor=request.user)
    return form_page(
        request,
        form=form,
        save=lambda data: services.membership_create(actor=request.user, team=team, **data),
        success=lambda membership: (
            f"Added {membership.user} as {membership.role}.",
            reverse("portal:team_settings", args=[team.slug]),
        ),
        template="portal/team_settings.html",
        fragment_template="portal/partials/member_form.html",
        context=_team_context(request, team, member_form=form),
    )


@login_required
@require_POST
def member_update(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = selectors.team_get(user=request.user, slug=slug)
    membership = selectors.membership_get(user=request.user, pk=pk, team=team)
    form = _role_form(membership, request.POST)
    return form_page(
        request,
        form=form,
        save=lambda data: services.membership_update(
            actor=request.user, membership=membership, **data
        ),
        success=lambda updated: (
            f"{updated.user} is now {updated.role}.",
            reverse("portal:team_settings", args=[team.slug]),
        ),
        template="portal/team_settings.html",
        fragment_template="portal/partials/member_role_form.html",
        context=_team_context(request, team, membership=membership, role_form=form),
    )


@login_required
@require_POST
def member_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    user = request.user
    team = selectors.team_get(user=user, slug=slug)
    membership = selectors.membership_get(user=user, pk=pk, team=team)
    form = MemberRemoveForm(request.POST)

    def removed(_: None) -> tuple[str, str]:
        # Who removed themselves from a team can no longer see its page.
        left = membership.user_id == user.pk and not user.is_superuser
        url = reverse("portal:settings") if left else reverse("portal:team_settings", args=[slug])
        return f"Removed {membership.user} from {team}.", url

    return form_page(
        request,
        form=form,
        save=lambda data: services.membership_delete(actor=user, membership=membership),
        success=removed,
        template="portal/team_settings.html",
        fragment_template="portal/partials/member_remove_form.html",
        context=_team_context(request, team, membership=membership, remove_form=form),
    )


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
        fragment_template="portal/partials/value_stream_form.html",
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
        fragment_template="portal/partials/value_stream_form.html",
        context={"section": "settings", "value_stream": stream},
    )
