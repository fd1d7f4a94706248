"""The organisation: value streams, teams and memberships, the customer directory and the
North Star metric. Invariants live in ``Meta.constraints`` so that the database enforces them."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from portal.fields import ExactDecimalField, NormalisedKeyField


class Role(models.TextChoices):
    """Roles within one team, from least to most privileged."""

    VIEWER = "viewer", "Viewer"
    AGENT = "agent", "Agent"
    LEAD = "lead", "Lead"
    ADMIN = "admin", "Admin"

    @property
    def rank(self) -> int:
        return ROLE_ORDER.index(self)

    def at_least(self, minimum: "Role") -> bool:
        return self.rank >= Role(minimum).rank


ROLE_ORDER = [Role.VIEWER, Role.AGENT, Role.LEAD, Role.ADMIN]


class ValueStream(models.Model):
    name = models.CharField(max_length=120)
    # Unique regardless of case and spacing; look names up through it (portal.fields).
    name_key = NormalisedKeyField(max_length=120, source="name")
    # Derived from the name in any script (portal.services.common.unique_slug).
    slug = models.SlugField(max_length=60, unique=True, allow_unicode=True)
    description = models.TextField(blank=True, max_length=2000)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["name_key"], name="value_stream_unique_name_key"),
        ]

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    name = models.CharField(max_length=120)
    name_key = NormalisedKeyField(max_length=120, source="name")
    slug = models.SlugField(max_length=60, unique=True, allow_unicode=True)
    mission = models.TextField(blank=True, max_length=2000)
    value_stream = models.ForeignKey(
        ValueStream, null=True, blank=True, on_delete=models.PROTECT, related_name="teams"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["name_key"], name="team_unique_name_key"),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="membership_unique_team_user"),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.team}"


class Segment(models.TextChoices):
    SMB = "smb", "Small business"
    MID_MARKET = "mid_market", "Mid-market"
    ENTERPRISE = "enterprise", "Enterprise"


class Account(models.Model):
    """A customer company. MRR is monthly recurring revenue in the organisation's currency."""

    external_id = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=200)
    name_key = NormalisedKeyField(max_length=200, source="name")
    plan = models.CharField(max_length=60, blank=True)
    segment = models.CharField(max_length=20, choices=Segment.choices, blank=True)
    mrr = ExactDecimalField(
        "MRR",
        max_digits=12,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_accounts",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["name"], name="account_name_idx")]
        constraints = [
            models.UniqueConstraint(fields=["name_key"], name="account_unique_name_key"),
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~models.Q(external_id=""),
                name="account_unique_external_id",
            ),
            models.CheckConstraint(condition=models.Q(mrr__gte=0), name="account_mrr_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class AccountDomain(models.Model):
    """An e-mail domain that belongs to an account, so that mail from it finds its company."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(max_length=253, unique=True)

    class Meta:
        ordering = ["domain"]
        verbose_name = "domain"

    def __str__(self) -> str:
        return self.domain


class Tier(models.TextChoices):
    STANDARD = "standard", "Standard"
    PRIORITY = "priority", "Priority"
    VIP = "vip", "VIP"


class Customer(models.Model):
    """A person who uses the product. ``email`` is stored normalised (trimmed, lower case); it
    is empty for someone known only by a handle on another channel (``CustomerIdentity``), and
    unique when present.

    A customer merged into another (``portal.services.customers_merge``) keeps its row with
    ``merged_into`` set, so that what other apps hold about it can be carried over after the
    commit (``portal.customers_merged``); directory lists and look-ups leave it out.
    """

    external_id = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    email_key = NormalisedKeyField(max_length=254, source="email")
    # An account with customers is not deleted: who belongs to which company weighs their
    # feedback, so the customers are moved or deleted first (portal.services.deletion).
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.PROTECT, related_name="customers"
    )
    tier = models.CharField(max_length=10, choices=Tier.choices, default=Tier.STANDARD)
    attributes = models.JSONField(default=dict, blank=True)
    # Set when the customer's personal data was erased (portal.services.customer_erase).
    erased_at = models.DateTimeField(null=True, blank=True)
    # CASCADE: deleting the customer it was merged into deletes the tombstone, which would
    # otherwise come back as a live, empty customer.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="merged_from"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "email"]
        indexes = [models.Index(fields=["name", "email"], name="customer_name_email_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["email_key"],
                condition=~models.Q(email_key=""),
                name="customer_unique_email_key",
            ),
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~models.Q(external_id=""),
                name="customer_unique_external_id",
            ),
            models.CheckConstraint(
                condition=models.Q(tier__in=Tier.values), name="customer_tier_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.email or f"Customer {self.pk}"


class CustomerEmail(models.Model):
    """A further address of a customer; no address belongs to two customers."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="other_emails")
    email = models.EmailField(max_length=254)
    email_key = NormalisedKeyField(max_length=254, source="email")

    class Meta:
        ordering = ["email"]
        verbose_name = "further address"
        verbose_name_plural = "further addresses"
        constraints = [
            models.UniqueConstraint(fields=["email_key"], name="customer_email_unique_key"),
        ]

    def __str__(self) -> str:
        return self.email


class IdentityKind(models.TextChoices):
    """Channels on which a person has a handle rather than (or besides) an e-mail address."""

    MASTODON = "mastodon", "Mastodon account"
    DISCOURSE = "discourse", "Discourse user"
    ZENDESK = "zendesk", "Zendesk requester"


class CustomerIdentity(models.Model):
    """A customer's handle on another channel, qualified so that it is unique across
    instances: ``alice@mastodon.social``, ``forum.example.com/alice`` (Discourse username),
    ``acme.zendesk.com/12345`` (Zendesk requester id). No handle belongs to two customers."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=20, choices=IdentityKind.choices)
    handle = models.CharField(max_length=300)
    handle_key = NormalisedKeyField(max_length=300, source="handle")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "handle"]
        verbose_name = "identity"
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(fields=["kind", "handle_key"], name="identity_unique_handle"),
            models.CheckConstraint(
                condition=models.Q(kind__in=IdentityKind.values), name="identity_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.handle}"


class NorthStarMetric(models.Model):
    """The one metric the whole organisation steers by; there is at most one row (id 1)."""

    SINGLETON_ID = 1

    name = models.CharField(max_length=120)
    definition = models.TextField(max_length=2000, blank=True)
    unit = models.CharField(max_length=40, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="north_star_singleton"),
        ]

    def __str__(self) -> str:
        return self.name


class NorthStarMeasurement(models.Model):
    metric = models.ForeignKey(
        NorthStarMetric, on_delete=models.CASCADE, related_name="measurements"
    )
    measured_on = models.DateField()
    # At most 15 digits, which SQLite stores exactly (portal.fields.ExactDecimalField).
    value = ExactDecimalField(max_digits=15, decimal_places=4)
    note = models.CharField(max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-measured_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["metric", "measured_on"], name="north_star_one_measurement_a_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.measured_on}: {self.value}"


# People's settings, notifications and the audit log ------------------------------------------


class UserProfile(models.Model):
    """A person's portal settings. Created on the first write (``services.profile_update``);
    until then ``selectors.profile_get`` answers with an unsaved profile holding the defaults."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_profile"
    )
    # Empty means the portal's default, PORTAL_TIME_ZONE, so that people who never chose follow
    # a change of it. Validated against the zones zoneinfo knows by the service.
    time_zone = models.CharField(max_length=64, blank=True)
    last_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    email_digest = models.BooleanField(
        "E-mail digest",
        default=False,
        help_text="Send me my unread notifications by e-mail, at most once an hour.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Profile of {self.user}"

    @property
    def effective_time_zone(self) -> str:
        return self.time_zone or settings.TIME_ZONE


class Notification(models.Model):
    """Something a person should look at, shown under the bell and, for people who chose the
    digest, e-mailed once. ``url`` is a path in the portal or an absolute address."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.SlugField(max_length=50)
    subject = models.CharField(max_length=200)
    url = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user_time_idx"),
            # The bell counts these on every page; the digest reads the unemailed ones.
            models.Index(
                fields=["user"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
            models.Index(
                fields=["user", "created_at"],
                condition=models.Q(read_at__isnull=True, emailed_at__isnull=True),
                name="notification_undigested_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.subject


class AuditEntry(models.Model):
    """One write by a person or by the portal itself: who, what, to which object, when.

    Entries outlive what they describe: the actor, team and target are kept as labels and
    ids, so deleting a user, a team or the object leaves its history readable. ``changes``
    maps each changed field to ``{"before": ..., "after": ...}``."""

    SYSTEM_LABEL = "system"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=60)
    target_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.PROTECT, related_name="+"
    )
    target_id = models.BigIntegerField()
    target_label = models.CharField(max_length=300)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_entries"
    )
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(
                fields=["target_type", "target_id", "-created_at"], name="audit_target_time_idx"
            ),
            models.Index(fields=["team", "-created_at"], name="audit_team_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.target_label}"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ImportJob(models.Model):
    """One uploaded CSV file imported in the background (``portal.imports.jobs``).

    The worker commits one chunk of rows at a time together with ``rows_processed`` and the
    counts, so a job interrupted by a crash resumes after its last committed chunk. The lease
    (``lease_expires_at``) lets a second worker take over a job whose worker died, and keeps
    two workers from running one job at once."""

    kind = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_jobs"
    )
    # Directory and North Star imports are organisation-wide; a team's own imports name it.
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="import_jobs"
    )
    file = models.FileField(upload_to="imports/%Y/%m/", max_length=300)
    filename = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    rows_total = models.PositiveIntegerField(default=0)
    rows_processed = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["actor", "-created_at"], name="importjob_actor_time_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ImportStatus.values), name="importjob_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(rows_processed__lte=models.F("rows_total")),
                name="importjob_processed_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} import {self.pk} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        return self.rows_processed * 100 // self.rows_total if self.rows_total else 0


class ImportRejection(models.Model):
    """A row an import job refused, with the line it starts on and the reason."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rejections")
    line = models.PositiveIntegerField()
    reason = models.TextField()

    class Meta:
        ordering = ["line", "pk"]
        indexes = [models.Index(fields=["job", "line"], name="importrejection_job_line_idx")]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


# The demo company ----------------------------------------------------------------------------


class DemoPart(models.Model):
    """A part of the demo company (its logins, the organisation, the directory, the North
    Star, and whatever later capabilities add) that ``seed_demo`` has built.

    Seeding builds each part once. A recorded part is never touched again, so what people
    change or delete in the demo stays as they left it, while a part that a later capability
    adds is still built in a database seeded before it existed."""

    name = models.CharField(max_length=60, unique=True)
    seeded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["seeded_at", "pk"]

    def __str__(self) -> str:
        return self.name
