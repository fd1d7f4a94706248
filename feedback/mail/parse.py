"""``parse_message``: raw mail bytes in, a ``ParsedMessage`` out, whatever the mail looks like.

The bytes are never decoded as a whole. The header block is read from the bytes (identity hash,
caps, header values), the MIME structure by the standard library's tolerant legacy parser
(``compat32``, which records defects where the modern policy raises), fed in chunks so that no
extra copy of a large mail is made. A mail raises ``UnparseableMessage`` only when nothing usable
is there: no bytes, no header block, or more bytes than the hard cap."""

import email.utils
import re
from datetime import UTC, datetime, timedelta
from email import policy
from email.feedparser import BytesFeedParser
from email.message import Message
from email.parser import BytesParser

from feedback.mail.headers import (
    MAX_HEADER_BLOCK_BYTES,
    MAX_HEADER_BYTES,
    MAX_HEADER_COUNT,
    HeaderBlock,
    HeaderMap,
    addresses,
    cap_headers,
    decode_words,
    field_value,
    header_map,
    identity_hash,
    message_ids,
    scan_header_block,
)
from feedback.mail.lanes import LANE_BOUNCE, classify, original_from_text
from feedback.mail.parts import (
    MAX_ATTACHMENT_BYTES,
    MAX_HTML_CHARS,
    MAX_PARTS,
    MAX_TEXT_CHARS,
    MAX_TOTAL_ATTACHMENT_BYTES,
    BodyLimits,
    extract_body,
)
from feedback.mail.quotes import split_reply
from feedback.mail.results import ParsedMessage, UnparseableMessage

MAX_MESSAGE_BYTES = 50 * 1024 * 1024
# A sender's clock may run a little fast; a Date further ahead than this is not believed.
CLOCK_SKEW = timedelta(minutes=5)
MAX_SUBJECT_CHARS = 1000
MAX_MESSAGE_ID_CHARS = 500
MAX_REFERENCES = 100
MAX_RECIPIENTS = 200

REASON_EMPTY = "the message is empty"
REASON_TOO_LARGE = "the message is {size} bytes, over the limit of {limit} bytes"
REASON_NO_HEADERS = "the message has no header block"
REASON_INTERNAL = "the parser failed: {error}"

NOTE_NO_DATE = "no Date header; the arrival time is used"
NOTE_BAD_DATE = "the Date header ({value}) cannot be read; the arrival time is used"
NOTE_FUTURE_DATE = "the Date header ({value}) is in the future; the arrival time is used"
NOTE_NO_FROM = "no sender address could be read from the From header"
NOTE_NO_MESSAGE_ID = "no Message-ID header"
NOTE_SUBJECT_CUT = "the subject was {size} characters and was cut to {limit}"
NOTE_RECIPIENTS_CUT = "{name} had {count} addresses; the first {limit} were kept"
NOTE_MIME_UNREADABLE = "the MIME structure could not be read ({error}); the body is kept as text"

# At least one of these must be among the fields for the bytes to be a mail at all.
_MAIL_HEADERS = frozenset(
    {
        "from",
        "sender",
        "to",
        "cc",
        "subject",
        "date",
        "message-id",
        "reply-to",
        "in-reply-to",
        "references",
        "mime-version",
        "content-type",
        "received",
        "return-path",
        "delivered-to",
    }
)
_RECIPIENT_HEADERS = ("to", "cc", "delivered-to", "x-original-to", "envelope-to")
_CHARSET_PARAMETER = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)
_FEED_CHUNK = 1024 * 1024


def _feed_parse(header_data: bytes, raw: bytes, body_from: int) -> Message:
    parser = BytesFeedParser(policy=policy.compat32)
    parser.feed(header_data)
    view = memoryview(raw)
    for offset in range(body_from, len(raw), _FEED_CHUNK):
        parser.feed(bytes(view[offset : offset + _FEED_CHUNK]))
    return parser.close()


def _mime_tree(header_data: bytes, raw: bytes, body_from: int, defects: list[str]) -> Message:
    try:
        return _feed_parse(header_data, raw, body_from)
    except Exception as error:  # noqa: BLE001
        # Thousands of nested multiparts exhaust the parser's recursion, and a parser bug may
        # meet a mail nobody tested; the headers and the body as one text part are still
        # worth keeping.
        defects.append(NOTE_MIME_UNREADABLE.format(error=type(error).__name__))
        return BytesParser(policy=policy.compat32).parsebytes(
            header_data + raw[body_from:], headersonly=True
        )


def _sent_at(
    value: str, received_at: datetime, clock_skew: timedelta, defects: list[str]
) -> datetime:
    if not value.strip():
        defects.append(NOTE_NO_DATE)
        return received_at
    shown = value.strip()[:80]
    try:
        sent = email.utils.parsedate_to_datetime(value)
        if sent.tzinfo is None:
            # RFC 5322's "-0000" means "zone unknown"; UTC is the least surprising reading.
            sent = sent.replace(tzinfo=UTC)
        sent = sent.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        defects.append(NOTE_BAD_DATE.format(value=shown))
        return received_at
    if sent > received_at + clock_skew:
        defects.append(NOTE_FUTURE_DATE.format(value=shown))
        return received_at
    return sent


def _address_list(headers: HeaderMap, name: str, defects: list[str]) -> list[str]:
    found: list[str] = []
    for _, address in addresses(headers.all(name)):
        address = address.lower()
        if address not in found:
            found.append(address)
    if len(found) > MAX_RECIPIENTS:
        defects.append(
            NOTE_RECIPIENTS_CUT.format(name=name.title(), count=len(found), limit=MAX_RECIPIENTS)
        )
        found = found[:MAX_RECIPIENTS]
    return found


def _recipients_as_written(headers: HeaderMap) -> list[str]:
    found: list[str] = []
    for name in _RECIPIENT_HEADERS:
        for _, address in addresses(headers.all(name)):
            if address not in found:
                found.append(address)
    return found[: MAX_RECIPIENTS * len(_RECIPIENT_HEADERS)]


def _first_id(value: str) -> str:
    found = message_ids(value)
    return found[0][:MAX_MESSAGE_ID_CHARS] if found else ""


def _references(headers: HeaderMap, in_reply_to_ids: list[str]) -> list[str]:
    found: list[str] = []
    for value in headers.all("references"):
        found.extend(message_ids(value))
    # Some clients put several ids into In-Reply-To; the ones after the first are kept here.
    found.extend(in_reply_to_ids[1:])
    unique = list(dict.fromkeys(found_id[:MAX_MESSAGE_ID_CHARS] for found_id in found))
    if len(unique) > MAX_REFERENCES:
        # The first id is the thread's root, the last ones its most recent messages.
        unique = unique[:1] + unique[-(MAX_REFERENCES - 1) :]
    return unique


def _charset_hint(content_type: str) -> str | None:
    match = _CHARSET_PARAMETER.search(content_type)
    return match.group(1) if match else None


def parse_message(
    raw: bytes,
    *,
    received_at: datetime,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    max_header_count: int = MAX_HEADER_COUNT,
    max_header_bytes: int = MAX_HEADER_BYTES,
    max_header_block_bytes: int = MAX_HEADER_BLOCK_BYTES,
    max_text_chars: int = MAX_TEXT_CHARS,
    max_html_chars: int = MAX_HTML_CHARS,
    max_attachment_bytes: int = MAX_ATTACHMENT_BYTES,
    max_total_attachment_bytes: int = MAX_TOTAL_ATTACHMENT_BYTES,
    max_parts: int = MAX_PARTS,
    clock_skew: timedelta = CLOCK_SKEW,
) -> ParsedMessage:
    """Parse one raw mail. ``received_at`` is the arrival time (aware; a naive one is read as
    UTC), used for ``sent_at`` when the Date header is missing, unreadable or in the future."""
    raw = bytes(raw)
    if not raw.strip():
        raise UnparseableMessage(REASON_EMPTY)
    if len(raw) > max_message_bytes:
        raise UnparseableMessage(REASON_TOO_LARGE.format(size=len(raw), limit=max_message_bytes))
    block = scan_header_block(raw)
    if not any(raw_field.name in _MAIL_HEADERS for raw_field in block.fields):
        raise UnparseableMessage(REASON_NO_HEADERS)
    if received_at.tzinfo is None:
        received_at = received_at.replace(tzinfo=UTC)
    received_at = received_at.astimezone(UTC)
    try:
        capped = cap_headers(
            raw,
            block,
            max_count=max_header_count,
            max_field_bytes=max_header_bytes,
            max_block_bytes=max_header_block_bytes,
        )
        defects = list(capped.defects)
        # The charset the mail declares for its text is the best guess for raw 8-bit headers.
        content_type = next((f for f in capped.fields if f.name == "content-type"), None)
        hint = (
            _charset_hint(field_value(raw, content_type).decode("latin-1"))
            if content_type
            else None
        )
        headers = header_map(raw, capped.fields, hint=hint)
        message = _mime_tree(capped.data, raw, block.fields_end, defects)
        return _build(
            raw,
            block,
            headers,
            message,
            received_at,
            clock_skew,
            defects,
            BodyLimits(
                max_text_chars=max_text_chars,
                max_html_chars=max_html_chars,
                max_attachment_bytes=max_attachment_bytes,
                max_total_attachment_bytes=max_total_attachment_bytes,
                max_parts=max_parts,
            ),
        )
    except Exception as error:
        # The contract with the ingestion service: a mail is parsed or quarantined with a
        # reason, never a crash of the batch. Tests assert that no corpus mail ends up here.
        detail = f"{type(error).__name__}: {error}"[:300]
        raise UnparseableMessage(REASON_INTERNAL.format(error=detail)) from error


def _build(
    raw: bytes,
    block: HeaderBlock,
    headers: HeaderMap,
    message: Message,
    received_at: datetime,
    clock_skew: timedelta,
    defects: list[str],
    limits: BodyLimits,
) -> ParsedMessage:
    senders = addresses(headers.all("from")) or addresses(headers.all("sender"))
    from_name, from_address = senders[0] if senders else ("", "")
    if not senders:
        defects.append(NOTE_NO_FROM)
    reply_to = addresses(headers.all("reply-to"))
    subject = " ".join(decode_words(headers.first("subject")).split())
    if len(subject) > MAX_SUBJECT_CHARS:
        defects.append(NOTE_SUBJECT_CUT.format(size=len(subject), limit=MAX_SUBJECT_CHARS))
        subject = subject[:MAX_SUBJECT_CHARS]
    message_id = _first_id(headers.first("message-id"))
    if not message_id:
        defects.append(NOTE_NO_MESSAGE_ID)
    in_reply_to_ids = message_ids(headers.first("in-reply-to"))
    sent_at = _sent_at(headers.first("date"), received_at, clock_skew, defects)
    lane = classify(message, headers, from_address=from_address.lower(), subject=subject)
    body = extract_body(message, limits=limits, hint=_charset_hint(headers.first("content-type")))
    defects.extend(note for note in body.defects if note not in defects)
    original = lane.original_message_id
    if not original and lane.lane == LANE_BOUNCE:
        original = original_from_text(body.text, message_id)
    split = split_reply(body.text)
    return ParsedMessage(
        message_id=message_id,
        in_reply_to=in_reply_to_ids[0][:MAX_MESSAGE_ID_CHARS] if in_reply_to_ids else "",
        references=_references(headers, in_reply_to_ids),
        subject=subject,
        from_name=from_name,
        from_address=from_address.lower(),
        reply_to=reply_to[0][1].lower() if reply_to else "",
        to=_address_list(headers, "to", defects),
        cc=_address_list(headers, "cc", defects),
        recipient_addresses=_recipients_as_written(headers),
        sent_at=sent_at,
        lane=lane.lane,
        lane_reason=lane.reason,
        text=split.text,
        quoted_text=split.quoted_text,
        signature=split.signature,
        html=body.html,
        attachments=body.attachments,
        identity_hash=identity_hash(raw, block),
        original_message_id=original[:MAX_MESSAGE_ID_CHARS],
        defects=defects,
    )


def plus_tokens(parsed: ParsedMessage, public_address: str) -> list[str]:
    """The "+token" parts of the recipients that are the public address plus a token
    (support+abc@example.com for support@example.com), in order, case kept."""
    local, _, domain = public_address.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    tokens: list[str] = []
    for address in parsed.recipient_addresses:
        recipient_local, _, recipient_domain = address.rpartition("@")
        base, plus, token = recipient_local.partition("+")
        if (
            plus
            and token
            and recipient_domain.lower() == domain
            and base.lower() == local
            and token not in tokens
        ):
            tokens.append(token)
    return tokens
