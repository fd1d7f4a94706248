import random
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from portal import demo, services
from portal.demo import parts
from portal.management.commands.seed_demo import REFUSED
from portal.models import (
    Account,
    AccountDomain,
    Customer,
    CustomerEmail,
    DemoPart,
    Membership,
    NorthStarMeasurement,
    NorthStarMetric,
    Role,
    Team,
    Tier,
    ValueStream,
)

SEEDED_MODELS = (
    get_user_model(),
    ValueStream,
    Team,
    Membership,
    Account,
    AccountDomain,
    Customer,
    CustomerEmail,
    NorthStarMetric,
    NorthStarMeasurement,
)


@pytest.fixture(autouse=True)
def _debug(settings):
    settings.DEBUG = True


# The parts the portal builds itself; the apps' parts (feedback's few hundred mails through the
# ingestion pipeline take seconds) have their own tests, e.g. tests/feedback/test_demo.py.
PORTAL_PARTS = ("logins", "organisation", "directory", "north star")


@pytest.fixture
def all_parts():
    """Ask for it to seed every part of the demo, the apps' included."""


@pytest.fixture(autouse=True)
def _portal_parts_only(request, monkeypatch):
    if "all_parts" in request.fixturenames:
        return
    portal_parts = tuple(part for part in parts.PARTS if part.name in PORTAL_PARTS)
    monkeypatch.setattr(parts, "PARTS", portal_parts)
    monkeypatch.setattr(demo, "PARTS", portal_parts)


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, list[dict]]:
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in SEEDED_MODELS}


def test_build_is_the_same_company_every_time():
    first = demo.build_accounts(random.Random(demo.SEED))
    second = demo.build_accounts(random.Random(demo.SEED))
    assert first == second
    rng = random.Random(demo.SEED)
    customers = demo.build_customers(rng, demo.build_accounts(rng))
    tiers = [c.tier for c in customers]
    assert tiers.count(Tier.VIP) == demo.VIP_CUSTOMERS
    assert tiers.count(Tier.PRIORITY) == demo.PRIORITY_CUSTOMERS
    assert tiers.count(Tier.STANDARD) > len(customers) / 2


@pytest.mark.django_db
def test_seed_creates_the_demo_company(all_parts):
    seed()

    assert ValueStream.objects.count() == 2
    assert Team.objects.count() == 4
    assert Team.objects.filter(value_stream__isnull=True).count() == 0
    assert Team.objects.exclude(mission="").count() == 4
    assert Account.objects.count() == 25
    # The directory's 120; the feedback channels add a few people known only by a handle or
    # by a new address, who belong to no account.
    assert Customer.objects.filter(account__isnull=False).count() == 120
    assert Account.objects.filter(customers__isnull=True).count() == 0
    assert CustomerEmail.objects.count() == demo.CUSTOMERS_WITH_FURTHER_ADDRESSES
    assert Customer.objects.filter(tier=Tier.VIP).count() == demo.VIP_CUSTOMERS
    assert Customer.objects.filter(attributes__has_key="country").count() == 120
    metric = NorthStarMetric.objects.get()
    assert metric.name == demo.NORTH_STAR_NAME
    assert metric.definition
    assert metric.unit
    assert metric.measurements.count() == 12
    # The last part: Customer Care's service levels, its pressing items given due times.
    from feedback.models import FeedbackItem, SlaPolicy

    care = Team.objects.get(slug="customer-care")
    assert set(SlaPolicy.objects.filter(team=care).values_list("priority", flat=True)) == {
        "high",
        "urgent",
    }
    pressing = FeedbackItem.objects.filter(
        team=care, priority__in=("high", "urgent"), status__in=("new", "open", "waiting")
    )
    assert pressing.exists()
    assert not pressing.filter(first_response_due_at__isnull=True).exists()
    assert DemoPart.objects.filter(name="service levels").exists()


@pytest.mark.django_db
def test_demo_logins_authenticate_and_have_their_roles():
    seed()

    admin = authenticate(username="admin", password="portal-admin")
    lead = authenticate(username="lead", password="portal-lead")
    agent = authenticate(username="agent", password="portal-agent")
    assert admin is not None and admin.is_superuser and admin.is_staff
    assert lead is not None and not lead.is_superuser
    assert agent is not None and not agent.is_staff

    def roles(user) -> dict[str, str]:
        return dict(Membership.objects.filter(user=user).values_list("team__slug", "role"))

    assert roles(lead) == {"customer-care": Role.LEAD, "onboarding": Role.VIEWER}
    assert roles(agent) == {"customer-care": Role.AGENT}
    for spec in demo.USERS:
        assert authenticate(username=spec.username, password=spec.password) is not None


@pytest.mark.django_db
def test_every_team_has_an_admin():
    seed()

    for team in Team.objects.all():
        assert team.memberships.filter(role=Role.ADMIN).exists(), team


@pytest.mark.django_db
def test_running_twice_changes_no_row():
    seed()
    before = snapshot()

    output = seed()

    assert snapshot() == before
    assert "Built now" not in output
    assert "Built before and left as they are:" in output
    for part in demo.PARTS:
        assert part.name in output


@pytest.mark.django_db
def test_each_part_is_recorded_once():
    seed()
    seed()

    assert sorted(DemoPart.objects.values_list("name", flat=True)) == sorted(
        part.name for part in demo.PARTS
    )


# Defect 8 of issue 7: `make run` seeds on every start, and seeding used to put edited demo
# data back and recreate deleted memberships. The contract changed deliberately: seeding builds
# the company once and never overwrites what a person changed (this test replaces
# test_running_again_repairs_what_was_changed).
@pytest.mark.django_db
def test_running_again_keeps_what_people_changed_and_deleted():
    seed()
    admin = get_user_model().objects.get(username="admin")
    care = Team.objects.get(slug="customer-care")
    services.team_update(
        actor=admin,
        team=care,
        name=care.name,
        mission="Our own mission.",
        value_stream=care.value_stream,
    )
    services.north_star_set(actor=admin, name="Accounts that renewed", definition="", unit="")
    customer = Customer.objects.filter(tier=Tier.STANDARD).first()
    services.customer_update(actor=admin, customer=customer, tier=Tier.VIP)
    agent_membership = Membership.objects.get(user__username="agent", team=care)
    services.membership_update(actor=admin, membership=agent_membership, role=Role.VIEWER)
    services.membership_delete(
        actor=admin, membership=Membership.objects.get(user__username="jonas", team=care)
    )
    lead = get_user_model().objects.get(username="lead")
    lead.set_password("something-else")
    lead.save()
    before = snapshot()

    seed()

    assert snapshot() == before
    assert Team.objects.get(slug="customer-care").mission == "Our own mission."
    assert NorthStarMetric.objects.get().name == "Accounts that renewed"
    assert Customer.objects.get(pk=customer.pk).tier == Tier.VIP
    assert Membership.objects.get(pk=agent_membership.pk).role == Role.VIEWER
    assert not Membership.objects.filter(user__username="jonas", team=care).exists()
    assert authenticate(username="lead", password="portal-lead") is None


@pytest.mark.django_db
def test_a_part_added_later_is_built_in_a_database_seeded_before(monkeypatch):
    seed()
    built = []

    def seed_later_part(ctx) -> None:
        built.append(ctx.actor.username)
        ctx.report.note("later rows", "created")

    monkeypatch.setattr(
        parts,
        "PARTS",
        (*parts.PARTS, parts.DemoPartSpec("later part", seed_later_part)),
    )
    before = snapshot()

    output = seed()
    seed()

    assert built == ["admin"]
    assert snapshot() == before
    assert "Built now: later part." in output
    assert DemoPart.objects.filter(name="later part").count() == 1


@pytest.mark.django_db
def test_a_part_built_into_existing_data_keeps_the_rows_it_finds():
    seed()
    admin = get_user_model().objects.get(username="admin")
    account = Account.objects.get(name="Upland Solar")
    services.account_update(actor=admin, account=account, mrr=Decimal("1.00"))
    # One who never wrote to support: a customer's feedback items protect them from deletion.
    removed = (
        Customer.objects.exclude(account=account)
        .filter(feedback_items__isnull=True)
        .order_by("email")
        .first()
    )
    removed_email = removed.email
    removed.delete()
    DemoPart.objects.filter(name="directory").delete()

    output = seed()

    assert Account.objects.get(name="Upland Solar").mrr == Decimal("1.00")
    assert Customer.objects.filter(email=removed_email).exists()
    assert Customer.objects.count() == 120
    assert "customers             1 created, 119 found already and kept as they are" in output


@pytest.mark.django_db
def test_a_part_without_the_demo_superuser_fails_and_writes_nothing(monkeypatch):
    seed()
    get_user_model().objects.filter(username="admin").delete()
    monkeypatch.setattr(
        parts,
        "PARTS",
        (*parts.PARTS, parts.DemoPartSpec("later part", lambda ctx: ctx.actor)),
    )

    with pytest.raises(CommandError) as raised:
        seed()

    assert demo.NO_DEMO_ACTOR.format(part="later part", username="admin") in str(raised.value)
    assert not DemoPart.objects.filter(name="later part").exists()


@pytest.mark.django_db
def test_without_debug_or_force_nothing_is_written(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="Nothing was written"):
        seed()

    assert str(REFUSED).startswith("Debug is off")
    assert get_user_model().objects.count() == 0
    assert Account.objects.count() == 0


@pytest.mark.django_db
def test_force_creates_the_logins_with_debug_off(settings):
    settings.DEBUG = False

    seed("--force")

    usernames = set(get_user_model().objects.values_list("username", flat=True))
    assert {"admin", "lead", "agent"} <= usernames
    assert Customer.objects.count() == 120


@pytest.mark.django_db
def test_mrr_is_money_with_two_places():
    seed()

    values = list(Account.objects.values_list("mrr", flat=True))
    assert len(set(values)) > 20
    for mrr in values:
        assert isinstance(mrr, Decimal)
        assert mrr > 0
        assert mrr.as_tuple().exponent == -2


@pytest.mark.django_db
def test_customer_addresses_are_unique_lower_case_and_on_their_account_domain():
    seed()

    customers = list(Customer.objects.prefetch_related("account__domains"))
    emails = [c.email for c in customers]
    assert len(set(emails)) == len(emails)
    for customer in customers:
        assert customer.email == customer.email.lower()
        domain = customer.email.split("@")[1]
        assert domain in {d.domain for d in customer.account.domains.all()}
        assert domain.endswith(".example")


@pytest.mark.django_db
def test_output_shows_every_demo_login_with_all_its_roles():
    output = seed()

    assert "Demo logins" in output
    team_names = dict(Team.objects.values_list("slug", "name"))
    lines = {line.split()[0]: line for line in demo.login_lines()}
    assert set(lines) == {spec.username for spec in demo.USERS}
    for spec in demo.USERS:
        line = lines[spec.username]
        assert line in output
        assert f" {spec.password} " in line
        for slug, role in spec.memberships:
            assert f"{Role(role).label.lower()} of {team_names[slug]}" in line
    assert "superuser" in lines["admin"]


@pytest.mark.django_db
def test_login_descriptions_match_the_seeded_memberships():
    seed()

    for spec in demo.USERS:
        seeded = set(
            Membership.objects.filter(user__username=spec.username).values_list(
                "team__slug", "role"
            )
        )
        assert seeded == set(spec.memberships), spec.username


def test_readme_lists_exactly_the_demo_logins():
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    table = demo.login_table()

    lines = readme.splitlines()
    start = lines.index(table[0])
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    assert lines[start:end] == table
