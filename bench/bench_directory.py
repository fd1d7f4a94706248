"""The customer directory measured against hand-written SQL on the same PostgreSQL database.

(a) the customer directory page as the API serves it: count, first page of 50 with the account
    and further addresses, serialized by ``CustomerSerializer``; the floor is one COUNT and one
    SELECT with the same join, filter, order and limit, built into dicts;
(b) CSV import of customers through ``portal.imports.customers_import_csv``; the floors are
    ``COPY`` and row-by-row INSERTs (executemany) of the same parsed rows in one transaction;
(c) the account list with its ``customer_count`` annotation and domains; the floor is one
    GROUP BY query.
"""

import csv
import io
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal import imports, selectors
from portal.api.serializers import AccountSerializer, CustomerSerializer
from portal.demo.data import FIRST_NAMES, JOB_TITLES, LAST_NAMES
from portal.models import (
    Account,
    AccountDomain,
    Customer,
    CustomerEmail,
    Membership,
    Role,
    Segment,
    Team,
    Tier,
)

SEED = 20261123
PAGE = 50
SEARCH = "schmidt"
IMPORT_DOMAIN = "bench-import.example"
COMPANY_SUFFIXES = ("Group", "Ltd", "GmbH", "BV", "AB", "Services")
COUNTRIES = ("DE", "GB", "NL", "SE", "FR", "US", "IE", "DK", "AT", "ES")


@dataclass(frozen=True)
class Volume:
    accounts: int
    customers: int
    import_rows: int
    import_reps: int


# The import validates a batch of rows in a few set-based queries and writes it in bulk
# (docs/benchmarks.md); 2,000 rows, three times, keep the run near half a minute.
FULL = Volume(accounts=2_000, customers=50_000, import_rows=2_000, import_reps=3)
QUICK = Volume(accounts=200, customers=5_000, import_rows=300, import_reps=1)


@dataclass
class Result:
    name: str
    ours_ms: float
    floor_ms: float
    floor: str
    rows: int = 0

    @property
    def ratio(self) -> float:
        return self.ours_ms / self.floor_ms


# Loading -----------------------------------------------------------------------------------


def _bench_user():
    user, created = get_user_model().objects.get_or_create(
        username="bench-agent", defaults={"email": "bench-agent@bench.example"}
    )
    if created:
        user.set_unusable_password()
        user.save()
    team, _ = Team.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    Membership.objects.get_or_create(team=team, user=user, defaults={"role": Role.AGENT})
    return get_user_model().objects.get(pk=user.pk)


def load(volume: Volume) -> None:
    """Fill the directory with ``volume`` once; later runs with the same volume reuse it."""
    _bench_user()
    loaded = (
        Account.objects.count() == volume.accounts
        and Customer.objects.exclude(email__endswith=IMPORT_DOMAIN).count() == volume.customers
    )
    if not loaded:
        rng = random.Random(SEED)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE portal_customeremail, portal_customer, portal_accountdomain, "
                "portal_account RESTART IDENTITY CASCADE"
            )
            segments = [Segment.SMB] * 6 + [Segment.MID_MARKET] * 3 + [Segment.ENTERPRISE]
            accounts = []
            for i in range(volume.accounts):
                segment = rng.choice(segments)
                accounts.append(
                    Account(
                        name=f"{rng.choice(LAST_NAMES)} {rng.choice(COMPANY_SUFFIXES)} {i}",
                        plan={"smb": "starter", "mid_market": "growth"}.get(segment, "enterprise"),
                        segment=segment,
                        mrr=(Decimal(rng.randint(2_900, 4_000_000)) / 100).quantize(
                            Decimal("0.01")
                        ),
                    )
                )
            accounts = Account.objects.bulk_create(accounts, batch_size=2_000)
            AccountDomain.objects.bulk_create(
                [AccountDomain(account=a, domain=f"company{a.pk}.example") for a in accounts],
                batch_size=5_000,
            )
            customers = []
            for i in range(volume.customers):
                account = rng.choice(accounts) if rng.random() > 0.03 else None
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                domain = f"company{account.pk}.example" if account else "mail.example"
                attributes: dict[str, Any] = {
                    "country": rng.choice(COUNTRIES),
                    "signup_year": rng.randint(2018, 2025),
                }
                if rng.random() < 0.3:
                    attributes["job_title"] = rng.choice(JOB_TITLES)
                roll = rng.random()
                customers.append(
                    Customer(
                        name=f"{first} {last}",
                        email=f"c{i}.{last.lower().replace(' ', '').replace(chr(39), '')}@{domain}",
                        account=account,
                        tier=Tier.VIP
                        if roll < 0.02
                        else Tier.PRIORITY
                        if roll < 0.15
                        else "standard",
                        attributes=attributes,
                    )
                )
            customers = Customer.objects.bulk_create(customers, batch_size=5_000)
            CustomerEmail.objects.bulk_create(
                [
                    CustomerEmail(customer=c, email=f"other.{c.pk}@mail.example")
                    for c in customers
                    if rng.random() < 0.05
                ],
                batch_size=5_000,
            )
    _vacuum_analyze()


def _vacuum_analyze() -> None:
    # Autovacuum is off on this machine: without fresh statistics the planner guesses.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


# Measuring ---------------------------------------------------------------------------------


def _median_ms(ours: Callable[[], Any], floor: Callable[[], Any], reps: int) -> tuple[float, float]:
    """Run each once to warm up, then alternately ``reps`` times; medians in milliseconds."""
    ours()
    floor()
    ours_times, floor_times = [], []
    for _ in range(reps):
        for function, times in ((ours, ours_times), (floor, floor_times)):
            started = time.perf_counter()
            function()
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(ours_times), statistics.median(floor_times)


def _context(user) -> dict[str, Any]:
    return {"request": SimpleNamespace(user=user)}


# (a) The customer directory page -------------------------------------------------------------

# The floor builds the same keys, in the order its SELECT lists the columns.
CUSTOMER_FIELDS = tuple(CustomerSerializer.Meta.fields)


def customer_page_ours(user, search: str = "", page_size: int = PAGE) -> dict[str, Any]:
    queryset = selectors.customer_list(user=user, search=search)
    count = queryset.count()
    page = list(queryset[:page_size])
    results = CustomerSerializer(page, many=True, context=_context(user)).data
    return {"count": count, "results": results}


_CUSTOMER_WHERE = """
    c.name ILIKE %(pattern)s OR c.email ILIKE %(pattern)s OR a.name ILIKE %(pattern)s
    OR c.external_id = %(search)s
    OR EXISTS (SELECT 1 FROM portal_customeremail e
               WHERE e.customer_id = c.id AND e.email ILIKE %(pattern)s)
"""


def customer_page_floor(search: str = "", page_size: int = PAGE) -> dict[str, Any]:
    where = _CUSTOMER_WHERE if search else "TRUE"
    params = {"pattern": f"%{search}%", "search": search, "limit": page_size}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM portal_customer c "
            f"LEFT JOIN portal_account a ON a.id = c.account_id WHERE {where}",
            params,
        )
        count = cursor.fetchone()[0]
        cursor.execute(
            "SELECT c.id, c.external_id, c.name, c.email,"
            " ARRAY(SELECT e.email FROM portal_customeremail e"
            "       WHERE e.customer_id = c.id ORDER BY e.email),"
            " c.account_id, a.name, c.tier, c.attributes, c.erased_at, c.created_at,"
            " c.updated_at "
            "FROM portal_customer c LEFT JOIN portal_account a ON a.id = c.account_id "
            f"WHERE {where} ORDER BY c.name, c.email LIMIT %(limit)s",
            params,
        )
        rows = cursor.fetchall()
    results = []
    for row in rows:
        item = dict(zip(CUSTOMER_FIELDS, row, strict=True))
        item["erased_at"] = item["erased_at"] and item["erased_at"].isoformat()
        item["created_at"] = item["created_at"].isoformat()
        item["updated_at"] = item["updated_at"].isoformat()
        results.append(item)
    return {"count": count, "results": results}


def query_counts(user) -> dict[str, int]:
    """Queries for one directory page, for several page sizes: constant means no N+1."""
    counts = {}
    for search in ("", SEARCH):
        for page_size in (10, PAGE, 200):
            with CaptureQueriesContext(connection) as captured:
                customer_page_ours(user, search=search, page_size=page_size)
            counts[f"search={search!r} page_size={page_size}"] = len(captured)
    return counts


# (b) CSV import ------------------------------------------------------------------------------


def _import_csv(volume: Volume, run: int) -> bytes:
    rng = random.Random(SEED + run)
    account_names = list(Account.objects.order_by("?").values_list("name", flat=True)[:200])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["email", "name", "account", "tier", "country"])
    for i in range(volume.import_rows):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        writer.writerow(
            [
                f"Run{run}.Row{i}@{IMPORT_DOMAIN}",
                f"{first} {last}",
                rng.choice(account_names),
                rng.choice(["standard"] * 8 + ["priority", "vip"]),
                rng.choice(COUNTRIES),
            ]
        )
    return out.getvalue().encode()


def _remove_imported() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM portal_customer WHERE email LIKE %s", [f"%@{IMPORT_DOMAIN}"])


def _parsed_rows(data: bytes) -> list[tuple]:
    """The floor's parsing: the same CSV, addresses lower-cased, accounts looked up at once."""
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    names = {row["account"].lower() for row in rows}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT lower(name), id FROM portal_account WHERE lower(name) = ANY(%s)", [list(names)]
        )
        account_ids = dict(cursor.fetchall())
    return [
        (
            row["email"].strip().lower(),
            row["name"].strip(),
            account_ids[row["account"].lower()],
            row["tier"],
            f'{{"country": "{row["country"]}"}}',
        )
        for row in rows
    ]


def import_floor_copy(data: bytes) -> None:
    rows = _parsed_rows(data)
    now = timezone.now().isoformat()
    buffer = io.StringIO()
    for email, name, account_id, tier, attributes in rows:
        buffer.write(
            f"\t{email}\t{email}\t{name}\t{account_id}\t{tier}\t{attributes}\t{now}\t{now}\n"
        )
    buffer.seek(0)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            "COPY portal_customer (external_id, email, email_key, name, account_id, tier,"
            " attributes, created_at, updated_at) FROM STDIN",
            buffer,
        )


def import_floor_executemany(data: bytes) -> None:
    rows = _parsed_rows(data)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO portal_customer (external_id, email, email_key, name, account_id,"
            " tier, attributes, created_at, updated_at) "
            "VALUES ('', %s, %s, %s, %s, %s, %s, now(), now())",
            [(email, email, *rest) for email, *rest in rows],
        )


def measure_import(user, volume: Volume) -> list[Result]:
    """Each run imports fresh rows, which are deleted (and vacuumed away) before the next. The
    portal's import runs ``import_reps`` times, the cheap floors at least three times."""
    variants: dict[str, tuple[Callable[[bytes], Any], int]] = {
        "ours": (
            lambda data: imports.customers_import_csv(actor=user, upload=io.BytesIO(data)),
            volume.import_reps,
        ),
        "COPY": (import_floor_copy, max(3, volume.import_reps)),
        "executemany": (import_floor_executemany, max(3, volume.import_reps)),
    }
    median = {}
    run = 0
    for name, (function, reps) in variants.items():
        times = []
        for _ in range(reps):
            run += 1
            data = _import_csv(volume, run)
            started = time.perf_counter()
            report = function(data)
            times.append((time.perf_counter() - started) * 1000)
            if report is not None:
                assert report.created == volume.import_rows, report.errors[:3]
            _remove_imported()
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE portal_customer")
        median[name] = statistics.median(times)
    label = f"(b) CSV import of {volume.import_rows:,} new customers"
    return [
        Result(label, median["ours"], median["COPY"], "COPY"),
        Result(label, median["ours"], median["executemany"], "INSERT per row, 1 tx"),
    ]


# (c) The account list ------------------------------------------------------------------------

ACCOUNT_FIELDS = tuple(AccountSerializer.Meta.fields)


def account_page_ours(user) -> dict[str, Any]:
    queryset = selectors.account_list(user=user)
    count = queryset.count()
    page = list(queryset[:PAGE])
    results = AccountSerializer(page, many=True, context=_context(user)).data
    return {"count": count, "results": results}


def account_page_floor() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM portal_account")
        count = cursor.fetchone()[0]
        cursor.execute(
            "SELECT a.id, a.external_id, a.name,"
            " ARRAY(SELECT d.domain FROM portal_accountdomain d"
            "       WHERE d.account_id = a.id ORDER BY d.domain),"
            " a.plan, a.segment, a.mrr, a.owner_id, count(c.id), a.created_at, a.updated_at "
            "FROM portal_account a LEFT JOIN portal_customer c ON c.account_id = a.id "
            "GROUP BY a.id ORDER BY a.name LIMIT %s",
            [PAGE],
        )
        rows = cursor.fetchall()
    results = []
    for row in rows:
        item = dict(zip(ACCOUNT_FIELDS, row, strict=True))
        item["mrr"] = float(item["mrr"])
        item["created_at"] = item["created_at"].isoformat()
        item["updated_at"] = item["updated_at"].isoformat()
        results.append(item)
    return {"count": count, "results": results}


# Running -------------------------------------------------------------------------------------


def run(volume: Volume, *, reps: int) -> dict[str, Any]:
    user = _bench_user()
    ours, floor = customer_page_ours(user), customer_page_floor()
    assert [r["id"] for r in ours["results"]] == [r["id"] for r in floor["results"]]
    assert ours["count"] == floor["count"]
    ours, floor = customer_page_ours(user, SEARCH), customer_page_floor(SEARCH)
    assert [r["id"] for r in ours["results"]] == [r["id"] for r in floor["results"]]
    assert ours["count"] == floor["count"], (ours["count"], floor["count"])

    results = []
    for label, search in (
        ("(a) customer page", ""),
        (f"(a) customer page, search {SEARCH!r}", SEARCH),
    ):
        ours_ms, floor_ms = _median_ms(
            lambda search=search: customer_page_ours(user, search),
            lambda search=search: customer_page_floor(search),
            reps,
        )
        results.append(Result(label, ours_ms, floor_ms, "raw SQL"))
    results.extend(measure_import(user, volume))
    ours_ms, floor_ms = _median_ms(lambda: account_page_ours(user), account_page_floor, reps)
    results.append(Result("(c) account page + customer_count", ours_ms, floor_ms, "GROUP BY"))
    return {
        "results": results,
        "queries": query_counts(user),
        "import_rows": volume.import_rows,
    }


def print_table(outcome: dict[str, Any]) -> None:
    rows = outcome["import_rows"]
    print()
    print("| benchmark | floor | ours ms | floor ms | ratio |")
    print("|---|---|---:|---:|---:|")
    for r in outcome["results"]:
        print(f"| {r.name} | {r.floor} | {r.ours_ms:.1f} | {r.floor_ms:.1f} | {r.ratio:.1f}x |")
    print()
    for r in outcome["results"]:
        if r.name.startswith("(b)"):
            print(
                f"{r.name} vs {r.floor}: ours {rows / r.ours_ms * 1000:,.0f} rows/s, "
                f"floor {rows / r.floor_ms * 1000:,.0f} rows/s"
            )
    print()
    print("queries for one customer page (must not grow with the page size):")
    for label, count in outcome["queries"].items():
        print(f"  {label}: {count}")
