"""Customers' handles on channels other than e-mail (``CustomerIdentity``).

Ingestion of a forum post, a toot or a Zendesk comment knows the writer by a handle, often
without an address. :func:`customer_identities_ensure` finds the customers holding a chunk's
handles and creates the unknown ones, without an e-mail address, in a handful of queries
however many handles the chunk has; staff merge such a customer with a known one later
(``portal.services.customers_merge``).
"""

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from portal import access, events, selectors
from portal.fields import normalised_key
from portal.models import Customer, CustomerIdentity, IdentityKind
from portal.services.audit import audit_many, changes_between, snapshot
from portal.validation import contains_nul

MAX_HANDLE_LENGTH = CustomerIdentity._meta.get_field("handle").max_length
MAX_IDENTITIES = 20
_MAX_NAME_LENGTH = Customer._meta.get_field("name").max_length

IDENTITY_KIND_INVALID = f"Choose one of the identity kinds: {', '.join(IdentityKind.values)}."
IDENTITY_HANDLE_EMPTY = "Give the {kind} handle (such as {example})."
IDENTITY_HANDLE_TOO_LONG = (
    f"The handle {{handle!r}} is longer than {MAX_HANDLE_LENGTH} characters; give the handle "
    "itself, qualified by its instance."
)
IDENTITY_HANDLE_INVALID = "The handle {handle!r} may not contain a NUL character."
IDENTITY_TAKEN = "The {kind} handle {handle} already belongs to another customer."
TOO_MANY_IDENTITIES = f"A customer may have at most {MAX_IDENTITIES} identities."

HANDLE_EXAMPLES = {
    IdentityKind.MASTODON: "alice@mastodon.social",
    IdentityKind.DISCOURSE: "forum.example.com/alice",
    IdentityKind.ZENDESK: "acme.zendesk.com/12345",
}

# How many times a batch is retried after another writer took one of its handles meanwhile;
# each retry first reads what that writer stored, so one retry nearly always suffices.
_RACE_RETRIES = 3


def identity_clean(kind: str, handle: str) -> tuple[str, str]:
    """A ``(kind, handle)`` checked and trimmed, or a ValidationError a person can act on.
    Shared by :func:`customer_identities_ensure`, the customer services and the API."""
    kind = (kind or "").strip()
    if kind not in IdentityKind.values:
        raise ValidationError(IDENTITY_KIND_INVALID)
    handle = (handle or "").strip()
    if not handle:
        raise ValidationError(
            IDENTITY_HANDLE_EMPTY.format(
                kind=IdentityKind(kind).label, example=HANDLE_EXAMPLES[kind]
            )
        )
    if contains_nul(handle):
        raise ValidationError(IDENTITY_HANDLE_INVALID.format(handle=handle.replace("\x00", "")))
    # The key is case-folded, which may lengthen it ("ß" becomes "ss"); both must fit.
    if len(handle) > MAX_HANDLE_LENGTH or len(normalised_key(handle)) > MAX_HANDLE_LENGTH:
        raise ValidationError(IDENTITY_HANDLE_TOO_LONG.format(handle=handle[:40] + "…"))
    return kind, handle


def identities_clean(
    identities: Iterable[tuple[str, str]],
) -> dict[tuple[str, str], tuple[str, str]]:
    """A customer's ``(kind, handle)`` pairs checked, without repeats, keyed by
    ``(kind, normalised_key(handle))``; at most ``MAX_IDENTITIES``."""
    wanted: dict[tuple[str, str], tuple[str, str]] = {}
    for kind, handle in identities:
        kind, handle = identity_clean(kind, handle)
        wanted.setdefault((kind, normalised_key(handle)), (kind, handle))
    if len(wanted) > MAX_IDENTITIES:
        raise ValidationError({"identities": TOO_MANY_IDENTITIES})
    return wanted


def identities_taken(
    wanted: dict[tuple[str, str], tuple[str, str]], customer: Customer
) -> list[str]:
    """A message for each handle of ``wanted`` that another customer holds, in one query."""
    if not wanted:
        return []
    found = selectors.customer_ids_find_by_identities(identities=list(wanted))
    return [
        IDENTITY_TAKEN.format(kind=IdentityKind(kind).label, handle=handle)
        for key, (kind, handle) in wanted.items()
        if found.get(key, customer.pk) != customer.pk
    ]


def identities_snapshot(identities: Iterable[tuple[str, str]]) -> list[str]:
    """Identities as the audit log records them: ``kind:handle``, sorted."""
    return sorted(f"{kind}:{handle}" for kind, handle in identities)


def customer_identities_ensure(
    *, actor: AbstractBaseUser, identities: list[tuple[str, str, str]]
) -> dict[tuple[str, str], int]:
    """The customer id for each ``(kind, handle, display name)`` of ``identities``, keyed by
    ``(kind, normalised_key(handle))``: the customer holding the handle, else a new customer
    without an e-mail address, named by the display name (or the handle), holding it.

    New customers are written together (one INSERT for the customers, one for their
    identities, one for their audit entries) and announced with ``portal.customer_saved`` as
    ``customer_create`` announces one. Should another writer store one of the handles between
    the look-up and the write, the unique constraint refuses the batch inside a savepoint, and
    the batch is looked up and written again: nothing is stored twice.

    Raises ValidationError for a bad kind or handle, before writing anything."""
    access.require_directory_editor(actor)
    wanted: dict[tuple[str, str], tuple[str, str, str]] = {}
    for kind, handle, display_name in identities:
        kind, handle = identity_clean(kind, handle)
        wanted.setdefault((kind, normalised_key(handle)), (kind, handle, display_name or ""))
    if not wanted:
        return {}
    for attempt in range(_RACE_RETRIES + 1):
        found = selectors.customer_ids_find_by_identities(identities=list(wanted))
        missing = [value for key, value in wanted.items() if key not in found]
        if not missing:
            return found
        try:
            with transaction.atomic():
                created = _create(actor, missing)
        except IntegrityError:
            if attempt == _RACE_RETRIES:
                raise
            continue
        found.update(created)
        return found
    raise AssertionError("unreachable")  # pragma: no cover


def _display_name(display_name: str, handle: str) -> str:
    name = " ".join(display_name.replace("\x00", "").split()) or handle
    return name[:_MAX_NAME_LENGTH].strip()


def _create(
    actor: AbstractBaseUser, missing: list[tuple[str, str, str]]
) -> dict[tuple[str, str], int]:
    # Imported here: the customer services import this module's checks.
    from portal.services.directory import CUSTOMER_AUDITED

    customers = Customer.objects.bulk_create(
        [
            Customer(name=_display_name(display_name, handle))
            for _kind, handle, display_name in missing
        ]
    )
    CustomerIdentity.objects.bulk_create(
        [
            CustomerIdentity(customer=customer, kind=kind, handle=handle)
            for customer, (kind, handle, _name) in zip(customers, missing, strict=True)
        ]
    )
    audit_many(
        actor=actor,
        action="customer.created",
        entries=[
            (
                customer,
                changes_between(
                    None,
                    snapshot(
                        customer, CUSTOMER_AUDITED, identities=identities_snapshot([(kind, handle)])
                    ),
                ),
            )
            for customer, (kind, handle, _name) in zip(customers, missing, strict=True)
        ],
    )
    for customer in customers:
        events.emit("portal.customer_saved", customer_id=customer.pk)
    return {
        (kind, normalised_key(handle)): customer.pk
        for customer, (kind, handle, _name) in zip(customers, missing, strict=True)
    }
