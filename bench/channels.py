"""Polling a feed and a Discourse forum, side by side with a floor in one run, and the likely-
duplicate check at two volumes: ``python -m bench.channels [--quick]`` (or ``python -m
bench.run --only channels``).

Part 1, poll throughput. A local web server in this process (``bench/channelgen.py``) serves
an RSS feed of 10,000 review entries and a Discourse forum of 10,000 posts over 1,000 topics
(``GET /posts.json``, newest first, 50 a page, ``before=<id>``), generated from a fixed seed.

(a) ours: ``services.channel_poll_now`` on a new channel of the kind, repeated until nothing is
    left: fetched in batches, raw payloads stored with the cursor, parsed into items, messages
    and customers (forum users by handle), on a new PostgreSQL database (``<DATABASE_URL
    name>_channels``, migrated) each run, after a warm-up (below);
(b) the floor: the same documents fetched with ``requests`` and read with ``feedparser.parse``
    (as the connector calls it) or ``json.loads``, nothing stored. The forum's floor walks it
    the way its API pages: the newest page, then ``before=`` the lowest id seen, to the first;
(c) the connector alone: the connector's own ``fetch`` in batches of 100, as the poll asks,
    and its pure ``parse`` of every entry (the sanitised HTML, the text, the sender), nothing
    stored and no database: what any pipeline that stores these messages does at least, so
    ours can be no faster than it.

Warm-up: before each timed run of ours, a feed of 300 entries and a forum of 300 posts (another
seed, other people) are polled into another team, then ``ANALYZE`` (autovacuum is off on the
benchmark machine). Part 2 is ``bench/channels_duplicates.py``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import time
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.run import maintenance

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".local" / "bench"
MEDIA = WORK / "channels-media"
# The bench's own Celery broker folder (the embedded default's filesystem transport), so that
# the duplicate checks ours queues pile up nowhere else; emptied before each run.
LOCAL = WORK / "channels-local"
FULL_ENTRIES = 10_000
QUICK_ENTRIES = 1_000
WARM_ENTRIES = 300
WARM_SEED = 7
FLOOR_SHARE_TARGET = 0.5
TEAM = "bench-channels"
WARM_TEAM = "bench-warm-up"
API_USERNAME = "portal-bot"
FEED_PATH = "/reviews.rss"
FORUM_PATH = "/forum"
WARM_PREFIX = "/warm"


def prepare_environment(suffix: str) -> None:
    """Point Django at this benchmark's own database (``<DATABASE_URL name>_<suffix>``; the
    URL given is kept, so that part 2 after part 1 names its own), media and broker folders."""
    from bench.run import _create_database_if_missing, _prepare_environment

    _prepare_environment()
    given = urlsplit(os.environ.setdefault("PORTAL_BENCH_DATABASE_URL", os.environ["DATABASE_URL"]))
    os.environ["DATABASE_URL"] = urlunsplit(given._replace(path=f"{given.path}_{suffix}"))
    os.environ["DJANGO_MEDIA_ROOT"] = str(MEDIA)
    os.environ.setdefault("PORTAL_LOCAL_DIR", str(LOCAL))
    _create_database_if_missing(os.environ["DATABASE_URL"])


def _use_database(name: str) -> None:
    from django.db import connections

    connections.close_all()
    connections["default"].settings_dict["NAME"] = name


def migrate_template() -> None:
    """Migrate a template database once (``<name>_template``); each run copies it."""
    from django.core.management import call_command

    name = urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/")
    template = f"{name}_template"
    _use_database("postgres")
    maintenance(
        os.environ["DATABASE_URL"],
        f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)',
        f'CREATE DATABASE "{template}"',
    )
    _use_database(template)
    call_command("migrate", verbosity=0)
    _use_database(name)


def reset_database() -> None:
    """A new database copied from the migrated template, an empty media folder and an empty
    Celery queue (the broker is the benchmark's own: its folder, or the Redis database that
    ``REDIS_URL`` names)."""
    from django.contrib.contenttypes.models import ContentType

    from portal.celery import app

    url = os.environ["DATABASE_URL"]
    name = urlsplit(url).path.lstrip("/")
    _use_database(name)
    maintenance(
        url,
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        f'CREATE DATABASE "{name}" TEMPLATE "{name}_template"',
    )
    ContentType.objects.clear_cache()
    shutil.rmtree(MEDIA, ignore_errors=True)
    app.control.purge()


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# the sources --------------------------------------------------------------------------------


def serve(web, entries: int) -> None:
    """Put the measured and the warm-up feed and forum on ``web``."""
    from bench import channelgen

    topics = max(entries // 10, 1)
    web.documents[FEED_PATH] = ("application/rss+xml", channelgen.feed_document(entries))
    web.forums[FORUM_PATH] = channelgen.PostPages(channelgen.discourse_posts(entries, topics))
    warm_feed = channelgen.feed_document(WARM_ENTRIES, seed=WARM_SEED, prefix="w")
    web.documents[WARM_PREFIX + FEED_PATH] = ("application/rss+xml", warm_feed)
    # Other post and topic ids: a message id names the forum's host, which both forums share.
    warm_posts = channelgen.discourse_posts(
        WARM_ENTRIES, WARM_ENTRIES // 10, seed=WARM_SEED, prefix="w", first_id=1_000_000
    )
    web.forums[WARM_PREFIX + FORUM_PATH] = channelgen.PostPages(warm_posts)


def _config(kind: str, base: str) -> dict:
    if kind == "feed":
        return {"url": base + FEED_PATH, "timeout": 120}
    return {
        "base_url": base + FORUM_PATH,
        "api_key": "bench-key",
        "api_username": API_USERNAME,
        "timeout": 120,
    }


# (a) ours ----------------------------------------------------------------------------------


def _new_channel(kind: str, config: dict, team_slug: str):
    from feedback import services
    from portal.actors import SYSTEM
    from portal.models import Team

    team, _ = Team.objects.get_or_create(slug=team_slug, defaults={"name": team_slug.title()})
    return services.channel_create(
        actor=SYSTEM, team=team, kind=kind, name=f"{kind} {team_slug}", config=config
    )


def poll_all(channel_id: int) -> int:
    """Poll until the channel has nothing more; the number of polls."""
    from feedback import services

    polls = 0
    while True:
        report = services.channel_poll_now(channel_id=channel_id)
        polls += 1
        if report.error:
            raise RuntimeError(f"our poll failed: {report.error}")
        if not report.more:
            return polls


def _counts(channel) -> dict[str, int]:
    from feedback.models import FeedbackItem, Message, Quarantine, RawPayload
    from portal.models import CustomerIdentity

    items = FeedbackItem.objects.filter(channel=channel)
    return {
        "payloads": RawPayload.objects.filter(channel=channel).count(),
        "messages": Message.objects.filter(channel=channel).count(),
        "items": items.count(),
        "customers": items.exclude(customer=None).values("customer").distinct().count(),
        "identities": CustomerIdentity.objects.filter(customer__feedback_items__channel=channel)
        .distinct()
        .count(),
        "quarantined": Quarantine.objects.filter(payload__channel=channel).count(),
    }


def ours_once(kind: str, web, expected: int) -> tuple[float, str]:
    reset_database()
    for warm_kind in ("feed", "discourse"):
        warm = _new_channel(warm_kind, _config(warm_kind, web.url + WARM_PREFIX), WARM_TEAM)
        poll_all(warm.pk)
    _analyze()
    channel = _new_channel(kind, _config(kind, web.url), TEAM)
    web.requests = 0
    started = time.perf_counter()
    polls = poll_all(channel.pk)
    seconds = time.perf_counter() - started
    counts = _counts(channel)
    if counts["messages"] != expected or counts["quarantined"]:
        raise RuntimeError(f"ours stored {counts} of {expected} entries")
    detail = f"{polls} polls, {web.requests} requests; " + ", ".join(
        f"{count:,} {name}" for name, count in counts.items()
    )
    return seconds, detail


# (b) the floor -----------------------------------------------------------------------------


def floor_feed(web) -> tuple[float, int, int]:
    import feedparser
    import requests

    web.requests = 0
    started = time.perf_counter()
    answer = requests.get(web.url + FEED_PATH, timeout=120)
    answer.raise_for_status()
    parsed = feedparser.parse(
        io.BytesIO(answer.content),
        response_headers={"content-type": answer.headers.get("Content-Type", "")},
        sanitize_html=False,
    )
    return time.perf_counter() - started, len(parsed.entries), web.requests


def floor_discourse(web) -> tuple[float, int, int]:
    import requests

    web.requests = 0
    started = time.perf_counter()
    url = web.url + FORUM_PATH + "/posts.json"
    count, params = 0, {}
    while True:
        answer = requests.get(url, params=params, timeout=120)
        answer.raise_for_status()
        posts = json.loads(answer.content)["latest_posts"]
        if not posts:
            break
        count += len(posts)
        lowest = min(post["id"] for post in posts)
        if lowest <= 1:
            break
        params = {"before": lowest}
    return time.perf_counter() - started, count, web.requests


# (c) the connector alone ---------------------------------------------------------------------


def connector_only(kind: str, web) -> tuple[float, int, int]:
    from django.utils import timezone

    from feedback.channels import get_connector

    connector = get_connector(kind)
    config = connector.validate_config(_config(kind, web.url))
    web.requests = 0
    started = time.perf_counter()
    cursor, count, more = None, 0, True
    while more:
        result = connector.fetch(config, cursor, limit=100)
        for item in result.items:
            connector.parse(item.raw, received_at=timezone.now(), metadata=item.metadata)
        count += len(result.items)
        cursor, more = result.cursor, result.more
    return time.perf_counter() - started, count, web.requests


# the run -----------------------------------------------------------------------------------


def _versions() -> str:
    import django
    import feedparser
    import requests
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    return (
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, Python "
        f"{platform.python_version()}, Django {django.get_version()}, feedparser "
        f"{feedparser.__version__}, requests {requests.__version__}, PostgreSQL {postgres}"
    )


def run_polls(entries: int, reps: int) -> list[tuple]:
    from bench.channelgen import LocalWeb
    from bench.ingest_imap import Timing

    web = LocalWeb()
    started = time.perf_counter()
    serve(web, entries)
    print(
        f"sources: {entries:,} feed entries, {entries:,} forum posts; generated in "
        f"{time.perf_counter() - started:.1f} s"
    )
    pairs = []
    with web.running():
        for kind, floor in (("feed", floor_feed), ("discourse", floor_discourse)):
            # Once each, untimed: the server renders its pages, both sides import what they use.
            floor(web)
            connector_only(kind, web)
            ours = Timing(f"(a) ours: {kind} channel_poll_now", [], entries)
            floor_timing = Timing(f"(b) floor: {kind} fetch + parse", [], entries)
            alone = Timing(f"(c) {kind} connector alone", [], entries)
            for _ in range(reps):
                for timing, side in ((floor_timing, floor), (alone, partial(connector_only, kind))):
                    seconds, fetched, requests_made = side(web)
                    if fetched != entries:
                        raise RuntimeError(f"{timing.name} read {fetched} of {entries}")
                    timing.seconds.append(seconds)
                    timing.detail = f"{requests_made} requests"
                seconds, ours.detail = ours_once(kind, web, entries)
                ours.seconds.append(seconds)
                print(
                    f"  {kind}: floor {floor_timing.seconds[-1]:.2f} s, connector alone "
                    f"{alone.seconds[-1]:.2f} s, ours {seconds:.2f} s"
                )
            pairs.append((kind, ours, floor_timing, alone))
    return pairs


def report_polls(pairs: list[tuple]) -> None:
    print()
    print(f"{'reader':<38} {'runs':>4} {'median s':>9} {'msgs/s':>9}")
    for kind, ours, floor, alone in pairs:
        for timing in (ours, floor, alone):
            print(
                f"{timing.name:<38} {len(timing.seconds):>4} {timing.median:>9.2f} "
                f"{timing.rate:>9.1f}"
            )
            runs = ", ".join(f"{s:.2f}" for s in timing.seconds)
            print(f"    runs: {runs}; {timing.detail}")
        share = ours.rate / floor.rate
        verdict = "met" if share >= FLOOR_SHARE_TARGET else "missed"
        print(f"{kind}: ours / floor {share:.2f}x (target >= {FLOOR_SHARE_TARGET}x): {verdict}")
        print(
            f"{kind}: the connector alone / floor {alone.rate / floor.rate:.2f}x (ours can be no "
            f"faster than it); ours / the connector alone {ours.rate / alone.rate:.2f}x"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ENTRIES:,} entries")
    parser.add_argument("--entries", type=int, default=0, help="feed entries and forum posts")
    parser.add_argument("--reps", type=int, default=3, help="runs of each side (median)")
    parser.add_argument(
        "--part", choices=["polls", "duplicates", "all"], default="all", help="what to run"
    )
    options = parser.parse_args(argv)
    started = time.perf_counter()
    if options.part in ("polls", "all"):
        prepare_environment("channels")
        import django

        django.setup()
        print(_versions())
        migrate_template()
        entries = options.entries or (QUICK_ENTRIES if options.quick else FULL_ENTRIES)
        report_polls(run_polls(entries, options.reps))
    if options.part in ("duplicates", "all"):
        from bench import channels_duplicates

        channels_duplicates.main(["--quick"] if options.quick else [])
    print(f"total: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
