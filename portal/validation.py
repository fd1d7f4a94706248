"""What the portal accepts from outside, and its refusals as text a person can read.

Forms, pages, the API, CSV imports and management commands all report the same refusals; they
differ only in how they lay the messages out. The rules for numbers, ids, text and searches
below are shared by all of them. This module imports nothing from the portal, so every layer
may use it without an import cycle.
"""

import json
import math
import re
from decimal import Decimal
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


def validation_messages(error: ValidationError) -> list[str]:
    """Every message of ``error``, in order, with its parameters filled in.

    A message about one field is prefixed with the field's name (``"mrr: MRR cannot be
    negative."``), because a caller that lays the messages out as one line would otherwise lose
    which value was refused; a message about the whole object is not. Callers that show each
    field's messages beside the field pass that field's errors alone, as
    ``ValidationError(errors)``, and get them without a prefix."""
    if hasattr(error, "error_dict"):
        return [
            message if field == NON_FIELD_ERRORS else f"{field}: {message}"
            for field, messages in error.message_dict.items()
            for message in messages
        ]
    return list(error.messages)


# What every form, serializer and service accepts as a number, an id, text and a search. The
# rules live here once, so that a page, the API and a CSV import refuse the same input with the
# same message.

# Numbers -----------------------------------------------------------------------------------

# SQLite stores a decimal as a REAL (a double), which holds 15 significant decimal digits
# exactly; a 16th is rounded away. PostgreSQL's numeric holds any, so 15 is the portal's limit.
EXACT_DIGITS = 15
MAX_NUMBER_LENGTH = 100

NOT_A_NUMBER = "{value!r} is not a number; write it with digits and a point, such as 1250.50."
NUMBER_HAS_COMMA = (
    "{value!r} is ambiguous, as a comma may separate decimals or thousands; write the number "
    "with a point for decimals and without thousands separators, such as 1250.50."
)
TOO_MANY_DIGITS = (
    f"{{value!r}} has more than {EXACT_DIGITS} digits; the portal stores at most "
    f"{EXACT_DIGITS} exactly."
)

# ASCII digits only: Python's Decimal() also reads "1_000" and Arabic-Indic or superscript
# digits, none of which a person typing a number into a form means.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def parse_decimal(value: Any) -> Decimal:
    """A number from a form, a JSON body or a service's caller, as a finite Decimal of at most
    :data:`EXACT_DIGITS` significant digits, or a ``ValidationError`` saying what to write.

    Text must be plain decimal notation (``-1250.50``): no exponent, no separators, no spaces
    inside. A comma is refused rather than guessed at: "1,25" is 1.25 in much of Europe and
    125 to a parser that drops thousands separators. JSON numbers (int, float) and Decimals
    are taken as they are, within the same digit limit."""
    if isinstance(value, bool):
        raise ValidationError(NOT_A_NUMBER.format(value=str(value)))
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        # repr() is the shortest text that reads back as the same float: 0.1, not 0.1000…0555.
        number = Decimal(repr(value)) if math.isfinite(value) else Decimal("NaN")
    elif isinstance(value, str):
        text = value.strip()
        shown = text[:MAX_NUMBER_LENGTH]
        if "," in text:
            raise ValidationError(NUMBER_HAS_COMMA.format(value=shown))
        if len(text) > MAX_NUMBER_LENGTH or not _PLAIN_NUMBER.fullmatch(text):
            raise ValidationError(NOT_A_NUMBER.format(value=shown))
        number = Decimal(text)
    else:
        raise ValidationError(NOT_A_NUMBER.format(value=str(value)[:MAX_NUMBER_LENGTH]))
    if not number.is_finite():
        raise ValidationError(NOT_A_NUMBER.format(value=str(value)[:MAX_NUMBER_LENGTH]))
    if len(number.as_tuple().digits) > EXACT_DIGITS:
        raise ValidationError(TOO_MANY_DIGITS.format(value=str(value)[:MAX_NUMBER_LENGTH]))
    return number


# Ids ---------------------------------------------------------------------------------------

# Ids are 64-bit signed integers on both databases. SQLite cannot even compare with a larger
# Python int (it raises OverflowError), so a larger value is refused before any query.
MAX_ID = 2**63 - 1
ID_INVALID = f"An id is a whole number from 1 to {MAX_ID}."

_ASCII_ID = re.compile(r"[0-9]{1,19}")


def parse_id(value: Any) -> int:
    """An id from a URL, a query string or a JSON body (an int or its ASCII digits), or a
    ``ValidationError``. ``int()`` alone would read "١٢" (Arabic-Indic digits) as 12 and
    raise a ValueError on "²", which ``str.isdigit()`` lets through."""
    if isinstance(value, bool):
        raise ValidationError(ID_INVALID)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _ASCII_ID.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        raise ValidationError(ID_INVALID)
    if not 1 <= number <= MAX_ID:
        raise ValidationError(ID_INVALID)
    return number


def is_id(value: Any) -> bool:
    try:
        parse_id(value)
    except ValidationError:
        return False
    return True


# Text --------------------------------------------------------------------------------------

NUL_CHARACTER = "Remove the NUL character (\\u0000): text cannot contain it."


def contains_nul(value: Any) -> bool:
    """Whether text, or any key or value of a JSON structure, holds a NUL character, which
    PostgreSQL refuses to store in text and in ``jsonb`` alike."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(key) or contains_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(contains_nul(item) for item in value)
    return False


def reject_nul(value: Any) -> None:
    if contains_nul(value):
        raise ValidationError(NUL_CHARACTER)


# Searches ----------------------------------------------------------------------------------

# Every word of a search adds a condition per searched field; SQLite refuses a statement of
# more than 1,000 of them ("Expression tree is too large"). Ten words are plenty for a person
# and keep the query small on PostgreSQL too. A longer search is refused with this message
# rather than cut, so that nobody reads results for a search they did not make.
MAX_SEARCH_LENGTH = 200
MAX_SEARCH_WORDS = 10
SEARCH_TOO_LONG = f"Search for at most {MAX_SEARCH_WORDS} words and {MAX_SEARCH_LENGTH} characters."

# The separators of DRF's SearchFilter: whitespace and commas.
_SEARCH_SEPARATORS = re.compile(r"[\s,]+")


def search_words(text: str) -> list[str]:
    return [word for word in _SEARCH_SEPARATORS.split(text) if word]


def validate_search(text: str) -> str:
    """A search as typed, trimmed, or a ``ValidationError`` when it is too long or holds NUL."""
    text = (text or "").strip()
    reject_nul(text)
    if len(text) > MAX_SEARCH_LENGTH or len(search_words(text)) > MAX_SEARCH_WORDS:
        raise ValidationError(SEARCH_TOO_LONG)
    return text


# No JSON the portal reads (an API body, a remote's answer, a stored payload) nests more than a
# few levels; Python's decoder meets about a thousand with RecursionError, and code that walks
# less deep JSON may still crash on it.
MAX_JSON_DEPTH = 32
JSON_TOO_DEEP = f"JSON nested more than {MAX_JSON_DEPTH} levels deep"


def json_depth_exceeds(data: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``data`` nests lists or objects more than ``limit`` deep (walked a level at a
    time, without recursion; only lists and objects are kept for the next level)."""
    level = [data] if isinstance(data, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        deeper = []
        for value in level:
            children = value.values() if isinstance(value, dict) else value
            deeper.extend(child for child in children if isinstance(child, dict | list))
        level = deeper
    return False


def json_loads(text: str | bytes) -> Any:
    """``json.loads`` of text from outside: JSON nested more than ``MAX_JSON_DEPTH`` deep raises
    ``ValueError``, as malformed JSON does, never ``RecursionError``."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise ValueError(JSON_TOO_DEEP) from None
    # Each level of nesting opens with a bracket, so a text with no more brackets than the
    # limit (those inside strings counted too) cannot nest deeper: most stored payloads.
    opening = (b"[", b"{") if isinstance(text, bytes) else ("[", "{")
    if sum(text.count(bracket) for bracket in opening) > MAX_JSON_DEPTH and json_depth_exceeds(
        data
    ):
        raise ValueError(JSON_TOO_DEEP)
    return data


# Characters a one-line text (a subject, a person's name) must not carry: C0 and C1 controls
# (line breaks included, which would break a mail header; BEL and ESC reach mail and
# terminals) and the bidirectional overrides, embeddings and isolates, with which a subject
# turns the portal's own "#314" beside it into "413#" (U+202A-U+202E, U+2066-U+2069).
_NOT_ONE_LINE = dict.fromkeys(
    [*range(0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)],
    " ",
)


def one_line(text: str | None) -> str:
    """``text`` as one line: controls and direction overrides gone, whitespace (line breaks and
    Unicode separators included) collapsed to single spaces, trimmed."""
    return " ".join((text or "").translate(_NOT_ONE_LINE).split())
