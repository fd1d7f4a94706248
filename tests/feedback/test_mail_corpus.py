"""Every real-world mail of the shared corpus parses, or is refused with UnparseableMessage.

CI sets PORTAL_EMAIL_CORPUS (to ../shared/corpus/emails); locally, export it to the corpus
folder. Without it the tests skip, and with PORTAL_REQUIRE_SERVICES=1 they fail instead."""

import os
from datetime import UTC, datetime
from pathlib import Path

from feedback.mail import LANES, UnparseableMessage, parse_message
from feedback.mail.parse import REASON_INTERNAL
from tests.conftest import require_service

RECEIVED = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
INTERNAL_PREFIX = REASON_INTERNAL.split("{", 1)[0]


def corpus_files() -> list[Path]:
    folder = os.environ.get("PORTAL_EMAIL_CORPUS", "")
    require_service(bool(folder), "PORTAL_EMAIL_CORPUS is not set")
    files = sorted(Path(folder).glob("*.eml"))
    require_service(bool(files), f"no .eml files in PORTAL_EMAIL_CORPUS={folder}")
    return files


def test_every_corpus_mail_parses_or_is_unparseable():
    outcomes = {}
    for path in corpus_files():
        try:
            parsed = parse_message(path.read_bytes(), received_at=RECEIVED)
        except UnparseableMessage as refused:
            outcomes[path.name] = refused.reason
        else:
            assert parsed.lane in LANES, path.name
            assert len(parsed.identity_hash) == 64, path.name
            outcomes[path.name] = parsed.lane

    # A mail refused because the parser itself failed is a bug to fix, not bad input.
    failures = {
        name: reason for name, reason in outcomes.items() if reason.startswith(INTERNAL_PREFIX)
    }
    assert failures == {}


def test_corpus_machine_mail_is_never_in_the_customer_lane():
    machine_markers = ("bounce", "disposition-notification", "complaints", "multipart_report")
    lanes = {}
    for path in corpus_files():
        if any(marker in path.name for marker in machine_markers):
            lanes[path.name] = parse_message(path.read_bytes(), received_at=RECEIVED).lane

    assert lanes
    assert [name for name, lane in lanes.items() if lane == "customer"] == []


def test_parsing_a_corpus_mail_twice_gives_the_same_identity():
    for path in corpus_files():
        raw = path.read_bytes()
        try:
            first = parse_message(raw, received_at=RECEIVED)
        except UnparseableMessage:
            continue
        assert parse_message(raw, received_at=RECEIVED).identity_hash == first.identity_hash
