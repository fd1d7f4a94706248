"""Run the benchmarks against PostgreSQL: ``python -m bench.run [--quick] [--reps N]``.

``DATABASE_URL`` names the database (default below). It is created when missing, migrated,
filled with a realistic directory once (reloaded only when the volume changes), vacuumed and
analysed, and then each benchmark runs the portal's code and a raw-SQL floor in turns, several
times, reporting the median of each and their ratio. Timing numbers depend on the machine;
the ratios are the result.
"""

import argparse
import base64
import dataclasses
import os
import platform
import subprocess
import sys
import time
from urllib.parse import urlsplit, urlunsplit

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal_bench"


def _prepare_environment() -> str:
    url = os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("bench/run.py measures the scaled-out stack: DATABASE_URL must be PostgreSQL.")
    # Measure the production configuration: debug off (no query log kept in memory).
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + "k" * 60)
    # Debug off requires both; the benchmark stores no credentials and sends no links.
    os.environ.setdefault("PORTAL_ENCRYPTION_KEY", base64.urlsafe_b64encode(b"b" * 32).decode())
    os.environ.setdefault("PORTAL_BASE_URL", "http://127.0.0.1:8000")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    # The benchmarks' feeds and forums are served on loopback.
    os.environ.setdefault("PORTAL_CHANNEL_NETWORKS", "local")
    return url


def maintenance_url(url: str) -> str:
    """The server's maintenance database (``postgres``) at ``url``'s server."""
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def maintenance(url: str, *statements: str) -> None:
    """Run ``statements`` (CREATE or DROP DATABASE, ...) outside a transaction on ``url``'s
    server."""
    import psycopg2

    connection = psycopg2.connect(maintenance_url(url))
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        connection.close()


def _create_database_if_missing(url: str) -> None:
    import psycopg2
    from psycopg2 import sql

    name = urlsplit(url).path.lstrip("/")
    connection = psycopg2.connect(maintenance_url(url))
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                print(f"created database {name}")
    finally:
        connection.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small volume, for a smoke run")
    parser.add_argument("--reps", type=int, default=0, help="repetitions (median is reported)")
    parser.add_argument("--import-rows", type=int, default=0, help="rows per CSV import")
    parser.add_argument(
        "--feedback-rows", type=int, default=0, help="rows of the feedback CSV import"
    )
    parser.add_argument(
        "--only",
        choices=["directory", "feedback", "ingest", "channels", "inbox"],
        help="run one benchmark (the directory is loaded either way, except for ingest)",
    )
    options = parser.parse_args(argv)
    if options.only == "ingest":
        # IMAP ingestion (bench/ingest_imap.py) sets up databases, dovecot and a helpdesk
        # virtualenv of its own.
        from bench import ingest_imap

        ingest_imap.main(["--quick"] if options.quick else [])
        return
    if options.only == "channels":
        # Feed and forum polls and the likely-duplicate check (bench/channels.py), on
        # databases of their own.
        from bench import channels

        channels.main(["--quick"] if options.quick else [])
        return
    if options.only == "inbox":
        # The inbox page under load against a bare view and the bare SQL (bench/inbox.py), on
        # a database of its own.
        from bench import inbox

        inbox.main(["--quick"] if options.quick else [])
        return

    url = _prepare_environment()
    _create_database_if_missing(url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench import bench_directory, bench_feedback_import

    call_command("migrate", verbosity=0)
    volume = bench_directory.QUICK if options.quick else bench_directory.FULL
    if options.import_rows:
        volume = dataclasses.replace(volume, import_rows=options.import_rows)
    reps = options.reps or (5 if options.quick else 15)

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"PostgreSQL {server_version}; volume: {volume.accounts:,} accounts, "
        f"{volume.customers:,} customers; {reps} repetitions, median"
    )
    started = time.perf_counter()
    bench_directory.load(volume)
    print(f"load: {time.perf_counter() - started:.1f} s")
    if options.only != "feedback":
        results = bench_directory.run(volume, reps=reps)
        bench_directory.print_table(results)
    if options.only != "directory":
        # 100,000 rows take two minutes per side on this machine: one run unless --reps asks
        # for more (at most three).
        feedback_rows = options.feedback_rows or (
            bench_feedback_import.QUICK_ROWS if options.quick else bench_feedback_import.FULL_ROWS
        )
        feedback = bench_feedback_import.run(feedback_rows, reps=min(options.reps or 1, 3))
        bench_feedback_import.print_table(feedback)
    if options.only is None:
        # Django is set up on this benchmark's database: ingestion runs in a process of its own.
        for module in ("bench.ingest_imap", "bench.channels", "bench.inbox"):
            subprocess.run(
                [sys.executable, "-m", module, *(["--quick"] if options.quick else [])],
                check=True,
            )
    print(f"total: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
