"""The embedded default's broker: kombu's filesystem transport writing each message atomically."""

import os
from pathlib import Path

import pytest
from kombu import Connection

from portal import broker
from portal.broker import PARTIAL_SUFFIX


@pytest.fixture
def connection(tmp_path):
    folder = tmp_path / "queue"
    folder.mkdir()
    (tmp_path / "control").mkdir()
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "control_folder": str(tmp_path / "control"),
    }
    with Connection("portalfs://", transport_options=options) as connection:
        yield connection, folder


def test_a_message_round_trips_and_no_partial_file_stays(connection):
    connection, folder = connection
    queue = connection.SimpleQueue("work")
    queue.put({"n": 1})

    assert [path.name.endswith(".work.msg") for path in folder.iterdir()] == [True]
    assert queue.get(timeout=1).payload == {"n": 1}
    queue.close()


def test_a_message_is_visible_to_readers_only_once_written_whole(connection, monkeypatch):
    # kombu's own transport opened the final name and then wrote: a reader could take the
    # file in between, read nothing, and stop the worker with a JSONDecodeError.
    connection, folder = connection
    seen_before_rename = []
    real_replace = os.replace

    def replace_and_look(source, target):
        seen_before_rename.append(sorted(path.name for path in folder.iterdir()))
        assert Path(source).read_bytes().endswith(b"}")
        real_replace(source, target)

    monkeypatch.setattr(broker.os, "replace", replace_and_look)
    channel = connection.default_channel
    channel._put("work", {"n": 2})

    assert len(seen_before_rename) == 1
    (only,) = seen_before_rename[0]
    assert only.endswith(f".work.msg{PARTIAL_SUFFIX}")
    assert channel._get("work") == {"n": 2}
