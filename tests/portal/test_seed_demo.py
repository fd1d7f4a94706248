import random
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from portal import demo
from portal.management.commands.seed_demo import REFUSED
from portal.models import (
    Account,
    AccountDomain,
    Customer,
    CustomerEmail,
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
def test_seed_creates_the_demo_company():
    seed()

    assert ValueStream.objects.count() == 2
    assert Team.objects.count() == 4
    assert Team.objects.filter(value_stream__isnull=True).count() == 0
    assert Team.objects.exclude(mission="").count() == 4
    assert Account.objects.count() == 25
    assert Customer.objects.count() == 120
    assert Account.objects.filter(customers__isnull=True).count() == 0
    assert CustomerEmail.objects.count() == demo.CUSTOMERS_WITH_FURTHER_ADDRESSES
    assert Customer.objects.filter(tier=Tier.VIP).count() == demo.VIP_CUSTOMERS
    assert Customer.objects.filter(attributes__has_key="country").count() == 120
    metric = NorthStarMetric.objects.get()
    assert metric.name == demo.NORTH_STAR_NAME
    assert metric.definition
    assert metric.unit
    assert metric.measurements.count() == 12


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
    assert " 0 created    0 updated" in output


@pytest.mark.django_db
def test_running_again_repairs_what_was_changed():
    seed()
    before = snapshot()
    user = get_user_model().objects.get(username="lead")
    user.set_password("something-else")
    user.save()
    Account.objects.filter(name="Upland Solar").update(mrr=Decimal("1.00"))
    Membership.objects.filter(user__username="agent").update(role=Role.VIEWER)

    seed()

    assert authenticate(username="lead", password="portal-lead") is not None
    assert Account.objects.get(name="Upland Solar").mrr == next(
        a["mrr"] for a in before["Account"] if a["name"] == "Upland Solar"
    )
    assert Membership.objects.get(user__username="agent").role == Role.AGENT


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
def test_output_shows_the_demo_logins():
    output = seed()

    assert "Demo logins" in output
    for username, password in (
        ("admin", "portal-admin"),
        ("lead", "portal-lead"),
        ("agent", "portal-agent"),
    ):
        assert username in output
        assert password in output
