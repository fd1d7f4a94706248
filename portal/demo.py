"""The demo company, built by ``manage.py seed_demo``.

Everything is generated from one fixed seed, so every run describes the same company: Kitewire,
a scheduling product for field-service firms, with its teams, customer accounts and North Star.
The data is first built as plain specs (no database), then written through ``portal.services``
with the demo superuser as the actor, so the demo only holds data the portal itself accepts.

Each ``seed_*`` function is keyed on natural keys (username, slug, account name, e-mail address,
date) and writes only what is missing or different: running the seed twice changes nothing.
Later capabilities add their own ``seed_*`` function and a line in ``seed``.

E-mail addresses use the reserved ``.example`` top-level domain (RFC 2606), so that a demo reply
can never reach a real inbox.
"""

import random
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from portal import services
from portal.models import (
    Account,
    Customer,
    Membership,
    NorthStarMeasurement,
    NorthStarMetric,
    Role,
    Segment,
    Team,
    Tier,
    ValueStream,
)

SEED = 20261123
COMPANY = "Kitewire"
STAFF_DOMAIN = "kitewire.example"
CENT = Decimal("0.01")

# Users -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserSpec:
    username: str
    first_name: str
    last_name: str
    password: str
    is_superuser: bool = False
    # (team slug, role) pairs.
    memberships: tuple[tuple[str, Role], ...] = ()
    description: str = ""

    @property
    def email(self) -> str:
        return f"{self.username}@{STAFF_DOMAIN}"


MEMBER_PASSWORD = "portal-member"

USERS = (
    UserSpec(
        "admin", "Ada", "Lindgren", "portal-admin", is_superuser=True, description="superuser"
    ),
    UserSpec(
        "lead",
        "Leo",
        "Achterberg",
        "portal-lead",
        memberships=(("customer-care", Role.LEAD), ("onboarding", Role.VIEWER)),
        description="lead of Customer Care, viewer of Onboarding",
    ),
    UserSpec(
        "agent",
        "Aisha",
        "Okafor",
        "portal-agent",
        memberships=(("customer-care", Role.AGENT),),
        description="agent of Customer Care",
    ),
    UserSpec(
        "maya",
        "Maya",
        "Brandt",
        MEMBER_PASSWORD,
        memberships=(("customer-care", Role.ADMIN),),
        description="admin of Customer Care",
    ),
    UserSpec(
        "jonas",
        "Jonas",
        "Eriksson",
        MEMBER_PASSWORD,
        memberships=(("onboarding", Role.ADMIN), ("customer-care", Role.VIEWER)),
        description="admin of Onboarding",
    ),
    UserSpec(
        "priya",
        "Priya",
        "Raman",
        MEMBER_PASSWORD,
        memberships=(("billing", Role.ADMIN), ("integrations", Role.ADMIN)),
        description="admin of Billing and of Integrations",
    ),
)

# The organisation --------------------------------------------------------------------------

VALUE_STREAMS = (
    (
        "acquire-onboard",
        "Acquire & onboard",
        "From the first trial to the first week of schedules sent to technicians.",
    ),
    (
        "retain-expand",
        "Retain & expand",
        "Keeping customers successful, renewing and growing with them.",
    ),
)

# slug, name, value stream slug, mission
TEAMS = (
    (
        "customer-care",
        "Customer Care",
        "retain-expand",
        "Answer every customer within one working day and turn what they tell us into "
        "backlog items that the product teams can rank.",
    ),
    (
        "onboarding",
        "Onboarding",
        "acquire-onboard",
        "Get a new account from sign-up to its first dispatched job in under a week.",
    ),
    (
        "billing",
        "Billing",
        "retain-expand",
        "Invoices that are right the first time, and plan changes without a support ticket.",
    ),
    (
        "integrations",
        "Integrations",
        "acquire-onboard",
        "Connect Kitewire to the accounting, CRM and telematics tools our customers run.",
    ),
)

# The customer directory --------------------------------------------------------------------

# name, domain stem, country
ACCOUNTS = (
    ("Alder & Finch Logistics", "alderfinch", "GB"),
    ("Brightmoor Dental Group", "brightmoor", "IE"),
    ("Cobalt Ridge Energy", "cobaltridge", "US"),
    ("Dunmore Veterinary", "dunmorevet", "GB"),
    ("Eastlake Property Care", "eastlake", "US"),
    ("Fernhill Schools Trust", "fernhill", "GB"),
    ("Granite Peak Outfitters", "granitepeak", "US"),
    ("Harbourline Ferries", "harbourline", "NL"),
    ("Ironbark Construction", "ironbark", "US"),
    ("Juniper Home Health", "juniperhealth", "US"),
    ("Kestrel Aviation Services", "kestrelaviation", "DE"),
    ("Lindqvist Hissar", "lindqvist", "SE"),
    ("Meridian Facility Services", "meridianfs", "GB"),
    ("Nordhafen Haustechnik", "nordhafen", "DE"),
    ("Oakridge Pest Control", "oakridgepest", "US"),
    ("Pinecrest HVAC", "pinecrest", "US"),
    ("Quayside Marine", "quayside", "IE"),
    ("Rosewater Hotels", "rosewater", "FR"),
    ("Saltmarsh Brewing", "saltmarsh", "GB"),
    ("Tidewell Water", "tidewell", "NL"),
    ("Upland Solar", "uplandsolar", "DE"),
    ("Valebrook Landscaping", "valebrook", "GB"),
    ("Westbury Security", "westbury", "GB"),
    ("Yarrow Clinics", "yarrowclinics", "DK"),
    ("Zephyr Cleaning", "zephyrclean", "AT"),
)

# plan, price per seat and month, seat range
PLANS = {
    Segment.SMB: ("starter", Decimal("29.00"), (3, 25)),
    Segment.MID_MARKET: ("growth", Decimal("59.00"), (25, 120)),
    Segment.ENTERPRISE: ("enterprise", Decimal("89.00"), (120, 600)),
}
SEGMENT_WEIGHTS = {Segment.SMB: 12, Segment.MID_MARKET: 9, Segment.ENTERPRISE: 4}
# How many contacts an account of each segment tends to have, relative to the others.
CONTACT_WEIGHTS = {Segment.SMB: 1, Segment.MID_MARKET: 3, Segment.ENTERPRISE: 7}
ACCOUNTS_WITH_A_SECOND_DOMAIN = 4
CUSTOMERS = 120
VIP_CUSTOMERS = 4
PRIORITY_CUSTOMERS = 20
CUSTOMERS_WITH_FURTHER_ADDRESSES = 3

FIRST_NAMES = (
    "Aaron", "Amélie", "Anna", "Arjun", "Beatriz", "Ben", "Carla", "Chloé", "Daniel", "Dara",
    "Elena", "Emil", "Fatima", "Finn", "Grace", "Hannah", "Hugo", "Ines", "Isaac", "Jakob",
    "Julia", "Kai", "Laura", "Lena", "Lucas", "Mara", "Mateo", "Mia", "Nadia", "Niamh",
    "Noah", "Olivia", "Omar", "Paula", "Rafael", "Rosa", "Sofia", "Tobias", "Yusuf", "Zoë",
)  # fmt: skip
LAST_NAMES = (
    "Andersen", "Bauer", "Byrne", "Carvalho", "Costa", "Dubois", "Evans", "Fischer", "García",
    "Hansen", "Hoffmann", "Hughes", "Jansen", "Kelly", "Klein", "Kowalski", "Larsen", "Lehmann",
    "Martin", "Meyer", "Moreau", "Murphy", "Nowak", "O'Brien", "Patel", "Peeters", "Quinn",
    "Richter", "Rossi", "Schmidt", "Silva", "Singh", "Smith", "Thompson", "van Dijk", "Vogel",
    "Walsh", "Weber", "Wilson", "Young",
)  # fmt: skip
JOB_TITLES = (
    "Operations manager",
    "Dispatcher",
    "Service coordinator",
    "Office manager",
    "Head of field service",
    "Finance lead",
    "IT administrator",
    "Owner",
)


@dataclass(frozen=True)
class AccountSpec:
    name: str
    domains: tuple[str, ...]
    plan: str
    segment: str
    mrr: Decimal
    country: str
    owner: str


@dataclass(frozen=True)
class CustomerSpec:
    email: str
    name: str
    account: str
    tier: str
    attributes: dict[str, Any]
    other_emails: tuple[str, ...] = ()


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def build_accounts(rng: random.Random) -> list[AccountSpec]:
    """The 25 accounts: segment, plan and MRR (seats times the plan's price, enterprise with a
    negotiated discount), one or two domains and an account owner from Customer Care."""
    second_domain = set(rng.sample(range(len(ACCOUNTS)), ACCOUNTS_WITH_A_SECOND_DOMAIN))
    owners = ("lead", "maya", "agent")
    specs = []
    for index, (name, stem, country) in enumerate(ACCOUNTS):
        segment = rng.choices(list(SEGMENT_WEIGHTS), weights=list(SEGMENT_WEIGHTS.values()))[0]
        plan, price, (low, high) = PLANS[segment]
        seats = rng.randint(low, high)
        mrr = price * seats
        if segment == Segment.ENTERPRISE:
            mrr = mrr * (Decimal(100 - rng.randint(5, 25)) / 100)
        domains = [f"{stem}.example"]
        if index in second_domain:
            domains.append(f"{stem}-group.example")
        specs.append(
            AccountSpec(
                name=name,
                domains=tuple(domains),
                plan=plan,
                segment=segment.value,
                mrr=mrr.quantize(CENT),
                country=country,
                owner=owners[index % len(owners)],
            )
        )
    return specs


def build_customers(rng: random.Random, accounts: list[AccountSpec]) -> list[CustomerSpec]:
    """120 contacts spread over the accounts (bigger accounts have more), with addresses on
    their account's domain, mostly standard tier, some priority and a few VIPs at the largest
    accounts, and a few free attributes."""
    weights = [CONTACT_WEIGHTS[Segment(a.segment)] for a in accounts]
    homes = list(range(len(accounts)))  # every account has at least one contact
    homes += rng.choices(range(len(accounts)), weights=weights, k=CUSTOMERS - len(accounts))
    homes.sort()

    people = []
    taken: set[str] = set()
    for home in homes:
        account = accounts[home]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local = f"{_ascii(first)}.{_ascii(last)}"
        email, suffix = f"{local}@{account.domains[0]}", 2
        while email in taken:
            email, suffix = f"{local}{suffix}@{account.domains[0]}", suffix + 1
        taken.add(email)
        attributes: dict[str, Any] = {
            "country": account.country,
            "signup_year": rng.randint(2019, 2025),
        }
        if rng.random() < 0.4:
            attributes["job_title"] = rng.choice(JOB_TITLES)
        people.append((home, f"{first} {last}", email, attributes))

    big = [i for i, (home, *_rest) in enumerate(people) if accounts[home].segment != Segment.SMB]
    vips = set(rng.sample(big, VIP_CUSTOMERS))
    rest = [i for i in range(len(people)) if i not in vips]
    priority = set(rng.sample(rest, PRIORITY_CUSTOMERS))
    with_two_domains = [
        i for i, (home, *_rest) in enumerate(people) if len(accounts[home].domains) > 1
    ]
    further = set(rng.sample(with_two_domains, CUSTOMERS_WITH_FURTHER_ADDRESSES))

    specs = []
    for i, (home, name, email, attributes) in enumerate(people):
        tier = Tier.VIP if i in vips else Tier.PRIORITY if i in priority else Tier.STANDARD
        other = ()
        if i in further:
            other = (f"{email.split('@')[0]}@{accounts[home].domains[1]}",)
        specs.append(
            CustomerSpec(
                email=email,
                name=name,
                account=accounts[home].name,
                tier=tier.value,
                attributes=attributes,
                other_emails=other,
            )
        )
    return specs


# The North Star ----------------------------------------------------------------------------

NORTH_STAR_NAME = "Weekly active accounts closing the loop"
NORTH_STAR_DEFINITION = (
    "Accounts with at least one feedback item resolved and answered back to the customer in "
    "the week (Monday to Sunday, UTC). It grows when we listen, act and tell customers so."
)
NORTH_STAR_UNIT = "accounts"
NORTH_STAR_WEEKS = 12
# The measurements follow a trend anchored on a fixed Monday, so that a week has the same
# value whenever the seed runs; the window itself ends at the current week.
# It cannot pass the number of demo accounts.
TREND_ANCHOR = date(2026, 1, 5)
TREND_START = Decimal(6)
TREND_PER_WEEK = Decimal("0.25")
TREND_CEILING = Decimal(len(ACCOUNTS) - 2)
NORTH_STAR_NOTES = {
    date(2026, 9, 28): "Reply templates released to all teams.",
    date(2026, 11, 2): "Low survey scores now open a feedback item.",
}


def north_star_weeks(today: date) -> list[tuple[date, Decimal, str]]:
    """The last NORTH_STAR_WEEKS completed weeks before ``today``, each as its Monday with its
    value and note."""
    this_monday = today - timedelta(days=today.weekday())
    weeks = []
    for back in range(NORTH_STAR_WEEKS, 0, -1):
        monday = this_monday - timedelta(weeks=back)
        week_number = (monday - TREND_ANCHOR).days // 7
        noise = random.Random(SEED + monday.toordinal()).randint(-1, 2)
        value = TREND_START + TREND_PER_WEEK * week_number + noise
        value = min(max(Decimal(0), value), TREND_CEILING).quantize(Decimal(1))
        weeks.append((monday, value, NORTH_STAR_NOTES.get(monday, "")))
    return weeks


# Writing -----------------------------------------------------------------------------------


@dataclass
class SeedReport:
    """How many rows of each kind the seed created, updated or found unchanged."""

    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)

    def note(self, kind: str, outcome: str) -> None:
        getattr(self, outcome)[kind] += 1

    def lines(self) -> list[str]:
        kinds = list(dict.fromkeys([*self.created, *self.updated, *self.unchanged]))
        return [
            f"  {kind:<22} {self.created[kind]:>4} created {self.updated[kind]:>4} updated "
            f"{self.unchanged[kind]:>4} unchanged"
            for kind in kinds
        ]


@dataclass
class DemoContext:
    rng: random.Random
    report: SeedReport
    today: date
    users: dict[str, AbstractBaseUser] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)

    @property
    def actor(self) -> AbstractBaseUser:
        return self.users["admin"]


def _changes(instance: Any, values: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if getattr(instance, name) != value}


def seed_users(ctx: DemoContext) -> None:
    """The demo logins. There is no service for creating users (that is Django's admin), so
    they are written with the model layer; a password is set only when it does not match."""
    user_model = get_user_model()
    existing = {
        u.username: u for u in user_model.objects.filter(username__in=[s.username for s in USERS])
    }
    for spec in USERS:
        values = {
            "email": spec.email,
            "first_name": spec.first_name,
            "last_name": spec.last_name,
            "is_active": True,
            "is_staff": spec.is_superuser,
            "is_superuser": spec.is_superuser,
        }
        user = existing.get(spec.username)
        if user is None:
            user = user_model(username=spec.username, **values)
            user.set_password(spec.password)
            user.save()
            ctx.report.note("users", "created")
        else:
            changes = _changes(user, values)
            for name, value in changes.items():
                setattr(user, name, value)
            if not user.check_password(spec.password):
                user.set_password(spec.password)
                changes["password"] = user.password
            if changes:
                user.save()
                ctx.report.note("users", "updated")
            else:
                ctx.report.note("users", "unchanged")
        ctx.users[spec.username] = user


def seed_org(ctx: DemoContext) -> None:
    """Value streams, teams and memberships; every team gets at least one admin."""
    streams = {s.slug: s for s in ValueStream.objects.all()}
    for slug, name, description in VALUE_STREAMS:
        stream = streams.get(slug)
        if stream is None:
            stream = services.value_stream_create(
                actor=ctx.actor, name=name, slug=slug, description=description
            )
            ctx.report.note("value streams", "created")
        elif _changes(stream, {"name": name, "description": description}):
            services.value_stream_update(
                actor=ctx.actor, value_stream=stream, name=name, description=description
            )
            ctx.report.note("value streams", "updated")
        else:
            ctx.report.note("value streams", "unchanged")
        streams[slug] = stream

    teams = {t.slug: t for t in Team.objects.all()}
    for slug, name, stream_slug, mission in TEAMS:
        values = {"name": name, "mission": mission, "value_stream": streams[stream_slug]}
        team = teams.get(slug)
        if team is None:
            team = services.team_create(actor=ctx.actor, slug=slug, **values)
            ctx.report.note("teams", "created")
        elif _changes(team, values):
            services.team_update(actor=ctx.actor, team=team, **values)
            ctx.report.note("teams", "updated")
        else:
            ctx.report.note("teams", "unchanged")
        ctx.teams[slug] = team

    memberships = {
        (m.team_id, m.user_id): m
        for m in Membership.objects.filter(user__in=list(ctx.users.values())).select_related("team")
    }
    # Admins first, so that no team is ever left without one while roles change.
    wanted = sorted(
        ((slug, spec.username, role) for spec in USERS for slug, role in spec.memberships),
        key=lambda item: item[2] != Role.ADMIN,
    )
    for slug, username, role in wanted:
        team, user = ctx.teams[slug], ctx.users[username]
        membership = memberships.get((team.pk, user.pk))
        if membership is None:
            services.membership_create(actor=ctx.actor, team=team, user=user, role=role)
            ctx.report.note("memberships", "created")
        elif membership.role != role:
            services.membership_update(actor=ctx.actor, membership=membership, role=role)
            ctx.report.note("memberships", "updated")
        else:
            ctx.report.note("memberships", "unchanged")


def seed_directory(ctx: DemoContext) -> None:
    """The 25 accounts and their 120 customers."""
    account_specs = build_accounts(ctx.rng)
    customer_specs = build_customers(ctx.rng, account_specs)

    existing_accounts = {
        a.name.lower(): a
        for a in Account.objects.filter(name__in=[s.name for s in account_specs]).prefetch_related(
            "domains"
        )
    }
    for spec in account_specs:
        values = {
            "name": spec.name,
            "plan": spec.plan,
            "segment": spec.segment,
            "mrr": spec.mrr,
            "owner": ctx.users[spec.owner],
        }
        account = existing_accounts.get(spec.name.lower())
        if account is None:
            account = services.account_create(actor=ctx.actor, domains=list(spec.domains), **values)
            ctx.report.note("accounts", "created")
        else:
            changes = _changes(account, values)
            domains = {d.domain for d in account.domains.all()}
            if changes or domains != set(spec.domains):
                services.account_update(
                    actor=ctx.actor, account=account, domains=list(spec.domains), **values
                )
                ctx.report.note("accounts", "updated")
            else:
                ctx.report.note("accounts", "unchanged")
        ctx.accounts[spec.name] = account

    existing_customers = {
        c.email: c
        for c in Customer.objects.filter(email__in=[s.email for s in customer_specs])
        .select_related("account")
        .prefetch_related("other_emails")
    }
    for spec in customer_specs:
        values = {
            "name": spec.name,
            "account": ctx.accounts[spec.account],
            "tier": spec.tier,
            "attributes": spec.attributes,
        }
        customer = existing_customers.get(spec.email)
        if customer is None:
            services.customer_create(
                actor=ctx.actor, email=spec.email, other_emails=list(spec.other_emails), **values
            )
            ctx.report.note("customers", "created")
            continue
        changes = _changes(customer, values)
        other_emails = {e.email for e in customer.other_emails.all()}
        if changes or other_emails != set(spec.other_emails):
            services.customer_update(
                actor=ctx.actor, customer=customer, other_emails=list(spec.other_emails), **values
            )
            ctx.report.note("customers", "updated")
        else:
            ctx.report.note("customers", "unchanged")


def seed_north_star(ctx: DemoContext) -> None:
    """The North Star metric and its last weekly measurements, recorded by the lead."""
    values = {"name": NORTH_STAR_NAME, "definition": NORTH_STAR_DEFINITION, "unit": NORTH_STAR_UNIT}
    metric = NorthStarMetric.objects.filter(pk=NorthStarMetric.SINGLETON_ID).first()
    if metric is None or _changes(metric, values):
        services.north_star_set(actor=ctx.actor, **values)
        ctx.report.note("north star", "created" if metric is None else "updated")
    else:
        ctx.report.note("north star", "unchanged")

    recorder = ctx.users["lead"]
    weeks = north_star_weeks(ctx.today)
    existing = {
        m.measured_on: m
        for m in NorthStarMeasurement.objects.filter(measured_on__in=[w[0] for w in weeks])
    }
    for measured_on, value, note in weeks:
        measurement = existing.get(measured_on)
        wanted = {"value": value, "note": note, "recorded_by_id": recorder.pk}
        if measurement is not None and not _changes(measurement, wanted):
            ctx.report.note("north star weeks", "unchanged")
            continue
        services.north_star_measurement_record(
            actor=recorder, measured_on=measured_on, value=value, note=note
        )
        ctx.report.note("north star weeks", "created" if measurement is None else "updated")


# Later capabilities (feedback, surveys, backlog) append their seed function here.
STEPS: tuple[Callable[[DemoContext], None], ...] = (
    seed_users,
    seed_org,
    seed_directory,
    seed_north_star,
)


@transaction.atomic
def seed(*, today: date | None = None) -> SeedReport:
    """Create or bring up to date the whole demo company in one transaction."""
    ctx = DemoContext(
        rng=random.Random(SEED), report=SeedReport(), today=today or timezone.localdate()
    )
    for step in STEPS:
        step(ctx)
    return ctx.report


def login_lines() -> list[str]:
    width = max(len(s.username) for s in USERS)
    return [
        f"  {spec.username:<{width}} / {spec.password:<14} {spec.description}" for spec in USERS
    ]
