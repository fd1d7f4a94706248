"""The header block, read from the raw bytes: its fields, the identity hash, the capped copy the
MIME parser gets, and the decoding of values (raw 8-bit bytes, RFC 2047 encoded words).

Working on bytes here, before any parser, is what keeps the rest honest: the identity hash is over
exactly what arrived, a 200 KB header is cut before ``email`` builds objects from it, and header
values are decoded by rules that survive the mail the standard library's decoder rejects."""

import binascii
import email.utils
import functools
import hashlib
import re
from dataclasses import dataclass, field
from email.message import Message

from feedback.mail.charsets import decode_header_bytes, decode_text

MAX_HEADER_COUNT = 500
MAX_HEADER_BYTES = 16 * 1024
MAX_HEADER_BLOCK_BYTES = 256 * 1024
# Fields past this many are not even looked at one by one (see _Fields).
MAX_SCANNED_FIELDS = 10 * MAX_HEADER_COUNT

# Trace fields that each hop or mailbox adds (RFC 5321 Received/Return-Path, Delivered-To, the
# receiving side's Authentication-Results / ARC / Received-SPF verdicts) and every X- field: the
# same mail fetched from two mailboxes differs only in these, so they stay out of its identity.
TRANSPORT_HEADERS = frozenset(
    {
        "received",
        "return-path",
        "delivered-to",
        "authentication-results",
        "arc-seal",
        "arc-message-signature",
        "arc-authentication-results",
        "received-spf",
    }
)
# The parser needs these to find the parts, so the caps never drop them.
STRUCTURAL_HEADERS = frozenset(
    {"content-type", "content-transfer-encoding", "content-disposition", "mime-version"}
)

NOTE_HEADERS_DROPPED = "{count} header fields over the limit ({limit}) were dropped"
NOTE_HEADER_CUT = "header {name} was {size} bytes and was cut to {limit}"

_LINE_END = re.compile(rb"\r\n|\r|\n")
_BLANK_LINE = re.compile(rb"\n\r?\n|\r\r")
# RFC 5322 field names are printable ASCII without the colon; obsolete syntax allows blanks
# before the colon.
_FIELD_START = re.compile(rb"([!-9;-~]+)[ \t]*:")
_HASH_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class RawField:
    name: str  # lower-case
    start: int
    end: int  # exclusive, including the line ending of its last line


@dataclass(frozen=True)
class HeaderBlock:
    fields: list[RawField]
    fields_end: int  # where the last field ends: the blank line or the first body line
    body_start: int  # first byte of the body (after the blank line, when there is one)


class _Fields:
    """The fields found so far; past ``limit`` they are kept as one nameless span, so that a
    mail with a million header lines costs one object instead of a million."""

    def __init__(self, limit: int):
        self.limit = limit
        self.found: list[RawField] = []
        self.overflow_start: int | None = None

    def add(self, name: str, start: int, end: int) -> None:
        if len(self.found) < self.limit:
            self.found.append(RawField(name, start, end))
        elif self.overflow_start is None:
            self.overflow_start = start

    def block(self, fields_end: int, body_start: int) -> HeaderBlock:
        found = list(self.found)
        if self.overflow_start is not None:
            found.append(RawField("", self.overflow_start, fields_end))
        return HeaderBlock(found, fields_end, body_start)


def scan_header_block(raw: bytes, *, max_fields: int = MAX_SCANNED_FIELDS) -> HeaderBlock:
    """Find the header fields; the block ends at the first blank line or at the first line that
    is neither a field nor a continuation (the ``email`` parser's rule for a missing blank line)."""
    position = 0
    if raw.startswith(b"From "):
        # An mbox envelope line is not a header field.
        match = _LINE_END.search(raw)
        position = match.end() if match else len(raw)
    # Some mail stores prepend lines of blanks; like the email parser, skip what comes before
    # the first field when it can only be indentation (it cannot belong to any field).
    while position < len(raw) and raw[position : position + 1] in (b" ", b"\t", b"\r", b"\n"):
        match = _LINE_END.search(raw, position)
        position = match.end() if match else len(raw)
    fields = _Fields(max_fields)
    name: str | None = None
    start = position
    while position < len(raw):
        if fields.overflow_start is not None:
            # Past the limit only the end of the block matters: jump to the blank line.
            blank = _BLANK_LINE.search(raw, position)
            if blank is None:
                return fields.block(len(raw), len(raw))
            return fields.block(blank.start() + 1, blank.end())
        match = _LINE_END.search(raw, position)
        line_end, next_line = (match.start(), match.end()) if match else (len(raw), len(raw))
        if line_end == position:
            # The blank line ends the block.
            if name is not None:
                fields.add(name, start, position)
            return fields.block(position, next_line)
        first = raw[position : position + 1]
        if first in (b" ", b"\t") and name is not None:
            position = next_line
            continue
        field_match = _FIELD_START.match(raw, position, line_end)
        if name is not None:
            fields.add(name, start, position)
            name = None
        if field_match is None:
            return fields.block(position, position)
        name = field_match.group(1).decode("ascii").lower()
        start = position
        position = next_line
    if name is not None:
        fields.add(name, start, len(raw))
    return fields.block(len(raw), len(raw))


def is_transport(name: str) -> bool:
    return name in TRANSPORT_HEADERS or name.startswith("x-")


def _update_normalised(hasher, view: memoryview) -> None:
    # CRLF and LF endings hash alike (a webhook may hand over LF where IMAP gives CRLF); the
    # chunks keep memory flat for a 12 MB mail, holding back a CR that may start a CRLF.
    carry = b""
    for offset in range(0, len(view), _HASH_CHUNK):
        chunk = carry + bytes(view[offset : offset + _HASH_CHUNK])
        carry = b""
        if chunk.endswith(b"\r"):
            chunk, carry = chunk[:-1], b"\r"
        hasher.update(chunk.replace(b"\r\n", b"\n"))
    hasher.update(carry)


def identity_hash(raw: bytes, block: HeaderBlock) -> str:
    """SHA-256 (hex) of the mail without its transport headers, line endings normalised and
    trailing line breaks ignored: a redelivered copy hashes the same, another mail does not."""
    view = memoryview(raw)
    end = len(raw)
    while end > block.fields_end and raw[end - 1 : end] in (b"\r", b"\n"):
        end -= 1
    hasher = hashlib.sha256()
    for raw_field in block.fields:
        if not is_transport(raw_field.name):
            _update_normalised(hasher, view[raw_field.start : raw_field.end])
    _update_normalised(hasher, view[block.fields_end : max(end, block.fields_end)])
    return hasher.hexdigest()


@dataclass
class CappedHeaders:
    data: bytes  # the header fields for the parser, the blank line not included
    fields: list[RawField]  # the fields kept, as found in the raw mail
    defects: list[str] = field(default_factory=list)


def _line_ending(chunk: bytes) -> bytes:
    return b"\r\n" if chunk.endswith(b"\r\n") else b"\n"


def _cut_field(chunk: bytes, limit: int) -> bytes:
    # Cut at the last line break under the limit, so that only whole folded lines remain.
    ending = _line_ending(chunk)
    cut = max(chunk.rfind(b"\n", 0, limit), chunk.rfind(b"\r", 0, limit))
    kept = chunk[: cut + 1] if cut > 0 else chunk[:limit]
    return kept if kept.endswith((b"\n", b"\r")) else kept + ending


def cap_headers(
    raw: bytes,
    block: HeaderBlock,
    *,
    max_count: int = MAX_HEADER_COUNT,
    max_field_bytes: int = MAX_HEADER_BYTES,
    max_block_bytes: int = MAX_HEADER_BLOCK_BYTES,
) -> CappedHeaders:
    """The header fields within the caps; structural fields are kept whatever the count."""
    pieces: list[bytes] = []
    kept: list[RawField] = []
    defects: list[str] = []
    total = dropped = 0
    for raw_field in block.fields:
        structural = raw_field.name in STRUCTURAL_HEADERS
        if not structural and (len(kept) >= max_count or total >= max_block_bytes):
            dropped += 1
            continue
        chunk = raw[raw_field.start : raw_field.end]
        if len(chunk) > max_field_bytes:
            defects.append(
                NOTE_HEADER_CUT.format(name=raw_field.name, size=len(chunk), limit=max_field_bytes)
            )
            chunk = _cut_field(chunk, max_field_bytes)
        elif not chunk.endswith((b"\n", b"\r")):
            chunk += b"\r\n"
        pieces.append(chunk)
        kept.append(raw_field)
        total += len(chunk)
    if dropped:
        defects.append(NOTE_HEADERS_DROPPED.format(count=dropped, limit=max_count))
    return CappedHeaders(b"".join(pieces), kept, defects)


def field_value(raw: bytes, raw_field: RawField, *, limit: int = MAX_HEADER_BYTES) -> bytes:
    """The unfolded value of a field, at most ``limit`` bytes of it."""
    chunk = raw[raw_field.start : min(raw_field.end, raw_field.start + limit)]
    value = chunk.split(b":", 1)[1] if b":" in chunk else b""
    return _LINE_END.sub(b"", value).strip()


@dataclass
class HeaderMap:
    """Field values by lower-case name, 8-bit bytes decoded, encoded words still encoded."""

    values: dict[str, list[str]] = field(default_factory=dict)

    def first(self, name: str) -> str:
        found = self.values.get(name)
        return found[0] if found else ""

    def all(self, name: str) -> list[str]:
        return self.values.get(name, [])

    def __contains__(self, name: str) -> bool:
        return name in self.values


def part_header(part: Message, name: str, *, hint: str | None = None) -> str:
    """A header of a parsed MIME part, unfolded, its raw 8-bit bytes decoded.

    ``raw_items`` gives the value as parsed; ``get`` would hand back a compat32 Header object
    whose ``str()`` turns every 8-bit byte into U+FFFD."""
    for key, value in part.raw_items():
        if key.lower() == name:
            data = str(value).encode("utf-8", "surrogateescape")
            return " ".join(decode_header_bytes(data, hint).split())
    return ""


def header_map(raw: bytes, fields: list[RawField], *, hint: str | None = None) -> HeaderMap:
    values: dict[str, list[str]] = {}
    for raw_field in fields:
        text = decode_header_bytes(field_value(raw, raw_field), hint)
        values.setdefault(raw_field.name, []).append(text)
    return HeaderMap(values)


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_BETWEEN_WORDS = re.compile(r"[ \t\r\n]*")


def _word_bytes(encoding: str, payload: str) -> bytes:
    data = payload.encode("ascii", errors="ignore")
    if encoding in "bB":
        data = data.rstrip(b"=")
        data += b"=" * (-len(data) % 4)
        try:
            return binascii.a2b_base64(data)
        except binascii.Error:
            return binascii.a2b_base64(data[: len(data) // 4 * 4] or b"")
    return binascii.a2b_qp(data, header=True)


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words, wherever senders put them (quoted names, file names).

    Adjacent words in one charset are decoded together, because senders split multi-byte
    characters across words; an undecodable word keeps its text as it came."""
    out: list[str] = []
    position = 0
    pending: list[bytes] = []
    pending_charset = ""

    def flush() -> None:
        if pending:
            text, _ = decode_text(b"".join(pending), pending_charset, where="header")
            out.append(text)
            pending.clear()

    for match in _ENCODED_WORD.finditer(value):
        gap = value[position : match.start()]
        if not (pending and _BETWEEN_WORDS.fullmatch(gap)):
            flush()
            out.append(gap)
        charset, encoding, payload = match.groups()
        charset = charset.split("*", 1)[0]
        try:
            data = _word_bytes(encoding, payload)
        except (binascii.Error, ValueError):
            flush()
            out.append(match.group(0))
        else:
            if pending and charset.lower() != pending_charset.lower():
                flush()
            pending_charset = charset
            pending.append(data)
        position = match.end()
    flush()
    out.append(value[position:])
    return "".join(out)


MESSAGE_ID = re.compile(r"<\s*([^<>\s]+?)\s*>")


def message_ids(value: str) -> list[str]:
    """Message-IDs in a Message-ID / In-Reply-To / References value, without angle brackets.

    Ids without brackets (some mailers) count when they look like one (they contain "@")."""
    found = MESSAGE_ID.findall(value)
    if found:
        return found
    return [token for token in re.split(r"[\s,]+", value) if "@" in token and len(token) > 2]


_ADDRESS = re.compile(r"[^@\s<>,;:\"]+@[^@\s<>,;:\"]+")
_LOOSE_ADDRESS = re.compile(r"[^@\s<>,;:\"()\[\]]+@[^@\s<>,;:\"()\[\]]+")


# Header values up to this long are remembered with their addresses: a mailbox's To (its own
# address) and its customers' From values repeat from mail to mail, and a mail's To and Cc are
# read twice (as recipients and as written), while the standard library's address parser is
# one of the parse's larger costs.
_REMEMBERED_VALUE_CHARS = 1000


def addresses(values: list[str]) -> list[tuple[str, str]]:
    """(display name, address) pairs; names decoded, addresses as written (case kept).

    The encoded words are decoded after splitting, so that a comma inside an encoded name does
    not split one address into two."""
    pairs = []
    for value in values:
        if len(value) <= _REMEMBERED_VALUE_CHARS:
            pairs.extend(_remembered_addresses(value))
        else:
            pairs.extend(_value_addresses(value))
    return pairs


@functools.lru_cache(maxsize=4096)
def _remembered_addresses(value: str) -> tuple[tuple[str, str], ...]:
    return tuple(_value_addresses(value))


def _value_addresses(value: str) -> list[tuple[str, str]]:
    found = [
        (name, address.strip().strip("<>").strip())
        for name, address in email.utils.getaddresses([value])
        if name or address
    ]
    if not found or not all(_ADDRESS.fullmatch(address) for _, address in found):
        # "a@x.example b@x.example" and other lists RFC 5322 does not allow: take what looks
        # like an address and leave the names.
        found = [("", address) for address in _LOOSE_ADDRESS.findall(value)]
    # An address written in a mailbox's display name ("ceo@bigcorp.example <a@evil.example>",
    # or one inside an encoded word) is no address of it: the one in angle brackets is.
    named = _display_name_addresses(value)
    return [
        (" ".join(decode_words(name).split()), address)
        for name, address in found
        if _ADDRESS.fullmatch(address) and address.casefold() not in named
    ]


_ANGLE_ADDRESS = re.compile(r"<[^<>]*@[^<>]*>")


def _display_name_addresses(value: str) -> set[str]:
    """What looks like an address outside the angle brackets of a mailbox that has them, in
    each comma-separated part of ``value`` (casefolded)."""
    if "<" not in value:
        return set()
    named, angled = set(), set()
    for part in value.split(","):
        if _ANGLE_ADDRESS.search(part):
            outside = _ANGLE_ADDRESS.sub(" ", part)
            named.update(address.casefold() for address in _LOOSE_ADDRESS.findall(outside))
            for inside in _ANGLE_ADDRESS.findall(part):
                angled.update(address.casefold() for address in _LOOSE_ADDRESS.findall(inside))
    # "bob@x.example <bob@x.example>" names its own address.
    return named - angled
