"""Merging two customers who are one person: typically a customer created from a forum or
Mastodon handle, without an address, and the customer staff already knew by e-mail.

The source keeps its row as a tombstone (``merged_into`` set) so that, after the commit, the
other apps can carry over what they hold about it (``portal.customers_merged``); its
addresses and handles move to the target, so that every look-up by address or handle finds the
target from then on. A customer has one external id: the target takes the source's only when
it has none, and otherwise the source's is dropped (docs/directory.md).
"""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from portal import access, events
from portal.models import Customer, CustomerEmail, CustomerIdentity, Tier
from portal.services.audit import audit, changes_between
from portal.services.common import MAX_ATTRIBUTES
from portal.services.directory import MAX_OTHER_EMAILS, _customer_snapshot
from portal.services.identities import MAX_IDENTITIES

MERGE_INTO_ITSELF = "A customer cannot be merged into themselves; choose another customer."
MERGE_INTO_MERGED = "{target} was merged into {final} already; merge into {final} instead."
MERGE_INTO_ERASED = "{target} was erased; choose a customer whose data is still held."
MERGE_SOURCE_MERGED = "{source} was merged into {final} already."
MERGE_SOURCE_ERASED = (
    "{source} was erased; an erased customer is not merged, so that what was erased stays "
    "unlinked to anyone."
)
MERGE_TOO_MANY_EMAILS = (
    f"Together the two customers have {{count}} further addresses, more than the "
    f"{MAX_OTHER_EMAILS} a customer may have; remove some from either first."
)
MERGE_TOO_MANY_IDENTITIES = (
    f"Together the two customers have {{count}} identities, more than the {MAX_IDENTITIES} a "
    "customer may have; remove some from either first."
)

# A tier is a level of service: a merged customer keeps the higher of the two.
_TIER_ORDER = [Tier.STANDARD, Tier.PRIORITY, Tier.VIP]


def merge_refusal(*, source: Customer, target: Customer) -> str:
    """Why ``source`` cannot be merged into ``target`` ("" when it can): the pages ask before
    offering the confirmation, and :func:`customers_merge` asks again under its locks."""
    if source.pk == target.pk:
        return MERGE_INTO_ITSELF
    if source.merged_into_id is not None:
        return MERGE_SOURCE_MERGED.format(source=source, final=source.merged_into)
    if source.erased_at is not None:
        return MERGE_SOURCE_ERASED.format(source=source)
    if target.merged_into_id is not None:
        return MERGE_INTO_MERGED.format(target=target, final=target.merged_into)
    if target.erased_at is not None:
        return MERGE_INTO_ERASED.format(target=target)
    return ""


@transaction.atomic
def customers_merge(*, actor: AbstractBaseUser, source: Customer, target: Customer) -> Customer:
    """Fold ``source`` into ``target``, one transaction: the source's addresses (its main one
    becomes the target's main address when the target has none, a further one otherwise) and
    identities move to the target; the target's empty name, account and external id, and the
    attributes it lacks, are filled from the source, and it keeps the higher tier; customers
    merged into the source before now point at the target. The source stays as a tombstone
    with ``merged_into`` set. Audited on both; ``portal.customers_merged`` tells the other apps
    after the commit. Refusals are ValidationErrors a person can act on."""
    access.require_directory_editor(actor)
    # Locked in id order, so that two merges of the same pair cannot deadlock.
    locked = Customer.objects.select_for_update().filter(pk__in=[source.pk, target.pk])
    rows = {c.pk: c for c in locked.order_by("pk")}
    source, target = rows[source.pk], rows[target.pk]
    refusal = merge_refusal(source=source, target=target)
    if refusal:
        raise ValidationError(refusal)

    source_emails = list(CustomerEmail.objects.filter(customer=source))
    target_email_count = CustomerEmail.objects.filter(customer=target).count()
    moved_main = bool(source.email) and bool(target.email)
    email_count = target_email_count + len(source_emails) + int(moved_main)
    if email_count > MAX_OTHER_EMAILS:
        raise ValidationError(MERGE_TOO_MANY_EMAILS.format(count=email_count))
    identity_count = CustomerIdentity.objects.filter(customer__in=[source, target]).count()
    if identity_count > MAX_IDENTITIES:
        raise ValidationError(MERGE_TOO_MANY_IDENTITIES.format(count=identity_count))

    source_before = _customer_snapshot(source, with_other_emails=True, with_identities=True)
    target_before = _customer_snapshot(target, with_other_emails=True, with_identities=True)

    # The source gives up what is unique first, so that the target may take it.
    # It lets go of its account too, whose deletion a tombstone should not hold up.
    email, external_id, account = source.email, source.external_id, source.account
    source.email = ""
    source.external_id = ""
    source.account = None
    source.merged_into = target
    source.save()
    CustomerEmail.objects.filter(customer=source).update(customer=target)
    CustomerIdentity.objects.filter(customer=source).update(customer=target)
    Customer.objects.filter(merged_into=source).update(merged_into=target)

    if email and not target.email:
        target.email = email
    elif email:
        CustomerEmail.objects.create(customer=target, email=email)
    if not target.external_id:
        target.external_id = external_id
    target.name = target.name or source.name
    target.account = target.account or account
    target.tier = max(target.tier, source.tier, key=_TIER_ORDER.index)
    attributes = dict(target.attributes)
    for key, value in source.attributes.items():
        if key not in attributes and len(attributes) < MAX_ATTRIBUTES:
            attributes[key] = value
    target.attributes = attributes
    target.save()

    source_after = _customer_snapshot(source, with_other_emails=True, with_identities=True)
    target_after = _customer_snapshot(target, with_other_emails=True, with_identities=True)
    audit(
        actor=actor,
        action="customer.merged",
        target=source,
        changes={
            "merged_into": {"before": None, "after": str(target)},
            **changes_between(source_before, source_after),
        },
    )
    audit(
        actor=actor,
        action="customer.merged_into",
        target=target,
        changes={
            "merged_from": {"before": None, "after": str(source)},
            **changes_between(target_before, target_after),
        },
    )
    events.emit("portal.customer_saved", customer_id=source.pk)
    events.emit("portal.customer_saved", customer_id=target.pk)
    events.emit("portal.customers_merged", source_id=source.pk, target_id=target.pk)
    return target
