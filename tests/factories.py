"""Factories shared by every app's tests; each app adds its own in tests/<app>/factories.py."""

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from portal.models import Account, Customer, Membership, Role, Team, Tier, ValueStream

TEST_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.django.Password(TEST_PASSWORD)


class ValueStreamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ValueStream

    name = factory.Sequence(lambda n: f"Value stream {n}")
    slug = factory.Sequence(lambda n: f"stream-{n}")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")
    mission = "Make customers successful."
    value_stream = factory.SubFactory(ValueStreamFactory)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    team = factory.SubFactory(TeamFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.AGENT


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Company {n}")
    plan = "growth"
    segment = "smb"
    mrr = Decimal("250.00")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.test")
    account = factory.SubFactory(AccountFactory)
    tier = Tier.STANDARD
