"""Writing the demo company through ``portal.services``, one part at a time, each part once.

A part (the logins, the organisation, the directory, the North Star) is built the first time
``seed`` runs on a database and recorded as a :class:`~portal.models.DemoPart`; from then on it
is skipped. People try the demo by changing it: a team's mission, a customer's tier, a role, a
deleted membership must stay as they left them, however often ``make run`` seeds on start.
A part that a later capability appends to ``PARTS`` is still built in a database seeded before
it existed.

Building a part only creates what is missing: a row that already exists under its natural key
(a username, a team's slug or name, an account's name, a customer's address, a week) is kept as
it is, never updated, so a part first seeded into a database that people already use changes
nothing of theirs either.
"""

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from portal import access, services
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
from portal.fields import normalised_key
from portal.models import (
    Account,
    Customer,
    DemoPart,
    Membership,
    NorthStarMeasurement,
    NorthStarMetric,
    Role,
    Team,
    ValueStream,
)

DEMO_ACTOR = "admin"
NO_DEMO_ACTOR = (
    "The demo part “{part}” is written by the demo superuser “{username}”, who no longer exists "
    "or is no longer an active superuser. Restore that login, or leave the part out."
)


@dataclass
class SeedReport:
    """What one run did: rows created and rows kept as they were, per kind, for the parts it
    built, and when each skipped part was built before."""

    built: list[str] = field(default_factory=list)
    created: Counter = field(default_factory=Counter)
    kept: Counter = field(default_factory=Counter)
    skipped: dict[str, datetime] = field(default_factory=dict)

    def note(self, kind: str, outcome: str) -> None:
        getattr(self, outcome)[kind] += 1

    def lines(self) -> list[str]:
        lines = []
        if self.built:
            lines.append(f"Built now: {', '.join(self.built)}.")
            kinds = list(dict.fromkeys([*self.created, *self.kept]))
            for kind in kinds:
                line = f"  {kind:<18} {self.created[kind]:>4} created"
                if self.kept[kind]:
                    line += f", {self.kept[kind]} found already and kept as they are"
                lines.append(line)
        if self.skipped:
            lines.append("Built before and left as they are:")
            lines += [
                f"  {name:<18} built {timezone.localtime(when):%Y-%m-%d %H:%M}"
                for name, when in self.skipped.items()
            ]
        return lines


@dataclass
class DemoContext:
    rng: random.Random
    report: SeedReport
    today: date
    part: str = ""
    _users: dict[str, AbstractBaseUser] | None = None

    @property
    def users(self) -> dict[str, AbstractBaseUser]:
        """The demo logins that exist, by username, whichever part created them."""
        if self._users is None:
            usernames = [spec.username for spec in USERS]
            self._users = {
                user.username: user
                for user in get_user_model().objects.filter(username__in=usernames)
            }
        return self._users

    @property
    def actor(self) -> AbstractBaseUser:
        """The demo superuser, who writes every part, so that the audit log names a person."""
        actor = self.users.get(DEMO_ACTOR)
        if actor is None or not (actor.is_active and actor.is_superuser):
            raise ValidationError(NO_DEMO_ACTOR.format(part=self.part, username=DEMO_ACTOR))
        return actor


def seed_users(ctx: DemoContext) -> None:
    """The demo logins. There is no service for creating users (that is Django's admin), so
    they are written with the model layer. An existing login keeps its password and names."""
    user_model = get_user_model()
    for spec in USERS:
        if spec.username in ctx.users:
            ctx.report.note("users", "kept")
            continue
        user = user_model(
            username=spec.username,
            email=spec.email,
            first_name=spec.first_name,
            last_name=spec.last_name,
            is_active=True,
            is_staff=spec.is_superuser,
            is_superuser=spec.is_superuser,
        )
        user.set_password(spec.password)
        user.save()
        ctx.users[spec.username] = user
        ctx.report.note("users", "created")


def _by_slug_or_name(model: type, slug: str, name: str) -> Any:
    return model.objects.filter(Q(slug=slug) | Q(name_key=normalised_key(name))).first()


def seed_org(ctx: DemoContext) -> None:
    """Value streams, teams and memberships; every team gets at least one admin."""
    streams = {}
    for slug, name, description in VALUE_STREAMS:
        stream = _by_slug_or_name(ValueStream, slug, name)
        if stream is None:
            stream = services.value_stream_create(
                actor=ctx.actor, name=name, slug=slug, description=description
            )
            ctx.report.note("value streams", "created")
        else:
            ctx.report.note("value streams", "kept")
        streams[slug] = stream

    teams = {}
    for slug, name, stream_slug, mission in TEAMS:
        team = _by_slug_or_name(Team, slug, name)
        if team is None:
            team = services.team_create(
                actor=ctx.actor,
                slug=slug,
                name=name,
                mission=mission,
                value_stream=streams[stream_slug],
            )
            ctx.report.note("teams", "created")
        else:
            ctx.report.note("teams", "kept")
        teams[slug] = team

    existing = set(
        Membership.objects.filter(team__in=list(teams.values())).values_list("team_id", "user_id")
    )
    # Admins first, so that each team has its admin before its other members join.
    wanted = sorted(
        ((slug, spec.username, role) for spec in USERS for slug, role in spec.memberships),
        key=lambda item: item[2] != Role.ADMIN,
    )
    for slug, username, role in wanted:
        team, user = teams[slug], ctx.users.get(username)
        if user is None:
            continue
        if (team.pk, user.pk) in existing:
            ctx.report.note("memberships", "kept")
            continue
        services.membership_create(actor=ctx.actor, team=team, user=user, role=role)
        ctx.report.note("memberships", "created")


def seed_directory(ctx: DemoContext) -> None:
    """The 25 accounts and their 120 customers."""
    account_specs = build_accounts(ctx.rng)
    customer_specs = build_customers(ctx.rng, account_specs)

    accounts = {
        account.name_key: account
        for account in Account.objects.filter(
            name_key__in=[normalised_key(spec.name) for spec in account_specs]
        )
    }
    for spec in account_specs:
        key = normalised_key(spec.name)
        if key in accounts:
            ctx.report.note("accounts", "kept")
            continue
        accounts[key] = services.account_create(
            actor=ctx.actor,
            name=spec.name,
            domains=list(spec.domains),
            plan=spec.plan,
            segment=spec.segment,
            mrr=spec.mrr,
            owner=ctx.users.get(spec.owner),
        )
        ctx.report.note("accounts", "created")

    existing = set(
        Customer.objects.filter(
            email_key__in=[normalised_key(spec.email) for spec in customer_specs]
        ).values_list("email_key", flat=True)
    )
    for spec in customer_specs:
        if normalised_key(spec.email) in existing:
            ctx.report.note("customers", "kept")
            continue
        services.customer_create(
            actor=ctx.actor,
            email=spec.email,
            name=spec.name,
            account=accounts[normalised_key(spec.account)],
            tier=spec.tier,
            attributes=spec.attributes,
            other_emails=list(spec.other_emails),
        )
        ctx.report.note("customers", "created")


def seed_north_star(ctx: DemoContext) -> None:
    """The North Star metric and its last weekly measurements, recorded by the lead (or by
    the demo superuser when the lead's login is gone or may no longer record them)."""
    if NorthStarMetric.objects.filter(pk=NorthStarMetric.SINGLETON_ID).exists():
        ctx.report.note("north star", "kept")
    else:
        services.north_star_set(
            actor=ctx.actor,
            name=NORTH_STAR_NAME,
            definition=NORTH_STAR_DEFINITION,
            unit=NORTH_STAR_UNIT,
        )
        ctx.report.note("north star", "created")

    lead = ctx.users.get("lead")
    recorder = lead if lead is not None and access.can_record_north_star(lead) else ctx.actor
    weeks = north_star_weeks(ctx.today)
    recorded = set(
        NorthStarMeasurement.objects.filter(
            measured_on__in=[measured_on for measured_on, _value, _note in weeks]
        ).values_list("measured_on", flat=True)
    )
    for measured_on, value, note in weeks:
        if measured_on in recorded:
            ctx.report.note("north star weeks", "kept")
            continue
        services.north_star_measurement_record(
            actor=recorder, measured_on=measured_on, value=value, note=note
        )
        ctx.report.note("north star weeks", "created")


def seed_feedback(ctx: DemoContext) -> None:
    """Customer Care's channels and a few hundred mails through the ingestion pipeline. The
    part lives with the feedback app (``feedback.demo``), imported when it runs: the feedback
    app builds on this one, not the other way round."""
    from feedback.demo import seed_feedback as build_feedback

    build_feedback(ctx)


def seed_feedback_channels(ctx: DemoContext) -> None:
    """Customer Care's channels beyond e-mail (a review feed, the forum, Mastodon, the
    widget) and what customers said on them, from ``feedback.demo`` like the mail."""
    from feedback.demo import seed_feedback_channels as build_channels

    build_channels(ctx)


def seed_service_levels(ctx: DemoContext) -> None:
    """Customer Care's SLA policies and priority-customer rules, and its items' due times
    (``feedback.demo.inbox``): after the channels, so that every demo item gets its due
    times in the seeding process."""
    from feedback.demo.inbox import seed_inbox_settings

    seed_inbox_settings(ctx)


def seed_inbox_work(ctx: DemoContext) -> None:
    """Customer Care's inbox as its agents leave it (``feedback.demo.inbox_work``): tags,
    templates, saved views, items triaged, answered, noted, snoozed and escalated; after the
    service levels, whose policies the escalations follow."""
    from feedback.demo.inbox_work import seed_inbox_work as build_inbox_work

    build_inbox_work(ctx)


@dataclass(frozen=True)
class DemoPartSpec:
    """One part of the demo company: its name as recorded in DemoPart, and its builder."""

    name: str
    build: Callable[[DemoContext], None]


# Later capabilities (feedback, surveys, backlog) append their part here, after the parts
# they build on; a part's name is recorded in the database, so it never changes.
PARTS: tuple[DemoPartSpec, ...] = (
    DemoPartSpec("logins", seed_users),
    DemoPartSpec("organisation", seed_org),
    DemoPartSpec("directory", seed_directory),
    DemoPartSpec("north star", seed_north_star),
    DemoPartSpec("feedback", seed_feedback),
    DemoPartSpec("feedback channels", seed_feedback_channels),
    DemoPartSpec("service levels", seed_service_levels),
    DemoPartSpec("inbox work", seed_inbox_work),
)


@transaction.atomic
def seed(*, today: date | None = None) -> SeedReport:
    """Build every part of the demo company not built before, in one transaction: a part
    that fails leaves nothing of the run behind."""
    report = SeedReport()
    ctx = DemoContext(rng=random.Random(SEED), report=report, today=today or timezone.localdate())
    # Locking the recorded parts keeps two seeds started at once from both building a part;
    # the unique name stops the second one on a database that has no parts yet.
    built = dict(DemoPart.objects.select_for_update().values_list("name", "seeded_at"))
    for part in PARTS:
        if part.name in built:
            report.skipped[part.name] = built[part.name]
            continue
        ctx.part = part.name
        part.build(ctx)
        DemoPart.objects.create(name=part.name)
        report.built.append(part.name)
    return report


def login_lines() -> list[str]:
    """The demo logins as the command prints them: username, password, what it may do."""
    width = max(len(spec.username) for spec in USERS)
    password_width = max(len(spec.password) for spec in USERS)
    return [
        f"  {spec.username:<{width}} / {spec.password:<{password_width}}  {spec.description}"
        for spec in USERS
    ]


def login_table() -> list[str]:
    """The demo logins as the README lists them (a test keeps the two the same)."""
    rows = ["| login | password | roles |", "|---|---|---|"]
    rows += [f"| `{spec.username}` | `{spec.password}` | {spec.description} |" for spec in USERS]
    return rows
