"""The database enforces the invariants itself, even for writes that bypass the services."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

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
)
from tests.factories import AccountFactory, CustomerFactory, MembershipFactory, UserFactory


def assert_refused(create) -> None:
    with transaction.atomic(), pytest.raises(IntegrityError):
        create()


def test_customer_email_is_unique_whatever_its_case(db):
    Customer.objects.create(email="ann@example.com")
    assert_refused(lambda: Customer.objects.create(email="ANN@example.com"))
    assert Customer.objects.count() == 1


def test_customer_external_id_is_unique_but_blank_may_repeat(db):
    Customer.objects.create(email="a@example.com", external_id="c-1")
    Customer.objects.create(email="b@example.com")
    Customer.objects.create(email="c@example.com")
    assert_refused(lambda: Customer.objects.create(email="d@example.com", external_id="c-1"))


def test_customer_tier_must_be_a_known_tier(db):
    assert_refused(lambda: Customer.objects.create(email="a@example.com", tier="gold"))


def test_a_further_address_is_unique_whatever_its_case(db):
    first, second = CustomerFactory(), CustomerFactory()
    CustomerEmail.objects.create(customer=first, email="alias@example.com")
    assert_refused(lambda: CustomerEmail.objects.create(customer=second, email="Alias@Example.com"))


def test_membership_role_must_be_a_known_role(db):
    assert_refused(lambda: MembershipFactory(role="owner"))
    assert not Membership.objects.exists()


def test_a_user_is_a_member_of_a_team_once(db):
    membership = MembershipFactory(role=Role.VIEWER)
    assert_refused(
        lambda: Membership.objects.create(
            team=membership.team, user=membership.user, role=Role.ADMIN
        )
    )


def test_account_mrr_may_not_be_negative(db):
    assert_refused(lambda: Account.objects.create(name="Acme", mrr=Decimal("-0.01")))
    assert Account.objects.create(name="Acme", mrr=Decimal("0")).mrr == 0


def test_account_name_is_unique_whatever_its_case(db):
    Account.objects.create(name="Acme")
    assert_refused(lambda: Account.objects.create(name="ACME"))


def test_account_external_id_is_unique_but_blank_may_repeat(db):
    Account.objects.create(name="Acme", external_id="crm-1")
    Account.objects.create(name="Globex")
    Account.objects.create(name="Initech")
    assert_refused(lambda: Account.objects.create(name="Umbrella", external_id="crm-1"))


def test_a_domain_belongs_to_one_account(db):
    first, second = AccountFactory(), AccountFactory()
    AccountDomain.objects.create(account=first, domain="acme.com")
    assert_refused(lambda: AccountDomain.objects.create(account=second, domain="acme.com"))


def test_team_name_and_slug_are_unique(db):
    Team.objects.create(name="Support", slug="support")
    assert_refused(lambda: Team.objects.create(name="Support", slug="other"))
    assert_refused(lambda: Team.objects.create(name="Other", slug="support"))


def test_there_is_only_one_north_star_metric(db):
    NorthStarMetric.objects.create(pk=NorthStarMetric.SINGLETON_ID, name="Weekly active teams")
    assert_refused(lambda: NorthStarMetric.objects.create(pk=2, name="A second star"))
    assert NorthStarMetric.objects.count() == 1


def test_north_star_has_one_measurement_a_day(db):
    metric = NorthStarMetric.objects.create(pk=NorthStarMetric.SINGLETON_ID, name="Stars")
    NorthStarMeasurement.objects.create(metric=metric, measured_on="2025-01-06", value=1)
    assert_refused(
        lambda: NorthStarMeasurement.objects.create(
            metric=metric, measured_on="2025-01-06", value=2
        )
    )


def test_an_account_with_customers_cannot_be_deleted(db):
    customer = CustomerFactory()
    with pytest.raises(ProtectedError):
        customer.account.delete()
    customer.refresh_from_db()
    assert customer.account is not None


def test_deleting_a_user_removes_their_memberships_and_unsets_owned_accounts(db):
    user = UserFactory()
    MembershipFactory(user=user)
    account = AccountFactory(owner=user)
    user.delete()
    account.refresh_from_db()
    assert account.owner is None
    assert not Membership.objects.exists()


def test_models_read_as_their_names(db):
    membership = MembershipFactory(
        user=UserFactory(username="ann"), team__name="Support", role=Role.LEAD
    )
    assert str(membership) == "ann (lead) in Support"
    assert str(Customer(email="a@example.com")) == "a@example.com"
    assert str(Customer(email="a@example.com", name="Ann")) == "Ann"
