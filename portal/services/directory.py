"""Writes for the organisation-wide directory: accounts and customers."""

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from portal import access, events
from portal.fields import normalised_key
from portal.models import (
    Account,
    AccountDomain,
    Customer,
    CustomerEmail,
    CustomerIdentity,
    Segment,
    Tier,
)
from portal.services.audit import Snapshot, audit, changes_between, snapshot
from portal.services.common import (
    full_clean,
    normalize_domain,
    normalize_email,
    to_decimal,
    validate_attributes,
)
from portal.services.identities import identities_clean, identities_snapshot, identities_taken

EMAIL_TAKEN = "The address {email} already belongs to another customer."
EXTERNAL_ID_TAKEN = "The external id {external_id!r} is already used."
ACCOUNT_NAME_TAKEN = "An account called {name!r} already exists."
DOMAIN_TAKEN = "The domain {domain} already belongs to the account {account}."
MRR_NEGATIVE = "MRR cannot be negative."
INVALID_TIER = f"Choose one of the tiers: {', '.join(Tier.values)}."
INVALID_SEGMENT = f"Choose one of the segments: {', '.join(Segment.values)} (or leave it empty)."
CUSTOMER_MERGED = "{customer} was merged into {target}; change {target} instead."
MAX_OTHER_EMAILS = 20
TOO_MANY_OTHER_EMAILS = f"A customer may have at most {MAX_OTHER_EMAILS} further addresses."

_ACCOUNT_AUDITED = ("name", "plan", "segment", "mrr", "owner", "external_id")
CUSTOMER_AUDITED = ("email", "name", "account", "tier", "attributes", "external_id")


# Accounts ----------------------------------------------------------------------------------


CUSTOMER_UNKNOWN = (
    "Give the customer a name, an e-mail address, a handle on another channel or an external id: "
    "a customer known by nothing cannot be told apart from any other."
)


def _set_domains(account: Account, domains: list[str], *, created: bool) -> None:
    """Make ``domains`` the account's domains; a just-created account has none to compare."""
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
    existing: set[str] = set()
    if not created:
        account.domains.exclude(domain__in=wanted).delete()
        existing = set(account.domains.values_list("domain", flat=True))
    AccountDomain.objects.bulk_create(
        [AccountDomain(account=account, domain=d) for d in wanted if d not in existing]
    )


def _account_snapshot(account: Account, *, with_domains: bool) -> Snapshot:
    # Read from the table rather than a prefetch, which a write may have made stale.
    if not with_domains:
        return snapshot(account, _ACCOUNT_AUDITED)
    domains = AccountDomain.objects.filter(account=account).order_by("domain")
    return snapshot(account, _ACCOUNT_AUDITED, domains=domains.values_list("domain", flat=True))


def _save_account(account: Account, domains: list[str] | None) -> Account:
    if account.segment and account.segment not in Segment.values:
        raise ValidationError({"segment": INVALID_SEGMENT})
    if account.mrr is not None and Decimal(account.mrr) < 0:
        raise ValidationError({"mrr": MRR_NEGATIVE})
    full_clean(account)
    others = Account.objects.exclude(pk=account.pk)
    if others.filter(name_key=normalised_key(account.name)).exists():
        raise ValidationError({"name": ACCOUNT_NAME_TAKEN.format(name=account.name)})
    if account.external_id and others.filter(external_id=account.external_id).exists():
        raise ValidationError(
            {"external_id": EXTERNAL_ID_TAKEN.format(external_id=account.external_id)}
        )
    created = account.pk is None
    account.save()
    if domains is not None:
        _set_domains(account, domains, created=created)
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
    _save_account(account, domains or [])
    audit(
        actor=actor,
        action="account.created",
        target=account,
        changes=changes_between(None, _account_snapshot(account, with_domains=True)),
    )
    return account


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
    with_domains = domains is not None
    before = _account_snapshot(account, with_domains=with_domains)
    for field, value in fields.items():
        if field == "mrr":
            value = to_decimal(value, "mrr")
        elif isinstance(value, str):
            value = value.strip()
        setattr(account, field, value)
    _save_account(account, domains)
    changes = changes_between(before, _account_snapshot(account, with_domains=with_domains))
    if changes:
        audit(actor=actor, action="account.updated", target=account, changes=changes)
        events.emit("portal.account_saved", account_id=account.pk)
    return account


# Customers ---------------------------------------------------------------------------------


def _check_email_free(email: str, customer: Customer) -> None:
    key = normalised_key(email)
    if not key:
        # A customer known only by a handle has no address to clash with.
        return
    taken = Customer.objects.filter(email_key=key).exclude(pk=customer.pk).exists() or (
        # customer_id rather than customer: a new, unsaved customer may not be used in a filter.
        CustomerEmail.objects.filter(email_key=key).exclude(customer_id=customer.pk).exists()
    )
    if taken:
        raise ValidationError({"email": EMAIL_TAKEN.format(email=email)})


def _set_other_emails(customer: Customer, other_emails: list[str], *, created: bool) -> None:
    """Make ``other_emails`` the further addresses; a just-created customer has none yet."""
    wanted = other_emails_clean(customer.email, other_emails)
    for email in wanted:
        _check_email_free(email, customer)
    existing: set[str] = set()
    if not created:
        customer.other_emails.exclude(email__in=wanted).delete()
        existing = set(customer.other_emails.values_list("email", flat=True))
    CustomerEmail.objects.bulk_create(
        [CustomerEmail(customer=customer, email=e) for e in wanted if e not in existing]
    )


def _set_identities(
    customer: Customer, identities: list[tuple[str, str]], *, created: bool
) -> None:
    """Make ``identities`` (``(kind, handle)`` pairs) the customer's handles on other channels;
    a handle another customer holds is refused (merge the two customers instead)."""
    wanted = identities_clean(identities)
    taken = identities_taken(wanted, customer)
    if taken:
        raise ValidationError({"identities": taken})
    existing: dict[tuple[str, str], CustomerIdentity] = {}
    if not created:
        for identity in CustomerIdentity.objects.filter(customer=customer):
            existing[(identity.kind, identity.handle_key)] = identity
    stale = [i.pk for key, i in existing.items() if key not in wanted]
    CustomerIdentity.objects.filter(pk__in=stale).delete()
    # A handle kept but written differently ("Alice@…" for "alice@…") takes the new spelling.
    for key, (_kind, handle) in wanted.items():
        if key in existing and existing[key].handle != handle:
            existing[key].handle = handle
            existing[key].save(update_fields=["handle", "handle_key"])
    try:
        with transaction.atomic():
            CustomerIdentity.objects.bulk_create(
                [
                    CustomerIdentity(customer=customer, kind=kind, handle=handle)
                    for key, (kind, handle) in wanted.items()
                    if key not in existing
                ]
            )
    except IntegrityError as error:
        # Another writer took one of the handles between the check and the write.
        raise ValidationError({"identities": identities_taken(wanted, customer)}) from error


def _customer_snapshot(
    customer: Customer, *, with_other_emails: bool, with_identities: bool = False
) -> Snapshot:
    extra = {}
    if with_other_emails:
        others = CustomerEmail.objects.filter(customer=customer).order_by("email")
        extra["other_emails"] = others.values_list("email", flat=True)
    if with_identities:
        held = CustomerIdentity.objects.filter(customer=customer).values_list("kind", "handle")
        extra["identities"] = identities_snapshot(held)
    return snapshot(customer, CUSTOMER_AUDITED, **extra)


def other_emails_clean(email: str, other_emails: list[str]) -> list[str]:
    """A customer's further addresses normalised, without repeats or the main ``email``;
    shared by the services and the bulk import (``portal.services.directory_bulk``)."""
    wanted = []
    for raw in other_emails:
        if raw and raw.strip():
            other = normalize_email(raw)
            if other != email and other not in wanted:
                wanted.append(other)
    if len(wanted) > MAX_OTHER_EMAILS:
        raise ValidationError({"other_emails": TOO_MANY_OTHER_EMAILS})
    return wanted


def customer_clean(customer: Customer, *, exclude: list[str] | None = None) -> None:
    """Normalise and check a customer's own fields, without the look-ups of uniqueness that
    the services and the bulk import each do their own way. ``exclude`` names fields the caller
    has already checked (the bulk import looks up every row's account at once). An empty
    address stays empty: a customer may be known only by a handle on another channel."""
    customer.email = normalize_email(customer.email) if (customer.email or "").strip() else ""
    if customer.tier not in Tier.values:
        raise ValidationError({"tier": INVALID_TIER})
    customer.attributes = validate_attributes(customer.attributes)
    full_clean(customer, exclude=exclude)


def _save_customer(
    customer: Customer,
    other_emails: list[str] | None,
    identities: list[tuple[str, str]] | None = None,
) -> Customer:
    customer_clean(customer)
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
    created = customer.pk is None
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError as error:
        # A concurrent writer took the address between the check and the save.
        raise ValidationError({"email": EMAIL_TAKEN.format(email=customer.email)}) from error
    if other_emails is not None:
        _set_other_emails(customer, other_emails, created=created)
    if identities is not None:
        _set_identities(customer, identities, created=created)
    events.emit("portal.customer_saved", customer_id=customer.pk)
    return customer


@transaction.atomic
def customer_create(
    *,
    actor: AbstractBaseUser,
    email: str = "",
    name: str = "",
    account: Account | None = None,
    tier: str = Tier.STANDARD,
    attributes: dict[str, Any] | None = None,
    other_emails: list[str] | None = None,
    external_id: str = "",
    identities: list[tuple[str, str]] | None = None,
) -> Customer:
    """A new customer; ``email`` may be empty (someone known by a handle in ``identities``,
    ``(kind, handle)`` pairs, or by name alone), but not everything they are known by."""
    access.require_directory_editor(actor)
    known_by = (email, (name or "").strip(), identities, other_emails, (external_id or "").strip())
    if not any(known_by):
        raise ValidationError({"name": CUSTOMER_UNKNOWN})
    customer = Customer(
        email=email or "",
        name=(name or "").strip(),
        account=account,
        tier=tier or Tier.STANDARD,
        attributes=attributes or {},
        external_id=(external_id or "").strip(),
    )
    _save_customer(customer, other_emails or [], identities or [])
    after = _customer_snapshot(customer, with_other_emails=True, with_identities=True)
    audit(
        actor=actor,
        action="customer.created",
        target=customer,
        changes=changes_between(None, after),
    )
    return customer


_CUSTOMER_FIELDS = ("email", "name", "account", "tier", "attributes", "external_id")


@transaction.atomic
def customer_update(
    *,
    actor: AbstractBaseUser,
    customer: Customer,
    other_emails: list[str] | None = None,
    identities: list[tuple[str, str]] | None = None,
    **fields: Any,
) -> Customer:
    """Change the given fields; ``other_emails`` replaces the further addresses and
    ``identities`` the handles on other channels, each when given."""
    access.require_directory_editor(actor)
    unknown = set(fields) - set(_CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"customer_update() got unexpected fields: {', '.join(sorted(unknown))}")
    if customer.merged_into_id is not None:
        raise ValidationError(
            CUSTOMER_MERGED.format(customer=customer, target=customer.merged_into)
        )
    with_other_emails = other_emails is not None
    with_identities = identities is not None
    before = _customer_snapshot(
        customer, with_other_emails=with_other_emails, with_identities=with_identities
    )
    for field, value in fields.items():
        setattr(customer, field, value.strip() if isinstance(value, str) else value)
    _save_customer(customer, other_emails, identities)
    after = _customer_snapshot(
        customer, with_other_emails=with_other_emails, with_identities=with_identities
    )
    changes = changes_between(before, after)
    if changes:
        audit(actor=actor, action="customer.updated", target=customer, changes=changes)
    return customer
