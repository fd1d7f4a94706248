"""Quoted history and signatures separated from the new text (feedback/mail/quotes.py)."""

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedback.mail import parse_message
from feedback.mail.quotes import split_reply

FIXTURES = Path(__file__).parent / "fixtures" / "mail"
RECEIVED = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def parse(name: str):
    return parse_message((FIXTURES / name).read_bytes(), received_at=RECEIVED)


@pytest.mark.parametrize(
    ("fixture", "text", "quote_starts"),
    [
        (
            "gmail_reply.eml",
            "Hi,\n\nthe CSV export still stops after 1,000 rows \u2013 I tried twice today.",
            "On Mon, 2 Mar 2026 at 16:40, ACME Support <support@example.com> wrote:",
        ),
        (
            "outlook_reply.eml",
            "Hello,\n\nthe invoice still lists three seats; we have two. Please send a corrected "
            "one.\n\nRegards\nHans Meier",
            "________________________________\nFrom: ACME Support <support@example.com>",
        ),
        (
            "outlook_original_message.eml",
            "The reset link works now, thank you.",
            "-----Original Message-----\nFrom: ACME Support",
        ),
        (
            "apple_mail_reply.eml",
            "Thanks, Friday works for us. Please ring the bell at the back door, the front one "
            "is broken.",
            "> On 2 Mar 2026, at 18:05, ACME Support <support@example.com> wrote:",
        ),
        (
            "plain_quoting.eml",
            "ISO 8601, please. Semicolons as separators would help too.",
            "> Which date format does your spreadsheet expect?",
        ),
    ],
)
def test_reply_keeps_the_new_text_and_moves_the_history_out(fixture, text, quote_starts):
    parsed = parse(fixture)

    assert parsed.text == text
    assert parsed.quoted_text.startswith(quote_starts)


def test_apple_mail_footer_is_the_signature():
    assert parse("apple_mail_reply.eml").signature == "Sent from my iPhone"


def test_dash_dash_space_starts_the_signature_and_lists_stay_text():
    parsed = parse("signature.eml")

    assert parsed.text.endswith("Steps:\n- open the app\n- wait two seconds")
    assert parsed.signature == "Ana Silva\nHead of Operations, Example Org\n+351 21 000 0000"
    assert parsed.quoted_text == ""


def test_html_only_reply_is_split_on_its_text_rendering():
    raw = (FIXTURES / "gmail_reply.eml").read_bytes()
    start = raw.index(b"--000000000000c1d2e3f4\r\nContent-Type: text/plain")
    end = raw.index(b"--000000000000c1d2e3f4\r\nContent-Type: text/html")

    parsed = parse_message(raw[:start] + raw[end:], received_at=RECEIVED)

    assert parsed.text.endswith("I tried twice today.")
    assert "> Could you try the export again?" in parsed.quoted_text


def test_a_sentence_starting_with_thanks_is_not_a_signature():
    split = split_reply("Hi,\nThanks, but the invoice is wrong: it lists 3 seats.\nWe have 2.\n")

    assert split.text == "Hi,\nThanks, but the invoice is wrong: it lists 3 seats.\nWe have 2."
    assert split.signature == ""


def test_answers_between_quotes_keep_their_quotes_as_context():
    text = "> Does it fail?\nYes, every time.\n> On which device?\nMy laptop.\n"

    split = split_reply(text)

    assert split.text == text.strip()
    assert split.quoted_text == ""


def test_an_attribution_in_an_unknown_language_goes_with_its_quote():
    split = split_reply("It is not.\n\nJane Doe <jane@x.example> kirjoitti 3.3.2026:\n> Fine.\n")

    assert split.text == "It is not."
    assert split.quoted_text == "Jane Doe <jane@x.example> kirjoitti 3.3.2026:\n> Fine."


def test_a_colon_before_a_quoted_log_line_stays_with_the_new_text():
    split = split_reply("I get this error:\n> Error 500\n")

    assert split.text == "I get this error:"
    assert split.quoted_text == "> Error 500"


@pytest.mark.parametrize(
    "text",
    [
        "> only a quote\n> nothing new\n",
        "---------- Forwarded message ---------\nFrom: A <a@x.example>\nDate: Tue, 3 Mar 2026\n"
        "Subject: help\nTo: b@y.example\n\nPlease help\n",
    ],
)
def test_a_mail_with_nothing_new_keeps_everything_as_text(text):
    split = split_reply(text)

    assert split.text == text.strip("\n")
    assert split.quoted_text == ""


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("Am Di., 3. März 2026 um 10:02 Uhr schrieb Support <support@example.com>:", "de"),
        ("Le mar. 3 mars 2026 à 10:02, Support <support@example.com> a écrit :", "fr"),
        ("El mar, 3 mar 2026 a las 10:02, Support (<support@example.com>) escribió:", "es"),
    ],
)
def test_reply_headers_in_other_languages_are_found(header, language):
    split = split_reply(f"Danke.\n\n{header}\n> alt\n")

    assert split.text == "Danke.", language
    assert split.quoted_text.startswith(header)


def test_long_lines_do_not_make_the_header_search_slow():
    text = ("On " + "x y" * 5000 + "\n") * 50

    started = time.monotonic()
    split_reply(text)

    assert time.monotonic() - started < 2
