"""The demo company as plain data: users, teams, accounts, customers and the North Star,
built from one fixed seed without touching the database."""

import random
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from portal.models import (
    Role,
    Segment,
    Tier,
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

    @property
    def email(self) -> str:
        return f"{self.username}@{STAFF_DOMAIN}"

    @property
    def description(self) -> str:
        """What the login may do, derived from its memberships so that the seed output and
        the README can never leave a role out: "lead of Customer Care, viewer of Onboarding"."""
        if self.is_superuser:
            return "superuser: every team and Django admin"
        team_names = {slug: name for slug, name, _stream, _mission in TEAMS}
        return ", ".join(
            f"{Role(role).label.lower()} of {team_names[slug]}" for slug, role in self.memberships
        )


MEMBER_PASSWORD = "portal-member"

USERS = (
    UserSpec("admin", "Ada", "Lindgren", "portal-admin", is_superuser=True),
    UserSpec(
        "lead",
        "Leo",
        "Achterberg",
        "portal-lead",
        memberships=(("customer-care", Role.LEAD), ("onboarding", Role.VIEWER)),
    ),
    UserSpec(
        "agent",
        "Aisha",
        "Okafor",
        "portal-agent",
        memberships=(("customer-care", Role.AGENT),),
    ),
    UserSpec(
        "maya",
        "Maya",
        "Brandt",
        MEMBER_PASSWORD,
        memberships=(("customer-care", Role.ADMIN),),
    ),
    UserSpec(
        "jonas",
        "Jonas",
        "Eriksson",
        MEMBER_PASSWORD,
        memberships=(("onboarding", Role.ADMIN), ("customer-care", Role.VIEWER)),
    ),
    UserSpec(
        "priya",
        "Priya",
        "Raman",
        MEMBER_PASSWORD,
        memberships=(("billing", Role.ADMIN), ("integrations", Role.ADMIN)),
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
