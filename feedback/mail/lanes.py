"""Which lane a mail belongs in: a customer writing, or a machine (auto-reply, bounce, read
receipt, spam complaint, list or bulk mail). Machine mail never opens an item nor triggers an
answer, so a wrong "customer" risks a mail loop and a wrong "machine" hides a customer: the
rules below use what machines declare about themselves (RFC 3834, 3464, 8098, 5965, 2369 and
the vendors' headers) and guess from sender and subject only for bounces, whose senders
(MAILER-DAEMON, postmaster) no person writes from.

Deliberately not a marker: ``X-MS-Exchange-Inbox-Rules-Loop`` alone, since Exchange adds it to
mail that a rule forwards, and a shared mailbox forwarding customers' mail to support is common;
subject words such as "Out of office" alone, since customers write them too."""

import re
from dataclasses import dataclass
from email.message import Message

from feedback.mail.charsets import decode_header_bytes
from feedback.mail.headers import HeaderMap, message_ids, part_header, scan_header_block

LANE_CUSTOMER = "customer"
LANE_AUTO_REPLY = "auto_reply"
LANE_BOUNCE = "bounce"
LANE_READ_RECEIPT = "read_receipt"
LANE_COMPLAINT = "complaint"
LANE_BULK = "bulk"
LANES = (LANE_CUSTOMER, LANE_AUTO_REPLY, LANE_BOUNCE, LANE_READ_RECEIPT, LANE_COMPLAINT, LANE_BULK)

REPORT_LANES = {
    "delivery-status": LANE_BOUNCE,
    "global-delivery-status": LANE_BOUNCE,
    "disposition-notification": LANE_READ_RECEIPT,
    "global-disposition-notification": LANE_READ_RECEIPT,
    "feedback-report": LANE_COMPLAINT,
}
# Vacation responders that predate RFC 3834 mark themselves with one of these.
AUTO_REPLY_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponse", "x-auto-response-suppress")
# X-Auto-Response-Suppress values that a generated reply sets ("DR", "RN" only ask mail
# servers not to send receipts and appear on ordinary mail).
SUPPRESS_MARKERS = frozenset({"all", "oof", "autoreply"})
EXCHANGE_GENERATED = "x-ms-exchange-generated-message-source"
PRECEDENCE_LANES = {
    "auto_reply": LANE_AUTO_REPLY,
    "bulk": LANE_BULK,
    "list": LANE_BULK,
    "junk": LANE_BULK,
}
LIST_HEADERS = ("list-id", "list-unsubscribe", "list-post")

BOUNCE_SENDERS = re.compile(r"^(?:mailer[-_.]?daemon|postmaster|mail[-_.]?delivery[-_.]?system)$")
BOUNCE_SUBJECTS = re.compile(
    r"undeliver|undelivered|returned mail|delivery status notification|delivery failure|"
    r"failure notice|mail delivery failed|delivery has failed|could not be delivered|"
    r"nondeliverable|non-delivery|unzustellbar|non remis|no se puede entregar",
    re.IGNORECASE,
)
_EMBEDDED_ID = re.compile(r"^[ \t>]*message-id:[ \t]*<([^<>\s]+)>", re.IGNORECASE | re.MULTILINE)
# Reports sit at the top or one level down (some gateways wrap them in multipart/mixed).
_REPORT_DEPTH = 2


@dataclass(frozen=True)
class Lane:
    lane: str
    reason: str  # which header or rule decided, for the record and for people debugging
    original_message_id: str = ""


def _first_id(value: str) -> str:
    found = message_ids(value)
    return found[0] if found else ""


def _children(part: Message) -> list[Message]:
    payload = part.get_payload()
    return [child for child in payload if isinstance(child, Message)] if part.is_multipart() else []


def _find_report(message: Message) -> tuple[str, Message] | None:
    """(report type, the report's container) for a DSN, MDN or ARF mail."""
    level = [message]
    for _ in range(_REPORT_DEPTH):
        following: list[Message] = []
        for part in level:
            content_type = part.get_content_type()
            if content_type == "multipart/report":
                report_type = str(part.get_param("report-type") or "").strip().lower()
                if report_type in REPORT_LANES:
                    return report_type, part
                for child in _children(part):
                    subtype = child.get_content_subtype()
                    if child.get_content_maintype() == "message" and subtype in REPORT_LANES:
                        return subtype, part
            if part.get_content_maintype() == "multipart":
                following.extend(_children(part))
        level = following
    return None


def _headers_of(part: Message) -> Message | None:
    """The headers of an enclosed original: message/rfc822 or text/rfc822-headers."""
    content_type = part.get_content_type()
    if content_type in {"message/rfc822", "message/global"}:
        children = _children(part)
        return children[0] if children else None
    if content_type in {"text/rfc822-headers", "message/global-headers"}:
        if part.is_multipart():
            children = _children(part)
            return children[0] if children else None
        data = part.get_payload(decode=True) or b""
        block = scan_header_block(data)
        enclosed = Message()
        for raw_field in block.fields:
            if raw_field.name == "message-id":
                value = data[raw_field.start : raw_field.end].split(b":", 1)[1]
                enclosed["Message-ID"] = " ".join(decode_header_bytes(value).split())
        return enclosed
    return None


def _original_from_report(container: Message) -> str:
    # An explicit Original-Message-ID (MDN, some DSNs) names the mail; else the enclosed copy.
    for child in _children(container):
        if child.get_content_maintype() == "message":
            for block in _children(child) or [child]:
                found = _first_id(part_header(block, "original-message-id"))
                if found:
                    return found
    for child in _children(container):
        enclosed = _headers_of(child)
        if enclosed is not None:
            found = _first_id(part_header(enclosed, "message-id"))
            if found:
                return found
    return ""


def original_from_text(text: str, own_message_id: str) -> str:
    """A classic bounce quotes the returned mail's headers in its text: take its Message-ID."""
    for found in _EMBEDDED_ID.findall(text):
        if found != own_message_id:
            return found
    return ""


def _token_list(value: str) -> set[str]:
    return {token.strip().lower() for token in re.split(r"[,;\s]+", value) if token.strip()}


def _auto_reply_reason(headers: HeaderMap) -> str:
    auto_submitted = headers.first("auto-submitted").split(";", 1)[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    for name in AUTO_REPLY_HEADERS:
        if name not in headers:
            continue
        value = headers.first(name)
        if name == "x-auto-response-suppress":
            if _token_list(value) & SUPPRESS_MARKERS:
                return f"X-Auto-Response-Suppress: {value}"
        elif value.strip().lower() not in {"no", "false", "0"}:
            return f"{name}: {value}".strip()
    if EXCHANGE_GENERATED in headers:
        return f"X-MS-Exchange-Generated-Message-Source: {headers.first(EXCHANGE_GENERATED)}"
    return ""


def classify(message: Message, headers: HeaderMap, *, from_address: str, subject: str) -> Lane:
    """The lane of a parsed mail; the original Message-ID for reports that name one."""
    report = _find_report(message)
    if report is not None:
        report_type, container = report
        return Lane(
            REPORT_LANES[report_type],
            f"multipart/report; report-type={report_type}",
            _original_from_report(container),
        )
    sender = from_address.rsplit("@", 1)[0]
    return_path = headers.first("return-path").strip()
    if BOUNCE_SENDERS.match(sender) and (
        sender.startswith("mailer") or BOUNCE_SUBJECTS.search(subject)
    ):
        return Lane(LANE_BOUNCE, f"sender {from_address}")
    if "x-failed-recipients" in headers:
        return Lane(LANE_BOUNCE, "X-Failed-Recipients")
    if return_path in {"<>", ""} and "return-path" in headers and BOUNCE_SUBJECTS.search(subject):
        return Lane(LANE_BOUNCE, "null Return-Path and a bounce subject")
    reason = _auto_reply_reason(headers)
    if reason:
        return Lane(LANE_AUTO_REPLY, reason)
    precedence = headers.first("precedence").strip().lower()
    if precedence in PRECEDENCE_LANES:
        return Lane(PRECEDENCE_LANES[precedence], f"Precedence: {precedence}")
    for name in LIST_HEADERS:
        if name in headers:
            return Lane(LANE_BULK, name)
    return Lane(LANE_CUSTOMER, "")
