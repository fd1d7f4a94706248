"""Writes for value streams, teams and memberships."""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from portal import access, events
from portal.fields import normalised_key
from portal.models import Membership, Role, Team, ValueStream
from portal.services.audit import audit, changes_between, snapshot
from portal.services.common import full_clean, reject_nul_fields, unique_slug

TEAM_NAME_TAKEN = "A team called {name!r} already exists."
TEAM_SLUG_TAKEN = "The short name {slug!r} is already used by another team."
VALUE_STREAM_TAKEN = "A value stream called {name!r} already exists."
VALUE_STREAM_SLUG_TAKEN = "The short name {slug!r} is already used by another value stream."
ALREADY_MEMBER = "{user} is already a member of {team}."
LAST_ADMIN = "{team} needs at least one admin: make someone else admin first."
INVALID_ROLE = f"Choose one of the roles: {', '.join(Role.values)}."

_VALUE_STREAM_AUDITED = ("name", "slug", "description")
_TEAM_AUDITED = ("name", "slug", "mission", "value_stream")

# Attempts at a derived slug when concurrent creations take the free one first.
_SLUG_ATTEMPTS = 3


def _slug_taken(model: type[Team] | type[ValueStream], slug: str) -> bool:
    return model.objects.filter(slug=slug).exists()


def _create_with_slug(
    instance: Team | ValueStream, *, slug: str, fallback: str, slug_taken: str, name_taken: str
) -> None:
    """Save a new team or value stream under ``slug``, or, when none is given, under one
    derived from its name in any script, made unique with a suffix (``-2``); a name with
    nothing a slug can hold gets ``fallback``. A person only hears about a slug they chose
    themselves; a derived one never needs their attention. Checks the rest with full_clean."""
    model = type(instance)
    max_length = model._meta.get_field("slug").max_length
    for _attempt in range(_SLUG_ATTEMPTS):
        if slug:
            instance.slug = slug.strip()
            if _slug_taken(model, instance.slug):
                raise ValidationError({"slug": slug_taken.format(slug=instance.slug)})
        else:
            instance.slug = unique_slug(
                instance.name,
                fallback=fallback,
                max_length=max_length,
                taken=lambda candidate: _slug_taken(model, candidate),
            )
        full_clean(instance)
        try:
            with transaction.atomic():
                instance.save()
            return
        except IntegrityError as error:
            # A concurrent creation took the name or the slug between the checks and the save.
            if model.objects.filter(name_key=normalised_key(instance.name)).exists():
                raise ValidationError({"name": name_taken.format(name=instance.name)}) from error
            if slug:
                raise ValidationError({"slug": slug_taken.format(slug=instance.slug)}) from error
    raise ValidationError({"slug": slug_taken.format(slug=instance.slug)})


@transaction.atomic
def value_stream_create(
    *, actor: AbstractBaseUser, name: str, description: str = "", slug: str = ""
) -> ValueStream:
    access.require_superuser(actor)
    stream = ValueStream(name=name.strip(), slug=slug, description=description)
    reject_nul_fields(stream)
    if ValueStream.objects.filter(name_key=normalised_key(stream.name)).exists():
        raise ValidationError({"name": VALUE_STREAM_TAKEN.format(name=stream.name)})
    _create_with_slug(
        stream,
        slug=slug,
        fallback="value-stream",
        slug_taken=VALUE_STREAM_SLUG_TAKEN,
        name_taken=VALUE_STREAM_TAKEN,
    )
    audit(
        actor=actor,
        action="value_stream.created",
        target=stream,
        changes=changes_between(None, snapshot(stream, _VALUE_STREAM_AUDITED)),
    )
    return stream


@transaction.atomic
def value_stream_update(
    *, actor: AbstractBaseUser, value_stream: ValueStream, name: str, description: str = ""
) -> ValueStream:
    access.require_superuser(actor)
    before = snapshot(value_stream, _VALUE_STREAM_AUDITED)
    value_stream.name = name.strip()
    value_stream.description = description
    reject_nul_fields(value_stream)
    others = ValueStream.objects.exclude(pk=value_stream.pk)
    if others.filter(name_key=normalised_key(value_stream.name)).exists():
        raise ValidationError({"name": VALUE_STREAM_TAKEN.format(name=value_stream.name)})
    full_clean(value_stream)
    value_stream.save()
    changes = changes_between(before, snapshot(value_stream, _VALUE_STREAM_AUDITED))
    if changes:
        audit(actor=actor, action="value_stream.updated", target=value_stream, changes=changes)
    return value_stream


@transaction.atomic
def team_create(
    *,
    actor: AbstractBaseUser,
    name: str,
    slug: str = "",
    mission: str = "",
    value_stream: ValueStream | None = None,
) -> Team:
    access.require_superuser(actor)
    team = Team(name=name.strip(), slug=slug, mission=mission, value_stream=value_stream)
    reject_nul_fields(team)
    # The uniqueness checks come before full_clean, whose own would answer with Django's
    # generic message, naming a field the person may not see.
    if Team.objects.filter(name_key=normalised_key(team.name)).exists():
        raise ValidationError({"name": TEAM_NAME_TAKEN.format(name=team.name)})
    _create_with_slug(
        team, slug=slug, fallback="team", slug_taken=TEAM_SLUG_TAKEN, name_taken=TEAM_NAME_TAKEN
    )
    audit(
        actor=actor,
        action="team.created",
        target=team,
        team=team,
        changes=changes_between(None, snapshot(team, _TEAM_AUDITED)),
    )
    return team


@transaction.atomic
def team_update(
    *,
    actor: AbstractBaseUser,
    team: Team,
    name: str,
    mission: str = "",
    value_stream: ValueStream | None = None,
) -> Team:
    access.require_team_role(actor, team, Role.ADMIN)
    before = snapshot(team, _TEAM_AUDITED)
    team.name = name.strip()
    team.mission = mission
    team.value_stream = value_stream
    reject_nul_fields(team)
    if Team.objects.filter(name_key=normalised_key(team.name)).exclude(pk=team.pk).exists():
        raise ValidationError({"name": TEAM_NAME_TAKEN.format(name=team.name)})
    full_clean(team)
    team.save()
    changes = changes_between(before, snapshot(team, _TEAM_AUDITED))
    if changes:
        audit(actor=actor, action="team.updated", target=team, team=team, changes=changes)
    return team


# Memberships -----------------------------------------------------------------------------


def _check_role(role: str) -> Role:
    if role not in Role.values:
        raise ValidationError({"role": INVALID_ROLE})
    return Role(role)


def _forget_roles(actor: AbstractBaseUser, passed: Membership, locked: Membership) -> None:
    """Drop cached roles on every in-memory copy of the member this call can reach: the
    re-read row's user, the user cached on the membership the caller passed, and the actor
    when they changed their own membership."""
    access.forget_team_roles(locked.user)
    if Membership.user.is_cached(passed):
        access.forget_team_roles(passed.user)
    if actor.pk == locked.user_id:
        access.forget_team_roles(actor)


def _membership_snapshot(membership: Membership) -> dict:
    return snapshot(membership, ("role",), user=membership.user.get_username())


def _keeps_an_admin(membership: Membership) -> bool:
    return (
        Membership.objects.filter(team=membership.team, role=Role.ADMIN)
        .exclude(pk=membership.pk)
        .exists()
    )


@transaction.atomic
def membership_create(
    *, actor: AbstractBaseUser, team: Team, user: AbstractBaseUser, role: str
) -> Membership:
    access.require_team_role(actor, team, Role.ADMIN)
    role = _check_role(role)
    if Membership.objects.filter(team=team, user=user).exists():
        raise ValidationError({"user": ALREADY_MEMBER.format(user=user, team=team)})
    membership = Membership.objects.create(team=team, user=user, role=role)
    audit(
        actor=actor,
        action="membership.created",
        target=membership,
        team=team,
        changes=changes_between(None, _membership_snapshot(membership)),
    )
    access.forget_team_roles(user)
    events.emit("portal.membership_changed", team_id=team.pk, user_id=user.pk)
    return membership


@transaction.atomic
def membership_update(*, actor: AbstractBaseUser, membership: Membership, role: str) -> Membership:
    access.require_team_role(actor, membership.team, Role.ADMIN)
    role = _check_role(role)
    passed = membership
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.role == Role.ADMIN and role != Role.ADMIN and not _keeps_an_admin(membership):
        raise ValidationError({"role": LAST_ADMIN.format(team=membership.team)})
    before = _membership_snapshot(membership)
    membership.role = role
    membership.save(update_fields=["role"])
    changes = changes_between(before, _membership_snapshot(membership))
    if changes:
        audit(
            actor=actor,
            action="membership.updated",
            target=membership,
            team=membership.team,
            changes=changes,
        )
    _forget_roles(actor, passed, membership)
    events.emit("portal.membership_changed", team_id=membership.team_id, user_id=membership.user_id)
    return membership


@transaction.atomic
def membership_delete(*, actor: AbstractBaseUser, membership: Membership) -> None:
    access.require_team_role(actor, membership.team, Role.ADMIN)
    passed = membership
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.role == Role.ADMIN and not _keeps_an_admin(membership):
        raise ValidationError(LAST_ADMIN.format(team=membership.team))
    team_id, user_id = membership.team_id, membership.user_id
    # Recorded before the row goes, while the membership still has its id.
    audit(
        actor=actor,
        action="membership.deleted",
        target=membership,
        team=membership.team,
        changes=changes_between(_membership_snapshot(membership), None),
    )
    membership.delete()
    _forget_roles(actor, passed, membership)
    events.emit("portal.membership_changed", team_id=team_id, user_id=user_id)
