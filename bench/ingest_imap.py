"""Ingestion from IMAP, side by side in one run: ``python -m bench.ingest_imap [--quick]``
(or ``python -m bench.run --only ingest``).

A real dovecot (the tests' harness, ``tests/feedback/dovecot.py``) on loopback holds 2,000
messages generated from a fixed seed (``bench/mailgen.py``) plus every ``*.eml`` of
``PORTAL_EMAIL_CORPUS`` when it is set. All three readers speak STARTTLS to it, since
django-helpdesk always does:

(a) ours: ``services.channel_poll_now`` on a new IMAP channel, polled until nothing is left:
    UID FETCH in batches, raw mail stored with its cursor, parsed into items, messages and
    attachments, on a new PostgreSQL database (``<DATABASE_URL name>_ingest``) each run;
(b) the floor: imapclient ``UID FETCH BODY.PEEK[]`` in batches of the same size and the standard
    library's parse (``policy=default``: headers, the body part's text, each attachment's
    content), nothing stored;
(c) django-helpdesk's ``get_email`` (``bench/helpdesk.py``), from its own virtualenv, on its
    own database, on a mailbox seeded again for each run since it deletes what it reads.

Then the peak memory (max RSS, from ``wait4``) of a ``manage.py poll_channels`` process that
ingests one message with a 12 MB attachment, next to one that polls an empty mailbox.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.run import maintenance

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".local" / "bench"
MEDIA = WORK / "media"
# The benchmark's own local folder: the tasks its polls queue (a duplicate check per new item,
# sentiment per chunk) wait in its own embedded broker, not in the working tree's, where a
# `make run` worker would pick thousands of them up.
LOCAL = WORK / "local"
BATCH = 100
FULL_MESSAGES = 2_000
QUICK_MESSAGES = 200
# Ingested (by each reader) before the timed run, into other teams / queues, then ANALYZE.
WARM_MESSAGES = 200
# Targets of issue 8.
FLOOR_SHARE_TARGET = 0.5
HELPDESK_FACTOR_TARGET = 4.0
MEMORY_TARGET_MB = 300


@dataclass
class Timing:
    name: str
    seconds: list[float]
    messages: int
    detail: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def rate(self) -> float:
        return self.messages / self.median


def _database_url(suffix: str) -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"{parts.path}_{suffix}"))


def _prepare_environment() -> str:
    """Point Django at the benchmark's own database; the helpdesk database's URL."""
    from bench.run import _prepare_environment as prepare

    prepare()
    helpdesk_url = _database_url("helpdesk")
    os.environ["DATABASE_URL"] = _database_url("ingest")
    os.environ["DJANGO_MEDIA_ROOT"] = str(MEDIA)
    os.environ["PORTAL_LOCAL_DIR"] = str(LOCAL)
    return helpdesk_url


def _ensure_database(url: str) -> None:
    from bench.run import _create_database_if_missing

    _create_database_if_missing(url)


def reset_portal_database() -> None:
    """A new, migrated database and an empty media folder for one run of ours.

    Not analysed: statistics of empty tables (row count 0) tie the planner between the
    single-column ``team_id`` index and the unique identity index, and it then filters a
    growing team's rows for every message; a new install has no statistics either, and
    autovacuum (off on the benchmark machine) analyses as rows arrive."""
    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command
    from django.db import connections

    url = os.environ["DATABASE_URL"]
    name = urlsplit(url).path.lstrip("/")
    connections.close_all()
    maintenance(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)
    ContentType.objects.clear_cache()
    shutil.rmtree(MEDIA, ignore_errors=True)
    # Tasks queued by the run before name rows of the database just dropped.
    for queued in (LOCAL / "broker" / "queue").glob("*.msg"):
        queued.unlink(missing_ok=True)


def _new_channel(account, name: str, team_slug: str = "bench-ingest"):
    from feedback import services
    from portal.actors import SYSTEM
    from portal.models import Team

    team, _ = Team.objects.get_or_create(slug=team_slug, defaults={"name": team_slug.title()})
    return services.channel_create(
        actor=SYSTEM,
        team=team,
        kind="imap",
        name=name,
        config=account.config("starttls", timeout=120),
    )


# (a) ours ----------------------------------------------------------------------------------


def _poll_all(channel_id: int) -> int:
    """Poll until the mailbox is read; the number of polls."""
    from feedback import services

    polls = 0
    while True:
        report = services.channel_poll_now(channel_id=channel_id, batch_limit=BATCH)
        polls += 1
        if report.error:
            raise RuntimeError(f"our poll failed: {report.error}")
        if not report.more:
            return polls


def warm_up(warm_account) -> None:
    """Ingest the small warm-up mailbox into another team, then ANALYZE: the planner has
    statistics, as autovacuum (off on the benchmark machine) would have given it."""
    from django.db import connection

    _poll_all(_new_channel(warm_account, "Warm-up", team_slug="bench-warm-up").pk)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def ours_once(account, warm_account, expected: int) -> tuple[float, str]:
    from feedback.models import Attachment, FeedbackItem, Message, Quarantine, RawPayload

    reset_portal_database()
    warm_up(warm_account)
    channel = _new_channel(account, "Support")
    team = channel.team
    started = time.perf_counter()
    polls = _poll_all(channel.pk)
    seconds = time.perf_counter() - started
    payloads = RawPayload.objects.filter(channel=channel).count()
    if payloads != expected:
        raise RuntimeError(f"our poll stored {payloads} payloads of {expected}")
    detail = (
        f"{polls} polls; {payloads} payloads, {Message.objects.filter(team=team).count()} "
        f"messages, {FeedbackItem.objects.filter(team=team).count()} items, "
        f"{Attachment.objects.filter(message__team=team).count()} attachments, "
        f"{Quarantine.objects.filter(payload__channel=channel).count()} quarantined"
    )
    return seconds, detail


# (b) the floor -----------------------------------------------------------------------------


def _touch(raw: bytes) -> None:
    """What any consumer of a mail does with it: headers, body text, attachments decoded."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    for name in ("from", "to", "subject", "date", "message-id", "in-reply-to", "references"):
        message.get(name)
    body = message.get_body(preferencelist=("plain", "html"))
    if body is not None:
        body.get_content()
    for part in message.iter_attachments():
        part.get_payload(decode=True)


def floor_once(account) -> tuple[float, int]:
    import ssl

    from imapclient import IMAPClient

    started = time.perf_counter()
    context = ssl.create_default_context(cadata=account.server.certificate_pem)
    client = IMAPClient(account.server.host, port=account.server.imap_port, ssl=False, timeout=120)
    client.starttls(context)
    client.login(account.username, account.password)
    client.select_folder("INBOX", readonly=True)
    uids = sorted(client.search(["ALL"]))
    count = 0
    for start in range(0, len(uids), BATCH):
        for data in client.fetch(uids[start : start + BATCH], ["BODY.PEEK[]"]).values():
            # The floor counts a mail it cannot parse too, as ours quarantines it.
            with suppress(Exception):
                _touch(data[b"BODY[]"])
            count += 1
    client.logout()
    return time.perf_counter() - started, count


# (c) django-helpdesk ----------------------------------------------------------------------


def helpdesk_once(server, python: Path, database_url: str, mails, warm_mails, names, timing):
    """One run on a new mailbox, added to ``timing``. The rate counts the mail helpdesk took
    (marked \\Deleted, or expunged): when one mail crashes ``get_email``, it stops there and
    leaves the rest."""
    from bench.helpdesk import run_get_email

    account = _mailbox(server, mails)
    warm_account = _mailbox(server, warm_mails)
    run = run_get_email(
        python,
        database_url=database_url,
        media_root=WORK / "helpdesk-media",
        host=server.host,
        port=server.imap_port,
        username=account.username,
        password=account.password,
        warm_username=warm_account.username,
        warm_password=warm_account.password,
    )
    timing.seconds.append(run.seconds)
    left = sorted(uid for uid, flags in account.flags("INBOX").items() if b"\\Deleted" not in flags)
    timing.messages = len(mails) - len(left)
    # A fresh mailbox numbers its mail 1, 2, ... in the order it was appended.
    stopped = f"; stopped at {names[left[0] - 1]}, {len(left)} left unread" if left else ""
    timing.detail = (
        f"took {timing.messages} of {len(mails)}: {run.tickets} tickets, "
        f"{run.followups} follow-ups, {run.attachments} attachments{stopped}; "
        f"its Django {run.django}"
    )


# the run -----------------------------------------------------------------------------------


def _mailbox(server, mails: list[bytes]):
    account = server.add_user()
    for start in range(0, len(mails), 500):
        account.append_many("INBOX", mails[start : start + 500])
    return account


def _versions(helpdesk_python: Path | None) -> str:
    import django
    import imapclient
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    dovecot = subprocess.run(
        [shutil.which("dovecot", path="/usr/sbin:/usr/bin") or "dovecot", "--version"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    text = (
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"Django {django.get_version()}, IMAPClient {imapclient.__version__}, "
        f"PostgreSQL {postgres}, dovecot {dovecot}"
    )
    if helpdesk_python is not None:
        from bench.helpdesk import HELPDESK_VERSION

        text += f", django-helpdesk {HELPDESK_VERSION}"
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_MESSAGES} messages")
    parser.add_argument("--messages", type=int, default=0, help="generated messages")
    parser.add_argument("--reps", type=int, default=3, help="runs of ours (median)")
    parser.add_argument("--floor-reps", type=int, default=3, help="runs of the floor (median)")
    parser.add_argument("--helpdesk-reps", type=int, default=3, help="runs of django-helpdesk")
    parser.add_argument("--no-helpdesk", action="store_true", help="skip django-helpdesk")
    options = parser.parse_args(argv)
    helpdesk_url = _prepare_environment()
    _ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from bench import helpdesk, mailgen
    from bench.ingest_memory import measure_memory
    from tests.feedback.dovecot import DovecotServer, dovecot_available

    if not dovecot_available():
        sys.exit("dovecot and openssl are needed (Debian: apt-get install dovecot-imapd)")
    started = time.perf_counter()
    helpdesk_python = None
    if not options.no_helpdesk:
        helpdesk_python = helpdesk.ensure_venv(WORK / "helpdesk-venv")
        _ensure_database(helpdesk_url)
    count = options.messages or (QUICK_MESSAGES if options.quick else FULL_MESSAGES)
    mails = mailgen.generate(count)
    corpus = os.environ.get("PORTAL_EMAIL_CORPUS", "")
    corpus_files = sorted(Path(corpus).glob("*.eml")) if corpus else []
    mails += [path.read_bytes() for path in corpus_files]
    warm_mails = mailgen.generate(WARM_MESSAGES, seed=mailgen.SEED + 1)
    print(_versions(helpdesk_python))
    print(
        f"mailbox: {count:,} generated + {len(corpus_files)} corpus = {len(mails):,} messages, "
        f"{sum(map(len, mails)) / 1e6:.1f} MB; batches of {BATCH}; setup "
        f"{time.perf_counter() - started:.1f} s"
    )

    server = DovecotServer.start(WORK / "dovecot", instance="bench")
    try:
        shared = _mailbox(server, mails)
        warm = _mailbox(server, warm_mails)
        floor = Timing("(b) floor: imapclient + email", [], len(mails))
        ours = Timing("(a) ours: channel_poll_now", [], len(mails))
        helpdesk_timing = Timing("(c) django-helpdesk get_email", [], 0)
        names = [f"generated #{n + 1}" for n in range(count)] + [p.name for p in corpus_files]
        # The three in turns, so that a load spike from elsewhere falls on all of them.
        for rep in range(max(options.reps, options.floor_reps, options.helpdesk_reps)):
            if rep < options.floor_reps:
                seconds, fetched = floor_once(shared)
                assert fetched == len(mails), fetched
                floor.seconds.append(seconds)
            if rep < options.reps:
                seconds, ours.detail = ours_once(shared, warm, len(mails))
                ours.seconds.append(seconds)
            if helpdesk_python is not None and rep < options.helpdesk_reps:
                helpdesk_once(
                    server, helpdesk_python, helpdesk_url, mails, warm_mails, names, helpdesk_timing
                )
        timings = [ours, floor] + ([helpdesk_timing] if helpdesk_python is not None else [])
        peak_kb, idle_kb, memory_detail = measure_memory(server)
    finally:
        server.stop()
    report(timings, peak_kb, idle_kb, memory_detail)
    print(f"total: {time.perf_counter() - started:.1f} s")


def report(timings: list[Timing], peak_kb: int, idle_kb: int, memory_detail: str) -> None:
    print()
    print(f"{'reader':<34} {'runs':>4} {'median s':>9} {'msgs/s':>9}")
    for timing in timings:
        print(
            f"{timing.name:<34} {len(timing.seconds):>4} {timing.median:>9.2f} {timing.rate:>9.1f}"
        )
        print(
            f"    runs: {', '.join(f'{s:.2f}' for s in timing.seconds)}; {timing.detail}".rstrip(
                "; "
            )
        )
    ours, floor = timings[0], timings[1]
    share = ours.rate / floor.rate
    print(f"ours / floor: {share:.2f}x (target >= {FLOOR_SHARE_TARGET}x)")
    if len(timings) > 2:
        factor = ours.rate / timings[2].rate
        print(f"ours / django-helpdesk: {factor:.2f}x (target >= {HELPDESK_FACTOR_TARGET}x)")
    peak_mb = peak_kb / 1024
    print(
        f"peak worker memory: {peak_mb:.0f} MB max RSS ingesting a {memory_detail}; "
        f"an idle poll {idle_kb / 1024:.0f} MB (target < {MEMORY_TARGET_MB} MB)"
    )


if __name__ == "__main__":
    main()
