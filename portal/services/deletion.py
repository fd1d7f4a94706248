"""Deleting teams, value streams, accounts and customers, and erasing a customer's personal data.

What goes with an object (the rows its ``CASCADE`` relations delete) is listed on the
confirmation page before a person confirms; what refuses the delete (``PROTECT`` relations: the
teams of a value stream, the customers of an account) is checked before anything is deleted and
named in the refusal. Both come from Django's own deletion collector, the one ``delete()`` runs,
so a relation that a later app adds to one of these models is listed, or refuses, without a
change here.

Deleting keeps the object's audit history (it outlives its rows). Erasing a customer (the right
to erasure) keeps the row, so that counts and rankings that include them stay right, but removes
their personal data from it, from its history and from the admin's log, and tells the other
apps (``portal.customer_erased``) to erase what they hold.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import models, router, transaction
from django.db.models.deletion import Collector, ProtectedError, RestrictedError
from django.utils import timezone

from portal import access, events
from portal.actors import SystemActor
from portal.models import Account, AuditEntry, Customer, Team, ValueStream
from portal.services.audit import audit, changes_between, snapshot
from portal.services.directory import _ACCOUNT_AUDITED, CUSTOMER_AUDITED
from portal.services.identities import identities_snapshot
from portal.services.teams import _TEAM_AUDITED, _VALUE_STREAM_AUDITED

DELETE_REFUSED = "{target} cannot be deleted: {dependents} still depend on it. {advice}"
DELETE_REFUSED_ADVICE = "Move or delete them first."
ERASED_EMAIL = "erased-{id}@erased.invalid"
# What an erased value reads as in the audit log: that something was there, not what.
ERASED_VALUE = "(erased)"
# The fields of a customer that hold personal data; tier and account describe the company's
# relationship, not the person, and stay so that the customer still counts where they did.
CUSTOMER_PERSONAL_FIELDS = (
    "name",
    "email",
    "attributes",
    "external_id",
    "other_emails",
    "identities",
)

Actor = AbstractBaseUser | SystemActor


@dataclass(frozen=True)
class DeletionPlan:
    """What deleting ``target`` would do: ``goes_with`` the rows deleted with it, each as a
    count and a name ("3 memberships"), and ``blocked_by`` the kinds of rows that refuse it
    ("feedback items"), without a count: the customers and accounts are the whole
    organisation's, the feedback items that refuse their delete belong to teams the person
    asking may not be in, and how many are in those teams is not theirs to know."""

    target: models.Model
    goes_with: tuple[str, ...]
    blocked_by: tuple[str, ...]

    @property
    def refused(self) -> bool:
        return bool(self.blocked_by)

    @property
    def refusal(self) -> str:
        """The message a person hears when the delete is refused ("" when it is not)."""
        if not self.refused:
            return ""
        kind = self.target._meta.verbose_name
        return DELETE_REFUSED.format(
            target=f"{kind[:1].upper()}{kind[1:]} {self.target}",
            dependents=_and_join(self.blocked_by),
            advice=DELETE_REFUSED_ADVICE,
        )


def _and_join(parts: tuple[str, ...]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _counted(counts: Counter) -> tuple[str, ...]:
    """ "3 memberships", "1 domain", in the order of the names."""
    rows = []
    for model, count in counts.items():
        if count:
            name = model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural
            rows.append(f"{count} {name}")
    return tuple(sorted(rows, key=lambda row: row.split(" ", 1)[1]))


def _kinds(objects: Iterable[models.Model]) -> tuple[str, ...]:
    """ "feedback items", "teams": the kinds of ``objects``, by name."""
    names = {str(type(obj)._meta.concrete_model._meta.verbose_name_plural) for obj in objects}
    return tuple(sorted(names))


def deletion_plan(target: models.Model) -> DeletionPlan:
    """What deleting ``target`` would delete with it, or what refuses it. A read: the
    confirmation pages show it, and the delete services check it again in their transaction."""
    collector = Collector(using=router.db_for_write(type(target)), origin=target)
    try:
        collector.collect([target])
    except ProtectedError as error:
        return DeletionPlan(target, (), _kinds(error.protected_objects))
    except RestrictedError as error:
        return DeletionPlan(target, (), _kinds(error.restricted_objects))
    counts: Counter = Counter()
    for model, instances in collector.data.items():
        counts[model._meta.concrete_model] += sum(1 for obj in instances if obj != target)
    for queryset in collector.fast_deletes:
        counts[queryset.model._meta.concrete_model] += queryset.count()
    return DeletionPlan(target, _counted(counts), ())


def _delete(*, actor: Actor, target: models.Model, action: str, before: dict) -> None:
    """Refuse with the plan's message when something depends on ``target``; otherwise record
    the deletion (while the target still has its id) and delete it with what goes with it."""
    plan = deletion_plan(target)
    if plan.refused:
        raise ValidationError(plan.refusal)
    audit(actor=actor, action=action, target=target, changes=changes_between(before, None))
    try:
        target.delete()
    except (ProtectedError, RestrictedError) as error:
        # A dependent row arrived after the plan was read (no lock keeps new rows out on SQLite).
        raise ValidationError(deletion_plan(target).refusal or str(error)) from error


def _locked(model: type[models.Model], pk: int) -> models.Model:
    """The row again, locked for this transaction, without the annotations of a selector."""
    return model._default_manager.select_for_update().get(pk=pk)


# Teams and value streams -------------------------------------------------------------------


@transaction.atomic
def team_delete(*, actor: Actor, team: Team) -> None:
    """Delete a team with its memberships (and whatever a later app deletes with it)."""
    access.require_superuser(actor)
    team = _locked(Team, team.pk)
    members = [
        f"{membership.user.get_username()} ({membership.role})"
        for membership in team.memberships.select_related("user").order_by("user__username")
    ]
    before = snapshot(team, _TEAM_AUDITED, members=members)
    team_id = team.pk
    _delete(actor=actor, target=team, action="team.deleted", before=before)
    events.emit("portal.team_deleted", team_id=team_id)


@transaction.atomic
def value_stream_delete(*, actor: Actor, value_stream: ValueStream) -> None:
    """Delete a value stream; refused while teams belong to it."""
    access.require_superuser(actor)
    value_stream = _locked(ValueStream, value_stream.pk)
    before = snapshot(value_stream, _VALUE_STREAM_AUDITED)
    _delete(actor=actor, target=value_stream, action="value_stream.deleted", before=before)


# The directory -----------------------------------------------------------------------------


@transaction.atomic
def account_delete(*, actor: Actor, account: Account) -> None:
    """Delete an account with its domains; refused while customers belong to it."""
    access.require_directory_editor(actor)
    account = _locked(Account, account.pk)
    domains = account.domains.order_by("domain").values_list("domain", flat=True)
    before = snapshot(account, _ACCOUNT_AUDITED, domains=domains)
    account_id = account.pk
    _delete(actor=actor, target=account, action="account.deleted", before=before)
    events.emit("portal.account_deleted", account_id=account_id)


@transaction.atomic
def customer_delete(*, actor: Actor, customer: Customer) -> None:
    """Delete a customer with their further addresses and identities. Their history is kept; erasing
    (:func:`customer_erase`) is what removes their personal data from it."""
    access.require_directory_editor(actor)
    customer = _locked(Customer, customer.pk)
    others = customer.other_emails.order_by("email").values_list("email", flat=True)
    held = customer.identities.values_list("kind", "handle")
    before = snapshot(
        customer, CUSTOMER_AUDITED, other_emails=others, identities=identities_snapshot(held)
    )
    customer_id = customer.pk
    _delete(actor=actor, target=customer, action="customer.deleted", before=before)
    events.emit("portal.customer_deleted", customer_id=customer_id)


def _erased_changes(changes: dict) -> dict:
    """An audit entry's changes with every personal value replaced by ``ERASED_VALUE``."""
    erased = {}
    for field, change in changes.items():
        if field in CUSTOMER_PERSONAL_FIELDS and isinstance(change, dict):
            change = {
                side: value if value in (None, "", [], {}) else ERASED_VALUE
                for side, value in change.items()
            }
        erased[field] = change
    return erased


def _erase_history(customer: Customer) -> None:
    """Remove the customer's personal data from their audit entries and the admin's log, which
    name them and hold their old values."""
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    content_type = ContentType.objects.get_for_model(Customer)
    label = str(customer)
    entries = AuditEntry.objects.filter(target_type=content_type, target_id=customer.pk)
    for entry in entries.only("pk", "changes"):
        entry.changes = _erased_changes(entry.changes)
        entry.target_label = label
        entry.save(update_fields=["changes", "target_label"])
    LogEntry.objects.filter(content_type=content_type, object_id=str(customer.pk)).update(
        object_repr=label[: LogEntry._meta.get_field("object_repr").max_length]
    )


@transaction.atomic
def customer_erase(*, actor: Actor, customer: Customer) -> Customer:
    """Erase a customer's personal data (the right to erasure): name, address, further
    addresses, handles on other channels, attributes and external id go; the address becomes
    a placeholder that no mail reaches. The row stays with its tier and account. The history
    keeps one entry saying who erased what, without the values. Erasing again does it again,
    so that an app that failed to handle ``portal.customer_erased`` the first time hears it
    once more."""
    access.require_directory_editor(actor)
    customer = _locked(Customer, customer.pk)
    held = snapshot(
        customer,
        CUSTOMER_AUDITED,
        other_emails=customer.other_emails.values_list("email", flat=True),
        identities=identities_snapshot(customer.identities.values_list("kind", "handle")),
    )
    customer.other_emails.all().delete()
    customer.identities.all().delete()
    customer.name = ""
    customer.email = ERASED_EMAIL.format(id=customer.pk)
    customer.attributes = {}
    customer.external_id = ""
    customer.erased_at = customer.erased_at or timezone.now()
    customer.save()
    _erase_history(customer)
    erased = {field: held[field] for field in CUSTOMER_PERSONAL_FIELDS}
    audit(
        actor=actor,
        action="customer.erased",
        target=customer,
        changes=_erased_changes(changes_between(erased, None)),
    )
    events.emit("portal.customer_erased", customer_id=customer.pk)
    return customer
