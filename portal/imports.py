"""CSV imports of accounts, customers and North Star measurements.

A file is untrusted: its size and row count are capped, it must be UTF-8 (a BOM is fine) and
have the required columns. Each row is written through the same service as a form would use,
inside its own savepoint: a bad row is reported with its line number and reason, good rows are
kept, and importing the same file again updates rows instead of duplicating them.
"""

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.dateparse import parse_date

from portal import access, selectors, services
from portal.fields import normalised_key
from portal.models import Account, Customer
from portal.validation import validation_messages

FILE_TOO_LARGE = "The file is larger than {limit} MB; split it into smaller files."
FILE_NOT_UTF8 = "The file is not UTF-8 text; save it as 'CSV UTF-8' and upload it again."
FILE_EMPTY = "The file is empty or has no header row."
MISSING_COLUMNS = "The header row lacks the column(s): {columns}."
TOO_MANY_ROWS = "The file has more than {limit} rows; split it into smaller files."
UNKNOWN_ACCOUNT = "No account is called {name!r} or has that external id."
UNKNOWN_OWNER = "No user has the username or e-mail {owner!r}."
INVALID_MRR = "MRR must be a number such as 1250.00, not {value!r}."
INVALID_DATE = "Dates are written YYYY-MM-DD, not {value!r}."
INVALID_VALUE = "The value must be a number, not {value!r}."

LIST_SEPARATORS = (";", ",", " ")


@dataclass
class RowError:
    line: int
    message: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.created + self.updated + len(self.errors)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "errors": [{"line": e.line, "message": e.message} for e in self.errors],
        }


def _message(error: ValidationError | PermissionDenied) -> str:
    if isinstance(error, PermissionDenied):
        return str(error)
    return " ".join(validation_messages(error))


def read_csv(upload: IO[bytes], required: set[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) with lower-cased, trimmed headers and trimmed values.
    Raises ValidationError for problems with the file as a whole."""
    limit = settings.PORTAL_CSV_MAX_BYTES
    raw = upload.read(limit + 1)
    if len(raw) > limit:
        raise ValidationError(FILE_TOO_LARGE.format(limit=limit // (1024 * 1024)))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValidationError(FILE_NOT_UTF8) from error
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise ValidationError(FILE_EMPTY)
    columns = [cell.strip().lower() for cell in header]
    missing = required - set(columns)
    if missing:
        raise ValidationError(MISSING_COLUMNS.format(columns=", ".join(sorted(missing))))
    max_rows = settings.PORTAL_CSV_MAX_ROWS
    # Every record is read before the first is yielded, so that a file with too many rows is
    # refused before any of its rows is written. A record is numbered by the line it starts
    # on, which is where a person looks when a quoted value spans several lines.
    records = []
    start = reader.line_num + 1
    for cells in reader:
        if len(records) >= max_rows:
            raise ValidationError(TOO_MANY_ROWS.format(limit=max_rows))
        if any(cell.strip() for cell in cells):
            records.append((start, cells))
        start = reader.line_num + 1
    for line, cells in records:
        row = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(columns)}
        yield line, row


def _number(value: str, message: str) -> Decimal:
    """Parse a number written with optional thousands separators ("1,250.00")."""
    try:
        number = Decimal(value.replace(",", "").replace(" ", ""))
    except InvalidOperation as error:
        raise ValidationError(message.format(value=value)) from error
    if not number.is_finite():
        raise ValidationError(message.format(value=value))
    return number


def split_list(value: str) -> list[str]:
    for separator in LIST_SEPARATORS:
        value = value.replace(separator, " ")
    return [part for part in value.split() if part]


def _run(
    *,
    upload: IO[bytes],
    required: set[str],
    import_row: Callable[[dict[str, str]], bool],
) -> ImportReport:
    """Import each row in its own savepoint inside one transaction: a bad row is rolled back
    alone and reported, and the file costs one commit rather than one per row.
    ``import_row`` returns True when it created."""
    report = ImportReport()
    rows = read_csv(upload, required)
    with transaction.atomic():
        for line, row in rows:
            try:
                with transaction.atomic():
                    created = import_row(row)
            except (ValidationError, PermissionDenied) as error:
                report.errors.append(RowError(line=line, message=_message(error)))
            else:
                if created:
                    report.created += 1
                else:
                    report.updated += 1
    return report


# Accounts ----------------------------------------------------------------------------------

ACCOUNT_COLUMNS = {"name", "external_id", "domains", "plan", "segment", "mrr", "owner"}


def _owner(actor: AbstractBaseUser, value: str) -> AbstractBaseUser | None:
    if not value:
        return None
    user = selectors.user_find_by_login(user=actor, login=value)
    if user is None:
        raise ValidationError(UNKNOWN_OWNER.format(owner=value))
    return user


def _mrr(value: str) -> Decimal:
    return _number(value or "0", INVALID_MRR)


def accounts_import_csv(*, actor: AbstractBaseUser, upload: IO[bytes]) -> ImportReport:
    """Columns: name (required), external_id, domains, plan, segment, mrr, owner. A row
    updates the account with the same external id, else the one with the same name."""
    access.require_directory_editor(actor)

    def import_row(row: dict[str, str]) -> bool:
        fields = {
            "name": row.get("name", ""),
            "plan": row.get("plan", ""),
            "segment": row.get("segment", "").lower(),
            "mrr": _mrr(row.get("mrr", "")),
            "owner": _owner(actor, row.get("owner", "")),
            "external_id": row.get("external_id", ""),
        }
        domains = split_list(row.get("domains", ""))
        existing = None
        if fields["external_id"]:
            existing = Account.objects.filter(external_id=fields["external_id"]).first()
        if existing is None:
            existing = Account.objects.filter(name_key=normalised_key(fields["name"])).first()
        if existing is None:
            services.account_create(actor=actor, domains=domains, **fields)
            return True
        # A column the file does not have leaves that field of an existing account alone.
        services.account_update(
            actor=actor,
            account=existing,
            domains=domains if "domains" in row else None,
            **{name: value for name, value in fields.items() if name in row},
        )
        return False

    return _run(upload=upload, required={"name"}, import_row=import_row)


# Customers ---------------------------------------------------------------------------------

CUSTOMER_COLUMNS = {"email", "name", "account", "tier", "external_id", "other_emails"}


def _account(value: str) -> Account | None:
    if not value:
        return None
    account = Account.objects.filter(
        Q(name_key=normalised_key(value)) | Q(external_id=value)
    ).first()
    if account is None:
        raise ValidationError(UNKNOWN_ACCOUNT.format(name=value))
    return account


def customers_import_csv(*, actor: AbstractBaseUser, upload: IO[bytes]) -> ImportReport:
    """Columns: email (required), name, account (name or external id), tier, external_id,
    other_emails; every further column becomes a free attribute. A row updates the customer
    with the same external id, else the one with the same address."""
    access.require_directory_editor(actor)

    def import_row(row: dict[str, str]) -> bool:
        email = services.normalize_email(row.get("email", ""))
        attributes = {k: v for k, v in row.items() if k not in CUSTOMER_COLUMNS and k and v}
        fields = {
            "email": email,
            "name": row.get("name", ""),
            "account": _account(row.get("account", "")),
            "tier": row.get("tier", "").lower() or "standard",
            "external_id": row.get("external_id", ""),
        }
        other_emails = split_list(row.get("other_emails", ""))
        existing = None
        if fields["external_id"]:
            existing = Customer.objects.filter(external_id=fields["external_id"]).first()
        if existing is None:
            # Two indexed look-ups: an OR across the join would scan both tables.
            existing = (
                Customer.objects.filter(email_key=normalised_key(email)).first()
                or Customer.objects.filter(other_emails__email_key=normalised_key(email)).first()
            )
        if existing is None:
            services.customer_create(
                actor=actor, attributes=attributes, other_emails=other_emails, **fields
            )
            return True
        merged = {**existing.attributes, **attributes}
        # A column the file does not have leaves that field of an existing customer alone.
        services.customer_update(
            actor=actor,
            customer=existing,
            attributes=merged,
            other_emails=other_emails if "other_emails" in row else None,
            **{name: value for name, value in fields.items() if name in row},
        )
        return False

    return _run(upload=upload, required={"email"}, import_row=import_row)


# North Star --------------------------------------------------------------------------------


def _date(value: str) -> date:
    try:
        parsed = parse_date(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError(INVALID_DATE.format(value=value))
    return parsed


def north_star_import_csv(*, actor: AbstractBaseUser, upload: IO[bytes]) -> ImportReport:
    """Columns: date (YYYY-MM-DD), value (both required), note. A second row for a day
    replaces that day's value."""
    access.require_north_star_recorder(actor)

    def import_row(row: dict[str, str]) -> bool:
        _measurement, created = services.north_star_measurement_record(
            actor=actor,
            measured_on=_date(row.get("date", "")),
            value=_number(row.get("value", ""), INVALID_VALUE),
            note=row.get("note", ""),
        )
        return created

    return _run(upload=upload, required={"date", "value"}, import_row=import_row)
