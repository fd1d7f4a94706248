"""Writes for teams, memberships, the customer directory and the North Star.

Each function is keyword-only, checks who may act, owns its transaction and raises
``ValidationError`` with a message a person can act on.
"""

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, validate_slug
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from portal import access, events
from portal.models import (
    Account,
    AccountDomain,
    Customer,
    CustomerEmail,
    Membership,
    NorthStarMeasurement,
    NorthStarMetric,
    Role,
    Segment,
    Team,
    Tier,
    ValueStream,
)

TEAM_NAME_TAKEN = "A team called {name!r} already exists."
TEAM_SLUG_TAKEN = "The short name {slug!r} is already used by another team."
VALUE_STREAM_TAKEN = "A value stream called {name!r} already exists."
ALREADY_MEMBER = "{user} is already a member of {team}."
LAST_ADMIN = "{team} needs at least one admin: make someone else admin first."
INVALID_ROLE = "Choose one of the roles: viewer, agent, lead, admin."
EMAIL_INVALID = "{email!r} is not a valid e-mail address."
EMAIL_TAKEN = "The address {email} already belongs to another customer."
EXTERNAL_ID_TAKEN = "The external id {external_id!r} is already used."
ACCOUNT_NAME_TAKEN = "An account called {name!r} already exists."
DOMAIN_INVALID = "{domain!r} is not a valid domain name."
DOMAIN_TAKEN = "The domain {domain} already belongs to the account {account}."
MRR_NEGATIVE = "MRR cannot be negative."
NOT_A_NUMBER = "{value!r} is not a number."
INVALID_TIER = "Choose one of the tiers: standard, priority, vip."
INVALID_SEGMENT = "Choose one of the segments: smb, mid_market, enterprise (or leave it empty)."
ATTRIBUTES_INVALID = (
    "Attributes must be a JSON object of at most 50 keys (each up to 64 characters) whose "
    "values are text (up to 500 characters), numbers, true/false or null."
)
NORTH_STAR_MISSING = "Define the North Star metric before recording measurements."
TOO_MANY_OTHER_EMAILS = "A customer may have at most 20 further addresses."

MAX_ATTRIBUTES = 50
MAX_OTHER_EMAILS = 20

_email_validator = EmailValidator()


# Normalisation ---------------------------------------------------------------------------


def normalize_email(raw: str) -> str:
    """Trim and lower-case an address; raise ValidationError when it is not one."""
    email = (raw or "").strip().lower()
    try:
        _email_validator(email)
    except ValidationError as error:
        raise ValidationError(EMAIL_INVALID.format(email=raw)) from error
    return email


def normalize_domain(raw: str) -> str:
    domain = (raw or "").strip().lower().lstrip("@").rstrip(".")
    try:
        _email_validator(f"postmaster@{domain}")
    except ValidationError as error:
        raise ValidationError(DOMAIN_INVALID.format(domain=raw)) from error
    return domain


def validate_attributes(attributes: Any) -> dict[str, Any]:
    if attributes is None:
        return {}
    if not isinstance(attributes, dict) or len(attributes) > MAX_ATTRIBUTES:
        raise ValidationError(ATTRIBUTES_INVALID)
    for key, value in attributes.items():
        if not isinstance(key, str) or not key.strip() or len(key) > 64:
            raise ValidationError(ATTRIBUTES_INVALID)
        if isinstance(value, str):
            if len(value) > 500:
                raise ValidationError(ATTRIBUTES_INVALID)
        elif value is not None and not isinstance(value, bool | int | float):
            raise ValidationError(ATTRIBUTES_INVALID)
    # Round-trip through JSON so that what is stored is exactly what will be read back.
    return json.loads(json.dumps(attributes))


def to_decimal(value: Any, field: str) -> Decimal:
    """A finite Decimal from user input, or a ValidationError naming the field."""
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as error:
        raise ValidationError({field: NOT_A_NUMBER.format(value=value)}) from error
    if not number.is_finite():
        raise ValidationError({field: NOT_A_NUMBER.format(value=value)})
    return number


def _full_clean(instance, exclude: list[str] | None = None) -> None:
    instance.full_clean(exclude=exclude, validate_constraints=False)


# Value streams and teams -----------------------------------------------------------------


@transaction.atomic
def value_stream_create(
    *, actor: AbstractBaseUser, name: str, description: str = "", slug: str = ""
) -> ValueStream:
    access.require_superuser(actor)
    stream = ValueStream(
        name=name.strip(), slug=slug or slugify(name)[:60], description=description
    )
    # The case-insensitive check comes before full_clean, whose exact-match unique check
    # would otherwise answer with Django's generic message.
    if ValueStream.objects.filter(name__iexact=stream.name).exists():
        raise ValidationError({"name": VALUE_STREAM_TAKEN.format(name=stream.name)})
    _full_clean(stream)
    stream.save()
    return stream


@transaction.atomic
def value_stream_update(
    *, actor: AbstractBaseUser, value_stream: ValueStream, name: str, description: str = ""
) -> ValueStream:
    access.require_superuser(actor)
    value_stream.name = name.strip()
    value_stream.description = description
    if (
        ValueStream.objects.filter(name__iexact=value_stream.name)
        .exclude(pk=value_stream.pk)
        .exists()
    ):
        raise ValidationError({"name": VALUE_STREAM_TAKEN.format(name=value_stream.name)})
    _full_clean(value_stream)
    value_stream.save()
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
    team = Team(
        name=name.strip(),
        slug=(slug or slugify(name))[:60],
        mission=mission,
        value_stream=value_stream,
    )
    # The uniqueness checks come before full_clean, whose exact-match unique checks would
    # otherwise answer with Django's generic messages.
    if Team.objects.filter(name__iexact=team.name).exists():
        raise ValidationError({"name": TEAM_NAME_TAKEN.format(name=team.name)})
    if Team.objects.filter(slug=team.slug).exists():
        raise ValidationError({"slug": TEAM_SLUG_TAKEN.format(slug=team.slug)})
    _full_clean(team, exclude=["slug"] if not team.slug else None)
    validate_slug(team.slug)
    team.save()
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
    team.name = name.strip()
    team.mission = mission
    team.value_stream = value_stream
    if Team.objects.filter(name__iexact=team.name).exclude(pk=team.pk).exists():
        raise ValidationError({"name": TEAM_NAME_TAKEN.format(name=team.name)})
    _full_clean(team)
    team.save()
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
    membership.role = role
    membership.save(update_fields=["role"])
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
    membership.delete()
    _forget_roles(actor, passed, membership)
    events.emit("portal.membership_changed", team_id=team_id, user_id=user_id)


# Accounts ----------------------------------------------------------------------------------


def _set_domains(account: Account, domains: list[str]) -> None:
    wanted = []
    for raw in domains:
        if raw and raw.strip():
            domain = normalize_domain(raw)
            if domain not in wanted:
                wanted.append(domain)
    owner = AccountDomain.objects.filter(domain__in=wanted).exclude(account=account)
    clash = owner.select_related("account").first()
    if clash:
        raise ValidationError(
            {"domains": DOMAIN_TAKEN.format(domain=clash.domain, account=clash.account)}
        )
    account.domains.exclude(domain__in=wanted).delete()
    existing = set(account.domains.values_list("domain", flat=True))
    AccountDomain.objects.bulk_create(
        [AccountDomain(account=account, domain=d) for d in wanted if d not in existing]
    )


def _save_account(account: Account, domains: list[str] | None) -> Account:
    if account.segment and account.segment not in Segment.values:
        raise ValidationError({"segment": INVALID_SEGMENT})
    if account.mrr is not None and Decimal(account.mrr) < 0:
        raise ValidationError({"mrr": MRR_NEGATIVE})
    _full_clean(account)
    others = Account.objects.exclude(pk=account.pk)
    if others.filter(name__lower=account.name.lower()).exists():
        raise ValidationError({"name": ACCOUNT_NAME_TAKEN.format(name=account.name)})
    if account.external_id and others.filter(external_id=account.external_id).exists():
        raise ValidationError(
            {"external_id": EXTERNAL_ID_TAKEN.format(external_id=account.external_id)}
        )
    account.save()
    if domains is not None:
        _set_domains(account, domains)
    return account


@transaction.atomic
def account_create(
    *,
    actor: AbstractBaseUser,
    name: str,
    domains: list[str] | None = None,
    plan: str = "",
    segment: str = "",
    mrr: Decimal | str | int = Decimal("0"),
    owner: AbstractBaseUser | None = None,
    external_id: str = "",
) -> Account:
    access.require_directory_editor(actor)
    account = Account(
        name=(name or "").strip(),
        plan=plan.strip(),
        segment=segment,
        mrr=to_decimal(mrr, "mrr"),
        owner=owner,
        external_id=external_id.strip(),
    )
    return _save_account(account, domains or [])


_ACCOUNT_FIELDS = ("name", "plan", "segment", "mrr", "owner", "external_id")


@transaction.atomic
def account_update(
    *, actor: AbstractBaseUser, account: Account, domains: list[str] | None = None, **fields: Any
) -> Account:
    """Change the given fields; ``domains`` replaces the account's domains when given."""
    access.require_directory_editor(actor)
    unknown = set(fields) - set(_ACCOUNT_FIELDS)
    if unknown:
        raise TypeError(f"account_update() got unexpected fields: {', '.join(sorted(unknown))}")
    for field, value in fields.items():
        if field == "mrr":
            value = to_decimal(value, "mrr")
        elif isinstance(value, str):
            value = value.strip()
        setattr(account, field, value)
    return _save_account(account, domains)


# Customers ---------------------------------------------------------------------------------


def _check_email_free(email: str, customer: Customer) -> None:
    taken = Customer.objects.filter(email__lower=email).exclude(pk=customer.pk).exists() or (
        # customer_id rather than customer: a new, unsaved customer may not be used in a filter.
        CustomerEmail.objects.filter(email__lower=email).exclude(customer_id=customer.pk).exists()
    )
    if taken:
        raise ValidationError({"email": EMAIL_TAKEN.format(email=email)})


def _set_other_emails(customer: Customer, other_emails: list[str]) -> None:
    wanted = []
    for raw in other_emails:
        if raw and raw.strip():
            email = normalize_email(raw)
            if email != customer.email and email not in wanted:
                wanted.append(email)
    if len(wanted) > MAX_OTHER_EMAILS:
        raise ValidationError({"other_emails": TOO_MANY_OTHER_EMAILS})
    for email in wanted:
        _check_email_free(email, customer)
    customer.other_emails.exclude(email__in=wanted).delete()
    existing = set(customer.other_emails.values_list("email", flat=True))
    CustomerEmail.objects.bulk_create(
        [CustomerEmail(customer=customer, email=e) for e in wanted if e not in existing]
    )


def _save_customer(customer: Customer, other_emails: list[str] | None) -> Customer:
    customer.email = normalize_email(customer.email)
    if customer.tier not in Tier.values:
        raise ValidationError({"tier": INVALID_TIER})
    customer.attributes = validate_attributes(customer.attributes)
    _full_clean(customer)
    _check_email_free(customer.email, customer)
    if (
        customer.external_id
        and Customer.objects.filter(external_id=customer.external_id)
        .exclude(pk=customer.pk)
        .exists()
    ):
        raise ValidationError(
            {"external_id": EXTERNAL_ID_TAKEN.format(external_id=customer.external_id)}
        )
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError as error:
        # A concurrent writer took the address between the check and the save.
        raise ValidationError({"email": EMAIL_TAKEN.format(email=customer.email)}) from error
    if other_emails is not None:
        _set_other_emails(customer, other_emails)
    events.emit("portal.customer_saved", customer_id=customer.pk)
    return customer


@transaction.atomic
def customer_create(
    *,
    actor: AbstractBaseUser,
    email: str,
    name: str = "",
    account: Account | None = None,
    tier: str = Tier.STANDARD,
    attributes: dict[str, Any] | None = None,
    other_emails: list[str] | None = None,
    external_id: str = "",
) -> Customer:
    access.require_directory_editor(actor)
    customer = Customer(
        email=email,
        name=(name or "").strip(),
        account=account,
        tier=tier or Tier.STANDARD,
        attributes=attributes or {},
        external_id=(external_id or "").strip(),
    )
    return _save_customer(customer, other_emails or [])


_CUSTOMER_FIELDS = ("email", "name", "account", "tier", "attributes", "external_id")


@transaction.atomic
def customer_update(
    *,
    actor: AbstractBaseUser,
    customer: Customer,
    other_emails: list[str] | None = None,
    **fields: Any,
) -> Customer:
    """Change the given fields; ``other_emails`` replaces the further addresses when given."""
    access.require_directory_editor(actor)
    unknown = set(fields) - set(_CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"customer_update() got unexpected fields: {', '.join(sorted(unknown))}")
    for field, value in fields.items():
        setattr(customer, field, value.strip() if isinstance(value, str) else value)
    return _save_customer(customer, other_emails)


# North Star --------------------------------------------------------------------------------


@transaction.atomic
def north_star_set(
    *, actor: AbstractBaseUser, name: str, definition: str = "", unit: str = ""
) -> NorthStarMetric:
    access.require_superuser(actor)
    metric = NorthStarMetric.objects.filter(pk=NorthStarMetric.SINGLETON_ID).first()
    metric = metric or NorthStarMetric(pk=NorthStarMetric.SINGLETON_ID)
    metric.name = (name or "").strip()
    metric.definition = definition
    metric.unit = (unit or "").strip()
    _full_clean(metric)
    metric.save()
    return metric


@transaction.atomic
def north_star_measurement_record(
    *,
    actor: AbstractBaseUser,
    measured_on: date,
    value: Decimal | str | int | float,
    note: str = "",
) -> tuple[NorthStarMeasurement, bool]:
    """Record the value for a day; a second value for the same day replaces the first.
    Returns the measurement and whether it was created."""
    access.require_north_star_recorder(actor)
    metric = NorthStarMetric.objects.filter(pk=NorthStarMetric.SINGLETON_ID).first()
    if metric is None:
        raise ValidationError(NORTH_STAR_MISSING)
    candidate = NorthStarMeasurement(
        metric=metric,
        measured_on=measured_on,
        value=to_decimal(value, "value"),
        note=(note or "").strip(),
        recorded_by=actor,
    )
    _full_clean(candidate, exclude=["metric", "recorded_by"])
    measurement, created = NorthStarMeasurement.objects.update_or_create(
        metric=metric,
        measured_on=measured_on,
        defaults={"value": candidate.value, "note": candidate.note, "recorded_by": actor},
    )
    events.emit("portal.north_star_measured", measurement_id=measurement.pk)
    return measurement, created


@transaction.atomic
def north_star_measurement_delete(
    *, actor: AbstractBaseUser, measurement: NorthStarMeasurement
) -> None:
    access.require_north_star_recorder(actor)
    measurement.delete()
