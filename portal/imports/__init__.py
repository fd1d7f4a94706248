"""CSV imports of accounts, customers and North Star measurements.

``csvfile`` reads untrusted files (and writes CSV safely), ``importers`` declares each import
once (columns, help, permission, how rows are written) and ``jobs`` runs them in the
background with progress and a report. Callers use the names below.
"""

from portal.imports.csvfile import (
    AMBIGUOUS_NUMBER,
    DUPLICATE_COLUMNS,
    FILE_EMPTY,
    FILE_NOT_CSV,
    FILE_NOT_UTF8,
    FILE_TOO_LARGE,
    LIST_SEPARATORS,
    MISSING_COLUMNS,
    ROW_HAS_NUL,
    safe_cell,
    split_list,
    write_csv,
)
from portal.imports.importers import (
    CUSTOMER_COLUMNS,
    IMPORTERS,
    INVALID_DATE,
    INVALID_MRR,
    INVALID_VALUE,
    UNKNOWN_KIND,
    UNKNOWN_OWNER,
    Column,
    Importer,
    importer_get,
    importer_register,
)
from portal.imports.jobs import (
    ImportReport,
    RowError,
    import_job_create,
    import_job_report_csv,
    import_job_run,
    import_jobs_resume,
    import_now,
)
from portal.services.directory_bulk import UNKNOWN_ACCOUNT

ACCOUNT_COLUMNS = IMPORTERS["accounts"].column_names


def customers_import_csv(*, actor, upload) -> ImportReport:
    return import_now(actor=actor, kind="customers", upload=upload)


def accounts_import_csv(*, actor, upload) -> ImportReport:
    return import_now(actor=actor, kind="accounts", upload=upload)


def north_star_import_csv(*, actor, upload) -> ImportReport:
    return import_now(actor=actor, kind="north_star", upload=upload)


__all__ = [
    "ACCOUNT_COLUMNS",
    "AMBIGUOUS_NUMBER",
    "CUSTOMER_COLUMNS",
    "DUPLICATE_COLUMNS",
    "FILE_EMPTY",
    "FILE_NOT_CSV",
    "FILE_NOT_UTF8",
    "FILE_TOO_LARGE",
    "IMPORTERS",
    "INVALID_DATE",
    "INVALID_MRR",
    "INVALID_VALUE",
    "LIST_SEPARATORS",
    "MISSING_COLUMNS",
    "ROW_HAS_NUL",
    "UNKNOWN_ACCOUNT",
    "UNKNOWN_KIND",
    "UNKNOWN_OWNER",
    "Column",
    "ImportReport",
    "Importer",
    "RowError",
    "accounts_import_csv",
    "customers_import_csv",
    "import_job_create",
    "import_job_report_csv",
    "import_job_run",
    "import_jobs_resume",
    "import_now",
    "importer_get",
    "importer_register",
    "north_star_import_csv",
    "safe_cell",
    "split_list",
    "write_csv",
]
