"""The pure half of the IMAP connector, on FETCH answers recorded from dovecot 2.3.

The files under ``fixtures/imap/`` hold the untagged FETCH data exactly as imaplib hands it
to imapclient (``repr`` of the list), captured from the test dovecot with ``UID FETCH``.
"""

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest
from imapclient.response_parser import parse_fetch_response

from feedback.channels.base import ConnectorError, FetchedItem
from feedback.channels.imap.protocol import (
    FETCH_INCOMPLETE,
    cursor_last_uid,
    items_from_fetch,
    make_cursor,
    plan_batch,
    uids_after,
    uids_to_move,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imap"
UIDVALIDITY = 1796299013


def recorded(name: str) -> dict:
    data = ast.literal_eval((FIXTURES / name).read_text())
    return parse_fetch_response(data, normalise_times=False, uid_is_key=True)


def test_fetch_answer_becomes_items_with_raw_bytes_utc_arrival_and_metadata():
    items = items_from_fetch(
        recorded("fetch_two_messages.txt"), uids=[1, 2], folder="INBOX", uidvalidity=UIDVALIDITY
    )

    assert [item.source_id for item in items] == [f"{UIDVALIDITY}:1", f"{UIDVALIDITY}:2"]
    first = items[0]
    assert first.raw.startswith(b"From: Ana Garcia <ana@example.com>\r\n")
    assert "Señora García".encode() in first.raw
    assert len(first.raw) == 324
    assert first.received_at == datetime(2026, 12, 1, 8, 15, 3, tzinfo=UTC)
    assert first.metadata == {
        "folder": "INBOX",
        "uidvalidity": UIDVALIDITY,
        "uid": 1,
        "size": 324,
        "flags": ["\\Seen", "\\Recent"],
    }
    assert items[1].metadata["flags"] == ["\\Recent"]


def test_items_come_in_the_order_of_the_requested_uids():
    items = items_from_fetch(
        recorded("fetch_two_messages.txt"), uids=[2, 1], folder="INBOX", uidvalidity=UIDVALIDITY
    )

    assert [item.metadata["uid"] for item in items] == [2, 1]


def test_unsolicited_flag_updates_for_other_messages_are_ignored():
    response = recorded("fetch_with_unsolicited_flags.txt")
    # The server slipped in "* 1 FETCH (FLAGS ...)" for a message nobody asked for.
    assert set(response) == {1, 3}

    items = items_from_fetch(response, uids=[3], folder="INBOX", uidvalidity=UIDVALIDITY)

    assert [item.raw for item in items] == [b"Subject: third\r\n\r\nthird\r\n"]


def test_a_requested_uid_missing_from_the_answer_was_expunged_and_is_skipped():
    items = items_from_fetch(
        recorded("fetch_two_messages.txt"), uids=[1, 2, 9], folder="INBOX", uidvalidity=1
    )

    assert [item.metadata["uid"] for item in items] == [1, 2]


def test_a_message_answered_without_content_is_a_retryable_error():
    response = {5: {b"SEQ": 1, b"RFC822.SIZE": 10, b"FLAGS": ()}}

    with pytest.raises(ConnectorError) as raised:
        items_from_fetch(response, uids=[5], folder="INBOX", uidvalidity=1)

    assert raised.value.message == FETCH_INCOMPLETE.format(uid=5, folder="INBOX")
    assert raised.value.retryable


def test_an_arrival_time_without_zone_is_taken_as_utc():
    response = {1: {b"BODY[]": b"x", b"INTERNALDATE": datetime(2026, 1, 2, 3, 4, 5)}}

    [item] = items_from_fetch(response, uids=[1], folder="INBOX", uidvalidity=1)

    assert item.received_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert item.metadata["size"] == 1


def test_search_from_beyond_the_last_uid_still_names_the_last_message_and_is_filtered():
    # Recorded: dovecot answers "UID SEARCH UID 7:*" with "* SEARCH 3" when 3 is the top UID.
    assert uids_after([3], 6) == []
    assert uids_after([9, 7, 8, 7], 6) == [7, 8, 9]


def test_cursor_resumes_only_for_the_same_folder_and_uidvalidity():
    cursor = make_cursor("INBOX", 100, 42)

    assert cursor == {"folder": "INBOX", "uidvalidity": 100, "last_uid": 42}
    assert cursor_last_uid(cursor, folder="INBOX", uidvalidity=100) == 42
    assert cursor_last_uid(cursor, folder="INBOX", uidvalidity=101) == 0
    assert cursor_last_uid(cursor, folder="Support", uidvalidity=100) == 0
    assert cursor_last_uid(None, folder="INBOX", uidvalidity=100) == 0


@pytest.mark.parametrize(
    "cursor",
    [
        {"uidvalidity": 100, "last_uid": "42"},
        {"uidvalidity": 100, "last_uid": True},
        {"uidvalidity": 100, "last_uid": -1},
        {"uidvalidity": "100", "last_uid": 42},
        ["INBOX", 100, 42],
    ],
)
def test_a_malformed_cursor_starts_from_the_beginning(cursor):
    assert cursor_last_uid(cursor, folder="INBOX", uidvalidity=100) == 0


def test_a_cursor_without_folder_is_read_as_this_folders():
    assert cursor_last_uid({"uidvalidity": 7, "last_uid": 3}, folder="INBOX", uidvalidity=7) == 3


def test_batch_stops_at_the_limit_and_says_more_remain():
    sizes = dict.fromkeys(range(1, 6), 10)

    batch = plan_batch([1, 2, 3, 4, 5], sizes, limit=2, max_bytes=1000)

    assert (batch.uids, batch.last_uid, batch.more) == ([1, 2], 2, True)


def test_batch_stays_within_max_bytes():
    sizes = {1: 40, 2: 40, 3: 40}

    batch = plan_batch([1, 2, 3], sizes, limit=10, max_bytes=100)

    assert (batch.uids, batch.last_uid, batch.more) == ([1, 2], 2, True)


def test_a_message_larger_than_max_bytes_is_fetched_alone():
    sizes = {1: 500, 2: 10}

    first = plan_batch([1, 2], sizes, limit=10, max_bytes=100)
    second = plan_batch([2], sizes, limit=10, max_bytes=100)

    assert (first.uids, first.last_uid, first.more) == ([1], 1, True)
    assert (second.uids, second.last_uid, second.more) == ([2], 2, False)


def test_a_large_message_after_small_ones_waits_for_the_next_batch():
    batch = plan_batch([1, 2], {1: 10, 2: 500}, limit=10, max_bytes=100)

    assert (batch.uids, batch.last_uid, batch.more) == ([1], 1, True)


def test_uids_expunged_after_the_search_are_passed_over():
    batch = plan_batch([1, 2, 3], {2: 10}, limit=10, max_bytes=100)

    assert (batch.uids, batch.last_uid, batch.more) == ([2], 3, False)


def test_nothing_to_plan_gives_an_empty_batch():
    batch = plan_batch([], {}, limit=10, max_bytes=100)

    assert (batch.uids, batch.more) == ([], False)


def test_sizes_recorded_from_the_server_feed_the_plan():
    sizes = {uid: data[b"RFC822.SIZE"] for uid, data in recorded("fetch_sizes.txt").items()}

    batch = plan_batch([1, 2, 3], sizes, limit=10, max_bytes=400)

    assert sizes == {1: 324, 2: 166, 3: 25}
    assert (batch.uids, batch.last_uid, batch.more) == ([1], 1, True)


def item(source_id: str, folder: str | None = "INBOX") -> FetchedItem:
    metadata = {} if folder is None else {"folder": folder}
    return FetchedItem(source_id=source_id, raw=b"", received_at=None, metadata=metadata)


def test_only_items_of_this_folder_and_uidvalidity_are_moved():
    items = [
        item("7:3"),
        item("7:1"),
        item("6:2"),
        item("7:4", folder="Archive"),
        item("7:5", folder=None),
        item("garbage"),
    ]

    assert uids_to_move(items, folder="INBOX", uidvalidity=7) == [1, 3, 5]
