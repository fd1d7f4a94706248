"""Profile our whole IMAP poll (fetch, raw store, parse): ``python -m bench.profile_ingest``.

The same mailbox, database and warm-up as ``bench/ingest_imap.py`` (generated mail plus the
corpus of ``PORTAL_EMAIL_CORPUS``), one timed poll under cProfile, and the functions that took
the most cumulative time printed. ``--no-profile`` times the poll without cProfile (which slows
Python code about twice) and ``--runs N`` repeats it on a new database each time.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2_000, help="generated messages")
    parser.add_argument("--runs", type=int, default=1, help="timed polls, each on a new database")
    parser.add_argument("--no-profile", action="store_true", help="time only")
    parser.add_argument("--top", type=int, default=45, help="functions printed")
    parser.add_argument("--save", default="", help="write the cProfile stats to this file")
    options = parser.parse_args(argv)
    from bench import ingest_imap

    ingest_imap._prepare_environment()
    ingest_imap._ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from bench import mailgen
    from tests.feedback.dovecot import DovecotServer, dovecot_available

    if not dovecot_available():
        sys.exit("dovecot and openssl are needed (Debian: apt-get install dovecot-imapd)")
    mails = mailgen.generate(options.messages)
    corpus = os.environ.get("PORTAL_EMAIL_CORPUS", "")
    mails += [path.read_bytes() for path in sorted(Path(corpus).glob("*.eml"))] if corpus else []
    warm_mails = mailgen.generate(ingest_imap.WARM_MESSAGES, seed=mailgen.SEED + 1)
    server = DovecotServer.start(ingest_imap.WORK / "dovecot-profile", instance="profile")
    try:
        account = ingest_imap._mailbox(server, mails)
        warm = ingest_imap._mailbox(server, warm_mails)
        for _ in range(options.runs):
            ingest_imap.reset_portal_database()
            ingest_imap.warm_up(warm)
            channel = ingest_imap._new_channel(account, "Support")
            profiler = None if options.no_profile else cProfile.Profile()
            started = time.perf_counter()
            if profiler is not None:
                profiler.enable()
            polls = ingest_imap._poll_all(channel.pk)
            if profiler is not None:
                profiler.disable()
            seconds = time.perf_counter() - started
            print(
                f"{len(mails)} messages in {polls} polls: {seconds:.2f} s, "
                f"{len(mails) / seconds:.1f} msg/s"
            )
            if profiler is not None:
                stats = pstats.Stats(profiler).sort_stats("cumulative")
                if options.save:
                    stats.dump_stats(options.save)
                stats.print_stats(options.top)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
