"""Writes for a person's own portal settings: display time zone, digest, last team.

A profile row is created by the first of these writes; reads before then get the defaults
from ``selectors.profile_get`` without writing.
"""

import zoneinfo
from functools import cache

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from portal import access, selectors
from portal.actors import is_system
from portal.models import Team, UserProfile

TIME_ZONE_UNKNOWN = (
    "{value!r} is not a time zone this portal knows: choose one from the list, "
    "such as Europe/Vienna, or the portal's default."
)
PROFILE_NEEDS_PERSON = "Only a signed-in person has a profile."
NOT_A_MEMBER = "You are not a member of {team}."


@cache
def available_time_zones() -> frozenset[str]:
    """The IANA zones this installation can load (``UTC`` always among them)."""
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def validate_time_zone(value: str) -> str:
    """An IANA zone name, or "" for the portal's default (PORTAL_TIME_ZONE)."""
    value = (value or "").strip()
    if value and value not in available_time_zones():
        raise ValidationError({"time_zone": TIME_ZONE_UNKNOWN.format(value=value)})
    return value


def _require_person(actor: AbstractBaseUser) -> None:
    if is_system(actor) or not actor.is_authenticated or not actor.is_active:
        raise PermissionDenied(PROFILE_NEEDS_PERSON)


def _locked_profile(user: AbstractBaseUser) -> UserProfile:
    profile, _created = UserProfile.objects.select_for_update().get_or_create(user=user)
    return profile


def _remember(user: AbstractBaseUser, profile: UserProfile) -> None:
    """Keep the copy ``selectors.profile_get`` caches on the user object current."""
    setattr(user, selectors.PROFILE_CACHE_ATTRIBUTE, profile)


@transaction.atomic
def profile_update(
    *, actor: AbstractBaseUser, time_zone: str = "", email_digest: bool = False
) -> UserProfile:
    """Change the actor's own settings; nobody edits another person's profile."""
    _require_person(actor)
    time_zone = validate_time_zone(time_zone)
    profile = _locked_profile(actor)
    profile.time_zone = time_zone
    profile.email_digest = bool(email_digest)
    profile.save(update_fields=["time_zone", "email_digest", "updated_at"])
    _remember(actor, profile)
    return profile


@transaction.atomic
def profile_set_last_team(*, actor: AbstractBaseUser, team: Team) -> UserProfile:
    """Remember the team the actor switched to, for their next session."""
    _require_person(actor)
    if access.role_in(actor, team) is None:
        raise PermissionDenied(NOT_A_MEMBER.format(team=team))
    profile = _locked_profile(actor)
    if profile.last_team_id != team.pk:
        profile.last_team = team
        profile.save(update_fields=["last_team", "updated_at"])
    _remember(actor, profile)
    return profile
