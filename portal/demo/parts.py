"""Writing the demo company through ``portal.services``, keyed on natural keys."""

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from portal import services
from portal.demo.data import (
    NORTH_STAR_DEFINITION,
    NORTH_STAR_NAME,
    NORTH_STAR_UNIT,
    SEED,
    TEAMS,
    USERS,
    VALUE_STREAMS,
    build_accounts,
    build_customers,
    north_star_weeks,
)
from portal.models import (
    Account,
    Customer,
    Membership,
    NorthStarMeasurement,
    NorthStarMetric,
    Role,
    Team,
    ValueStream,
)


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
