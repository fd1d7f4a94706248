"""Writes: teams, memberships, the customer directory and the North Star."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from portal import access, services
from portal.models import (
    Account,
    AccountDomain,
    Customer,
    CustomerEmail,
    Membership,
    NorthStarMeasurement,
    Role,
    Team,
    Tier,
)
from tests.factories import AccountFactory, CustomerFactory, MembershipFactory, UserFactory


def messages(error: ValidationError) -> dict[str, list[str]]:
    return error.message_dict


# Teams -------------------------------------------------------------------------------------


def test_team_create_derives_the_slug_from_the_name(world):
    team = services.team_create(actor=world.superuser, name="  Customer Success  ")
    assert team.name == "Customer Success"
    assert team.slug == "customer-success"
    assert Team.objects.filter(slug="customer-success").exists()


def test_team_create_keeps_a_given_slug(world):
    team = services.team_create(actor=world.superuser, name="Support", slug="help")
    assert team.slug == "help"


def test_team_create_is_for_superusers_only(world):
    with pytest.raises(PermissionDenied) as raised:
        services.team_create(actor=world.admin_a, name="Shadow team")
    assert str(raised.value) == access.NEEDS_SUPERUSER
    assert not Team.objects.filter(name="Shadow team").exists()


@pytest.mark.parametrize("name", ["Team A", "team a", "TEAM A"])
def test_team_create_rejects_a_taken_name_whatever_its_case(world, name):
    with pytest.raises(ValidationError) as raised:
        services.team_create(actor=world.superuser, name=name)
    assert messages(raised.value) == {"name": [services.TEAM_NAME_TAKEN.format(name=name)]}


def test_team_create_rejects_a_taken_slug(world):
    with pytest.raises(ValidationError) as raised:
        services.team_create(actor=world.superuser, name="Another", slug="team-a")
    assert messages(raised.value) == {"slug": [services.TEAM_SLUG_TAKEN.format(slug="team-a")]}


def test_team_update_is_for_team_admins(world):
    team = services.team_update(
        actor=world.admin_a, team=world.team_a, name="Team Alpha", mission="Delight."
    )
    team.refresh_from_db()
    assert (team.name, team.mission, team.slug) == ("Team Alpha", "Delight.", "team-a")


@pytest.mark.parametrize("persona", ["lead_a", "member_b", "outsider"])
def test_team_update_refuses_anyone_below_admin_of_that_team(world, persona):
    with pytest.raises(PermissionDenied) as raised:
        services.team_update(actor=getattr(world, persona), team=world.team_a, name="Renamed")
    assert str(raised.value) == access.NEEDS_ROLE.format(role="admin", team=world.team_a)
    world.team_a.refresh_from_db()
    assert world.team_a.name == "Team A"


def test_team_update_rejects_another_teams_name_but_allows_its_own_in_new_case(world):
    with pytest.raises(ValidationError) as raised:
        services.team_update(actor=world.superuser, team=world.team_a, name="team b")
    assert messages(raised.value) == {"name": [services.TEAM_NAME_TAKEN.format(name="team b")]}
    team = services.team_update(actor=world.superuser, team=world.team_a, name="TEAM A")
    assert team.name == "TEAM A"


# Memberships -------------------------------------------------------------------------------


def test_membership_create_adds_a_member_with_the_role(world):
    membership = services.membership_create(
        actor=world.admin_a, team=world.team_a, user=world.outsider, role="lead"
    )
    assert membership.role == Role.LEAD
    assert Membership.objects.get(team=world.team_a, user=world.outsider).role == "lead"


def test_membership_create_refuses_a_lead(world):
    with pytest.raises(PermissionDenied):
        services.membership_create(
            actor=world.lead_a, team=world.team_a, user=world.outsider, role="viewer"
        )
    assert not Membership.objects.filter(user=world.outsider).exists()


def test_membership_create_refuses_an_admin_of_another_team(world):
    with pytest.raises(PermissionDenied):
        services.membership_create(
            actor=world.member_b, team=world.team_a, user=world.outsider, role="viewer"
        )


def test_membership_create_rejects_an_existing_member(world):
    with pytest.raises(ValidationError) as raised:
        services.membership_create(
            actor=world.admin_a, team=world.team_a, user=world.agent_a, role="lead"
        )
    expected = services.ALREADY_MEMBER.format(user=world.agent_a, team=world.team_a)
    assert messages(raised.value) == {"user": [expected]}
    assert world.agent_a.memberships.get().role == Role.AGENT


@pytest.mark.parametrize("role", ["owner", "", "Admin"])
def test_membership_create_rejects_an_unknown_role(world, role):
    with pytest.raises(ValidationError) as raised:
        services.membership_create(
            actor=world.admin_a, team=world.team_a, user=world.outsider, role=role
        )
    assert messages(raised.value) == {"role": [services.INVALID_ROLE]}


def test_membership_update_changes_the_role(world):
    membership = world.viewer_a.memberships.get()
    updated = services.membership_update(actor=world.admin_a, membership=membership, role="agent")
    assert updated.role == Role.AGENT
    assert Membership.objects.get(pk=membership.pk).role == "agent"


def test_membership_update_rejects_an_unknown_role(world):
    membership = world.viewer_a.memberships.get()
    with pytest.raises(ValidationError) as raised:
        services.membership_update(actor=world.admin_a, membership=membership, role="boss")
    assert messages(raised.value) == {"role": [services.INVALID_ROLE]}


def test_membership_update_refuses_to_demote_the_last_admin(world):
    membership = world.admin_a.memberships.get()
    with pytest.raises(ValidationError) as raised:
        services.membership_update(actor=world.admin_a, membership=membership, role="lead")
    assert messages(raised.value) == {"role": [services.LAST_ADMIN.format(team=world.team_a)]}
    assert Membership.objects.get(pk=membership.pk).role == Role.ADMIN


def test_membership_update_demotes_an_admin_when_another_admin_remains(world):
    MembershipFactory(team=world.team_a, user=UserFactory(username="admin2"), role=Role.ADMIN)
    membership = world.admin_a.memberships.get()
    services.membership_update(actor=world.admin_a, membership=membership, role="viewer")
    assert Membership.objects.get(pk=membership.pk).role == Role.VIEWER


def test_membership_update_refuses_a_non_admin(world):
    membership = world.viewer_a.memberships.get()
    with pytest.raises(PermissionDenied):
        services.membership_update(actor=world.lead_a, membership=membership, role="admin")
    assert Membership.objects.get(pk=membership.pk).role == Role.VIEWER


def test_membership_delete_removes_a_member(world):
    membership = world.viewer_a.memberships.get()
    services.membership_delete(actor=world.admin_a, membership=membership)
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_membership_delete_refuses_to_remove_the_last_admin(world):
    membership = world.member_b.memberships.get()
    with pytest.raises(ValidationError) as raised:
        services.membership_delete(actor=world.superuser, membership=membership)
    assert raised.value.messages == [services.LAST_ADMIN.format(team=world.team_b)]
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_membership_delete_refuses_a_non_admin(world):
    membership = world.viewer_a.memberships.get()
    with pytest.raises(PermissionDenied):
        services.membership_delete(actor=world.agent_a, membership=membership)
    assert Membership.objects.filter(pk=membership.pk).exists()


# Accounts ----------------------------------------------------------------------------------


def test_account_create_stores_fields_and_normalised_domains(world):
    account = services.account_create(
        actor=world.agent_a,
        name="  Acme Corp ",
        domains=[" @Acme.COM. ", "acme.com", "mail.acme.test", "  "],
        plan="growth",
        segment="enterprise",
        mrr="1250.50",
        owner=world.lead_a,
        external_id=" crm-1 ",
    )
    account.refresh_from_db()
    assert account.name == "Acme Corp"
    assert account.external_id == "crm-1"
    assert account.mrr == Decimal("1250.50")
    assert account.owner == world.lead_a
    assert list(account.domains.values_list("domain", flat=True)) == [
        "acme.com",
        "mail.acme.test",
    ]


@pytest.mark.parametrize("persona", ["viewer_a", "outsider"])
def test_account_create_refuses_viewers_and_outsiders(world, persona):
    with pytest.raises(PermissionDenied) as raised:
        services.account_create(actor=getattr(world, persona), name="Acme")
    assert str(raised.value) == access.NEEDS_DIRECTORY_EDITOR
    assert not Account.objects.exists()


def test_account_create_rejects_a_taken_name_whatever_its_case(world):
    AccountFactory(name="Acme")
    with pytest.raises(ValidationError) as raised:
        services.account_create(actor=world.agent_a, name="ACME")
    assert messages(raised.value) == {"name": [services.ACCOUNT_NAME_TAKEN.format(name="ACME")]}


def test_account_create_rejects_a_taken_external_id(world):
    AccountFactory(name="Acme", external_id="crm-1")
    with pytest.raises(ValidationError) as raised:
        services.account_create(actor=world.agent_a, name="Globex", external_id="crm-1")
    expected = services.EXTERNAL_ID_TAKEN.format(external_id="crm-1")
    assert messages(raised.value) == {"external_id": [expected]}


def test_accounts_without_external_id_do_not_clash(world):
    services.account_create(actor=world.agent_a, name="Acme")
    services.account_create(actor=world.agent_a, name="Globex")
    assert Account.objects.filter(external_id="").count() == 2


def test_account_create_rejects_a_domain_of_another_account_and_keeps_nothing(world):
    owner = services.account_create(actor=world.agent_a, name="Acme", domains=["acme.com"])
    with pytest.raises(ValidationError) as raised:
        services.account_create(
            actor=world.agent_a, name="Impostor", domains=["impostor.test", "ACME.com."]
        )
    expected = services.DOMAIN_TAKEN.format(domain="acme.com", account=owner)
    assert messages(raised.value) == {"domains": [expected]}
    assert not Account.objects.filter(name="Impostor").exists()
    assert not AccountDomain.objects.filter(domain="impostor.test").exists()


def test_account_create_rejects_an_invalid_domain(world):
    with pytest.raises(ValidationError) as raised:
        services.account_create(actor=world.agent_a, name="Acme", domains=["not a domain"])
    assert raised.value.messages == [services.DOMAIN_INVALID.format(domain="not a domain")]


def test_account_create_rejects_a_negative_mrr(world):
    with pytest.raises(ValidationError) as raised:
        services.account_create(actor=world.agent_a, name="Acme", mrr="-1")
    assert messages(raised.value) == {"mrr": [services.MRR_NEGATIVE]}


def test_account_create_rejects_an_unknown_segment(world):
    with pytest.raises(ValidationError) as raised:
        services.account_create(actor=world.agent_a, name="Acme", segment="huge")
    assert messages(raised.value) == {"segment": [services.INVALID_SEGMENT]}


def test_account_update_changes_given_fields_and_replaces_domains(world):
    account = services.account_create(
        actor=world.agent_a, name="Acme", domains=["acme.com", "old.acme.com"], plan="growth"
    )
    services.account_update(
        actor=world.agent_a,
        account=account,
        name="Acme Inc",
        mrr=99,
        domains=["acme.com", "New.Acme.com"],
    )
    account.refresh_from_db()
    assert (account.name, account.plan, account.mrr) == ("Acme Inc", "growth", Decimal("99"))
    assert list(account.domains.values_list("domain", flat=True)) == [
        "acme.com",
        "new.acme.com",
    ]


def test_account_update_without_domains_keeps_them(world):
    account = services.account_create(actor=world.agent_a, name="Acme", domains=["acme.com"])
    services.account_update(actor=world.agent_a, account=account, plan="scale")
    assert list(account.domains.values_list("domain", flat=True)) == ["acme.com"]


def test_account_update_rejects_another_accounts_name_and_negative_mrr(world):
    AccountFactory(name="Globex")
    account = AccountFactory(name="Acme")
    with pytest.raises(ValidationError) as raised:
        services.account_update(actor=world.agent_a, account=account, name="globex")
    assert messages(raised.value) == {"name": [services.ACCOUNT_NAME_TAKEN.format(name="globex")]}
    account = Account.objects.get(pk=account.pk)
    with pytest.raises(ValidationError) as raised:
        services.account_update(actor=world.agent_a, account=account, mrr=Decimal("-0.01"))
    assert messages(raised.value) == {"mrr": [services.MRR_NEGATIVE]}


def test_account_update_rejects_an_unknown_field(world):
    account = AccountFactory()
    with pytest.raises(TypeError):
        services.account_update(actor=world.agent_a, account=account, colour="red")


def test_account_update_refuses_a_viewer(world):
    account = AccountFactory(name="Acme")
    with pytest.raises(PermissionDenied):
        services.account_update(actor=world.viewer_a, account=account, name="Hacked")
    assert Account.objects.get(pk=account.pk).name == "Acme"


# Customers ---------------------------------------------------------------------------------


def test_customer_create_normalises_the_email(world):
    customer = services.customer_create(actor=world.agent_a, email=" Foo@Example.COM ")
    assert customer.email == "foo@example.com"
    assert Customer.objects.get(pk=customer.pk).email == "foo@example.com"
    assert customer.tier == Tier.STANDARD


def test_customer_create_stores_every_field(world):
    account = AccountFactory()
    customer = services.customer_create(
        actor=world.lead_a,
        email="ann@example.com",
        name=" Ann ",
        account=account,
        tier="vip",
        attributes={"plan": "pro", "seats": 12, "beta": True, "note": None},
        other_emails=["Ann.Home@Example.com", "ann@example.com", "ann.home@example.com"],
        external_id="c-1",
    )
    customer.refresh_from_db()
    assert customer.name == "Ann"
    assert customer.account == account
    assert customer.tier == Tier.VIP
    assert customer.attributes == {"plan": "pro", "seats": 12, "beta": True, "note": None}
    assert customer.external_id == "c-1"
    assert [e.email for e in customer.other_emails.all()] == ["ann.home@example.com"]


def test_customer_create_rejects_an_invalid_email(world):
    with pytest.raises(ValidationError) as raised:
        services.customer_create(actor=world.agent_a, email="not-an-address")
    assert raised.value.messages == [services.EMAIL_INVALID.format(email="not-an-address")]


def test_customer_create_rejects_a_taken_email_whatever_its_case(world):
    CustomerFactory(email="foo@example.com")
    with pytest.raises(ValidationError) as raised:
        services.customer_create(actor=world.agent_a, email="FOO@example.com")
    expected = services.EMAIL_TAKEN.format(email="foo@example.com")
    assert messages(raised.value) == {"email": [expected]}
    assert Customer.objects.count() == 1


def test_customer_create_rejects_an_email_that_is_another_customers_further_address(world):
    other = CustomerFactory(email="main@example.com")
    CustomerEmail.objects.create(customer=other, email="alias@example.com")
    with pytest.raises(ValidationError) as raised:
        services.customer_create(actor=world.agent_a, email="Alias@Example.com")
    expected = services.EMAIL_TAKEN.format(email="alias@example.com")
    assert messages(raised.value) == {"email": [expected]}


def test_customer_create_rejects_a_further_address_that_is_another_customers_email(world):
    CustomerFactory(email="taken@example.com")
    with pytest.raises(ValidationError) as raised:
        services.customer_create(
            actor=world.agent_a, email="new@example.com", other_emails=["TAKEN@example.com"]
        )
    expected = services.EMAIL_TAKEN.format(email="taken@example.com")
    assert messages(raised.value) == {"email": [expected]}
    assert not Customer.objects.filter(email="new@example.com").exists()


def test_customer_create_rejects_a_taken_external_id(world):
    CustomerFactory(external_id="c-1")
    with pytest.raises(ValidationError) as raised:
        services.customer_create(actor=world.agent_a, email="new@example.com", external_id="c-1")
    expected = services.EXTERNAL_ID_TAKEN.format(external_id="c-1")
    assert messages(raised.value) == {"external_id": [expected]}


def test_customer_create_rejects_more_than_the_maximum_further_addresses(world):
    too_many = [f"alias{n}@example.com" for n in range(services.MAX_OTHER_EMAILS + 1)]
    with pytest.raises(ValidationError) as raised:
        services.customer_create(actor=world.agent_a, email="a@example.com", other_emails=too_many)
    assert messages(raised.value) == {"other_emails": [services.TOO_MANY_OTHER_EMAILS]}
    assert not Customer.objects.exists()


def test_customer_create_accepts_exactly_the_maximum_further_addresses(world):
    enough = [f"alias{n}@example.com" for n in range(services.MAX_OTHER_EMAILS)]
    customer = services.customer_create(
        actor=world.agent_a, email="a@example.com", other_emails=enough
    )
    assert customer.other_emails.count() == services.MAX_OTHER_EMAILS


@pytest.mark.parametrize(
    "attributes",
    [
        ["a", "list"],
        "text",
        {"nested": {"a": 1}},
        {"items": [1, 2]},
        {"x" * 65: "key too long"},
        {"   ": "blank key"},
        {"long": "v" * 501},
        {f"key{n}": n for n in range(services.MAX_ATTRIBUTES + 1)},
    ],
    ids=[
        "list",
        "string",
        "nested-dict",
        "list-value",
        "key-too-long",
        "blank-key",
        "value-too-long",
        "too-many-keys",
    ],
)
def test_customer_create_rejects_invalid_attributes(world, attributes):
    with pytest.raises(ValidationError) as raised:
        services.customer_create(actor=world.agent_a, email="a@example.com", attributes=attributes)
    assert raised.value.messages == [services.ATTRIBUTES_INVALID]
    assert not Customer.objects.exists()


def test_customer_create_accepts_attributes_at_their_limits(world):
    attributes = {f"k{n}": n for n in range(services.MAX_ATTRIBUTES - 1)}
    attributes["x" * 64] = "v" * 500
    customer = services.customer_create(
        actor=world.agent_a, email="a@example.com", attributes=attributes
    )
    assert Customer.objects.get(pk=customer.pk).attributes == attributes


def test_customer_create_rejects_an_unknown_tier(world):
    with pytest.raises(ValidationError) as raised:
        services.customer_create(actor=world.agent_a, email="a@example.com", tier="gold")
    assert messages(raised.value) == {"tier": [services.INVALID_TIER]}


@pytest.mark.parametrize("persona", ["viewer_a", "outsider"])
def test_customer_create_refuses_viewers_and_outsiders(world, persona):
    with pytest.raises(PermissionDenied) as raised:
        services.customer_create(actor=getattr(world, persona), email="a@example.com")
    assert str(raised.value) == access.NEEDS_DIRECTORY_EDITOR
    assert not Customer.objects.exists()


def test_customer_update_replaces_the_further_addresses(world):
    customer = services.customer_create(
        actor=world.agent_a, email="a@example.com", other_emails=["b@example.com", "c@example.com"]
    )
    services.customer_update(
        actor=world.agent_a, customer=customer, other_emails=["c@example.com", "D@example.com"]
    )
    assert [e.email for e in customer.other_emails.all()] == ["c@example.com", "d@example.com"]
    assert not CustomerEmail.objects.filter(email="b@example.com").exists()


def test_customer_update_without_other_emails_keeps_them(world):
    customer = services.customer_create(
        actor=world.agent_a, email="a@example.com", other_emails=["b@example.com"]
    )
    services.customer_update(actor=world.agent_a, customer=customer, name="Ann")
    assert [e.email for e in customer.other_emails.all()] == ["b@example.com"]


def test_customer_update_with_an_empty_list_removes_the_further_addresses(world):
    customer = services.customer_create(
        actor=world.agent_a, email="a@example.com", other_emails=["b@example.com"]
    )
    services.customer_update(actor=world.agent_a, customer=customer, other_emails=[])
    assert customer.other_emails.count() == 0


def test_customer_update_normalises_a_new_email_and_may_keep_its_own(world):
    customer = services.customer_create(actor=world.agent_a, email="a@example.com")
    services.customer_update(actor=world.agent_a, customer=customer, email=" A@EXAMPLE.com ")
    assert Customer.objects.get(pk=customer.pk).email == "a@example.com"
    services.customer_update(actor=world.agent_a, customer=customer, email="New@Example.com")
    assert Customer.objects.get(pk=customer.pk).email == "new@example.com"


def test_customer_update_rejects_another_customers_email_and_further_address(world):
    other = services.customer_create(
        actor=world.agent_a, email="other@example.com", other_emails=["alias@example.com"]
    )
    customer = services.customer_create(actor=world.agent_a, email="mine@example.com")
    for taken in ("OTHER@example.com", "alias@EXAMPLE.com"):
        with pytest.raises(ValidationError) as raised:
            services.customer_update(actor=world.agent_a, customer=customer, email=taken)
        expected = services.EMAIL_TAKEN.format(email=taken.lower())
        assert messages(raised.value) == {"email": [expected]}
    assert Customer.objects.get(pk=customer.pk).email == "mine@example.com"
    assert other.other_emails.count() == 1


def test_customer_update_rejects_invalid_attributes_and_tier(world):
    customer = services.customer_create(actor=world.agent_a, email="a@example.com")
    with pytest.raises(ValidationError) as raised:
        services.customer_update(actor=world.agent_a, customer=customer, attributes={"a": {}})
    assert raised.value.messages == [services.ATTRIBUTES_INVALID]
    customer = Customer.objects.get(pk=customer.pk)
    with pytest.raises(ValidationError) as raised:
        services.customer_update(actor=world.agent_a, customer=customer, tier="platinum")
    assert messages(raised.value) == {"tier": [services.INVALID_TIER]}


def test_customer_update_refuses_a_viewer(world):
    customer = CustomerFactory(name="Ann")
    with pytest.raises(PermissionDenied):
        services.customer_update(actor=world.viewer_a, customer=customer, name="Changed")
    assert Customer.objects.get(pk=customer.pk).name == "Ann"


def test_customer_update_rejects_an_unknown_field(world):
    customer = CustomerFactory()
    with pytest.raises(TypeError):
        services.customer_update(actor=world.agent_a, customer=customer, shoe_size=44)


# North Star --------------------------------------------------------------------------------


def test_north_star_set_creates_then_updates_the_single_metric(world):
    metric = services.north_star_set(
        actor=world.superuser, name=" Weekly active teams ", unit=" teams "
    )
    assert (metric.pk, metric.name, metric.unit) == (1, "Weekly active teams", "teams")
    metric = services.north_star_set(actor=world.superuser, name="Weekly happy customers")
    assert metric.pk == 1
    assert metric.name == "Weekly happy customers"


@pytest.mark.parametrize("persona", ["admin_a", "lead_a", "outsider"])
def test_north_star_set_is_for_superusers_only(world, persona):
    with pytest.raises(PermissionDenied) as raised:
        services.north_star_set(actor=getattr(world, persona), name="Sneaky")
    assert str(raised.value) == access.NEEDS_SUPERUSER


def test_north_star_measurement_needs_a_metric(world):
    with pytest.raises(ValidationError) as raised:
        services.north_star_measurement_record(
            actor=world.lead_a, measured_on=date(2025, 1, 6), value=10
        )
    assert raised.value.messages == [services.NORTH_STAR_MISSING]


@pytest.fixture
def north_star(world):
    return services.north_star_set(actor=world.superuser, name="Weekly active teams")


def test_north_star_measurement_second_value_for_a_day_replaces_the_first(world, north_star):
    day = date(2025, 1, 6)
    first, created = services.north_star_measurement_record(
        actor=world.lead_a, measured_on=day, value="10.5", note="first"
    )
    assert created is True
    second, created = services.north_star_measurement_record(
        actor=world.member_b, measured_on=day, value=12, note=" corrected "
    )
    assert created is False
    assert second.pk == first.pk
    stored = NorthStarMeasurement.objects.get()
    assert (stored.value, stored.note, stored.recorded_by) == (
        Decimal("12"),
        "corrected",
        world.member_b,
    )


def test_north_star_measurements_on_different_days_are_kept_apart(world, north_star):
    for day in (date(2025, 1, 6), date(2025, 1, 13)):
        services.north_star_measurement_record(actor=world.lead_a, measured_on=day, value=1)
    assert NorthStarMeasurement.objects.count() == 2


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "-Infinity", Decimal("NaN")])
def test_north_star_measurement_rejects_a_value_that_is_not_finite(world, north_star, value):
    with pytest.raises(ValidationError):
        services.north_star_measurement_record(
            actor=world.lead_a, measured_on=date(2025, 1, 6), value=value
        )
    assert not NorthStarMeasurement.objects.exists()


def test_north_star_measurement_refuses_an_agent(world, north_star):
    with pytest.raises(PermissionDenied) as raised:
        services.north_star_measurement_record(
            actor=world.agent_a, measured_on=date(2025, 1, 6), value=1
        )
    assert str(raised.value) == access.NEEDS_ANY_LEAD


def test_north_star_measurement_delete_removes_it(world, north_star):
    measurement, _ = services.north_star_measurement_record(
        actor=world.lead_a, measured_on=date(2025, 1, 6), value=1
    )
    with pytest.raises(PermissionDenied):
        services.north_star_measurement_delete(actor=world.agent_a, measurement=measurement)
    services.north_star_measurement_delete(actor=world.lead_a, measurement=measurement)
    assert not NorthStarMeasurement.objects.exists()


# Value streams -----------------------------------------------------------------------------


def test_value_stream_create_rejects_a_taken_name_whatever_its_case(world):
    services.value_stream_create(actor=world.superuser, name="Onboarding")
    with pytest.raises(ValidationError) as raised:
        services.value_stream_create(actor=world.superuser, name="Onboarding")
    expected = services.VALUE_STREAM_TAKEN.format(name="Onboarding")
    assert messages(raised.value) == {"name": [expected]}
    with pytest.raises(ValidationError) as raised:
        services.value_stream_create(actor=world.superuser, name="ONBOARDING")
    expected = services.VALUE_STREAM_TAKEN.format(name="ONBOARDING")
    assert messages(raised.value) == {"name": [expected]}


def test_value_stream_create_is_for_superusers_only(world):
    with pytest.raises(PermissionDenied):
        services.value_stream_create(actor=world.admin_a, name="Onboarding")
