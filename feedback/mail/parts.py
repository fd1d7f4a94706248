"""Walking the MIME tree: the text and HTML a person reads, and the attachments.

Each part degrades on its own: a part that cannot be decoded becomes a defect note and the walk
goes on. Alternatives (text/plain next to text/html) give one text and one HTML; several inline
text parts in a multipart/mixed (iPhone mail puts the text around an image) are joined in order.
Memory: every payload is decoded once, text is capped in bytes before it is decoded, and an
attachment's encoded payload is released from the tree as soon as its bytes are taken, so a
12 MB mail is not held as encoded and decoded copies of every part at once."""

import binascii
import email.utils
import hashlib
import io
import re
from dataclasses import dataclass, field
from email import policy
from email.generator import BytesGenerator
from email.message import Message

from feedback.mail.charsets import decode_text
from feedback.mail.headers import decode_words, part_header
from feedback.mail.html import html_to_text, sanitize_html, text_to_html
from feedback.mail.names import sanitize_filename
from feedback.mail.results import ParsedAttachment

MAX_TEXT_CHARS = 500_000
MAX_HTML_CHARS = 2_000_000
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
MAX_TOTAL_ATTACHMENT_BYTES = 50 * 1024 * 1024
MAX_PARTS = 500
MAX_DEPTH = 30
MAX_CONTENT_ID_CHARS = 500

NOTE_PART_UNREADABLE = "{where}: could not be read ({error}); it was left out"
NOTE_TEXT_CUT = "the text was {size} characters and was cut to {limit}"
NOTE_HTML_CUT = "{where}: the HTML was cut to {limit} characters"
NOTE_ATTACHMENT_TOO_LARGE = "attachment {name} ({size} bytes) is over the limit of {limit} bytes"
NOTE_ATTACHMENTS_TOO_LARGE = (
    "attachment {name} ({size} bytes) would take the attachments over {limit} bytes"
)
NOTE_TOO_MANY_PARTS = "the mail has more than {limit} MIME parts; the rest were left out"
NOTE_TOO_DEEP = "{where}: nested more than {limit} levels deep; left out"
NOTE_NOT_MULTIPART = "{where}: declared {content_type} but has no parts; read as text"
NOTE_PARSER_DEFECT = "{where}: {description}"

_DEFECT_WORDS = {
    "StartBoundaryNotFoundDefect": "the multipart boundary was never found",
    "CloseBoundaryNotFoundDefect": "the closing multipart boundary is missing",
    "NoBoundaryInMultipartDefect": "multipart without a boundary",
    "MissingHeaderBodySeparatorDefect": "no blank line between headers and body",
    "FirstHeaderLineIsContinuationDefect": "the first header line is a continuation",
    "MisplacedEnvelopeHeaderDefect": "an mbox From line inside the headers",
    "MultipartInvariantViolationDefect": "a multipart with a body that is not parts",
    "InvalidMultipartContentTransferEncodingDefect": "a multipart with a transfer encoding",
    "InvalidBase64PaddingDefect": "base64 data with wrong padding",
    "InvalidBase64CharactersDefect": "base64 data with invalid characters",
    "InvalidBase64LengthDefect": "base64 data of an impossible length",
}
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_GENERATOR_POLICY = policy.compat32.clone(linesep="\r\n")
# A text part is capped in bytes before decoding; four bytes per character is UTF-8's maximum.
_BYTES_PER_CHAR = 4


@dataclass
class Body:
    text: str = ""
    html: str = ""
    attachments: list[ParsedAttachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BodyLimits:
    max_text_chars: int = MAX_TEXT_CHARS
    max_html_chars: int = MAX_HTML_CHARS
    max_attachment_bytes: int = MAX_ATTACHMENT_BYTES
    max_total_attachment_bytes: int = MAX_TOTAL_ATTACHMENT_BYTES
    max_parts: int = MAX_PARTS


@dataclass
class _Segment:
    plain: str | None = None
    html: str | None = None  # sanitised


def _where(path: tuple[int, ...]) -> str:
    return "part " + ".".join(str(number) for number in path) if path else "message body"


def _describe(defect: Exception) -> str:
    name = type(defect).__name__
    return _DEFECT_WORDS.get(name) or _CAMEL.sub(" ", name.removesuffix("Defect")).lower()


def _unflow(text: str, *, delsp: bool) -> str:
    """Join the soft line breaks of format=flowed text (RFC 3676), quote depth by quote depth."""
    out: list[str] = []
    pending: str | None = None
    pending_depth = 0
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        content = content.removeprefix(" ")
        flowed = content.endswith(" ") and content != "-- "
        if flowed and delsp:
            content = content[:-1]
        if pending is not None and depth != pending_depth:
            out.append(">" * pending_depth + (" " if pending_depth else "") + pending)
            pending = None
        pending = content if pending is None else pending + content
        pending_depth = depth
        if not flowed:
            out.append(">" * depth + (" " if depth else "") + pending)
            pending = None
    if pending is not None:
        out.append(">" * pending_depth + (" " if pending_depth else "") + pending)
    return "\n".join(out)


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


class _Walk:
    def __init__(self, limits: BodyLimits, hint: str | None):
        self.limits = limits
        self.hint = hint
        self.body = Body()
        self.parts_seen = 0
        self.attachment_number = 0
        self.attachment_total = 0

    def note(self, text: str) -> None:
        if text not in self.body.defects:
            self.body.defects.append(text)

    def collect(self, part: Message, path: tuple[int, ...], depth: int) -> list[_Segment]:
        self.parts_seen += 1
        if self.parts_seen > self.limits.max_parts:
            self.note(NOTE_TOO_MANY_PARTS.format(limit=self.limits.max_parts))
            return []
        where = _where(path)
        try:
            return self.collect_part(part, path, depth, where)
        finally:
            # Read after the part: decoding its payload adds defects (bad base64) of its own.
            for defect in getattr(part, "defects", []):
                self.note(NOTE_PARSER_DEFECT.format(where=where, description=_describe(defect)))

    def collect_part(
        self, part: Message, path: tuple[int, ...], depth: int, where: str
    ) -> list[_Segment]:
        content_type = part.get_content_type()
        if part.get_content_maintype() == "message":
            self.guarded(self.attachment, part, content_type, where)
            return []
        if part.is_multipart():
            if depth >= MAX_DEPTH:
                self.note(NOTE_TOO_DEEP.format(where=where, limit=MAX_DEPTH))
                return []
            children = [child for child in part.get_payload() if isinstance(child, Message)]
            results = [
                self.collect(child, (*path, number), depth + 1)
                for number, child in enumerate(children, start=1)
            ]
            if part.get_content_subtype() == "alternative":
                return self.alternative(results)
            return [segment for result in results for segment in result]
        if part.get_content_maintype() == "multipart":
            self.note(NOTE_NOT_MULTIPART.format(where=where, content_type=content_type))
            content_type = "text/plain"
        segment = self.guarded(self.leaf, part, content_type, where)
        return [segment] if segment is not None else []

    def leaf(self, part: Message, content_type: str, where: str) -> _Segment | None:
        if self.is_body_text(part, content_type):
            return self.text_segment(part, content_type, where)
        self.attachment(part, content_type, where)
        return None

    def guarded(self, step, part: Message, content_type: str, where: str):
        # One broken part must not cost the mail: whatever fails while reading it becomes a note.
        try:
            return step(part, content_type, where)
        except Exception as error:  # noqa: BLE001
            self.note(NOTE_PART_UNREADABLE.format(where=where, error=type(error).__name__))
            return None

    @staticmethod
    def alternative(results: list[list[_Segment]]) -> list[_Segment]:
        # The last alternative is the richest (RFC 2046); each kind comes from the last child
        # that has it; an empty alternative (some mailers add one) only counts when none has text.
        plain = html = None
        for result in results:
            plains = [segment.plain for segment in result if segment.plain is not None]
            htmls = [segment.html for segment in result if segment.html is not None]
            if plains and (any(p.strip() for p in plains) or plain is None):
                plain = "\n\n".join(plains)
            if htmls and (any(h.strip() for h in htmls) or html is None):
                html = "\n".join(htmls)
        return [_Segment(plain, html)] if plain is not None or html is not None else []

    @staticmethod
    def is_body_text(part: Message, content_type: str) -> bool:
        if content_type not in {"text/plain", "text/html"}:
            return False
        if part.get_content_disposition() == "attachment":
            return False
        return not (
            part.get_param("filename", header="content-disposition") or part.get_param("name")
        )

    def text_segment(self, part: Message, content_type: str, where: str) -> _Segment | None:
        is_html = content_type == "text/html"
        limit_chars = self.limits.max_html_chars if is_html else self.limits.max_text_chars
        data = part.get_payload(decode=True)
        data = data if isinstance(data, bytes) else b""
        truncated = len(data) > limit_chars * _BYTES_PER_CHAR
        if truncated:
            data = data[: limit_chars * _BYTES_PER_CHAR]
        text, note = decode_text(data, part.get_content_charset(), where=where, truncated=truncated)
        del data
        if note:
            self.note(note)
        text = _normalise_newlines(text).replace("\x00", "")
        if is_html:
            if len(text) > limit_chars:
                text = text[:limit_chars]
                self.note(NOTE_HTML_CUT.format(where=where, limit=limit_chars))
            return _Segment(html=sanitize_html(text))
        if str(part.get_param("format") or "").lower() == "flowed":
            text = _unflow(text, delsp=str(part.get_param("delsp") or "").lower() == "yes")
        return _Segment(plain=text)

    def filename(self, part: Message) -> str | None:
        # The headers are decoded first (raw 8-bit names are common), then handed to the
        # standard parameter parser, which does RFC 2231 (filename*=utf-8''...) and quoting.
        probe = Message()
        for header in ("content-disposition", "content-type"):
            value = part_header(part, header, hint=self.hint)
            if value:
                probe[header] = value
        name = probe.get_filename() or probe.get_param("name")
        if isinstance(name, tuple):
            name = email.utils.collapse_rfc2231_value(name)
        return decode_words(str(name)) if name else None

    def content(self, part: Message, content_type: str) -> bytes:
        if content_type.startswith("message/") and part.is_multipart():
            # The tree keeps no bytes of an enclosed message: write it out again (CRLF), the
            # part's own header block removed.
            buffer = io.BytesIO()
            BytesGenerator(
                buffer, mangle_from_=False, maxheaderlen=0, policy=_GENERATOR_POLICY
            ).flatten(part, unixfrom=False)
            written = buffer.getvalue()
            _, separator, rest = written.partition(b"\r\n\r\n")
            return rest if separator else written
        payload = part.get_payload()
        if (
            isinstance(payload, str)
            and payload.isascii()
            and part_header(part, "content-transfer-encoding").lower() == "base64"
        ):
            # binascii reads the str as it is and skips the line breaks, where the standard
            # library first makes three more copies (bytes, split lines, joined lines).
            try:
                return binascii.a2b_base64(payload)
            except binascii.Error:
                pass
        data = part.get_payload(decode=True)
        return data if isinstance(data, bytes) else b""

    def estimated_size(self, part: Message) -> int:
        payload = part.get_payload()
        if not isinstance(payload, str):
            return 0
        encoding = part_header(part, "content-transfer-encoding").lower()
        return len(payload) * 3 // 4 if encoding == "base64" else len(payload)

    def attachment(self, part: Message, content_type: str, where: str) -> None:
        self.attachment_number += 1
        name = sanitize_filename(
            self.filename(part), index=self.attachment_number, content_type=content_type
        )
        limit = self.limits.max_attachment_bytes
        # Base64 is a third larger than its content and carries line breaks: a payload clearly
        # over the cap is dropped without decoding it.
        estimate = self.estimated_size(part)
        if estimate > limit + limit // 20 + 1024:
            self.note(NOTE_ATTACHMENT_TOO_LARGE.format(name=name, size=estimate, limit=limit))
            part.set_payload("")
            return
        content = self.content(part, content_type)
        part.set_payload("")
        size = len(content)
        if size > limit:
            self.note(NOTE_ATTACHMENT_TOO_LARGE.format(name=name, size=size, limit=limit))
            return
        total_limit = self.limits.max_total_attachment_bytes
        if self.attachment_total + size > total_limit:
            self.note(NOTE_ATTACHMENTS_TOO_LARGE.format(name=name, size=size, limit=total_limit))
            return
        self.attachment_total += size
        content_id = part_header(part, "content-id").strip().strip("<>").strip()
        disposition = part.get_content_disposition()
        self.body.attachments.append(
            ParsedAttachment(
                filename=name,
                content_type=content_type,
                content=content,
                size=size,
                sha256=hashlib.sha256(content).hexdigest(),
                content_id=content_id[:MAX_CONTENT_ID_CHARS],
                inline=disposition == "inline" or (disposition is None and bool(content_id)),
            )
        )


def extract_body(message: Message, *, limits: BodyLimits, hint: str | None = None) -> Body:
    """The text, sanitised HTML, attachments and per-part defects of a parsed message.

    ``hint`` is the charset to try for raw 8-bit file names (the one the mail declares)."""
    walk = _Walk(limits, hint)
    segments = walk.collect(message, (), 0)
    texts: list[str] = []
    htmls: list[str] = []
    has_html = any(segment.html is not None for segment in segments)
    for segment in segments:
        plain = segment.plain if segment.plain is not None else html_to_text(segment.html or "")
        if plain.strip():
            texts.append(plain.strip("\n"))
        if has_html:
            htmls.append(segment.html if segment.html is not None else text_to_html(plain))
    text = "\n\n".join(texts)
    if len(text) > limits.max_text_chars:
        walk.note(NOTE_TEXT_CUT.format(size=len(text), limit=limits.max_text_chars))
        text = text[: limits.max_text_chars]
    walk.body.text = text
    walk.body.html = "\n".join(piece.strip() for piece in htmls if piece.strip())
    return walk.body
