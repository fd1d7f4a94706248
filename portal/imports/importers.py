"""Every CSV importer, declared once: its columns with their help, who may run it, and how a
chunk of rows is written. The import pages, the API and the background job read these
declarations; nothing else lists columns.

Accounts and North Star measurements go row by row through their services, each row in a
savepoint. Customers, the large imports, go through the set-based
``portal.services.directory_bulk``. Other apps declare theirs from their ``AppConfig.ready()``
through ``importer_register`` (the feedback app's is in ``feedback.imports``), as the portal
imports no app that depends on it.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import transaction
from django.utils.dateparse import parse_date

from portal import access, selectors, services
from portal.fields import normalised_key
from portal.imports.csvfile import LIST_SEPARATORS, Record, parse_number, split_list
from portal.models import Account, Segment, Tier
from portal.services.directory_bulk import (
    CustomerRow,
    RowsResult,
    customers_import_rows,
    row_message,
)

UNKNOWN_OWNER = "No user has the username or e-mail {owner!r}."
INVALID_MRR = "MRR must be a number such as 1250.00, not {value!r}."
INVALID_DATE = "Dates are written YYYY-MM-DD, not {value!r}."
INVALID_VALUE = "The value must be a number, not {value!r}."
UNKNOWN_KIND = "There is no importer called {kind!r}."
KIND_TAKEN = "Two importers are declared as {kind!r}."

_SEPARATOR_NAMES = {";": "semicolons", ",": "commas", " ": "spaces"}
LIST_SEPARATORS_TEXT = ", ".join(_SEPARATOR_NAMES[s] for s in LIST_SEPARATORS[:-1]) + (
    f" or {_SEPARATOR_NAMES[LIST_SEPARATORS[-1]]}"
)


@dataclass(frozen=True)
class Column:
    name: str
    help: str
    required: bool = False


ImportRecords = Callable[..., RowsResult]


@dataclass(frozen=True)
class Importer:
    """One kind of import. ``import_records(actor=, records=)`` writes a chunk of records and
    reports each refused row; ``require(actor)`` raises PermissionDenied for whoever may not
    run it. ``further_columns`` says what other columns become, or is empty when they are
    ignored; ``matching`` says which existing row a row updates."""

    kind: str
    noun: str
    columns: tuple[Column, ...]
    matching: str
    require: Callable[[AbstractBaseUser], None]
    import_records: ImportRecords
    list_url_name: str
    upload_url_name: str
    further_columns: str = ""
    # The navigation section its pages belong to (base.html).
    section: str = "home"

    @property
    def title(self) -> str:
        return f"Import {self.noun}"

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def optional(self) -> list[str]:
        return [c.name for c in self.columns if not c.required]

    @property
    def column_names(self) -> set[str]:
        return {c.name for c in self.columns}


def row_by_row(
    import_row: Callable[[AbstractBaseUser, dict[str, str]], bool],
) -> ImportRecords:
    """A chunk importer from a function that writes one row (True when it created): each row
    in its own savepoint, so a bad row is rolled back alone and reported."""

    def import_records(*, actor: AbstractBaseUser, records: Sequence[Record]) -> RowsResult:
        result = RowsResult()
        for record in records:
            try:
                with transaction.atomic():
                    created = import_row(actor, record.row)
            except (ValidationError, PermissionDenied) as error:
                result.rejections.append((record.line, row_message(error)))
            else:
                if created:
                    result.created += 1
                else:
                    result.updated += 1
        return result

    return import_records


# Accounts ----------------------------------------------------------------------------------


def _owner(actor: AbstractBaseUser, value: str) -> AbstractBaseUser | None:
    if not value:
        return None
    user = selectors.user_find_by_login(user=actor, login=value)
    if user is None:
        raise ValidationError(UNKNOWN_OWNER.format(owner=value))
    return user


def _account_row(actor: AbstractBaseUser, row: dict[str, str]) -> bool:
    fields = {
        "name": row.get("name", ""),
        "plan": row.get("plan", ""),
        "segment": row.get("segment", "").lower(),
        "mrr": parse_number(row.get("mrr", "") or "0", "mrr", INVALID_MRR),
        "owner": _owner(actor, row.get("owner", "")),
        "external_id": row.get("external_id", ""),
    }
    domains = split_list(row.get("domains", ""))
    existing = None
    if fields["external_id"]:
        existing = selectors.find_by_external_id(Account, [fields["external_id"]]).get(
            fields["external_id"]
        )
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


# Customers ---------------------------------------------------------------------------------

CUSTOMER_COLUMNS = {"email", "name", "account", "tier", "external_id", "other_emails"}


def _customer_records(*, actor: AbstractBaseUser, records: Sequence[Record]) -> RowsResult:
    rows = []
    for record in records:
        row = record.row
        fields = {name: row[name] for name in ("name", "external_id") if name in row}
        if "tier" in row:
            fields["tier"] = row["tier"].lower() or Tier.STANDARD
        rows.append(
            CustomerRow(
                line=record.line,
                email=row.get("email", ""),
                fields=fields,
                account=row.get("account") if "account" in row else None,
                attributes={k: v for k, v in row.items() if k not in CUSTOMER_COLUMNS and k and v},
                other_emails=split_list(row["other_emails"]) if "other_emails" in row else None,
            )
        )
    return customers_import_rows(actor=actor, rows=rows)


# North Star --------------------------------------------------------------------------------


def _date(value: str) -> date:
    try:
        parsed = parse_date(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError(INVALID_DATE.format(value=value))
    return parsed


def _measurement_row(actor: AbstractBaseUser, row: dict[str, str]) -> bool:
    value: Decimal = parse_number(row.get("value", ""), "value", INVALID_VALUE)
    _measurement, created = services.north_star_measurement_record(
        actor=actor, measured_on=_date(row.get("date", "")), value=value, note=row.get("note", "")
    )
    return created


# The registry ------------------------------------------------------------------------------

_NUMBER_HELP = (
    "a number with a point for decimals, such as 1250.50; a comma is refused unless it can "
    "only separate thousands (1,250.50)"
)

IMPORTERS: dict[str, Importer] = {
    importer.kind: importer
    for importer in (
        Importer(
            kind="customers",
            noun="customers",
            columns=(
                Column(
                    "email",
                    "the customer's main address; may be left empty in a row that has an "
                    "external id (a customer without an address, or one whose address stays "
                    "as it is)",
                    required=True,
                ),
                Column("name", "the customer's name"),
                Column("account", "an account's name or external id"),
                Column("tier", f"one of {', '.join(Tier.values)} (empty: standard)"),
                Column("external_id", "the customer's id in another system"),
                Column(
                    "other_emails",
                    f"further addresses, separated by {LIST_SEPARATORS_TEXT}",
                ),
            ),
            further_columns="Every further column becomes a free attribute.",
            matching=(
                "A row updates the customer with the same external id, else the one with the "
                "same address; otherwise it creates one."
            ),
            require=access.require_directory_editor,
            import_records=_customer_records,
            list_url_name="portal:customer_list",
            upload_url_name="portal:customer_import",
        ),
        Importer(
            kind="accounts",
            noun="accounts",
            columns=(
                Column("name", "the account's name", required=True),
                Column("external_id", "the account's id in another system"),
                Column("domains", f"e-mail domains, separated by {LIST_SEPARATORS_TEXT}"),
                Column("plan", "the plan the account is on"),
                Column("segment", f"one of {', '.join(Segment.values)} (or empty)"),
                Column("mrr", f"monthly recurring revenue: {_NUMBER_HELP}"),
                Column("owner", "the username or e-mail of the account's owner"),
            ),
            matching=(
                "A row updates the account with the same external id, else the one with the "
                "same name; otherwise it creates one."
            ),
            require=access.require_directory_editor,
            import_records=row_by_row(_account_row),
            list_url_name="portal:account_list",
            upload_url_name="portal:account_import",
        ),
        Importer(
            kind="north_star",
            noun="North Star measurements",
            columns=(
                Column("date", "the day measured, as YYYY-MM-DD", required=True),
                Column("value", f"the value measured: {_NUMBER_HELP}", required=True),
                Column("note", "a remark shown with the value"),
            ),
            matching="A second row for a day replaces that day's value.",
            require=access.require_north_star_recorder,
            import_records=row_by_row(_measurement_row),
            list_url_name="portal:north_star",
            upload_url_name="portal:north_star_import",
        ),
    )
}


def importer_register(importer: Importer) -> None:
    """Declare another app's importer, from its ``AppConfig.ready()``: the portal imports no
    app that depends on it, so the apps bring their importers to it. Registering the same
    declaration again is harmless; a second one under a kind already taken is a mistake."""
    current = IMPORTERS.get(importer.kind)
    if current is not None and current != importer:
        raise ImproperlyConfigured(KIND_TAKEN.format(kind=importer.kind))
    IMPORTERS[importer.kind] = importer


def importer_get(kind: str) -> Importer:
    try:
        return IMPORTERS[kind]
    except KeyError as error:
        raise ValidationError(UNKNOWN_KIND.format(kind=kind)) from error
