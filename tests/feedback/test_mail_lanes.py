"""Machine mail lanes and the original Message-ID of reports (feedback/mail/lanes.py)."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedback.mail import (
    LANE_AUTO_REPLY,
    LANE_BOUNCE,
    LANE_BULK,
    LANE_COMPLAINT,
    LANE_CUSTOMER,
    LANE_READ_RECEIPT,
    parse_message,
)

FIXTURES = Path(__file__).parent / "fixtures" / "mail"
RECEIVED = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def parse_raw(raw: bytes):
    return parse_message(raw, received_at=RECEIVED)


def parse(name: str):
    return parse_raw((FIXTURES / name).read_bytes())


def with_header(header: bytes) -> bytes:
    return header + b"\n" + (FIXTURES / "plain_message.eml").read_bytes()


@pytest.mark.parametrize(
    ("fixture", "lane", "original"),
    [
        ("dsn_bounce.eml", LANE_BOUNCE, "reply-4711@support.example.com"),
        ("dsn_bounce_headers_only.eml", LANE_BOUNCE, "reply-4712@support.example.com"),
        ("classic_bounce.eml", LANE_BOUNCE, "reply-4713@support.example.com"),
        ("mdn_read_receipt.eml", LANE_READ_RECEIPT, "reply-77@support.example.com"),
        ("arf_complaint.eml", LANE_COMPLAINT, "survey-99@support.example.com"),
        ("auto_reply_rfc3834.eml", LANE_AUTO_REPLY, ""),
        ("auto_reply_exchange_oof.eml", LANE_AUTO_REPLY, ""),
        ("auto_reply_exchange_generated.eml", LANE_AUTO_REPLY, ""),
        ("auto_reply_gmail_vacation.eml", LANE_AUTO_REPLY, ""),
        ("list_mail.eml", LANE_BULK, ""),
        ("gmail_reply.eml", LANE_CUSTOMER, ""),
        ("outlook_reply.eml", LANE_CUSTOMER, ""),
    ],
)
def test_fixture_lands_in_its_lane(fixture, lane, original):
    parsed = parse(fixture)

    assert (parsed.lane, parsed.original_message_id) == (lane, original)


@pytest.mark.parametrize(
    ("header", "lane"),
    [
        (b"Auto-Submitted: auto-generated", LANE_AUTO_REPLY),
        (b"Auto-Submitted: auto-replied; owner-email=jane@x.example", LANE_AUTO_REPLY),
        (b"X-Autorespond: vacation", LANE_AUTO_REPLY),
        (b"X-Auto-Response-Suppress: OOF, AutoReply", LANE_AUTO_REPLY),
        (b"X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent", LANE_AUTO_REPLY),
        (b"Precedence: auto_reply", LANE_AUTO_REPLY),
        (b"Precedence: bulk", LANE_BULK),
        (b"Precedence: junk", LANE_BULK),
        (b"Precedence: list", LANE_BULK),
        (b"List-Unsubscribe: <mailto:leave@list.example>", LANE_BULK),
        (b"List-Id: <announce.list.example>", LANE_BULK),
        (b"X-Failed-Recipients: nobody@gone.example", LANE_BOUNCE),
        (b"Auto-Submitted: no", LANE_CUSTOMER),
        (b"X-Autoreply: no", LANE_CUSTOMER),
        (b"X-Auto-Response-Suppress: DR, RN", LANE_CUSTOMER),
        (b"X-MS-Exchange-Inbox-Rules-Loop: info@haddad.example", LANE_CUSTOMER),
    ],
)
def test_machine_mail_markers(header, lane):
    assert parse_raw(with_header(header)).lane == lane


def test_lane_reason_names_the_deciding_header():
    assert parse("auto_reply_rfc3834.eml").lane_reason == "Auto-Submitted: auto-replied"
    assert parse("gmail_reply.eml").lane_reason == ""


def test_a_report_outranks_its_auto_submitted_header():
    parsed = parse("dsn_bounce.eml")

    assert parsed.lane == LANE_BOUNCE
    assert parsed.lane_reason == "multipart/report; report-type=delivery-status"


def test_a_customer_writing_from_a_postmaster_address_is_no_bounce():
    raw = (
        (FIXTURES / "plain_message.eml")
        .read_bytes()
        .replace(b"<Omar.Haddad@Haddad.Example>", b"<postmaster@haddad.example>")
    )

    assert parse_raw(raw).lane == LANE_CUSTOMER


def test_a_null_return_path_with_a_bounce_subject_is_a_bounce():
    raw = with_header(b"Return-Path: <>").replace(
        b"Subject: =?utf-8?q?Caf=C3=A9_machine_broken?=", b"Subject: Undeliverable: Invoice"
    )

    assert parse_raw(raw).lane == LANE_BOUNCE
