"""The CSV import of feedback measured against hand-written SQL on the same PostgreSQL database.

(d) one file of 100,000 feedback rows (two teams; a third of the senders already in the
    directory, the rest new, at account domains or free mail; 60 % with an external id; up to
    three tags each; texts with commas, quotes and line breaks) imported through
    ``portal.imports.import_now`` (the chunks the background job runs, the set-based
    ``feedback.services.items_import_rows``, customers created and audited as the system,
    events); the floor parses the same file and writes the same rows with one ``INSERT`` per
    item, message, tag link and new customer, in one transaction, checking nothing;
(e) the same file imported a second time, which stores nothing; the floor is the one query
    per row that would find each row already stored.

The directory of ``bench_directory`` is the database's content (loaded by ``bench/run.py``).
Imported rows are deleted and the tables vacuumed between runs, so each run starts alike.
"""

import csv
import hashlib
import io
import random
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from bench import bench_directory
from feedback.imports import FEEDBACK_IMPORT_KIND
from feedback.models import FeedbackItem
from portal import imports
from portal.demo.data import FIRST_NAMES, LAST_NAMES
from portal.models import AccountDomain, Customer, Membership, Role, Team

SEED = 20261207
FULL_ROWS = 100_000
QUICK_ROWS = 2_000
TEAMS = ("bench", "bench-b")
# Senders the import creates have this prefix, so that a run can delete them again.
NEW_SENDER = "fbimport."
NOW = datetime(2026, 12, 1, tzinfo=UTC)

SUBJECTS = (
    "Export is slow",
    "Invoice question",
    "Cannot log in",
    "Feature request: dark mode",
    "Résumé upload fails",
    "Danke für die schnelle Hilfe",
    "API rate limit",
    "",
)
SENTENCES = (
    "The CSV export takes more than an hour for our account.",
    "Since the last update, the dashboard does not load on Safari.",
    'Our finance team asks: can the invoice say "VAT reg. no." on top?',
    "We'd love a dark mode, our support staff work late shifts.",
    "Die Suche findet keine Kunden mit Umlauten, z. B. Müller.",
    "Thanks, that fixed it!",
    "Is there a way to merge two accounts, one per region?",
    "The mobile app crashes when I attach a photo, iOS 18.",
    "Please call me back, this blocks our month-end closing.",
    "Le rapport mensuel est vide depuis lundi.",
)
TAGS = (
    "billing",
    "export",
    "login",
    "mobile",
    "api",
    "dashboard",
    "search",
    "late delivery",
    "feature request",
    "praise",
    "bug",
    "urgent",
    "invoice",
    "sso",
    "performance",
    "ui",
    "data quality",
    "onboarding",
    "churn risk",
    "integration",
)


@dataclass
class Result:
    name: str
    ours_ms: float
    floor_ms: float
    floor: str
    rows: int

    @property
    def ratio(self) -> float:
        return self.ours_ms / self.floor_ms


def bench_actor():
    """The bench agent of ``bench_directory``, an agent of both bench teams."""
    user = bench_directory._bench_user()
    for slug in TEAMS:
        team, _ = Team.objects.get_or_create(slug=slug, defaults={"name": slug.title()})
        Membership.objects.get_or_create(team=team, user=user, defaults={"role": Role.AGENT})
    return type(user).objects.get(pk=user.pk)


def make_csv(rows: int) -> bytes:
    """The benchmark's file, the same for every run of one size (a fixed seed)."""
    rng = random.Random(SEED + rows)
    # The bench directory has addresses with accents in the local part, which item_ingest's
    # address check refuses (as Django's EmailValidator does); the file uses the others.
    known = [
        email
        for email in Customer.objects.order_by("pk").values_list("email", flat=True)[
            : max(rows // 10, 100)
        ]
        if email.isascii()
    ]
    account_domains = list(AccountDomain.objects.order_by("pk").values_list("domain", flat=True))
    domains = rng.sample(account_domains, min(200, len(account_domains)))
    domains += ["gmail.com", "outlook.com", "web.de"]
    new_senders = [f"{NEW_SENDER}{i}@{rng.choice(domains)}" for i in range(max(rows // 5, 100))]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "team",
            "customer_email",
            "customer_name",
            "subject",
            "text",
            "external_id",
            "received_at",
            "tags",
        ]
    )
    for i in range(rows):
        sender = rng.choice(known) if rng.random() < 1 / 3 else rng.choice(new_senders)
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        text = "\n".join(
            " ".join(rng.sample(SENTENCES, rng.randint(1, 3))) for _ in range(rng.randint(1, 2))
        )
        received = (
            (NOW - timedelta(seconds=rng.randint(0, 365 * 86_400))).isoformat()
            if rng.random() < 0.9
            else ""
        )
        writer.writerow(
            [
                rng.choice(TEAMS),
                sender,
                f"{first} {last}",
                rng.choice(SUBJECTS),
                f"{text} (#{i})",
                f"ZD-{i}" if rng.random() < 0.6 else "",
                received,
                "; ".join(rng.sample(TAGS, rng.randint(0, 3))),
            ]
        )
    return out.getvalue().encode()


def remove_imported(since: datetime) -> None:
    """Delete what an import stored (items, messages, tag links, tags, new customers and their
    audit entries), then vacuum, so that the next run starts from the same tables."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT id FROM portal_team WHERE slug = ANY(%s)", [list(TEAMS)])
        team_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "DELETE FROM feedback_feedbackitem_tags WHERE feedbackitem_id IN "
            "(SELECT id FROM feedback_feedbackitem WHERE team_id = ANY(%s))",
            [team_ids],
        )
        cursor.execute("DELETE FROM feedback_message WHERE team_id = ANY(%s)", [team_ids])
        cursor.execute("DELETE FROM feedback_feedbackitem WHERE team_id = ANY(%s)", [team_ids])
        cursor.execute("DELETE FROM feedback_tag WHERE team_id = ANY(%s)", [team_ids])
        cursor.execute("DELETE FROM portal_customer WHERE email LIKE %s", [f"{NEW_SENDER}%"])
        cursor.execute(
            "DELETE FROM portal_auditentry WHERE action = 'customer.created' AND created_at >= %s",
            [since],
        )
    with connection.cursor() as cursor:
        for table in (
            "feedback_feedbackitem",
            "feedback_message",
            "feedback_feedbackitem_tags",
            "feedback_tag",
            "portal_customer",
            "portal_auditentry",
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")


# Ours ----------------------------------------------------------------------------------------


def import_ours(user, data: bytes) -> imports.ImportReport:
    return imports.import_now(actor=user, kind=FEEDBACK_IMPORT_KIND, upload=io.BytesIO(data))


# The floor -----------------------------------------------------------------------------------

_ITEM_INSERT = (
    "INSERT INTO feedback_feedbackitem (team_id, subject, customer_id, status, external_id,"
    " first_message_at, last_message_at, created_at, updated_at)"
    " VALUES (%s, %s, %s, 'new', %s, %s, %s, now(), now()) RETURNING id"
)
_MESSAGE_INSERT = (
    "INSERT INTO feedback_message (team_id, item_id, direction, lane, lane_reason, external_id,"
    ' identity_hash, in_reply_to, "references", original_message_id, sender_name, sender,'
    ' reply_to, "to", cc, subject, text, quoted_text, signature, html, defects, sent_at,'
    " received_at, thread_reason, created_at)"
    " VALUES (%s, %s, 'in', 'customer', '', '', md5(%s::text), '', '[]', '', %s, %s, %s, '[]',"
    " '[]', %s, %s, '', '', '', '[]', %s, %s, 'new', now())"
)


def _floor_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def import_floor(data: bytes) -> None:
    """The same file parsed by ``csv`` and written with one INSERT per row of each table, in
    one transaction: no checks, no identity, no audit, no events."""
    rows = _floor_rows(data)
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT slug, id FROM portal_team WHERE slug = ANY(%s)", [list(TEAMS)])
        teams = dict(cursor.fetchall())
        emails = sorted({row["customer_email"].lower() for row in rows})
        cursor.execute(
            "SELECT email_key, id FROM portal_customer WHERE email_key = ANY(%s)", [emails]
        )
        customers = dict(cursor.fetchall())
        for email in emails:
            if email not in customers:
                cursor.execute(
                    "INSERT INTO portal_customer (external_id, name, email, email_key, tier,"
                    " attributes, created_at, updated_at)"
                    " VALUES ('', '', %s, %s, 'standard', '{}', now(), now()) RETURNING id",
                    [email, email],
                )
                customers[email] = cursor.fetchone()[0]
        tags: dict[tuple[int, str], int] = {}
        for row in rows:
            team_id = teams[row["team"]]
            email = row["customer_email"].lower()
            sent_at = row["received_at"] or now
            cursor.execute(
                _ITEM_INSERT,
                [team_id, row["subject"], customers[email], row["external_id"], sent_at, sent_at],
            )
            item_id = cursor.fetchone()[0]
            cursor.execute(
                _MESSAGE_INSERT,
                [
                    team_id,
                    item_id,
                    f"{item_id}:{row['text']}",
                    row["customer_name"],
                    email,
                    email,
                    row["subject"],
                    row["text"],
                    sent_at,
                    sent_at,
                ],
            )
            for name in filter(None, (t.strip() for t in row["tags"].split(";"))):
                key = (team_id, name.lower())
                if key not in tags:
                    cursor.execute(
                        "INSERT INTO feedback_tag (team_id, name, name_key) VALUES (%s, %s, %s)"
                        " RETURNING id",
                        [team_id, name, name.lower()],
                    )
                    tags[key] = cursor.fetchone()[0]
                cursor.execute(
                    "INSERT INTO feedback_feedbackitem_tags (feedbackitem_id, tag_id)"
                    " VALUES (%s, %s)",
                    [item_id, tags[key]],
                )


def recheck_floor(data: bytes) -> None:
    """One indexed look-up per row that finds it stored, the least a second import must do:
    the item by its external id, else the message by a hash of the row."""
    rows = _floor_rows(data)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT slug, id FROM portal_team WHERE slug = ANY(%s)", [list(TEAMS)])
        teams = dict(cursor.fetchall())
        for row in rows:
            team_id = teams[row["team"]]
            if row["external_id"]:
                cursor.execute(
                    "SELECT 1 FROM feedback_feedbackitem WHERE team_id = %s AND external_id = %s",
                    [team_id, row["external_id"]],
                )
            else:
                digest = hashlib.sha256(
                    "\x1f".join([str(team_id), *row.values()]).encode()
                ).hexdigest()
                cursor.execute(
                    "SELECT 1 FROM feedback_message WHERE team_id = %s AND external_id = ''"
                    " AND identity_hash = %s",
                    [team_id, digest],
                )
            cursor.fetchone()


# Running -------------------------------------------------------------------------------------


def _timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    outcome = function()
    return (time.perf_counter() - started) * 1000, outcome


def run(rows: int, *, reps: int) -> dict[str, Any]:
    """``reps`` runs of each, alternately; medians in milliseconds."""
    user = bench_actor()
    data = make_csv(rows)
    since = timezone.now()
    remove_imported(since)
    ours_times, floor_times, again_times, recheck_times = [], [], [], []
    stored = {}
    for _ in range(reps):
        ms, report = _timed(lambda: import_ours(user, data))
        assert (report.created, report.errors) == (rows, []), report.errors[:3]
        ours_times.append(ms)
        stored = {
            "items": FeedbackItem.objects.filter(team__slug__in=TEAMS).count(),
            "customers_new": Customer.objects.filter(email__startswith=NEW_SENDER).count(),
        }
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        ms, again = _timed(lambda: import_ours(user, data))
        assert (again.created, again.updated, again.errors) == (0, rows, []), again.errors[:3]
        assert FeedbackItem.objects.filter(team__slug__in=TEAMS).count() == rows
        again_times.append(ms)
        ms, _ = _timed(lambda: recheck_floor(data))
        recheck_times.append(ms)
        remove_imported(since)

        ms, _ = _timed(lambda: import_floor(data))
        floor_times.append(ms)
        assert FeedbackItem.objects.filter(team__slug__in=TEAMS).count() == rows
        remove_imported(since)
    return {
        "rows": rows,
        "megabytes": len(data) / (1024 * 1024),
        "stored": stored,
        "results": [
            Result(
                f"(d) CSV import of {rows:,} feedback rows",
                statistics.median(ours_times),
                statistics.median(floor_times),
                "INSERT per row, 1 tx",
                rows,
            ),
            Result(
                f"(e) the same {rows:,} rows again (nothing stored)",
                statistics.median(again_times),
                statistics.median(recheck_times),
                "SELECT per row, 1 tx",
                rows,
            ),
        ],
    }


def print_table(outcome: dict[str, Any]) -> None:
    print()
    print(
        f"feedback file: {outcome['rows']:,} rows, {outcome['megabytes']:.1f} MB; stored "
        f"{outcome['stored'].get('items', 0):,} items, "
        f"{outcome['stored'].get('customers_new', 0):,} new customers"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process (both sides and the file): {peak:,.0f} MB")
    print("| benchmark | floor | ours ms | floor ms | ratio |")
    print("|---|---|---:|---:|---:|")
    for r in outcome["results"]:
        print(f"| {r.name} | {r.floor} | {r.ours_ms:.1f} | {r.floor_ms:.1f} | {r.ratio:.1f}x |")
    print()
    for r in outcome["results"]:
        print(
            f"{r.name}: ours {r.rows / r.ours_ms * 1000:,.0f} rows/s, "
            f"{r.floor} {r.rows / r.floor_ms * 1000:,.0f} rows/s"
        )
