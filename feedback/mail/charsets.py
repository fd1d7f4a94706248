"""Turning the bytes of a text part or a header into text, whatever its label says.

Mail declares charsets that Python does not know ("ks_c_5601-1987" is known, "x-mac-cyrillic" or
"windows-874" are not), labels 8-bit text as US-ASCII, or labels nothing at all. The order tried:
the declared charset (through an alias table modelled on the WHATWG encoding labels, which is
what mail clients actually emit), then UTF-8 (valid UTF-8 is almost never anything else), then
charset-normalizer's detection, and only then a decode that replaces what is left."""

import codecs
import re

import charset_normalizer

# Labels Python does not know, or knows as a narrower charset than the senders really use.
# Windows code pages are supersets of the ISO and legacy labels, so decoding with them keeps
# characters (curly quotes, the euro sign) that the narrow charset would reject.
CHARSET_ALIASES: dict[str, str | None] = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "iso-8859-9": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "windows-874": "cp874",
    "x-windows-874": "cp874",
    "iso-8859-8-i": "iso8859_8",
    "iso-8859-6-i": "iso8859_6",
    "iso-8859-6-e": "iso8859_6",
    "iso-8859-8-e": "iso8859_8",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "big5": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "x-euc-kr": "cp949",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "unicode-1-1-utf-7": "utf-7",
    "utf7": "utf-7",
    "x-mac-cyrillic": "mac_cyrillic",
    "x-mac-ukrainian": "mac_cyrillic",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "mac": "mac_roman",
    "cp-850": "cp850",
    "utf8mb4": "utf-8",
    # Labels that say nothing about the bytes: detect instead.
    "unknown": None,
    "x-unknown": None,
    "unknown-8bit": None,
    "x-user-defined": None,
    "none": None,
    "default": None,
    "charset": None,
    "8bit": None,
    "binary": None,
}

# The same upgrades for labels that Python resolves itself ("ISO_8859-1", "csShiftJIS").
_CODEC_UPGRADES = {
    "iso8859-1": "cp1252",
    "iso8859-9": "cp1254",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "big5": "big5hkscs",
    "euc_kr": "cp949",
    "shift_jis": "cp932",
    "iso2022_jp": "iso2022_jp_ext",
}

# Codecs whose ASCII bytes do not stand for ASCII text, so the pure-ASCII fast path is wrong.
_NOT_ASCII_COMPATIBLE = ("utf_7", "utf-7", "iso2022", "utf_16", "utf-16", "utf_32", "utf-32", "hz")

# Detection is a guess; on a few bytes it is a poor one, so short text goes straight to the
# replacing decode instead of to a detector that would pick an exotic code page.
MIN_DETECTION_BYTES = 16
# One character in this many may be unreadable before the label is doubted.
MAX_REPLACED_SHARE = 200

NOTE_DECODED_AS = "{where}: labelled {declared}, read as {actual}"
NOTE_REPLACED = "{where}: text in {declared} could not be decoded; unreadable bytes were replaced"


def resolve_charset(label: str | None) -> str | None:
    """Return the Python codec name for a charset label, or None when it is unknown or empty."""
    if not label:
        return None
    key = label.strip().strip("\"'").lower()
    # RFC 2231 may append a language ("utf-8*en"); some senders add junk after a semicolon.
    key = key.split("*", 1)[0].split(";", 1)[0].strip()
    if not key:
        return None
    if key in CHARSET_ALIASES:
        return CHARSET_ALIASES[key]
    try:
        name = codecs.lookup(key).name
    except (LookupError, ValueError):
        # ValueError: a label with a NUL byte in it.
        return None
    return _CODEC_UPGRADES.get(name, name)


def _ascii_compatible(codec: str | None) -> bool:
    return codec is None or not codec.replace("-", "_").startswith(_NOT_ASCII_COMPATIBLE)


def _strict(data: bytes, codec: str, *, final: bool = True) -> str | None:
    # A part cut at a size cap may end inside a multi-byte character; the incremental decoder
    # with final=False leaves that tail out instead of failing on it.
    try:
        return codecs.getincrementaldecoder(codec)().decode(data, final=final)
    except (UnicodeDecodeError, LookupError):
        return None


def _detect(data: bytes) -> tuple[str, str] | None:
    if len(data) < MIN_DETECTION_BYTES:
        return None
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        return None
    return str(best), best.encoding


def decode_text(
    data: bytes, declared: str | None, *, where: str, truncated: bool = False
) -> tuple[str, str | None]:
    """Decode a text part; returns the text and a defect note when the label was not right.

    ``truncated`` says the bytes were cut at a cap, so an incomplete last character is dropped."""
    if not data:
        return "", None
    label = (declared or "").strip() or "no charset"
    codec = resolve_charset(declared)
    if data.isascii() and _ascii_compatible(codec):
        return data.decode("ascii"), None
    if codec is not None:
        text = _strict(data, codec, final=not truncated)
        if text is not None:
            return text, None
        # A few stray bytes in otherwise well-labelled text (a footer pasted from elsewhere)
        # are better replaced than a detector's guess applied to the whole text.
        replaced = data.decode(codec, errors="replace")
        if replaced.count("\ufffd") * MAX_REPLACED_SHARE <= len(replaced) and codec != "ascii":
            return replaced, NOTE_REPLACED.format(where=where, declared=label)
    text = _strict(data, "utf-8", final=not truncated)
    if text is not None:
        return text, NOTE_DECODED_AS.format(where=where, declared=label, actual="utf-8")
    detected = _detect(data)
    if detected is not None:
        text, encoding = detected
        return text, NOTE_DECODED_AS.format(where=where, declared=label, actual=encoding)
    return (
        data.decode(codec or "utf-8", errors="replace"),
        NOTE_REPLACED.format(where=where, declared=label),
    )


# Words of three or more high-bit letters in a row: Cyrillic in a single-byte code page, where
# Western European text has one accented letter between ASCII ones ("M\xfcller").
_HIGH_LETTER_RUN = re.compile(rb"[\xc0-\xff]{3,}")
_CYRILLIC_CODE_PAGES = ["cp1251", "koi8_r"]


def decode_header_bytes(data: bytes, hint: str | None = None) -> str:
    """Decode raw 8-bit header bytes (RFC 6532 says UTF-8; older mailers used the body's charset).

    Header values are too short for general detection (it reads "M\xfcller" as Arabic): the
    charset the message declares for its text is tried first, then a choice between the two
    Cyrillic code pages when the bytes look like Cyrillic words, and cp1252 last, because it maps
    every byte but five to a character instead of failing."""
    if data.isascii():
        return data.decode("ascii")
    text = _strict(data, "utf-8")
    if text is not None:
        return text
    codec = resolve_charset(hint)
    if codec is not None and _ascii_compatible(codec):
        text = _strict(data, codec)
        if text is not None:
            return text
    if _HIGH_LETTER_RUN.search(data):
        best = charset_normalizer.from_bytes(data, cp_isolation=_CYRILLIC_CODE_PAGES).best()
        if best is not None:
            return str(best)
    return data.decode("cp1252", errors="replace")
