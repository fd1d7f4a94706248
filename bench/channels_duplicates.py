"""The likely-duplicate check of one new item at 10,000 and at 100,000 items, in one run:
``python -m bench.channels --part duplicates [--quick]`` (part 2 of ``bench/channels.py``).

Two PostgreSQL databases (``<DATABASE_URL name>_dups_<items>``, copied from a migrated template)
are bulk-loaded from one fixed seed, the larger with ten times the items and ten times the
customers, so that a customer's own history looks alike in both: each customer's activity is
drawn from one skewed distribution (a few customers write often, most rarely) and their items
are spread over a year through six channels of two teams (the API without a channel among
them); 6 % of the items repeat one of the customer's items of the two days before through
another channel, in slightly other words; an item has its customer's first message and
sometimes a reply and a follow-up. Then ``VACUUM ANALYZE`` (autovacuum is off on the benchmark
machine). Loaded once; a later run with the same volume reuses the databases.

``PROBES`` new items, each of another customer (half repeating one of their customer's recent
items through another channel, half a customer's new request), are added last. Timed:
``item_duplicates_find(item_id=probe)`` for every probe, the two databases in turns,
``--reps`` times (each probe checked once before, untimed, which stores its pairs). The
report: the median time per check at each volume, their ratio (target at most 1.5x), and
``EXPLAIN (ANALYZE, BUFFERS)`` of the candidate query as the check ran it, captured from the
connection, at 100,000 items.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

SEED = 20261208
FULL_ITEMS = (10_000, 100_000)
QUICK_ITEMS = (1_000, 10_000)
ITEMS_PER_CUSTOMER = 4
PROBES = 60
# Changes with the generator, so that a database loaded by another generator is loaded again.
GENERATION = 2
REPEAT_SHARE = 0.06
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SPAN = timedelta(days=365)
COST_FACTOR_TARGET = 1.5
CHANNEL_KINDS = ("imap", "feed", "discourse", "mastodon", "widget")
TEAMS = ("bench-dups", "bench-dups-b")
SUBJECTS = (
    "Sync lost my notes again",
    "Invoice {n} charges us twice",
    "Cannot log in since the update",
    "Export to Excel breaks umlauts",
    "Dark mode for the dashboard",
    "Delivery {n} arrived damaged",
    "API returns 500 on /orders",
    "Cancel my subscription",
    "How do I export all our data?",
    "Reports are slow on Mondays",
    "The widget stopped updating",
    "Refund for order {n}",
)
SENTENCES = (
    "Since the last update the sync keeps dropping what I write on the iPad.",
    "Every export of a notebook with more than 40 pages crashes the app.",
    "Could you please have a look as soon as possible?",
    "Our customers are starting to complain about it.",
    "We already tried restarting everything, which did not help.",
    "This worked fine until last week.",
    "Die Synchronisierung mit dem Desktop dauert mehrere Minuten.",
    "The problem seems to get worse in the afternoon.",
    "Thanks in advance for your help, we really appreciate it.",
    "Please refund the second charge to the card we used.",
    "Nobody on our team can log in since this morning.",
    "I wrote to support last week and nobody answered.",
    "The numbers in the report do not match the invoice.",
    "Is there a way to get this faster? It blocks our release.",
)


def _database_name(items: int) -> str:
    return f"{urlsplit(os.environ['DATABASE_URL']).path.lstrip('/')}_{items}"


def _text(rng: random.Random) -> tuple[str, str]:
    subject = rng.choice(SUBJECTS).format(n=rng.randint(1000, 9999))
    return subject, " ".join(rng.sample(SENTENCES, rng.randint(1, 4)))


def _reworded(rng: random.Random, subject: str, text: str) -> tuple[str, str]:
    """The same request said again: a sentence dropped or added, another greeting."""
    sentences = text.split(". ")
    if len(sentences) > 1 and rng.random() < 0.5:
        sentences.pop(rng.randrange(len(sentences)))
    else:
        sentences.append(rng.choice(SENTENCES))
    return rng.choice(("", "Re: ", "Again: ")) + subject, "Hi, " + ". ".join(sentences)


class _Loader:
    """Builds one volume's rows in memory and inserts them with ``bulk_create``."""

    def __init__(self, items: int) -> None:
        from portal.models import Team

        self.rng = random.Random(SEED)
        self.teams = [
            Team.objects.create(slug=slug, name=f"{slug.title()} {GENERATION}") for slug in TEAMS
        ]
        self.channels = {team.pk: self._channels(team) for team in self.teams}
        self.customers = self._customers(max(items // ITEMS_PER_CUSTOMER, 1))
        # A few customers write often, most rarely (Pareto, capped); the same distribution at
        # every volume, so one customer's history looks alike at each.
        self.weights = [min(self.rng.paretovariate(2.0), 50) for _ in self.customers]
        self.items: list = []
        self.messages: list = []
        self.sequence = 0
        # Each customer's items so far, for repeats: (team id, customer id) -> [(item, channel,
        # first message time, subject, text, customer)].
        self.history: dict[tuple[int, int], list] = {}

    def _channels(self, team) -> list:
        from feedback.models import Channel

        channels = [
            Channel.objects.create(team=team, kind=kind, name=f"{kind} {team.slug}")
            for kind in CHANNEL_KINDS
        ]
        return [*channels, None]  # None: pushed through the API

    def _customers(self, count: int) -> list:
        from portal.demo.data import FIRST_NAMES, LAST_NAMES
        from portal.models import Customer

        rows = []
        for number in range(count):
            first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
            email = f"{first}.{last}.{number}@example.com".lower().replace(" ", "")
            # A customer known by a forum handle alone has no address.
            rows.append(Customer(name=f"{first} {last}", email="" if number % 9 == 0 else email))
        return Customer.objects.bulk_create(rows, batch_size=5_000)

    def add(self, *, when: datetime, customer, channel, team, subject: str, text: str):
        from feedback.models import Direction, FeedbackItem, Lane, Message, ThreadReason

        item = FeedbackItem(
            team=team,
            subject=subject,
            customer=customer,
            channel=channel,
            first_message_at=when,
            last_message_at=when,
        )
        self.items.append(item)
        self.sequence += 1
        sequence = self.sequence
        later = when + timedelta(hours=self.rng.randint(1, 48))
        messages = [(Direction.IN, when, subject, text)]
        if self.rng.random() < 0.3:
            messages.append((Direction.OUT, later, "Re: " + subject, "Thank you, we are on it."))
        if self.rng.random() < 0.2:
            messages.append((Direction.IN, later + timedelta(hours=1), "Re: " + subject, text))
        for number, (direction, sent_at, message_subject, body) in enumerate(messages):
            identity = hashlib.sha256(f"{SEED}-{sequence}-{number}".encode()).hexdigest()
            self.messages.append(
                Message(
                    team=team,
                    item=item,
                    channel=channel,
                    direction=direction,
                    lane=Lane.CUSTOMER,
                    external_id=f"m{sequence}.{number}@bench.example",
                    identity_hash=identity,
                    subject=message_subject,
                    text=body,
                    sent_at=sent_at,
                    received_at=sent_at,
                    thread_reason=ThreadReason.NEW,
                )
            )
        if customer is not None:
            entry = (item, channel, when, subject, text, customer)
            self.history.setdefault((team.pk, customer.pk), []).append(entry)
        return item

    def _repeat(self, team_id: int, entries: list, when: datetime) -> tuple | None:
        """One of the customer's items of the two days before ``when``, said again through
        another channel: ``(channel, subject, text)``; None when there is none."""
        recent = [entry for entry in entries[-5:] if when - entry[2] <= timedelta(days=2)]
        if not recent:
            return None
        _, channel, _, subject, text, _ = self.rng.choice(recent)
        others = [other for other in self.channels[team_id] if other != channel]
        return (self.rng.choice(others), *_reworded(self.rng, subject, text))

    def _one(self, when: datetime, *, repeat: bool) -> None:
        rng = self.rng
        team = self.teams[0] if rng.random() < 0.9 else self.teams[1]
        customer = rng.choices(self.customers, self.weights)[0] if rng.random() > 0.05 else None
        channel = rng.choice(self.channels[team.pk])
        subject, text = _text(rng)
        entries = self.history.get((team.pk, customer.pk), []) if customer else []
        repeated = self._repeat(team.pk, entries, when) if repeat and entries else None
        if repeated is not None:
            channel, subject, text = repeated
        self.add(
            when=when, customer=customer, channel=channel, team=team, subject=subject, text=text
        )

    def load(self, items: int) -> None:
        start = NOW - SPAN
        times = sorted(start + SPAN * self.rng.random() for _ in range(items))
        for when in times:
            self._one(when, repeat=self.rng.random() < REPEAT_SHARE)
        self.flush()

    def probes(self, count: int) -> list[int]:
        """New items just after the loaded ones, in the first team, each of another customer
        (so that no probe is another's candidate): every other one repeats one of its
        customer's items of the two days before, the rest are new requests."""
        rng = self.rng
        team = self.teams[0]
        recent = [
            entries
            for (team_id, _), entries in self.history.items()
            if team_id == team.pk and NOW - entries[-1][2] <= timedelta(days=2)
        ]
        rng.shuffle(recent)
        used = {entries[-1][5].pk for entries in recent}
        probes = []
        for number in range(count):
            when = NOW
            entries = recent.pop() if number % 2 == 0 and recent else None
            repeated = self._repeat(team.pk, entries, when) if entries else None
            if repeated is not None:
                customer = entries[-1][5]
                channel, subject, text = repeated
            else:
                customer = rng.choices(self.customers, self.weights)[0]
                while customer.pk in used:
                    customer = rng.choices(self.customers, self.weights)[0]
                channel = rng.choice(self.channels[team.pk])
                subject, text = _text(rng)
            used.add(customer.pk)
            item = self.add(
                when=when,
                customer=customer,
                channel=channel,
                team=team,
                subject=subject,
                text=text,
            )
            probes.append(item)
        self.flush()
        return [probe.pk for probe in probes]

    def flush(self) -> None:
        from feedback.models import FeedbackItem, Message

        FeedbackItem.objects.bulk_create(self.items, batch_size=5_000)
        for message in self.messages:
            message.item_id = message.item.pk
        Message.objects.bulk_create(self.messages, batch_size=5_000)
        self.items, self.messages = [], []


# loading ------------------------------------------------------------------------------------


def _exists(name: str) -> bool:
    import psycopg2

    from bench.run import maintenance_url

    connection = psycopg2.connect(maintenance_url(os.environ["DATABASE_URL"]))
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            return cursor.fetchone() is not None
    finally:
        connection.close()


def _probe_ids() -> list[int]:
    from feedback.models import FeedbackItem

    probes = FeedbackItem.objects.filter(team__slug=TEAMS[0]).order_by("-pk")
    return sorted(probes.values_list("pk", flat=True)[:PROBES])


def _vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def prepare_volume(items: int, template_ready: list[bool]) -> tuple[list[int], str]:
    """The volume's database, loaded unless a run before loaded it; its probes, and how long
    loading took."""
    from django.core.management import call_command
    from django.db import transaction

    from bench.channels import _use_database, migrate_template
    from bench.run import maintenance
    from feedback.models import FeedbackItem, Message
    from portal.models import Team

    name = _database_name(items)
    if _exists(name):
        _use_database(name)
        call_command("migrate", verbosity=0)
        loaded = items + PROBES
        generation = Team.objects.filter(slug=TEAMS[0], name__endswith=f" {GENERATION}")
        if (
            generation.exists()
            and FeedbackItem.objects.count() == loaded
            and Message.objects.count() >= loaded
        ):
            return _probe_ids(), "reused"
    if not template_ready:
        migrate_template()
        template_ready.append(True)
    template = f"{urlsplit(os.environ['DATABASE_URL']).path.lstrip('/')}_template"
    _use_database("postgres")
    maintenance(
        os.environ["DATABASE_URL"],
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        f'CREATE DATABASE "{name}" TEMPLATE "{template}"',
    )
    _use_database(name)
    started = time.perf_counter()
    with transaction.atomic():
        loader = _Loader(items)
        loader.load(items)
        probes = loader.probes(PROBES)
    _vacuum_analyze()
    return probes, f"loaded in {time.perf_counter() - started:.0f} s"


# measuring ----------------------------------------------------------------------------------


def _candidates(probe: int) -> int:
    from django.conf import settings

    from feedback.models import FeedbackItem
    from feedback.services import duplicates

    item = FeedbackItem.objects.get(pk=probe)
    window = timedelta(hours=settings.PORTAL_DUPLICATE_WINDOW_HOURS)
    return duplicates.candidates(item, window=window).count()


def candidate_plan(probe: int) -> str:
    """``EXPLAIN (ANALYZE, BUFFERS)`` of the candidate query, as the check of ``probe`` sent
    it."""
    from django.db import connection

    from feedback.services.duplicates import item_duplicates_find

    captured: list[tuple[str, tuple]] = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        item_duplicates_find(item_id=probe)
    sql, params = next(query for query in captured if "similarity(" in query[0])
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def measure(volumes: dict[int, list[int]], reps: int) -> dict[int, list[float]]:
    """Seconds per check at each volume; the volumes in turns."""
    from bench.channels import _use_database
    from feedback.services.duplicates import item_duplicates_find

    seconds: dict[int, list[float]] = {items: [] for items in volumes}
    for items, probes in volumes.items():
        # Untimed: the first check of a probe stores its pairs; later ones find them stored.
        _use_database(_database_name(items))
        for probe in probes:
            item_duplicates_find(item_id=probe)
    for _ in range(reps):
        for items, probes in volumes.items():
            _use_database(_database_name(items))
            item_duplicates_find(item_id=probes[-1])  # the connection opened, untimed
            for probe in probes:
                started = time.perf_counter()
                item_duplicates_find(item_id=probe)
                seconds[items].append(time.perf_counter() - started)
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ITEMS} items")
    parser.add_argument("--reps", type=int, default=20, help="checks of each probe")
    options = parser.parse_args(argv)
    from bench.channels import _use_database, prepare_environment

    prepare_environment("dups")
    import django

    django.setup()
    from feedback.models import LikelyDuplicate

    template_ready: list[bool] = []
    volumes, loads = {}, {}
    for items in QUICK_ITEMS if options.quick else FULL_ITEMS:
        volumes[items], loads[items] = prepare_volume(items, template_ready)
    print(
        f"likely duplicates: {PROBES} probes; "
        + "; ".join(f"{items:,} items {loads[items]}" for items in volumes)
    )
    seconds = measure(volumes, options.reps)
    small, large = min(volumes), max(volumes)
    print()
    print(
        f"{'items':>9} {'checks':>6} {'median ms':>10} {'p90 ms':>8} {'candidates':>10} "
        f"{'pairs':>6}"
    )
    medians = {}
    for items, probes in volumes.items():
        _use_database(_database_name(items))
        times = sorted(seconds[items])
        medians[items] = statistics.median(times)
        candidates = statistics.mean(_candidates(probe) for probe in probes)
        pairs = LikelyDuplicate.objects.filter(item_id__in=probes).count() + (
            LikelyDuplicate.objects.filter(other_id__in=probes).count()
        )
        print(
            f"{items:>9,} {len(times):>6} {medians[items] * 1000:>10.2f} "
            f"{times[int(len(times) * 0.9)] * 1000:>8.2f} {candidates:>10.2f} {pairs:>6}"
        )
    factor = medians[large] / medians[small]
    verdict = "met" if factor <= COST_FACTOR_TARGET else "missed"
    print(
        f"{large:,} / {small:,} items: {factor:.2f}x per check "
        f"(target <= {COST_FACTOR_TARGET}x): {verdict}"
    )
    _use_database(_database_name(large))
    plan = candidate_plan(volumes[large][0])
    scans = "Seq Scan on feedback_feedbackitem" in plan or "Seq Scan on feedback_message" in plan
    print(
        f"\ncandidate query at {large:,} items (probe {volumes[large][0]}): "
        + ("a table scan!" if scans else "index scans only")
    )
    print(plan)
