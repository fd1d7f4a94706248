"""Saved views of the inbox: a named inbox query, a person's own or shared with their team.

Agents (and above) keep views of their own; leads (and above) share views with the team, and
rename or delete the shared ones. A personal view is its owner's alone: nobody else sees it
(``feedback.selectors.saved_view_list``), so nobody else changes it. The parameters are read
as the inbox reads them (``feedback.inbox.params``) and stored in their canonical form, so a
view that would be refused by the inbox is refused here, with the same messages; "me" stays
"me", so a shared "Mine" view shows each person their own items. Shared views are the team's
settings, so their changes are audited; personal views are a person's preference and are not.
"""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import QueryDict

from feedback.inbox.choices import team_choices_changed
from feedback.inbox.params import inbox_query_from_params
from feedback.models import SavedView
from portal import access
from portal.access import User
from portal.fields import normalised_key
from portal.models import Role, Team
from portal.services.audit import audit
from portal.validation import reject_nul

MAX_NAME_LENGTH = SavedView._meta.get_field("name").max_length
NAME_REQUIRED = "Give the view a name."
NAME_TOO_LONG = f"A view's name has at most {MAX_NAME_LENGTH} characters."
NAME_TAKEN_PERSONAL = "You already have a view named {name!r}; choose another name."
NAME_TAKEN_SHARED = "{team} already has a shared view named {name!r}; choose another name."
PARAMS_INVALID = (
    "Give the view's filters as an object of parameter names and values (or a query string)."
)
NOT_YOUR_VIEW = "Only its owner changes a personal view."
# Parameters that belong to one visit of the list, not to the view.
NOT_SAVED = ("team", "cursor", "page_size", "format")


def _params(value: Any) -> QueryDict | Mapping[str, Any]:
    if isinstance(value, str):
        return QueryDict(value.lstrip("?"))
    if isinstance(value, Mapping) and all(isinstance(key, str) for key in value):
        reject_nul(dict(value))
        return {key: item for key, item in value.items() if key not in NOT_SAVED}
    raise ValidationError({"params": [PARAMS_INVALID]})


def _clean_params(*, actor: User, team: Team, params: Any) -> dict[str, list[str]]:
    raw = _params(params)
    if isinstance(raw, QueryDict):
        raw = {key: raw.getlist(key) for key in raw if key not in NOT_SAVED}
    try:
        query = inbox_query_from_params(raw, user=actor, team=team, ignore_blank=True)
    except ValidationError as error:
        raise ValidationError({"params": error.messages}) from error
    return query.to_params()


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": [NAME_REQUIRED]})
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError({"name": [NAME_TOO_LONG]})
    reject_nul(name)
    return name


def _name_taken(view: SavedView) -> ValidationError:
    if view.owner_id is None:
        message = NAME_TAKEN_SHARED.format(team=view.team, name=view.name)
    else:
        message = NAME_TAKEN_PERSONAL.format(name=view.name)
    return ValidationError({"name": [message]})


def _check_name_free(view: SavedView) -> None:
    others = SavedView.objects.filter(
        team=view.team, owner_id=view.owner_id, name_key=normalised_key(view.name)
    ).exclude(pk=view.pk)
    if others.exists():
        raise _name_taken(view)


def _save(view: SavedView) -> None:
    _check_name_free(view)
    try:
        with transaction.atomic():
            view.save()
    except IntegrityError as error:
        # A concurrent writer took the name between the check and the save.
        raise _name_taken(view) from error
    team_choices_changed(view.team_id)


def _require_may_change(actor: User, view: SavedView) -> None:
    if view.owner_id is None:
        access.require_team_role(actor, view.team, Role.LEAD)
    elif view.owner_id != getattr(actor, "pk", None):
        raise PermissionDenied(NOT_YOUR_VIEW)


def saved_view_create(
    *, actor: User, team: Team, name: str, params: Any, shared: bool = False
) -> SavedView:
    """A new view of ``team``'s inbox: the actor's own (agents and above), or shared with the
    team (leads and above)."""
    access.require_team_role(actor, team, Role.LEAD if shared else Role.AGENT)
    view = SavedView(
        team=team,
        owner=None if shared else actor,
        name=_clean_name(name),
        params=_clean_params(actor=actor, team=team, params=params),
        created_by=actor,
    )
    with transaction.atomic():
        _save(view)
        if shared:
            audit(actor=actor, action="saved_view.created", target=view, team=team)
    return view


def saved_view_update(
    *, actor: User, view: SavedView, name: str | None = None, params: Any = None
) -> SavedView:
    """Rename a view or change its filters: its owner, or for a shared view a lead."""
    _require_may_change(actor, view)
    before = {"name": view.name, "params": view.params}
    if name is not None:
        view.name = _clean_name(name)
    if params is not None:
        view.params = _clean_params(actor=actor, team=view.team, params=params)
    changes = {
        field: {"from": before[field], "to": getattr(view, field)}
        for field in before
        if before[field] != getattr(view, field)
    }
    if not changes:
        return view
    with transaction.atomic():
        _save(view)
        if view.owner_id is None:
            audit(
                actor=actor,
                action="saved_view.updated",
                target=view,
                team=view.team,
                changes=changes,
            )
    return view


def saved_view_rename(*, actor: User, view: SavedView, name: str) -> SavedView:
    return saved_view_update(actor=actor, view=view, name=name)


def saved_view_delete(*, actor: User, view: SavedView) -> None:
    _require_may_change(actor, view)
    with transaction.atomic():
        if view.owner_id is None:
            audit(actor=actor, action="saved_view.deleted", target=view, team=view.team)
        view.delete()
        team_choices_changed(view.team_id)
