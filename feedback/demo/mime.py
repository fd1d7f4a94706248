"""Writing the demo's mail as bytes: headers, 8-bit text, an HTML alternative, attachments in
base64, quoted history. Written out directly rather than through ``email.message``: the standard
library's generator would be correct too, but ten times slower, and ``make run`` seeds the demo
on a fresh database."""

import base64
import struct
import zlib
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr
from html import escape


def quoted(text: str, who: str, when: datetime) -> str:
    lines = "\n".join(f"> {line}" if line else ">" for line in text.splitlines())
    return f"On {when:%a, %d %b %Y at %H:%M}, {who} wrote:\n{lines}\n"


def html_version(text: str) -> str:
    paragraphs = "".join(
        f"<p>{escape(paragraph).replace(chr(10), '<br>')}</p>"
        for paragraph in text.split("\n\n")
        if paragraph and not paragraph.startswith("On ")
    )
    # Marketing tools and some mail clients add a tracking pixel; the sanitiser drops it.
    return (
        '<html><body><div style="font-family: Calibri, sans-serif">'
        f"{paragraphs}</div>"
        '<img src="https://track.mailer.example/open.gif" width="1" height="1" alt="">'
        "</body></html>"
    )


def png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    """A small valid PNG of one colour: the "screenshot" a customer attaches."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(colour) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def _part(content_type: str, data: bytes, *, encoding: str = "8bit", extra: str = "") -> bytes:
    head = f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: {encoding}\r\n{extra}"
    return head.encode() + b"\r\n" + data


def _multipart(subtype: str, boundary: str, parts: list[bytes]) -> bytes:
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    body += b"--" + boundary.encode() + b"--\r\n"
    return _part(f'multipart/{subtype}; boundary="{boundary}"', body, encoding="7bit")


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def mail(
    *,
    sender: str,
    to: str,
    subject: str,
    text: str,
    sent_at: datetime,
    message_id: str,
    boundary: str,
    parents: list[str] | None = None,
    html: bool = False,
    latin1: bool = False,
    attachment: tuple[bytes, str, str] | None = None,
    extra: dict[str, str] | None = None,
) -> bytes:
    """One mail as a mail client writes it: 8-bit text (ISO-8859-1 or UTF-8), optionally an
    HTML alternative and an attachment."""
    headers = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {_encoded(subject)}",
        f"Date: {format_datetime(sent_at)}",
        f"Message-ID: <{message_id}>",
    ]
    if parents:
        headers.append(f"In-Reply-To: <{parents[-1]}>")
        headers.append("References: " + "\r\n ".join(f"<{parent}>" for parent in parents))
    headers += [f"{name}: {value}" for name, value in (extra or {}).items()]
    headers.append("MIME-Version: 1.0")
    charset = "iso-8859-1" if latin1 else "utf-8"
    body = _part(f"text/plain; charset={charset}", _lines(text).encode(charset))
    if html:
        html_part = _part("text/html; charset=utf-8", _lines(html_version(text)).encode())
        body = _multipart("alternative", f"{boundary}-alt", [body, html_part])
    if attachment is not None:
        data, content_type, filename = attachment
        encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
        file_part = _part(
            content_type,
            encoded,
            encoding="base64",
            extra=f'Content-Disposition: attachment; filename="{filename}"\r\n',
        )
        body = _multipart("mixed", f"{boundary}-mix", [body, file_part])
    return ("\r\n".join(headers) + "\r\n").encode() + body


def _encoded(text: str) -> str:
    return text if text.isascii() else Header(text, "utf-8").encode()


def address(name: str, address: str) -> str:
    return formataddr((name, address), charset="utf-8")
