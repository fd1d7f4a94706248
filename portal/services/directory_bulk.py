"""Many customers written at once, for the CSV import: set-based look-ups and bulk writes with
the validation, audit entries and events of ``customer_create`` / ``customer_update``.

A batch of rows costs a handful of queries however many rows it has: one look-up each for the
rows' external ids, addresses and accounts, one INSERT for the new customers, one UPDATE for the
changed ones, one INSERT for the audit entries. Rows are checked one by one against what those
look-ups found, in file order, so each row gets the answer it would get alone. Rows that name
the same customer twice in one batch go to the next batch, which sees the first row's write.
Should another writer take an address between the look-ups and the write, the database's
unique constraints refuse the batch and its rows are written one at a time by the single-row
services, which report the clash on its row.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from portal import access, events, selectors
from portal.fields import normalised_key
from portal.models import Account, Customer, CustomerEmail, Tier
from portal.services.audit import audit_many, changes_between, snapshot
from portal.services.common import normalize_email
from portal.services.directory import (
    CUSTOMER_AUDITED,
    EMAIL_TAKEN,
    EXTERNAL_ID_TAKEN,
    customer_clean,
    customer_create,
    customer_update,
    other_emails_clean,
)
from portal.validation import validation_messages

UNKNOWN_ACCOUNT = "No account is called {name!r} or has that external id."
ROW_NEEDS_EMAIL_OR_EXTERNAL_ID = (
    "Give the row an e-mail address or an external id: without either, importing the file "
    "again could not find the customer and would create them twice."
)

# The fields an import row may set; a column the file lacks leaves the field alone.
ROW_FIELDS = ("name", "tier", "external_id")
_UPDATED_FIELDS = ("email", "email_key", "name", "account", "tier", "attributes", "external_id")


@dataclass
class CustomerRow:
    """One row of a customers file. ``fields`` holds the columns the file has (of
    ``ROW_FIELDS``); ``account`` and ``other_emails`` are None when their column is missing."""

    line: int
    email: str
    fields: dict[str, str] = field(default_factory=dict)
    account: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    other_emails: list[str] | None = None


@dataclass
class RowsResult:
    created: int = 0
    updated: int = 0
    rejections: list[tuple[int, str]] = field(default_factory=list)

    def add(self, other: "RowsResult") -> None:
        self.created += other.created
        self.updated += other.updated
        self.rejections.extend(other.rejections)


def row_message(error: ValidationError | PermissionDenied) -> str:
    if isinstance(error, PermissionDenied):
        return str(error)
    return " ".join(validation_messages(error))


def _keys(row: CustomerRow) -> set[tuple[str, str]]:
    keys = {("email", normalised_key(row.email))}
    keys.update(("email", normalised_key(other)) for other in row.other_emails or ())
    # An empty address identifies nobody (a row may leave it empty when it has an external id).
    keys.discard(("email", ""))
    external_id = row.fields.get("external_id", "").strip()
    if external_id:
        keys.add(("external_id", external_id))
    return keys


def _batches(rows: Iterable[CustomerRow]) -> list[list[CustomerRow]]:
    """Consecutive batches in which no address or external id appears twice."""
    batches: list[list[CustomerRow]] = [[]]
    seen: set[tuple[str, str]] = set()
    for row in rows:
        keys = _keys(row)
        if keys & seen:
            batches.append([])
            seen = set()
        batches[-1].append(row)
        seen |= keys
    return [batch for batch in batches if batch]


def customers_import_rows(*, actor: AbstractBaseUser, rows: list[CustomerRow]) -> RowsResult:
    """Create or update one customer per row: the one with the row's external id, else the one
    with its address (main or further), else a new one. Bad rows are reported, not raised."""
    access.require_directory_editor(actor)
    result = RowsResult()
    pending = _batches(rows)
    while pending:
        batch = pending.pop(0)
        try:
            with transaction.atomic():
                batch_result, deferred = _import_batch(actor, batch)
        except IntegrityError:
            batch_result, deferred = _import_one_by_one(actor, batch), []
        result.add(batch_result)
        if deferred:
            pending.insert(0, deferred)
    result.rejections.sort()
    return result


@dataclass
class _Lookups:
    accounts_by_key: dict[str, Account]
    accounts_by_external_id: dict[str, Account]
    by_external_id: dict[str, Customer]
    by_email: dict[str, Customer]
    other_email_owner: dict[str, int]
    customers: dict[int, Customer]
    other_emails: dict[int, list[CustomerEmail]]


def _look_up(batch: list[CustomerRow]) -> _Lookups:
    references = {row.account for row in batch if row.account}
    accounts = Account.objects.filter(
        Q(name_key__in={normalised_key(r) for r in references}) | Q(external_id__in=references)
    )
    accounts_by_key, accounts_by_external_id = {}, {}
    for account in accounts:
        accounts_by_key.setdefault(account.name_key, account)
        if account.external_id:
            accounts_by_external_id.setdefault(account.external_id, account)
    by_external_id = selectors.find_by_external_id(
        Customer.objects.select_related("account"),
        (row.fields.get("external_id", "") for row in batch),
    )
    email_keys = {key for row in batch for kind, key in _keys(row) if kind == "email"}
    by_email = {
        c.email_key: c
        for c in Customer.objects.select_related("account").filter(email_key__in=email_keys)
    }
    other_email_owner = dict(
        CustomerEmail.objects.filter(email_key__in=email_keys).values_list(
            "email_key", "customer_id"
        )
    )
    customers = {c.pk: c for c in (*by_external_id.values(), *by_email.values())}
    missing = set(other_email_owner.values()) - customers.keys()
    customers.update(Customer.objects.select_related("account").in_bulk(missing))
    other_emails: dict[int, list[CustomerEmail]] = {pk: [] for pk in customers}
    for other in CustomerEmail.objects.filter(customer_id__in=customers.keys()).order_by("email"):
        other_emails[other.customer_id].append(other)
    return _Lookups(
        accounts_by_key,
        accounts_by_external_id,
        by_external_id,
        by_email,
        other_email_owner,
        customers,
        other_emails,
    )


def _account(found: _Lookups, reference: str) -> Account | None:
    if not reference:
        return None
    account = found.accounts_by_key.get(normalised_key(reference))
    account = account or found.accounts_by_external_id.get(reference)
    if account is None:
        raise ValidationError(UNKNOWN_ACCOUNT.format(name=reference))
    return account


def _row_email(row: CustomerRow) -> str:
    """The row's address normalised; empty only for a row with an external id, which then
    creates a customer without an address or leaves an existing customer's address alone."""
    if (row.email or "").strip():
        return normalize_email(row.email)
    if not row.fields.get("external_id", "").strip():
        raise ValidationError({"email": ROW_NEEDS_EMAIL_OR_EXTERNAL_ID})
    return ""


def _existing(found: _Lookups, row: CustomerRow, email_key: str) -> Customer | None:
    external_id = row.fields.get("external_id", "").strip()
    if external_id and external_id in found.by_external_id:
        return found.by_external_id[external_id]
    if not email_key:
        return None
    if email_key in found.by_email:
        return found.by_email[email_key]
    owner = found.other_email_owner.get(email_key)
    return found.customers.get(owner) if owner is not None else None


def _check_free(found: _Lookups, email: str, customer: Customer) -> None:
    key = normalised_key(email)
    holder = found.by_email.get(key)
    owner = found.other_email_owner.get(key)
    if (holder is not None and holder.pk != customer.pk) or (
        owner is not None and owner != customer.pk
    ):
        raise ValidationError({"email": EMAIL_TAKEN.format(email=email)})


@dataclass
class _Write:
    row: CustomerRow
    customer: Customer
    before: dict | None
    other_emails: list[str] | None


def _prepare(found: _Lookups, row: CustomerRow, existing: Customer | None) -> _Write:
    """The customer a row makes, checked as ``customer_create`` / ``customer_update`` check;
    ``existing`` is the customer the row names, if any."""
    account = _account(found, row.account) if row.account is not None else None
    with_others = row.other_emails is not None
    if existing is None:
        customer = Customer(
            email=row.email,
            name=row.fields.get("name", "").strip(),
            account=account,
            tier=row.fields.get("tier", "") or Tier.STANDARD,
            attributes=row.attributes,
            external_id=row.fields.get("external_id", "").strip(),
        )
        before = None
        others = row.other_emails or []
    else:
        customer = existing
        before = snapshot(
            customer,
            CUSTOMER_AUDITED,
            **(
                {"other_emails": [o.email for o in found.other_emails[customer.pk]]}
                if with_others
                else {}
            ),
        )
        if (row.email or "").strip():
            customer.email = row.email
        for name in ROW_FIELDS:
            if name in row.fields:
                setattr(customer, name, row.fields[name].strip())
        if row.account is not None:
            customer.account = account
        customer.attributes = {**customer.attributes, **row.attributes}
        others = row.other_emails
    customer_clean(customer, exclude=["id", "account"])
    _check_free(found, customer.email, customer)
    taken = found.by_external_id.get(customer.external_id) if customer.external_id else None
    if taken is not None and taken.pk != customer.pk:
        raise ValidationError(
            {"external_id": EXTERNAL_ID_TAKEN.format(external_id=customer.external_id)}
        )
    wanted = None
    if others is not None:
        wanted = other_emails_clean(customer.email, others)
        for other in wanted:
            _check_free(found, other, customer)
    return _Write(row=row, customer=customer, before=before, other_emails=wanted)


def _import_batch(
    actor: AbstractBaseUser, batch: list[CustomerRow]
) -> tuple[RowsResult, list[CustomerRow]]:
    """Write one batch; returns its result and the rows deferred to the next batch."""
    found = _look_up(batch)
    result = RowsResult()
    writes: list[_Write] = []
    touched: set[int] = set()
    deferred: list[CustomerRow] = []
    for row in batch:
        if deferred:
            # Once a row waits for the next batch, the rows after it wait too: file order.
            deferred.append(row)
            continue
        snapshot_before = None
        try:
            email_key = normalised_key(_row_email(row))
            existing = _existing(found, row, email_key)
            if existing is not None and existing.pk in touched:
                deferred.append(row)
                continue
            if existing is not None:
                snapshot_before = {n: getattr(existing, n) for n in _UPDATED_FIELDS}
            write = _prepare(found, row, existing)
        except ValidationError as error:
            if snapshot_before is not None:
                # A refused row leaves the customer as the look-up found it.
                for name, value in snapshot_before.items():
                    setattr(existing, name, value)
            result.rejections.append((row.line, row_message(error)))
            continue
        writes.append(write)
        if write.customer.pk is not None:
            touched.add(write.customer.pk)
    _write(actor, found, writes, result)
    return result, deferred


def _write(
    actor: AbstractBaseUser, found: _Lookups, writes: list[_Write], result: RowsResult
) -> None:
    now = timezone.now()
    new = [w for w in writes if w.before is None]
    changed = [w for w in writes if w.before is not None]
    Customer.objects.bulk_create([w.customer for w in new])
    for w in changed:
        # bulk_update() calls no pre_save(): the key and the time are set here.
        w.customer.email_key = normalised_key(w.customer.email)
        w.customer.updated_at = now
    Customer.objects.bulk_update(
        [w.customer for w in changed], [*_UPDATED_FIELDS, "updated_at"], batch_size=500
    )
    stale = []
    fresh = []
    for w in writes:
        if w.other_emails is None:
            continue
        current = {o.email: o for o in found.other_emails.get(w.customer.pk, [])}
        stale.extend(o.pk for email, o in current.items() if email not in w.other_emails)
        fresh.extend(
            CustomerEmail(customer=w.customer, email=e) for e in w.other_emails if e not in current
        )
    if stale:
        CustomerEmail.objects.filter(pk__in=stale).delete()
    CustomerEmail.objects.bulk_create(fresh)

    def after(w: _Write) -> dict:
        if w.other_emails is None:
            return snapshot(w.customer, CUSTOMER_AUDITED)
        return snapshot(w.customer, CUSTOMER_AUDITED, other_emails=sorted(w.other_emails))

    audit_many(
        actor=actor,
        action="customer.created",
        entries=[(w.customer, changes_between(None, after(w))) for w in new],
    )
    updates = [(w.customer, changes_between(w.before, after(w))) for w in changed]
    audit_many(actor=actor, action="customer.updated", entries=[(c, d) for c, d in updates if d])
    for w in writes:
        events.emit("portal.customer_saved", customer_id=w.customer.pk)
    result.created += len(new)
    result.updated += len(changed)


def _import_one_by_one(actor: AbstractBaseUser, batch: list[CustomerRow]) -> RowsResult:
    """The batch again through the single-row services, each row in its own savepoint."""
    result = RowsResult()
    for row in batch:
        try:
            with transaction.atomic():
                created = _import_one(actor, row)
        except (ValidationError, PermissionDenied) as error:
            result.rejections.append((row.line, row_message(error)))
        else:
            if created:
                result.created += 1
            else:
                result.updated += 1
    return result


def _import_one(actor: AbstractBaseUser, row: CustomerRow) -> bool:
    email = _row_email(row)
    found = _look_up([row])
    account = _account(found, row.account) if row.account is not None else None
    existing = _existing(found, row, normalised_key(email))
    fields: dict[str, Any] = {name: row.fields[name] for name in ROW_FIELDS if name in row.fields}
    if row.account is not None:
        fields["account"] = account
    if existing is None:
        fields["tier"] = fields.get("tier") or Tier.STANDARD
        customer_create(
            actor=actor,
            email=email,
            attributes=row.attributes,
            other_emails=row.other_emails or [],
            **fields,
        )
        return True
    if email:
        fields["email"] = email
    customer_update(
        actor=actor,
        customer=existing,
        attributes={**existing.attributes, **row.attributes},
        other_emails=row.other_emails,
        **fields,
    )
    return False
