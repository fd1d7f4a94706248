"""Attachment file names (feedback/mail/names.py)."""

import pytest

from feedback.mail.names import MAX_FILENAME_BYTES, MAX_FILENAME_CHARS, sanitize_filename


@pytest.mark.parametrize(
    ("name", "clean"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\Public\\evil.exe", "evil.exe"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("tab\there\x00.txt", "tabhere.txt"),
        ("  .hidden ", "hidden"),
        ("trailing dots...", "trailing dots"),
        ('what?<is>"this"|*.txt', "what__is__this___.txt"),
        ("CON.txt", "_CON.txt"),
        ("nul", "_nul"),
        ("Cafe\u0301.png", "Café.png"),
    ],
)
def test_names_are_cleaned(name, clean):
    assert sanitize_filename(name, index=1, content_type="application/octet-stream") == clean


@pytest.mark.parametrize(
    ("name", "content_type", "fallback"),
    [
        (None, "application/octet-stream", "attachment-3.bin"),
        ("", "image/jpeg", "attachment-3.jpg"),
        ("...", "message/rfc822", "attachment-3.eml"),
        ("\x07\x08", "application/x-no-such-type", "attachment-3.bin"),
    ],
)
def test_missing_or_empty_names_get_a_numbered_fallback(name, content_type, fallback):
    assert sanitize_filename(name, index=3, content_type=content_type) == fallback


def test_long_names_are_cut_keeping_the_extension():
    clean = sanitize_filename("a" * 500 + ".pdf", index=1, content_type="application/pdf")

    assert len(clean) == MAX_FILENAME_CHARS
    assert clean.endswith("a.pdf")


def test_long_non_ascii_names_fit_in_255_bytes():
    clean = sanitize_filename("日本語" * 100 + ".txt", index=1, content_type="text/plain")

    assert len(clean.encode("utf-8")) <= MAX_FILENAME_BYTES
    assert clean.endswith(".txt")
