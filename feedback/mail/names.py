"""Attachment file names that are safe to show and to put in a Content-Disposition header.

A name from a mail is only a label: files are stored by their SHA-256, so the name never reaches
a file system path. It is still cleaned as if it would, because it is shown to agents, offered as
the download name, and may be saved by a browser: no directories, no control or bidirectional
formatting characters (U+202E turns "gpj.exe" into what looks like "exe.jpg"), no names that
Windows reserves, and a length that every file system accepts."""

import mimetypes
import re
import unicodedata

MAX_FILENAME_CHARS = 150
# Most file systems limit a name to 255 bytes; UTF-8 needs up to four per character.
MAX_FILENAME_BYTES = 255
MAX_EXTENSION_CHARS = 16

FALLBACK_STEM = "attachment"
FALLBACK_EXTENSION = ".bin"

# Extensions for types whose mimetypes answer is missing or surprising on some systems.
_EXTENSIONS = {
    "message/rfc822": ".eml",
    "message/global": ".eml",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "text/rfc822-headers": ".txt",
    "image/jpeg": ".jpg",
    "application/octet-stream": ".bin",
}

_WINDOWS_RESERVED = frozenset(
    ["con", "prn", "aux", "nul"]
    + [f"com{digit}" for digit in range(10)]
    + [f"lpt{digit}" for digit in range(10)]
)
_RESERVED_CHARACTERS = re.compile(r'[<>:"|?*\\/]')
_WHITESPACE = re.compile(r"\s+")


def extension_for(content_type: str) -> str:
    """A file extension for a content type, ".bin" when nothing better is known."""
    content_type = content_type.lower()
    if content_type in _EXTENSIONS:
        return _EXTENSIONS[content_type]
    if content_type.startswith("message/"):
        return ".txt"
    return mimetypes.guess_extension(content_type, strict=False) or FALLBACK_EXTENSION


def fallback_filename(index: int, content_type: str) -> str:
    """The name given to an attachment that brings none (or only an unusable one)."""
    return f"{FALLBACK_STEM}-{index}{extension_for(content_type)}"


def _visible(character: str) -> bool:
    # Cc are control characters, Cf formatting ones (bidi overrides, zero-width joiners),
    # Cs lone surrogates left over from undecodable bytes, Co/Cn private or unassigned.
    return not unicodedata.category(character).startswith("C")


def _cap(stem: str, extension: str) -> str:
    if len(extension) > MAX_EXTENSION_CHARS:
        stem, extension = stem + extension, ""
    stem = stem[: MAX_FILENAME_CHARS - len(extension)]
    while stem and len((stem + extension).encode("utf-8")) > MAX_FILENAME_BYTES:
        stem = stem[:-1]
    return stem.rstrip(" .") + extension


def sanitize_filename(name: str | None, *, index: int, content_type: str) -> str:
    """Return a clean file name for an attachment; the fallback name when nothing usable is left.

    ``name`` is already decoded (RFC 2231, encoded words); ``index`` numbers the fallback name."""
    if name:
        name = unicodedata.normalize("NFC", name)
        # Only the last path component: "..\\..\\boot.ini" and "/etc/passwd" lose their
        # directories whichever separator the sender's system used.
        name = re.split(r"[\\/]", name)[-1]
        name = "".join(character for character in name if _visible(character))
        name = _RESERVED_CHARACTERS.sub("_", name)
        name = _WHITESPACE.sub(" ", name).strip()
        # No hidden files and no "..": leading dots go; trailing dots and spaces are dropped
        # by Windows anyway and would make two names look alike.
        name = name.lstrip(". ").rstrip(". ")
    if not name:
        return fallback_filename(index, content_type)
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        stem, extension = name, ""
    else:
        extension = "." + extension
    if stem.split(".", 1)[0].strip().lower() in _WINDOWS_RESERVED:
        stem = "_" + stem
    capped = _cap(stem, extension)
    return capped or fallback_filename(index, content_type)
