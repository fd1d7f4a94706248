"""Separating what a customer just wrote from the history they quoted and from their signature.

Reply headers ("On … wrote:", Outlook's "From: … Sent: …" block, "-----Original Message-----",
and their translations in a dozen languages) are found with mail-parser-reply's patterns: that is
the part of the problem that needs a maintained, multi-language collection. Its own splitting is
not used: it strips every line, and its signature rules end the new text at any line that starts
with "Thanks," or "- " (which cut customers' sentences and bullet lists off their message). Here
the new text is kept as written, ``>`` blocks before or after it are history, and a signature is
only what follows the "-- " delimiter (RFC 3676) or a one-line "Sent from my …" footer.

The patterns backtrack quadratically on long lines, so they only ever see a probe: the first
``MAX_PROBE_LINES`` lines, each cut to ``MAX_PROBE_LINE_CHARS`` (no reply header is longer)."""

import functools
import re
from dataclasses import dataclass

from mailparser_reply.constants import MAIL_LANGUAGES
from mailparser_reply.parser import EmailMessage

MAX_PROBE_LINES = 1000
MAX_PROBE_LINE_CHARS = 160
# A "-- " line further up than this is a separator in the text, not a signature delimiter.
MAX_SIGNATURE_LINES = 20

_QUOTED = re.compile(r"^\s*>")
_SEPARATOR = re.compile(
    r"^\s*(?:[_-]{8,}|-{3,}\s*(?:original message|forwarded message|message d'origine|"
    r"ursprüngliche nachricht|mensaje original|messaggio originale)\s*-{3,})\s*$",
    re.IGNORECASE,
)
_SIGNATURE_DELIMITER = re.compile(r"^--\s?$")
# An attribution names someone (an address) or a time (digits) and ends with a colon; a line
# such as "I get this error:" does neither and stays with the new text.
_ATTRIBUTION = re.compile(r"^(?=.*[@\d]).*:\s*$")


@dataclass(frozen=True)
class SplitText:
    text: str
    quoted_text: str
    signature: str


@functools.cache
def _header_pattern() -> re.Pattern[str]:
    # Built once per process, on first use, from every language the library knows.
    return EmailMessage(text="", languages=list(MAIL_LANGUAGES)).HEADER_REGEX


@functools.cache
def _mobile_footer_pattern() -> re.Pattern[str]:
    footers = [
        rules["sent_from"]
        for rules in MAIL_LANGUAGES.values()
        if isinstance(rules.get("sent_from"), str) and rules["sent_from"].strip()
    ]
    alternatives = "|".join(footers)
    return re.compile(rf"^\s*(?:{alternatives})(?:\W.{{0,80}})?$", re.IGNORECASE)


def _match_at_line_start(pattern: re.Pattern[str], probe: str) -> re.Match[str] | None:
    """``pattern.search(probe)`` for a pattern whose every alternative starts at a line start
    (``^``) or at the newline before one: tried only at line starts, where a match there is the
    one the search finds (or begins one newline earlier, which the caller skips). The search
    tried some thirty alternatives at every character: five times slower on the benchmark's
    mail, with the same answers."""
    position = 0
    while True:
        match = pattern.match(probe, position)
        if match is not None:
            return match
        newline = probe.find("\n", position)
        if newline < 0:
            return None
        position = newline + 1


def _first_reply_header(lines: list[str]) -> int | None:
    """Index of the first line of a reply header, or None."""
    probe = "\n".join(line.strip()[:MAX_PROBE_LINE_CHARS] for line in lines[:MAX_PROBE_LINES])
    match = _match_at_line_start(_header_pattern(), probe)
    if match is None:
        return None
    start = match.start()
    while start < len(probe) and probe[start] == "\n":
        start += 1
    index = probe.count("\n", 0, start)
    # Outlook puts a rule of underscores above its header block; it belongs to the history.
    previous = index - 1
    while previous >= 0 and not lines[previous].strip():
        previous -= 1
    if previous >= 0 and _SEPARATOR.match(lines[previous]):
        index = previous
    return index


def _blank(line: str) -> bool:
    return not line.strip()


def _quote_runs(lines: list[str]) -> list[tuple[int, int]]:
    """Runs of quoted lines [start, end), blank lines between quoted lines included."""
    runs: list[tuple[int, int]] = []
    index = 0
    while index < len(lines):
        if not _QUOTED.match(lines[index]):
            index += 1
            continue
        start = end = index
        while index < len(lines) and (_QUOTED.match(lines[index]) or _blank(lines[index])):
            if _QUOTED.match(lines[index]):
                end = index + 1
            index += 1
        runs.append((start, end))
    return runs


def _split_quote_blocks(lines: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(leading history, new text, trailing history) of a text without a reply header.

    A quote block after the new text is history. One before it is too (bottom-posting), unless
    the customer answered between quotes: then the quotes are the context of their answers."""
    runs = _quote_runs(lines)
    content = [i for i, line in enumerate(lines) if not _blank(line) and not _QUOTED.match(line)]
    if not runs or not content:
        return [], lines, []
    first, last = content[0], content[-1]
    trailing_start = len(lines)
    if runs[-1][0] > last:
        trailing_start = runs[-1][0]
        # "Jane wrote:" in a language the patterns do not know still introduces the quote.
        if _ATTRIBUTION.search(lines[last]):
            trailing_start = last
    inner = [run for run in runs if first < run[0] < trailing_start]
    leading_end = 0
    if runs[0][1] <= first and not inner:
        leading_end = runs[0][1]
    return lines[:leading_end], lines[leading_end:trailing_start], lines[trailing_start:]


def _split_signature(lines: list[str]) -> tuple[list[str], list[str]]:
    while lines and _blank(lines[-1]):
        lines = lines[:-1]
    lowest = max(1, len(lines) - MAX_SIGNATURE_LINES)
    for index in range(lowest, len(lines)):
        if _SIGNATURE_DELIMITER.match(lines[index]):
            return lines[:index], lines[index + 1 :]
    if len(lines) > 1 and _mobile_footer_pattern().match(lines[-1]):
        return lines[:-1], lines[-1:]
    return lines, []


def _join(lines: list[str]) -> str:
    return "\n".join(line.rstrip() for line in lines).strip("\n")


def split_reply(text: str) -> SplitText:
    """Split a mail's text into the new text, the quoted history and the signature.

    When nothing new is left (a bare forward, a mail that is all quote), everything stays text:
    an agent must never be shown an empty message whose content hides in the history."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    header = _first_reply_header(lines)
    history: list[str] = []
    if header is not None and any(not _blank(line) for line in lines[:header]):
        lines, history = lines[:header], lines[header:]
    leading, new, trailing = _split_quote_blocks(lines)
    new, signature = _split_signature(new)
    if not any(not _blank(line) for line in new):
        return SplitText(text=text.strip("\n"), quoted_text="", signature="")
    quoted = [part for part in (_join(leading), _join(trailing + history)) if part]
    return SplitText(text=_join(new), quoted_text="\n\n".join(quoted), signature=_join(signature))
