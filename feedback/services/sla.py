"""Priority customers and service levels: the automatic priority of an item, its SLA due times,
and the periodic marking of breaches with their escalation.

Decisions, each written once here:

- **Priority from the customer.** A VIP tier makes an item urgent, a priority tier high; a plan
  named in the team's ``InboxSettings.priority_plans`` (compared case-insensitively) or an
  account MRR at or above ``priority_mrr_threshold`` makes it high. The highest level wins;
  between rules of the same level the first in that order gives the reason. A priority a person
  set (``priority_manual``) is never changed by these rules, nor by an escalation: the model
  says the automatic rules, SLA included, leave it alone. An escalated item still gets
  ``escalated_at`` and its leads are told, so it rises to the top of the default view.
- **Due times in calendar hours.** The first response is due ``first_response_hours`` after the
  item's first message, the resolution ``resolution_hours`` after it. Without a policy for the
  item's priority it has no due times. A reopened item (``feedback.item_reopened``) gets a fresh
  resolution period from the moment it reopened and its resolution breach is cleared, so that
  a breach of the new period is noticed again; its first response stays answered. When the
  automatic priority changes (the customer's tier or account changed), the due times follow the
  new priority from the same start. An escalation does not move them: the promise made to the
  customer stays, the raised priority orders the work. Changing a policy applies to items that
  arrive afterwards; items already in the inbox keep their due times.
- **Breaches.** ``sla_breaches_mark`` (beat, every minute) stamps each breach once with a guarded
  ``UPDATE … WHERE <breached_at> IS NULL``, so two runs at once (or one run twice) mark, escalate
  and notify each breach once. Each new breach raises an automatic priority one step (up to
  urgent) and notifies the team's leads (members with the lead or admin role).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from feedback.models import (
    CLOSED_STATUSES,
    FeedbackItem,
    InboxSettings,
    ItemPriority,
    SlaPolicy,
)
from portal.actors import SYSTEM
from portal.models import Customer, Membership, Role
from portal.models import Tier as CustomerTier
from portal.services.audit import audit, changes_between, snapshot
from portal.services.notifications import notify

REASON_VIP = "VIP customer"
REASON_PRIORITY_TIER = "Priority customer"
REASON_PLAN = "plan {plan}"
REASON_MRR = "MRR ≥ {threshold}"
REASON_FIRST_RESPONSE_BREACHED = "first response SLA breached"
REASON_RESOLUTION_BREACHED = "resolution SLA breached"

BREACH_KIND = "sla-breach"
BREACH_SUBJECT = "SLA breached: {subject}"
ACTION_BREACHED = "feedback_item.sla_breached"
ACTION_PRIORITY_EVALUATED = "feedback_item.priority_evaluated"

RANK = {ItemPriority.NORMAL: 0, ItemPriority.HIGH: 1, ItemPriority.URGENT: 2}
LEVELS = sorted(RANK, key=RANK.__getitem__)
LEAD_ROLES = (Role.LEAD, Role.ADMIN)

Due = tuple[datetime | None, datetime | None]


# Priority ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriorityRules:
    """A team's rules for priority customers, read once: plan names casefolded."""

    plans: frozenset[str] = frozenset()
    mrr_threshold: Decimal | None = None


def priority_rules_for(team_id: int) -> PriorityRules:
    settings = InboxSettings.objects.filter(team_id=team_id).first()
    if settings is None:
        return PriorityRules()
    return PriorityRules(
        plans=frozenset(str(plan).casefold() for plan in settings.priority_plans or []),
        mrr_threshold=settings.priority_mrr_threshold,
    )


def money(value: Decimal) -> str:
    """Money as people read it in a reason: thousands separated, two decimals."""
    return f"{value:,.2f}"


def priority_from(
    *, tier: str | None, plan: str | None, mrr: Decimal | None, rules: PriorityRules
) -> tuple[str, str]:
    """The automatic priority and its reason from a customer's tier and their account's plan
    and MRR (pure: no database). Normal with no reason when no rule applies."""
    found: list[tuple[str, str]] = []
    if tier == CustomerTier.VIP:
        found.append((ItemPriority.URGENT, REASON_VIP))
    elif tier == CustomerTier.PRIORITY:
        found.append((ItemPriority.HIGH, REASON_PRIORITY_TIER))
    if plan and plan.casefold() in rules.plans:
        found.append((ItemPriority.HIGH, REASON_PLAN.format(plan=plan)))
    if rules.mrr_threshold is not None and mrr is not None and mrr >= rules.mrr_threshold:
        found.append((ItemPriority.HIGH, REASON_MRR.format(threshold=money(rules.mrr_threshold))))
    if not found:
        return ItemPriority.NORMAL, ""
    # max() keeps the first of equal ranks: the order above decides the reason.
    priority, reason = max(found, key=lambda pair: RANK[pair[0]])
    return ItemPriority(priority).value, reason


def _customer_priority(customer: Customer | None, rules: PriorityRules) -> tuple[str, str]:
    if customer is None:
        return priority_from(tier=None, plan=None, mrr=None, rules=rules)
    account = customer.account
    return priority_from(
        tier=customer.tier,
        plan=account.plan if account else None,
        mrr=account.mrr if account else None,
        rules=rules,
    )


def item_priority_for(item: FeedbackItem) -> tuple[str, str]:
    """The priority the rules give ``item`` (its customer's tier, their account's plan and MRR
    under its team's settings) and the reason shown to agents. It ignores ``priority_manual``:
    the caller decides whether a person's choice is kept."""
    customer = None
    if item.customer_id is not None:
        customer = Customer.objects.select_related("account").get(pk=item.customer_id)
    return _customer_priority(customer, priority_rules_for(item.team_id))


# Due times -----------------------------------------------------------------------------------


def policies_for(team_id: int) -> dict[str, SlaPolicy]:
    return {policy.priority: policy for policy in SlaPolicy.objects.filter(team_id=team_id)}


def _after(start: datetime, hours: int) -> datetime:
    return start + timedelta(hours=hours)


def due_times(
    item: FeedbackItem,
    policies: dict[str, SlaPolicy],
    *,
    previous_priority: str | None = None,
    resolution_start: datetime | None = None,
) -> Due:
    """The first response and resolution due times of ``item`` at its current priority.

    The resolution period starts at ``resolution_start`` when given (a reopened item), else
    where the previous priority's period started (its due time minus its hours: a reopened
    item keeps its restart), else at the first message."""
    policy = policies.get(item.priority)
    if policy is None:
        return None, None
    if resolution_start is None:
        previous = policies.get(previous_priority) if previous_priority else None
        if previous is not None and item.resolution_due_at is not None:
            resolution_start = item.resolution_due_at - timedelta(hours=previous.resolution_hours)
        else:
            resolution_start = item.first_message_at
    return (
        _after(item.first_message_at, policy.first_response_hours),
        _after(resolution_start, policy.resolution_hours),
    )


def item_sla_apply(
    item: FeedbackItem,
    now: datetime | None = None,
    *,
    previous_priority: str | None = None,
    restart_resolution: bool = False,
    policies: dict[str, SlaPolicy] | None = None,
) -> list[str]:
    """Set ``item``'s due times for its priority, in memory; returns the fields that changed
    (the caller saves them). ``restart_resolution`` starts the resolution period at ``now``
    (a reopened item); ``previous_priority`` names the priority the item had, so that a
    priority change keeps where its resolution period started."""
    now = now or timezone.now()
    policies = policies_for(item.team_id) if policies is None else policies
    first_response_due, resolution_due = due_times(
        item,
        policies,
        previous_priority=previous_priority,
        resolution_start=now if restart_resolution else None,
    )
    changed = []
    if item.first_response_due_at != first_response_due:
        item.first_response_due_at = first_response_due
        changed.append("first_response_due_at")
    if item.resolution_due_at != resolution_due:
        item.resolution_due_at = resolution_due
        changed.append("resolution_due_at")
    return changed


def item_sla_start(*, item_id: int) -> bool:
    """On ``feedback.item_created``: the item's automatic priority (unless a person set one,
    or an escalation already raised it) and its due times, in one UPDATE. Safe to run twice:
    the same item gives the same values. False when the item is gone."""
    item = FeedbackItem.objects.filter(pk=item_id).first()
    if item is None:
        return False
    values: dict = {}
    if not item.priority_manual and item.escalated_at is None:
        item.priority, item.priority_reason = item_priority_for(item)
        values = {"priority": item.priority, "priority_reason": item.priority_reason}
    first_response_due, resolution_due = due_times(item, policies_for(item.team_id))
    values |= {"first_response_due_at": first_response_due, "resolution_due_at": resolution_due}
    # The guard keeps a person's priority set between the read and this write.
    guard = Q(priority_manual=False, escalated_at__isnull=True) if "priority" in values else Q()
    FeedbackItem.objects.filter(guard, pk=item_id).update(**values)
    return True


@transaction.atomic
def item_sla_restart(*, item_id: int, now: datetime | None = None) -> bool:
    """On ``feedback.item_reopened``: a fresh resolution period from now, its breach cleared.
    False when the item is gone or closed again (nothing runs for a closed item)."""
    now = now or timezone.now()
    item = FeedbackItem.objects.select_for_update().filter(pk=item_id).first()
    if item is None or item.status in CLOSED_STATUSES:
        return False
    changed = item_sla_apply(item, now, restart_resolution=True)
    if item.resolution_breached_at is not None:
        item.resolution_breached_at = None
        changed.append("resolution_breached_at")
    if changed:
        item.save(update_fields=[*changed, "updated_at"])
    return True


def account_items_priority_refresh(*, account_id: int, now: datetime | None = None) -> int:
    """On ``portal.account_saved``: ``customer_items_priority_refresh`` for each customer of
    the account who has open items. Returns how many items changed."""
    customer_ids = (
        FeedbackItem.objects.filter(customer__account_id=account_id)
        .exclude(status__in=CLOSED_STATUSES)
        .order_by()
        .values_list("customer_id", flat=True)
        .distinct()
    )
    return sum(
        customer_items_priority_refresh(customer_id=customer_id, now=now)
        for customer_id in list(customer_ids)
    )


def customer_items_priority_refresh(*, customer_id: int, now: datetime | None = None) -> int:
    """On ``portal.customer_saved``: the customer's open items whose automatic priority the
    rules now set otherwise get it, with due times for it. Manual priorities are kept; an
    escalated item is only raised, never lowered below its escalation. One read of the items,
    one read of each team's settings and policies, one UPDATE for all the changed rows.
    Returns how many items changed."""
    now = now or timezone.now()
    customer = Customer.objects.select_related("account").filter(pk=customer_id).first()
    if customer is None:
        return 0
    items = list(
        FeedbackItem.objects.filter(customer_id=customer_id, priority_manual=False)
        .exclude(status__in=CLOSED_STATUSES)
        .select_related("team")
        .order_by("pk")
    )
    rules: dict[int, tuple[tuple[str, str], dict[str, SlaPolicy]]] = {}
    changed_items = []
    for item in items:
        if item.team_id not in rules:
            found = _customer_priority(customer, priority_rules_for(item.team_id))
            rules[item.team_id] = (found, policies_for(item.team_id))
        (priority, reason), policies = rules[item.team_id]
        if item.escalated_at is not None and RANK[priority] <= RANK[item.priority]:
            continue
        if (priority, reason) == (item.priority, item.priority_reason):
            continue
        before = snapshot(item, ["priority", "priority_reason"])
        previous = item.priority
        item.priority, item.priority_reason = priority, reason
        item_sla_apply(item, now, previous_priority=previous, policies=policies)
        item.updated_at = now  # bulk_update leaves auto_now alone
        changed_items.append((item, before))
    if not changed_items:
        return 0
    with transaction.atomic():
        # Rows a person changed meanwhile keep the person's priority.
        manual = set(
            FeedbackItem.objects.filter(
                pk__in=[item.pk for item, _ in changed_items], priority_manual=True
            ).values_list("pk", flat=True)
        )
        changed_items = [(item, before) for item, before in changed_items if item.pk not in manual]
        FeedbackItem.objects.bulk_update(
            [item for item, _ in changed_items],
            [
                "priority",
                "priority_reason",
                "first_response_due_at",
                "resolution_due_at",
                "updated_at",
            ],
        )
        for item, before in changed_items:
            after = snapshot(item, ["priority", "priority_reason"])
            audit(
                actor=SYSTEM,
                action=ACTION_PRIORITY_EVALUATED,
                target=item,
                team=item.team,
                changes=changes_between(before, after),
            )
    return len(changed_items)


# Breaches ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Breach:
    due: str
    breached: str
    reason: str
    # What else must hold for the breach to count (the first response not given yet).
    pending: Q


FIRST_RESPONSE = Breach(
    due="first_response_due_at",
    breached="first_response_breached_at",
    reason=REASON_FIRST_RESPONSE_BREACHED,
    pending=Q(first_responded_at__isnull=True),
)
RESOLUTION = Breach(
    due="resolution_due_at",
    breached="resolution_breached_at",
    reason=REASON_RESOLUTION_BREACHED,
    pending=Q(),
)
BREACHES = (FIRST_RESPONSE, RESOLUTION)


def _breached(breach: Breach, now: datetime) -> Q:
    return (
        breach.pending
        & ~Q(status__in=CLOSED_STATUSES)
        & Q(**{f"{breach.due}__lt": now, f"{breach.breached}__isnull": True})
    )


def team_lead_ids(team_id: int) -> list[int]:
    return list(
        Membership.objects.filter(team_id=team_id, role__in=LEAD_ROLES, user__is_active=True)
        .order_by("user_id")
        .values_list("user_id", flat=True)
    )


def item_path(item_id: int) -> str:
    """The item's page, ``/inbox/<id>/``, under the inbox list."""
    return f"{reverse('feedback:inbox')}{item_id}/"


def raised(priority: str) -> str:
    """One step up, urgent staying urgent."""
    return LEVELS[min(RANK[ItemPriority(priority)] + 1, len(LEVELS) - 1)].value


@transaction.atomic
def _breach_mark(breach: Breach, item_id: int, now: datetime) -> bool:
    # The guard: of two runs at once, the second's UPDATE waits for the first's row lock and
    # then finds the breach stamped, so it escalates and notifies nothing.
    claimed = FeedbackItem.objects.filter(_breached(breach, now), pk=item_id).update(
        **{breach.breached: now}
    )
    if not claimed:
        return False
    item = FeedbackItem.objects.select_related("team").get(pk=item_id)
    fields = ["priority", "priority_reason", "escalated_at"]
    before = snapshot(item, fields, **{breach.breached: None})
    if not item.priority_manual and item.priority != ItemPriority.URGENT:
        item.priority, item.priority_reason = raised(item.priority), breach.reason
    item.escalated_at = item.escalated_at or now
    item.save(update_fields=[*fields, "updated_at"])
    after = snapshot(item, fields, **{breach.breached: now})
    audit(
        actor=SYSTEM,
        action=ACTION_BREACHED,
        target=item,
        team=item.team,
        changes=changes_between(before, after),
    )
    notify(
        users=team_lead_ids(item.team_id),
        kind=BREACH_KIND,
        subject=BREACH_SUBJECT.format(subject=str(item)),
        url=item_path(item.pk),
        now=now,
    )
    return True


def sla_breaches_mark(now: datetime | None = None) -> int:
    """Run by beat every minute: mark every new breach of a first response or a resolution
    due time, escalate the item and tell its team's leads. Returns the breaches this run
    marked; a second run (or one beside it) finds them marked and does nothing."""
    now = now or timezone.now()
    marked = 0
    for breach in BREACHES:
        candidates = (
            FeedbackItem.objects.filter(_breached(breach, now))
            .order_by(breach.due, "pk")
            .values_list("pk", flat=True)
        )
        marked += sum(_breach_mark(breach, item_id, now) for item_id in list(candidates))
    return marked
