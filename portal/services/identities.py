"""Customers' handles on channels other than e-mail (``CustomerIdentity``).

Ingestion of a forum post, a toot or a Zendesk comment knows the writer by a handle, often
without an address. :func:`customer_identities_ensure` finds the customers holding a chunk's
handles and creates the unknown ones in a handful of queries however many handles the chunk
has: with the sender's address when the channel gave one nobody has yet (one person, found by
either), else without an address; staff merge such a customer with a known one later
(``portal.services.customers_merge``).
"""

from collections.abc import Iterable
from typing import NamedTuple

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from portal import access, events, selectors
from portal.fields import normalised_key
from portal.models import Customer, CustomerIdentity, IdentityKind
from portal.services.audit import audit_many, changes_between, snapshot
from portal.services.common import normalize_email
from portal.validation import contains_nul

MAX_HANDLE_LENGTH = CustomerIdentity._meta.get_field("handle").max_length
MAX_IDENTITIES = 20
_MAX_NAME_LENGTH = Customer._meta.get_field("name").max_length
_MAX_EMAIL_LENGTH = Customer._meta.get_field("email").max_length

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
    """A ``(kind, handle)`` checked and trimmed (a Mastodon handle also of the "@" of a
    mention), or a ValidationError a person can act on. Shared by
    :func:`customer_identities_ensure`, the customer services and the API."""
    kind = (kind or "").strip()
    if kind not in IdentityKind.values:
        raise ValidationError(IDENTITY_KIND_INVALID)
    handle = (handle or "").strip()
    if kind == IdentityKind.MASTODON:
        # Written as a mention ("@alice@mastodon.social"), a handle is the account's ``acct``,
        # which toots come in by ("alice@mastodon.social"), with an "@" before it.
        handle = handle.lstrip("@").strip()
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


class IdentityRow(NamedTuple):
    """One handle for :func:`customer_identities_ensure`: its kind and handle, the display
    name a new customer gets, and the sender's e-mail address and account when the channel
    gave them (a Zendesk requester comes with both). A plain ``(kind, handle, name)`` tuple is
    a row without an address."""

    kind: str
    handle: str
    name: str = ""
    email: str = ""
    account_id: int | None = None


def _email_or_blank(email: str) -> str:
    """The address normalised, or "" when there is none or it is not one a customer may have
    (the handle still makes the customer)."""
    if not (email or "").strip():
        return ""
    try:
        email = normalize_email(email)
    except ValidationError:
        return ""
    return email if len(email) <= _MAX_EMAIL_LENGTH else ""


def customer_identities_ensure(
    *, actor: AbstractBaseUser, identities: Iterable[tuple]
) -> dict[tuple[str, str], int]:
    """The customer id for each row of ``identities`` (:class:`IdentityRow` or a
    ``(kind, handle, display name)`` tuple), keyed by ``(kind, normalised_key(handle))``: the
    customer holding the handle, else a new customer named by the display name (or the
    handle), holding it. A row with an address nobody in the directory has (main or further
    address) makes its new customer that address's, with the row's account: one person, found
    later by the handle and by the address. Rows of one address make one customer holding all
    their handles. An address the directory already knows, or refuses, is left out (the
    customer is created without it, as for a row without one); callers attach a handle to a
    known address's customer themselves before asking.

    New customers are written together (one INSERT for the customers, one for their
    identities, one for their audit entries) and announced with ``portal.customer_saved`` as
    ``customer_create`` announces one. Should another writer store one of the handles or
    addresses between the look-up and the write, the unique constraint refuses the batch
    inside a savepoint, and the batch is looked up and written again: nothing is stored twice.

    Raises ValidationError for a bad kind or handle, before writing anything."""
    access.require_directory_editor(actor)
    wanted: dict[tuple[str, str], IdentityRow] = {}
    for given in identities:
        row = IdentityRow(*given)
        kind, handle = identity_clean(row.kind, row.handle)
        wanted.setdefault(
            (kind, normalised_key(handle)),
            row._replace(kind=kind, handle=handle, name=row.name or "", email=row.email or ""),
        )
    if not wanted:
        return {}
    for attempt in range(_RACE_RETRIES + 1):
        found = selectors.customer_ids_find_by_identities(identities=list(wanted))
        missing = [value for key, value in wanted.items() if key not in found]
        if not missing:
            return found
        groups = _groups(missing)
        try:
            with transaction.atomic():
                created = _create(actor, groups)
        except IntegrityError:
            if attempt == _RACE_RETRIES:
                raise
            continue
        found.update(created)
        return found
    raise AssertionError("unreachable")  # pragma: no cover


def _groups(missing: list[IdentityRow]) -> list[list[IdentityRow]]:
    """The new customers: the rows of one free address together (its first row names the
    customer), each other row alone with its address left out. The addresses are looked up
    in one query, at most."""
    emails = {row: _email_or_blank(row.email) for row in missing}
    held = selectors.customer_ids_find_by_emails(emails=[e for e in emails.values() if e])
    by_email: dict[str, list[IdentityRow]] = {}
    groups: list[list[IdentityRow]] = []
    for row in missing:
        email = emails[row]
        if not email or normalised_key(email) in held:
            groups.append([row._replace(email="")])
            continue
        key = normalised_key(email)
        if key not in by_email:
            by_email[key] = []
            groups.append(by_email[key])
        by_email[key].append(row._replace(email=email))
    return groups


def _display_name(display_name: str, handle: str) -> str:
    name = " ".join(display_name.replace("\x00", "").split()) or handle
    return name[:_MAX_NAME_LENGTH].strip()


def _create(actor: AbstractBaseUser, groups: list[list[IdentityRow]]) -> dict[tuple[str, str], int]:
    # Imported here: the customer services import this module's checks.
    from portal.services.directory import CUSTOMER_AUDITED

    customers = Customer.objects.bulk_create(
        [
            Customer(
                name=_display_name(rows[0].name, rows[0].handle),
                email=rows[0].email,
                account_id=rows[0].account_id if rows[0].email else None,
            )
            for rows in groups
        ]
    )
    CustomerIdentity.objects.bulk_create(
        [
            CustomerIdentity(customer=customer, kind=row.kind, handle=row.handle)
            for customer, rows in zip(customers, groups, strict=True)
            for row in rows
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
                        customer,
                        CUSTOMER_AUDITED,
                        identities=identities_snapshot((row.kind, row.handle) for row in rows),
                    ),
                ),
            )
            for customer, rows in zip(customers, groups, strict=True)
        ],
    )
    for customer in customers:
        events.emit("portal.customer_saved", customer_id=customer.pk)
    return {
        (row.kind, normalised_key(row.handle)): customer.pk
        for customer, rows in zip(customers, groups, strict=True)
        for row in rows
    }
