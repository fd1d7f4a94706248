"""A team's SLA policies (hours per priority) and its rules for priority customers (plans and
an MRR threshold): what its leads set, from the settings page or the API.

Changes apply to items that arrive afterwards and to customers re-evaluated afterwards; the
items already in the inbox keep their due times (``feedback.services.sla`` says why).
"""

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from feedback.models import InboxSettings, ItemPriority, SlaPolicy
from portal import access
from portal.actors import SystemActor
from portal.models import Account, Role, Team
from portal.services.audit import audit, changes_between, snapshot
from portal.services.common import to_decimal
from portal.validation import contains_nul

Actor = AbstractBaseUser | SystemActor

# Five years: a due time stays far from the end of the calendar, and no promise is longer.
MAX_HOURS = 24 * 366 * 5
MAX_PLANS = 50
MAX_PLAN_LENGTH = Account._meta.get_field("plan").max_length
MAX_MRR = Decimal("9999999999.99")

HOURS_INVALID = f"Give the hours as a whole number from 1 to {MAX_HOURS}."
RESOLUTION_BEFORE_FIRST_RESPONSE = (
    "The resolution time must be at least the first response time ({hours} hours)."
)
PRIORITY_UNKNOWN = "Unknown priority {value!r}: choose one of normal, high, urgent."
POLICY_EXISTS = "{team} already has an SLA policy for {priority} priority: change that one."
PLANS_NOT_LIST = "Give the plans as a list of plan names."
PLAN_EMPTY = "A plan name cannot be empty."
PLAN_TOO_LONG = f"A plan name has at most {MAX_PLAN_LENGTH} characters ({{plan!r}} is longer)."
PLAN_TWICE = "The plan {plan!r} is named twice (names are compared without case)."
PLAN_HAS_NUL = "Remove the NUL character (\\u0000) from the plan names."
TOO_MANY_PLANS = f"Name at most {MAX_PLANS} plans."
MRR_NEGATIVE = "The MRR threshold cannot be negative."
MRR_TOO_LARGE = f"The MRR threshold can be at most {MAX_MRR}, with at most two decimals."

ACTION_POLICY_CREATED = "sla_policy.created"
ACTION_POLICY_UPDATED = "sla_policy.updated"
ACTION_POLICY_DELETED = "sla_policy.deleted"
ACTION_SETTINGS_UPDATED = "inbox_settings.updated"
_POLICY_FIELDS = ("priority", "first_response_hours", "resolution_hours")
_SETTINGS_FIELDS = ("priority_plans", "priority_mrr_threshold")


def _hours(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise ValidationError({field: HOURS_INVALID})
    try:
        hours = int(str(value).strip()) if isinstance(value, str) else value
    except ValueError:
        raise ValidationError({field: HOURS_INVALID}) from None
    if not isinstance(hours, int) or not 1 <= hours <= MAX_HOURS:
        raise ValidationError({field: HOURS_INVALID})
    return hours


def policy_clean(priority: Any, first_response_hours: Any, resolution_hours: Any) -> tuple:
    """The policy's values checked: a known priority, whole positive hours, and a resolution
    no sooner than the first response. Every refusal names its field."""
    errors: dict[str, list[str]] = {}
    if priority not in ItemPriority.values:
        errors["priority"] = [PRIORITY_UNKNOWN.format(value=priority)]
    checked: dict[str, int] = {}
    for field, value in (
        ("first_response_hours", first_response_hours),
        ("resolution_hours", resolution_hours),
    ):
        try:
            checked[field] = _hours(value, field)
        except ValidationError as error:
            errors.update(error.message_dict)
    if len(checked) == 2 and checked["resolution_hours"] < checked["first_response_hours"]:
        errors["resolution_hours"] = [
            RESOLUTION_BEFORE_FIRST_RESPONSE.format(hours=checked["first_response_hours"])
        ]
    if errors:
        raise ValidationError(errors)
    return priority, checked["first_response_hours"], checked["resolution_hours"]


def _save_policy(policy: SlaPolicy) -> None:
    try:
        with transaction.atomic():
            policy.save()
    except IntegrityError:
        raise ValidationError(
            {"priority": POLICY_EXISTS.format(team=policy.team, priority=policy.priority)}
        ) from None


@transaction.atomic
def sla_policy_create(
    *,
    actor: Actor,
    team: Team,
    priority: str,
    first_response_hours: int,
    resolution_hours: int,
) -> SlaPolicy:
    """A team's service levels for one priority (its leads); one policy per priority."""
    access.require_team_role(actor, team, Role.LEAD)
    priority, first, resolution = policy_clean(priority, first_response_hours, resolution_hours)
    if SlaPolicy.objects.filter(team=team, priority=priority).exists():
        raise ValidationError({"priority": POLICY_EXISTS.format(team=team, priority=priority)})
    policy = SlaPolicy(
        team=team, priority=priority, first_response_hours=first, resolution_hours=resolution
    )
    _save_policy(policy)
    audit(
        actor=actor,
        action=ACTION_POLICY_CREATED,
        target=policy,
        team=team,
        changes=changes_between(None, snapshot(policy, _POLICY_FIELDS)),
    )
    return policy


_UNSET: Any = object()


@transaction.atomic
def sla_policy_update(
    *,
    actor: Actor,
    policy: SlaPolicy,
    priority: Any = _UNSET,
    first_response_hours: Any = _UNSET,
    resolution_hours: Any = _UNSET,
) -> SlaPolicy:
    """Change what is given of the policy; the rest keeps its values."""
    access.require_team_role(actor, policy.team, Role.LEAD)
    before = snapshot(policy, _POLICY_FIELDS)
    wanted = (
        policy.priority if priority is _UNSET else priority,
        policy.first_response_hours if first_response_hours is _UNSET else first_response_hours,
        policy.resolution_hours if resolution_hours is _UNSET else resolution_hours,
    )
    policy.priority, policy.first_response_hours, policy.resolution_hours = policy_clean(*wanted)
    after = snapshot(policy, _POLICY_FIELDS)
    if before == after:
        return policy
    if (
        SlaPolicy.objects.filter(team=policy.team, priority=policy.priority)
        .exclude(pk=policy.pk)
        .exists()
    ):
        raise ValidationError(
            {"priority": POLICY_EXISTS.format(team=policy.team, priority=policy.priority)}
        )
    _save_policy(policy)
    audit(
        actor=actor,
        action=ACTION_POLICY_UPDATED,
        target=policy,
        team=policy.team,
        changes=changes_between(before, after),
    )
    return policy


@transaction.atomic
def sla_policy_delete(*, actor: Actor, policy: SlaPolicy) -> None:
    """Items of that priority arriving afterwards get no due times."""
    access.require_team_role(actor, policy.team, Role.LEAD)
    audit(
        actor=actor,
        action=ACTION_POLICY_DELETED,
        target=policy,
        team=policy.team,
        changes=changes_between(snapshot(policy, _POLICY_FIELDS), None),
    )
    policy.delete()


@transaction.atomic
def sla_policies_set(
    *, actor: Actor, team: Team, hours: dict[str, tuple[Any, Any] | None]
) -> list[SlaPolicy]:
    """The settings page's one form: for each priority named, its (first response, resolution)
    hours, or None for no policy. All or nothing; refusals name ``<priority>_<field>``."""
    access.require_team_role(actor, team, Role.LEAD)
    existing = {policy.priority: policy for policy in SlaPolicy.objects.filter(team=team)}
    errors: dict[str, list[str]] = {}
    for priority, pair in hours.items():
        if pair is None:
            continue
        try:
            policy_clean(priority, *pair)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                errors[f"{priority}_{field}"] = messages
    if errors:
        raise ValidationError(errors)
    for priority, pair in hours.items():
        policy = existing.get(priority)
        if pair is None:
            if policy is not None:
                sla_policy_delete(actor=actor, policy=policy)
        elif policy is None:
            sla_policy_create(
                actor=actor,
                team=team,
                priority=priority,
                first_response_hours=pair[0],
                resolution_hours=pair[1],
            )
        else:
            sla_policy_update(
                actor=actor, policy=policy, first_response_hours=pair[0], resolution_hours=pair[1]
            )
    return list(SlaPolicy.objects.filter(team=team))


# Priority customers --------------------------------------------------------------------------


def plans_clean(plans: Any) -> list[str]:
    """Plan names trimmed, each once (without case), in the order given."""
    if not isinstance(plans, list | tuple):
        raise ValidationError({"priority_plans": PLANS_NOT_LIST})
    if len(plans) > MAX_PLANS:
        raise ValidationError({"priority_plans": TOO_MANY_PLANS})
    cleaned: list[str] = []
    seen: set[str] = set()
    for plan in plans:
        if not isinstance(plan, str):
            raise ValidationError({"priority_plans": PLANS_NOT_LIST})
        if contains_nul(plan):
            raise ValidationError({"priority_plans": PLAN_HAS_NUL})
        name = " ".join(plan.split())
        if not name:
            raise ValidationError({"priority_plans": PLAN_EMPTY})
        if len(name) > MAX_PLAN_LENGTH:
            raise ValidationError({"priority_plans": PLAN_TOO_LONG.format(plan=name)})
        if name.casefold() in seen:
            raise ValidationError({"priority_plans": PLAN_TWICE.format(plan=name)})
        seen.add(name.casefold())
        cleaned.append(name)
    return cleaned


def threshold_clean(value: Any) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    threshold = to_decimal(value, "priority_mrr_threshold")
    if threshold < 0:
        raise ValidationError({"priority_mrr_threshold": MRR_NEGATIVE})
    if threshold > MAX_MRR or threshold != threshold.quantize(Decimal("0.01")):
        raise ValidationError({"priority_mrr_threshold": MRR_TOO_LARGE})
    return threshold.quantize(Decimal("0.01"))


def inbox_settings_for(team: Team) -> InboxSettings:
    """The team's settings, or unsaved defaults (no plans, no threshold) when it has none."""
    return InboxSettings.objects.filter(team=team).first() or InboxSettings(team=team)


@transaction.atomic
def inbox_settings_update(
    *,
    actor: Actor,
    team: Team,
    priority_plans: Any = _UNSET,
    priority_mrr_threshold: Any = _UNSET,
) -> InboxSettings:
    """The team's rules for priority customers (its leads): the plans whose customers are
    high priority and the MRR from which an account's customers are."""
    access.require_team_role(actor, team, Role.LEAD)
    # get_or_create settles two first saves at once; the lock orders later ones.
    settings, created = InboxSettings.objects.get_or_create(team=team)
    settings = InboxSettings.objects.select_for_update().get(pk=settings.pk)
    before = snapshot(settings, _SETTINGS_FIELDS)
    errors: dict[str, list[str]] = {}
    if priority_plans is not _UNSET:
        try:
            settings.priority_plans = plans_clean(priority_plans)
        except ValidationError as error:
            errors.update(error.message_dict)
    if priority_mrr_threshold is not _UNSET:
        try:
            settings.priority_mrr_threshold = threshold_clean(priority_mrr_threshold)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    after = snapshot(settings, _SETTINGS_FIELDS)
    if before == after and not created:
        return settings
    settings.save()
    audit(
        actor=actor,
        action=ACTION_SETTINGS_UPDATED,
        target=settings,
        team=team,
        changes=changes_between(before, after),
    )
    return settings
