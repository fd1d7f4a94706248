"""Faults during a poll, and afterwards every message stored exactly once.

The TCP proxy (``tests/support/tcp_proxy.py``) sits in front of dovecot or PostgreSQL and drops,
stalls or rewrites what the server says. Worker processes are real ``manage.py poll_channels``
processes, stopped at a chosen point of the poll through pipes (``PORTAL_POLL_PAUSE``, see the
command) and killed with SIGKILL or let go. Every wait is bounded and driven by an event (a
byte on a pipe, a fault that engaged), never by a sleep; time passing is an injected clock or a
lease set to have run out.
"""

from __future__ import annotations

import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from feedback.channels.imap.connector import TIMED_OUT
from feedback.management.commands.poll_channels import SKIPPED
from feedback.models import Channel, Message, RawPayload
from feedback.services import LEASE_LOST, LEASE_SECONDS, channel_poll_now
from tests.conftest import require_service
from tests.factories import TeamFactory
from tests.feedback.dovecot import HOST, ImapAccount
from tests.feedback.factories import make_mail
from tests.feedback.ingestion import imap_channel, poll
from tests.support.tcp_proxy import TcpProxy

BASE_DIR = Path(settings.BASE_DIR)
CHILD_TIMEOUT = 60
MAILS = 3


def padded_mails(count: int = MAILS) -> list[bytes]:
    # Big enough that the FETCH answer spans several reads, so a fault lands mid-answer.
    return [
        make_mail(message_id=f"fault-{n}@x.example", body=f"Mail {n}\r\n" + "x" * 6000)
        for n in range(count)
    ]


def assert_each_stored_once(team, count: int = MAILS) -> None:
    ids = list(Message.objects.filter(team=team).values_list("external_id", flat=True))
    assert sorted(ids) == sorted(f"fault-{n}@x.example" for n in range(count))


@pytest.fixture
def imap_proxy(dovecot) -> Iterator[TcpProxy]:
    with TcpProxy(HOST, dovecot.imap_port, max_lifetime=60) as proxy:
        yield proxy


# --- IMAP faults ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_connection_dropped_mid_fetch_stores_nothing_and_the_next_poll_everything(
    imap_account: ImapAccount, imap_proxy: TcpProxy
):
    team = TeamFactory()
    channel = imap_channel(imap_account, team, port=imap_proxy.port)
    imap_account.append_many("INBOX", padded_mails())
    imap_proxy.drop_after(2000, marker=b"BODY[] {")

    failed = poll(channel)

    assert imap_proxy.triggered.is_set()
    assert failed.error.startswith("the connection to 127.0.0.1")
    assert not RawPayload.objects.exists()
    channel.refresh_from_db()
    assert (channel.cursor, channel.error_streak) == (None, 1)
    imap_proxy.clear()
    assert poll(channel).stored == MAILS
    assert_each_stored_once(team)


@pytest.mark.django_db
def test_a_bad_response_fails_the_poll_and_the_next_poll_stores_each_mail_once(
    imap_account: ImapAccount, imap_proxy: TcpProxy
):
    team = TeamFactory()
    channel = imap_channel(imap_account, team, port=imap_proxy.port)
    imap_account.append_many("INBOX", padded_mails())
    imap_proxy.rewrite_line(rb"^(\w+) OK Fetch completed[^\r\n]*", rb"\1 BAD Injected fault")

    failed = poll(channel)

    assert imap_proxy.triggered.is_set()
    assert "BAD Injected fault" in failed.error
    assert not RawPayload.objects.exists()
    imap_proxy.clear()
    poll(channel)
    assert_each_stored_once(team)


@pytest.mark.django_db
def test_a_hanging_server_times_out_within_the_timeout_and_loses_nothing(
    imap_account: ImapAccount, imap_proxy: TcpProxy
):
    team = TeamFactory()
    channel = imap_channel(imap_account, team, port=imap_proxy.port, timeout=0.5)
    imap_account.append_many("INBOX", padded_mails())
    imap_proxy.stall_after(100, marker=b"BODY[] {")

    started = time.monotonic()
    failed = poll(channel)
    elapsed = time.monotonic() - started

    assert imap_proxy.triggered.is_set()
    assert failed.error == TIMED_OUT.format(timeout=0.5)
    assert elapsed < 5
    imap_proxy.clear()
    poll(channel)
    assert_each_stored_once(team)


# --- PostgreSQL unreachable -----------------------------------------------------------------


@contextmanager
def database_through(proxy: TcpProxy) -> Iterator[None]:
    """Django's connection goes through ``proxy`` inside the block, straight to PostgreSQL
    again afterwards."""
    saved = {key: connection.settings_dict[key] for key in ("HOST", "PORT")}
    connection.close()
    connection.settings_dict.update(HOST=proxy.host, PORT=str(proxy.port))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("point", ["fetched", "stored"])
def test_postgresql_unreachable_during_a_poll_loses_nothing_and_stores_nothing_twice(
    imap_account: ImapAccount, point: str
):
    require_service(
        connection.vendor == "postgresql", "this test runs on PostgreSQL: set DATABASE_URL"
    )
    team = TeamFactory()
    channel = imap_channel(imap_account, team)
    imap_account.append_many("INBOX", padded_mails())
    host = connection.settings_dict["HOST"] or "127.0.0.1"
    port = int(connection.settings_dict["PORT"] or 5432)
    proxy = TcpProxy(host, port, max_lifetime=60).start()

    def cut(reached: str) -> None:
        if reached == point:
            # Every connection through the proxy is closed and no new one gets through.
            proxy.stop()

    with database_through(proxy), pytest.raises(DatabaseError):
        channel_poll_now(channel_id=channel.pk, pause=cut)

    assert proxy.stopped.is_set()
    assert not RawPayload.objects.exists()
    channel.refresh_from_db()
    assert channel.cursor is None
    # The poll that died still holds the lease; once it has run out the channel is polled.
    later = timezone.now() + timedelta(seconds=LEASE_SECONDS + 1)
    assert not channel_poll_now(channel_id=channel.pk).claimed
    report = channel_poll_now(channel_id=channel.pk, now=later)
    assert (report.ok, report.stored) == (True, MAILS)
    assert_each_stored_once(team)


# --- worker processes -----------------------------------------------------------------------


class ChildDatabase:
    """The database a child process uses: the test database itself on PostgreSQL; on SQLite
    (whose test database lives in this process's memory) a file copy of it, made with
    ``VACUUM INTO`` once the test's rows are committed."""

    def __init__(self, tmp_path: Path) -> None:
        self.sqlite_path: Path | None = None
        if connection.vendor == "sqlite":
            self.sqlite_path = tmp_path / "child.sqlite3"
            with connection.cursor() as cursor:
                cursor.execute("VACUUM INTO %s", [str(self.sqlite_path)])

    def url(self) -> str:
        if self.sqlite_path is not None:
            return f"sqlite:///{self.sqlite_path}"
        db = connection.settings_dict
        credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        where = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        return f"postgres://{credentials}@{where}/{db['NAME']}"

    def scalar(self, sql: str) -> object:
        if self.sqlite_path is not None:
            with sqlite3.connect(self.sqlite_path) as child:
                return child.execute(sql).fetchone()[0]
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()[0]

    def execute(self, sql: str, params: list) -> None:
        if self.sqlite_path is not None:
            with sqlite3.connect(self.sqlite_path) as child:
                child.execute(sql.replace("%s", "?"), params)
            return
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    def message_ids(self) -> list[str]:
        rows_sql = "SELECT external_id FROM feedback_message ORDER BY external_id"
        if self.sqlite_path is not None:
            with sqlite3.connect(self.sqlite_path) as child:
                return [row[0] for row in child.execute(rows_sql)]
        with connection.cursor() as cursor:
            cursor.execute(rows_sql)
            return [row[0] for row in cursor.fetchall()]

    def expire_leases(self) -> None:
        """Time passing for the children, whose clock is the real one: every lease runs out."""
        long_ago = datetime(2000, 1, 1, tzinfo=UTC)
        # Django keeps SQLite's datetimes as text in this form, compared as text.
        value = long_ago.strftime("%Y-%m-%d %H:%M:%S") if self.sqlite_path else long_ago
        self.execute("UPDATE feedback_channel SET lease_expires_at = %s", [value])


class Worker:
    """``manage.py poll_channels --channel ID`` in a child process; with ``pause_at`` it stops
    at that point of the poll until resumed (or killed)."""

    def __init__(self, database: ChildDatabase, channel: Channel, tmp_path: Path, pause_at=None):
        env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL",)}
        env.update(
            DJANGO_SETTINGS_MODULE="portal.settings",
            DATABASE_URL=database.url(),
            DJANGO_MEDIA_ROOT=str(settings.MEDIA_ROOT),
            PORTAL_ENCRYPTION_KEY=settings.PORTAL_ENCRYPTION_KEY,
            PORTAL_LOCAL_DIR=str(tmp_path / "local"),
            PORTAL_TASKS_EAGER="1",
            PYTHONUNBUFFERED="1",
        )
        pass_fds: tuple[int, ...] = ()
        self.reached_read = self.resume_write = None
        if pause_at:
            reached_read, reached_write = os.pipe()
            resume_read, resume_write = os.pipe()
            env["PORTAL_POLL_PAUSE"] = pause_at
            env["PORTAL_POLL_PAUSE_FDS"] = f"{reached_write}:{resume_read}"
            pass_fds = (reached_write, resume_read)
            self.reached_read, self.resume_write = reached_read, resume_write
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(BASE_DIR / "manage.py"),
                "poll_channels",
                "--channel",
                str(channel.pk),
            ],
            cwd=BASE_DIR,
            env=env,
            pass_fds=pass_fds,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for fd in pass_fds:
            os.close(fd)

    def wait_until_paused(self) -> str:
        ready, _, _ = select.select([self.reached_read], [], [], CHILD_TIMEOUT)
        if not ready:
            self.kill()
            raise AssertionError(f"the worker did not pause:\n{self.output()}")
        line = os.read(self.reached_read, 100).decode()
        if not line:
            raise AssertionError(f"the worker exited before pausing:\n{self.output()}")
        return line.strip()

    def resume(self) -> None:
        os.write(self.resume_write, b"x")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=CHILD_TIMEOUT)

    def finish(self) -> tuple[int, str]:
        output = self.output()
        return self.process.returncode, output

    def output(self) -> str:
        out, _ = self.process.communicate(timeout=CHILD_TIMEOUT)
        self.close()
        return out.decode(errors="replace")

    def close(self) -> None:
        for fd in (self.reached_read, self.resume_write):
            if fd is not None:
                with suppress(OSError):
                    os.close(fd)
        self.reached_read = self.resume_write = None


@pytest.fixture
def mailbox_channel(imap_account: ImapAccount, transactional_db) -> Channel:
    team = TeamFactory()
    channel = imap_channel(imap_account, team)
    imap_account.append_many("INBOX", padded_mails())
    return channel


@pytest.mark.parametrize("point", ["fetched", "stored"])
def test_a_worker_killed_between_fetch_and_commit_loses_nothing(
    mailbox_channel: Channel, tmp_path: Path, point: str
):
    database = ChildDatabase(tmp_path)
    killed = Worker(database, mailbox_channel, tmp_path, pause_at=point)
    assert killed.wait_until_paused() == point
    killed.kill()
    killed.close()

    assert killed.process.returncode == -signal.SIGKILL
    assert database.scalar("SELECT COUNT(*) FROM feedback_rawpayload") == 0
    assert database.scalar('SELECT "cursor" FROM feedback_channel') is None
    # The dead worker's lease keeps others away until it runs out.
    code, output = Worker(database, mailbox_channel, tmp_path).finish()
    assert (code, output.strip()) == (0, SKIPPED.format(channel=mailbox_channel))
    database.expire_leases()
    code, output = Worker(database, mailbox_channel, tmp_path).finish()
    assert code == 0, output
    assert database.message_ids() == [f"fault-{n}@x.example" for n in range(MAILS)]
    assert database.scalar("SELECT COUNT(*) FROM feedback_rawpayload") == MAILS


def test_two_workers_at_once_poll_the_channel_one_after_the_other(
    mailbox_channel: Channel, tmp_path: Path
):
    database = ChildDatabase(tmp_path)
    first = Worker(database, mailbox_channel, tmp_path, pause_at="fetched")
    first.wait_until_paused()

    code, output = Worker(database, mailbox_channel, tmp_path).finish()
    assert (code, output.strip()) == (0, SKIPPED.format(channel=mailbox_channel))
    first.resume()
    code, output = first.finish()
    assert code == 0, output

    code, output = Worker(database, mailbox_channel, tmp_path).finish()
    assert code == 0, output
    assert "stored 0 new payload(s)" in output
    assert database.message_ids() == [f"fault-{n}@x.example" for n in range(MAILS)]


def test_a_worker_whose_lease_ran_out_mid_poll_stores_nothing_twice(
    mailbox_channel: Channel, tmp_path: Path
):
    database = ChildDatabase(tmp_path)
    slow = Worker(database, mailbox_channel, tmp_path, pause_at="fetched")
    slow.wait_until_paused()
    database.expire_leases()

    code, output = Worker(database, mailbox_channel, tmp_path).finish()
    assert code == 0, output
    assert f"stored {MAILS} new payload(s)" in output
    slow.resume()
    code, output = slow.finish()

    # The slow worker finds every item stored already and, without its lease, leaves the
    # cursor to the worker that holds it; it reports that it lost the channel.
    assert code == 1
    assert LEASE_LOST in output
    assert database.message_ids() == [f"fault-{n}@x.example" for n in range(MAILS)]
    assert database.scalar("SELECT COUNT(*) FROM feedback_rawpayload") == MAILS
