"""Reading untrusted CSV files and writing CSV that spreadsheets open safely.

A file is checked as a whole before any row is read: its size is capped
(``PORTAL_CSV_MAX_BYTES``), it must be UTF-8 (a BOM is fine), have a header row without
repeated columns and the required columns. Excel in European locales writes semicolons between
cells; such a file is recognised by its header. A row holding a NUL character is refused on its
own (PostgreSQL cannot store one), and cells are read up to the byte cap, however long.
"""

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError

FILE_TOO_LARGE = "The file is larger than {limit} MB; split it into smaller files."
FILE_NOT_UTF8 = "The file is not UTF-8 text; save it as 'CSV UTF-8' and upload it again."
FILE_EMPTY = "The file is empty or has no header row."
MISSING_COLUMNS = "The header row lacks the column(s): {columns}."
DUPLICATE_COLUMNS = "The header row names the column(s) {columns} more than once."
FILE_NOT_CSV = (
    "The file could not be read as CSV ({reason}); separate cells with commas or semicolons."
)
ROW_HAS_NUL = "The row contains a NUL character, which cannot be stored; remove it."
AMBIGUOUS_NUMBER = (
    "Column {column}: {value!r} is ambiguous, as a comma may separate decimals or thousands; "
    "write the number with a point for decimals and without thousands separators, such as "
    "1250.50."
)
NOT_A_NUMBER = "Column {column}: {value!r} is not a number."

# Cell separators the reader accepts, in the order it tries them.
DELIMITERS = (",", ";")
# Separators inside one cell that lists several values (domains, further addresses).
LIST_SEPARATORS = (";", ",", " ")
# What a spreadsheet takes for the start of a formula, and so runs when it opens the file.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_AFTER_SEPARATOR = re.compile(r"([;\t])(?=[=+\-@])")

_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+\.\d+")


@dataclass(frozen=True)
class Record:
    """One row of a file: the line it starts on, its cells by column, and the reason it cannot
    be imported at all (a NUL character) or an empty string."""

    line: int
    row: dict[str, str]
    error: str = ""


@dataclass(frozen=True)
class CsvFile:
    columns: tuple[str, ...]
    delimiter: str
    records: tuple[Record, ...]


def max_bytes() -> int:
    return settings.PORTAL_CSV_MAX_BYTES


def decode(raw: bytes) -> str:
    """The text of an upload, or a ValidationError for a file too large or not UTF-8."""
    limit = max_bytes()
    if len(raw) > limit:
        raise ValidationError(FILE_TOO_LARGE.format(limit=limit // (1024 * 1024)))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValidationError(FILE_NOT_UTF8) from error


def read_upload(upload) -> bytes:
    """Read at most one byte more than the cap, so that a huge upload is refused cheaply."""
    raw = upload.read(max_bytes() + 1)
    decode(raw)
    return raw


def _delimiter(first_line: str) -> str:
    """A semicolon when the header row has semicolons and no commas between its cells."""
    cells = {d: next(csv.reader([first_line], delimiter=d), []) for d in DELIMITERS}
    if len(cells[","]) <= 1 and len(cells[";"]) > 1:
        return ";"
    return ","


def _reader(text: str, delimiter: str) -> Iterator[list[str]]:
    # The module-wide limit is raised to the byte cap: a cell as long as the file allows is
    # read rather than answered with "field larger than field limit".
    if csv.field_size_limit() < max_bytes():
        csv.field_size_limit(max_bytes())
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)


def read_csv(raw: bytes, required: Iterable[str]) -> CsvFile:
    """Parse a whole file. Headers are lower-cased and trimmed, values trimmed; blank rows are
    skipped. Raises ValidationError for problems with the file as a whole."""
    text = decode(raw)
    first_line = text.split("\n", 1)[0]
    delimiter = _delimiter(first_line)
    reader = _reader(text, delimiter)
    try:
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            raise ValidationError(FILE_EMPTY)
        columns = [cell.strip().lower() for cell in header]
        named = [column for column in columns if column]
        repeated = sorted({column for column in named if named.count(column) > 1})
        if repeated:
            raise ValidationError(DUPLICATE_COLUMNS.format(columns=", ".join(repeated)))
        missing = set(required) - set(columns)
        if missing:
            raise ValidationError(MISSING_COLUMNS.format(columns=", ".join(sorted(missing))))
        records = []
        # A record is numbered by the line it starts on, which is where a person looks when a
        # quoted value spans several lines.
        start = reader.line_num + 1
        for cells in reader:
            if any(cell.strip() for cell in cells):
                records.append(_record(start, columns, cells))
            start = reader.line_num + 1
    except csv.Error as error:
        raise ValidationError(FILE_NOT_CSV.format(reason=error)) from error
    return CsvFile(columns=tuple(columns), delimiter=delimiter, records=tuple(records))


def _record(line: int, columns: list[str], cells: list[str]) -> Record:
    row = {
        name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(columns) if name
    }
    if any("\x00" in cell for cell in cells):
        return Record(line=line, row={}, error=ROW_HAS_NUL)
    return Record(line=line, row=row)


def parse_number(value: str, column: str, invalid: str = NOT_A_NUMBER) -> Decimal:
    """A number written with a point for decimals. Thousands separators are accepted only
    where nothing else can be meant ("1,250.00", "1 200.5"); "1,25" or "1,250" is refused as
    ambiguous rather than read as 125 or 1250. ``invalid`` is the message for text that is no
    number at all (formatted with ``column`` and ``value``)."""
    text = value.replace(" ", "").replace("\u00a0", "")
    if "," in text:
        if not _THOUSANDS.fullmatch(text):
            raise ValidationError(AMBIGUOUS_NUMBER.format(column=column, value=value))
        text = text.replace(",", "")
    if not _PLAIN_NUMBER.fullmatch(text):
        raise ValidationError(invalid.format(column=column, value=value))
    try:
        return Decimal(text)
    except InvalidOperation as error:
        raise ValidationError(invalid.format(column=column, value=value)) from error


def split_list(value: str) -> list[str]:
    for separator in LIST_SEPARATORS:
        value = value.replace(separator, " ")
    return [part for part in value.split() if part]


def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: one that would start a formula gets a leading
    apostrophe (OWASP's advice against CSV injection), and so does a formula after a ";" or a
    tab inside it, where a spreadsheet set to split on those (Excel and LibreOffice in many
    European locales split on ";") starts a cell of its own."""
    text = "" if value is None else str(value)
    text = _FORMULA_AFTER_SEPARATOR.sub(r"\1'", text)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def write_csv(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    """CSV text with every cell made safe for spreadsheets: the one writer of the portal."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()
