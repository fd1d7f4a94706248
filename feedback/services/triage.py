"""Triage: what agents change on an item — its status, who works on it, its tags, a priority
they set by hand, and a snooze — one item at a time or many at once.

``item_update`` checks every value it is given before it writes anything (all refusals at
once, per field, so that a form or the API can show them together), writes only what changed,
and records each change in the portal's audit log with the item as target: the item page's
history reads those entries. Actions are ``feedback_item.<what>_changed`` with changes as
``{"field": {"before": ..., "after": ...}}``, as every service records them.

Resolving an item stamps ``resolved_at`` and emits ``feedback.item_resolved`` after the commit
(surveys follow it with a CSAT); any other status clears ``resolved_at``. A priority set by a
person is kept from the automatic rules (``priority_manual``) and gives its reason ("set by
Sam Agent"); ``PRIORITY_AUTOMATIC`` hands the item back to the rules. A snooze is not a status:
the item leaves the default list until ``snoozed_until`` (a condition of the inbox's query, no
task wakes it), and a customer's new message ends it (``parsing.store``).

Bulk: ``items_bulk_update`` applies the same changes to up to ``MAX_BULK_ITEMS`` items, each in
its own transaction (an item is changed whole or not at all), and answers one result per item;
``items_bulk_merge`` merges the selected items into one of them, the oldest unless one is
chosen.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from feedback.inbox.counts import inbox_counts_changed
from feedback.models import CLOSED_STATUSES, FeedbackItem, ItemPriority, ItemStatus, Tag
from feedback.services.merging import item_merge
from feedback.services.search_document import item_search_document_refresh
from portal import access, events
from portal.actors import SystemActor, person_name
from portal.models import Role, Team
from portal.services import audit
from portal.validation import validation_messages

Actor = AbstractBaseUser | SystemActor


class _Unset:
    """A keyword left out: the field stays as it is (None is a value: no assignee, no snooze)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()

MAX_BULK_ITEMS = 200

# The priority value that hands an item back to the automatic rules (tier, plan, MRR, SLA).
PRIORITY_AUTOMATIC = "auto"
PRIORITY_REASON_MANUAL = "set by {name}"

# The audit log's actions (the item page names them in the item's history).
ACTION_STATUS = "feedback_item.status_changed"
ACTION_ASSIGNEE = "feedback_item.assignee_changed"
ACTION_PRIORITY = "feedback_item.priority_changed"
ACTION_TAGS = "feedback_item.tags_changed"
ACTION_SNOOZE = "feedback_item.snooze_changed"

STATUS_UNKNOWN = "Unknown status {value!r}: choose one of {choices}."
PRIORITY_UNKNOWN = "Unknown priority {value!r}: choose one of {choices}."
ASSIGNEE_NOT_AGENT = (
    "{user} cannot be assigned: only agents, leads and admins of {team} work on its items."
)
TAG_OF_OTHER_TEAM = "The tag {tag!r} belongs to another team: use a tag of {team}."
SNOOZE_IN_PAST = "Snooze until a time in the future, or clear the snooze."
# A snooze is for days or weeks; a time further ahead is a typo (and a year like 9999 cannot
# be shown in every time zone).
SNOOZE_MAX = timedelta(days=366)
SNOOZE_TOO_FAR = "Snooze for at most a year: until {latest:%Y-%m-%d} at the latest."
SNOOZE_NAIVE = "Give the snooze time with its time zone."
BULK_EMPTY = "Select at least one item."
BULK_TOO_MANY = f"Select at most {MAX_BULK_ITEMS} items at once."
BULK_NOTHING_TO_CHANGE = "Choose what to change for the selected items."
MERGE_TARGET_NOT_SELECTED = "Merge into one of the selected items."
MERGE_NEEDS_TWO = "Select at least two items to merge."
MERGE_NOTHING_MERGED = "Nothing was merged into this item: each other selected item was refused."
TAG_ADDED_AND_REMOVED = "The tag {tag!r} cannot be both added and removed: choose one."
ITEM_GONE = "The item was merged or deleted meanwhile."

# What ``items_bulk_update`` passes on to ``item_update`` for each item.
_BULK_FIELDS = frozenset(
    {"status", "assignee", "priority", "tags", "add_tags", "remove_tags", "snoozed_until"}
)


def _choices(values: Iterable[str]) -> str:
    return ", ".join(values)


@dataclass
class _Wanted:
    """The checked new values (only those given)."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def refuse(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


def _check(
    item: FeedbackItem,
    *,
    status: Any,
    assignee: Any,
    priority: Any,
    tags: Any,
    add_tags: Iterable[Tag],
    remove_tags: Iterable[Tag],
    snoozed_until: Any,
    now: datetime,
) -> _Wanted:
    wanted = _Wanted()
    team = item.team
    if status is not UNSET:
        if status not in ItemStatus.values:
            wanted.refuse(
                "status", STATUS_UNKNOWN.format(value=status, choices=_choices(ItemStatus.values))
            )
        else:
            wanted.values["status"] = ItemStatus(status)
    if assignee is not UNSET:
        if assignee is not None and not access.works_on_items_of(assignee, team):
            wanted.refuse(
                "assignee", ASSIGNEE_NOT_AGENT.format(user=_named_in(assignee, team), team=team)
            )
        else:
            wanted.values["assignee"] = assignee
    if priority is not UNSET:
        if priority is None or priority == PRIORITY_AUTOMATIC:
            wanted.values["priority"] = None
        elif priority not in ItemPriority.values:
            choices = _choices([*ItemPriority.values, PRIORITY_AUTOMATIC])
            wanted.refuse("priority", PRIORITY_UNKNOWN.format(value=priority, choices=choices))
        else:
            wanted.values["priority"] = ItemPriority(priority)
    for name, given in (("tags", tags), ("add_tags", add_tags), ("remove_tags", remove_tags)):
        if given is UNSET:
            continue
        given = list(given)
        for tag in given:
            if tag.team_id != team.pk:
                wanted.refuse(name, TAG_OF_OTHER_TEAM.format(tag=tag.name, team=team))
        wanted.values[name] = given
    removed = {tag.pk for tag in wanted.values.get("remove_tags", ())}
    for tag in wanted.values.get("add_tags", ()):
        if tag.pk in removed:
            wanted.refuse("remove_tags", TAG_ADDED_AND_REMOVED.format(tag=tag.name))
    if snoozed_until is not UNSET:
        if snoozed_until is not None and timezone.is_naive(snoozed_until):
            wanted.refuse("snoozed_until", SNOOZE_NAIVE)
        elif snoozed_until is not None and snoozed_until <= now:
            wanted.refuse("snoozed_until", SNOOZE_IN_PAST)
        elif snoozed_until is not None and snoozed_until > now + SNOOZE_MAX:
            wanted.refuse("snoozed_until", SNOOZE_TOO_FAR.format(latest=now + SNOOZE_MAX))
        else:
            wanted.values["snoozed_until"] = snoozed_until
    return wanted


def _user_label(user: Any) -> str | None:
    return None if user is None else user.get_username()


def _named_in(user: AbstractBaseUser, team: Team) -> str:
    """A person as a message about ``team`` names them: by name if they are in the team (its
    members know each other), else by id (who someone outside is is not the team's to learn)."""
    if team.pk in access.team_roles(user):
        return str(user)
    return f"User #{user.pk}"


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _sla():
    """``feedback.services.sla``, imported when needed: it reads the inbox settings and SLA
    policies, which triage needs only when a priority changes."""
    from feedback.services import sla as module

    return module


def item_update(
    *,
    actor: Actor,
    item: FeedbackItem,
    status: Any = UNSET,
    assignee: Any = UNSET,
    priority: Any = UNSET,
    tags: Any = UNSET,
    add_tags: Any = UNSET,
    remove_tags: Any = UNSET,
    snoozed_until: Any = UNSET,
    now: datetime | None = None,
) -> FeedbackItem:
    """Change what is given of the item's status, assignee (a user or None), priority (an
    ``ItemPriority``, or ``PRIORITY_AUTOMATIC`` / None for the rules' own), tags (all of them;
    or ``add_tags`` / ``remove_tags``), snooze (a future time or None); the item as stored.
    Agents of the item's team. Raises ValidationError per field before writing anything."""
    access.require_team_role(actor, item.team, Role.AGENT)
    now = now or timezone.now()
    with transaction.atomic():
        try:
            locked = (
                FeedbackItem.objects.select_for_update(of=("self",))
                .select_related("team", "assignee")
                .get(pk=item.pk)
            )
        except FeedbackItem.DoesNotExist:
            raise ValidationError(ITEM_GONE) from None
        wanted = _check(
            locked,
            status=status,
            assignee=assignee,
            priority=priority,
            tags=tags,
            add_tags=add_tags,
            remove_tags=remove_tags,
            snoozed_until=snoozed_until,
            now=now,
        )
        if wanted.errors:
            raise ValidationError(wanted.errors)
        _apply(actor, locked, wanted.values, now)
    return locked


def _apply(actor: Actor, item: FeedbackItem, values: dict[str, Any], now: datetime) -> None:
    changed: set[str] = set()
    entries: list[tuple[str, dict[str, dict]]] = []
    resolved = reopened = False

    if "status" in values and values["status"] != item.status:
        before = item.status
        item.status = values["status"]
        resolved = item.status == ItemStatus.RESOLVED
        # Out of resolved or spam: its resolution is due again from now (the SLA's handler).
        reopened = before in CLOSED_STATUSES and item.status not in CLOSED_STATUSES
        item.resolved_at = now if resolved else None
        changed |= {"status", "resolved_at"}
        entries.append((ACTION_STATUS, {"status": {"before": before, "after": item.status}}))

    if "assignee" in values and values["assignee"] != item.assignee:
        before = _user_label(item.assignee)
        item.assignee = values["assignee"]
        changed.add("assignee")
        after = _user_label(item.assignee)
        entries.append((ACTION_ASSIGNEE, {"assignee": {"before": before, "after": after}}))

    if "priority" in values:
        previous = item.priority
        entry = _priority_change(actor, item, values["priority"])
        if entry:
            changed |= {"priority", "priority_reason", "priority_manual"}
            entries.append((ACTION_PRIORITY, entry))
        if item.priority != previous:
            # The due times follow the priority's SLA policy (its periods keep their start).
            changed.update(_sla().item_sla_apply(item, now, previous_priority=previous))

    if "snoozed_until" in values and values["snoozed_until"] != item.snoozed_until:
        before = _when(item.snoozed_until)
        item.snoozed_until = values["snoozed_until"]
        changed.add("snoozed_until")
        after = _when(item.snoozed_until)
        entries.append((ACTION_SNOOZE, {"snoozed_until": {"before": before, "after": after}}))

    tag_entry = _tags_change(item, values)
    if tag_entry:
        entries.append((ACTION_TAGS, tag_entry))

    if changed:
        item.save(update_fields=[*sorted(changed), "updated_at"])
    if changed or tag_entry:
        inbox_counts_changed(item.team_id)
    for action, changes in entries:
        audit(actor=actor, action=action, target=item, team=item.team, changes=changes)
    if resolved:
        events.emit("feedback.item_resolved", item_id=item.pk)
    if reopened:
        events.emit("feedback.item_reopened", item_id=item.pk)


def _priority_change(actor: Actor, item: FeedbackItem, wanted: str | None) -> dict[str, dict]:
    if wanted is None:
        priority, reason = _sla().item_priority_for(item)
        manual = False
    else:
        priority, reason = wanted, PRIORITY_REASON_MANUAL.format(name=person_name(actor))
        manual = True
    before = {
        "priority": item.priority,
        "priority_reason": item.priority_reason,
        "priority_manual": item.priority_manual,
    }
    after = {"priority": priority, "priority_reason": reason, "priority_manual": manual}
    if manual and item.priority_manual and item.priority == priority:
        # The same priority set again by hand: the person who first set it keeps the reason.
        return {}
    item.priority, item.priority_reason, item.priority_manual = priority, reason, manual
    return {
        name: {"before": before[name], "after": after[name]}
        for name in after
        if before[name] != after[name]
    }


def _tags_change(item: FeedbackItem, values: dict[str, Any]) -> dict[str, dict]:
    if not {"tags", "add_tags", "remove_tags"} & values.keys():
        return {}
    current = {tag.pk: tag for tag in item.tags.all()}
    result = dict(current)
    if "tags" in values:
        result = {tag.pk: tag for tag in values["tags"]}
    for tag in values.get("add_tags", ()):
        result[tag.pk] = tag
    for tag in values.get("remove_tags", ()):
        result.pop(tag.pk, None)
    if result.keys() == current.keys():
        return {}
    added = [pk for pk in result if pk not in current]
    removed = [pk for pk in current if pk not in result]
    if removed:
        item.tags.remove(*removed)
    if added:
        item.tags.add(*added)
    return {
        "tags": {
            "before": sorted(tag.name for tag in current.values()),
            "after": sorted(tag.name for tag in result.values()),
        }
    }


# Bulk ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkResult:
    """What happened to one selected item: ``ok``, or why not (field errors, or ``detail``)."""

    item_id: int
    ok: bool
    errors: dict[str, list[str]] | None = None
    item: FeedbackItem | None = None
    # As the API answers it: 200 done, 400 a value refused, 403 the role too low in the
    # item's team, 404 the item is gone (merged or deleted meanwhile).
    status: int = 200


def _refused(item_id: int, error: Exception) -> BulkResult:
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        errors = {
            name: validation_messages(ValidationError(messages))
            for name, messages in error.error_dict.items()
        }
        return BulkResult(item_id, False, errors, status=400)
    if isinstance(error, ValidationError):
        return BulkResult(item_id, False, {"detail": validation_messages(error)}, status=400)
    if isinstance(error, PermissionDenied):
        return BulkResult(item_id, False, {"detail": [str(error)]}, status=403)
    return BulkResult(item_id, False, {"detail": [ITEM_GONE]}, status=404)


def _check_selection(items: Sequence[FeedbackItem]) -> None:
    if not items:
        raise ValidationError({"items": BULK_EMPTY})
    if len(items) > MAX_BULK_ITEMS:
        raise ValidationError({"items": BULK_TOO_MANY})


def items_bulk_update(
    *,
    actor: Actor,
    items: Sequence[FeedbackItem],
    now: datetime | None = None,
    **changes: Any,
) -> list[BulkResult]:
    """``item_update`` with the same ``changes`` for each item, each in its own transaction:
    one result per item, in the order given; a refusal for one item (its team's tags, the role
    in its team) leaves it unchanged and stops no other."""
    _check_selection(items)
    unknown = changes.keys() - _BULK_FIELDS
    if unknown:
        raise TypeError(f"items_bulk_update got unknown changes: {', '.join(sorted(unknown))}")
    if not changes:
        raise ValidationError({"changes": BULK_NOTHING_TO_CHANGE})
    now = now or timezone.now()
    results = []
    for item in items:
        try:
            updated = item_update(actor=actor, item=item, now=now, **changes)
        except (ValidationError, PermissionDenied) as error:
            results.append(_refused(item.pk, error))
        else:
            results.append(BulkResult(item.pk, True, item=updated))
    return results


def bulk_merge_target(items: Sequence[FeedbackItem]) -> FeedbackItem:
    """The item a bulk merge keeps: the oldest (the earliest first message), so that the
    conversation that started it all keeps its id."""
    return min(items, key=lambda item: (item.first_message_at, item.pk))


def items_bulk_merge(
    *,
    actor: Actor,
    items: Sequence[FeedbackItem],
    into: FeedbackItem | None = None,
) -> list[BulkResult]:
    """Merge every selected item into ``into`` (one of them), or, when none is chosen, into the
    oldest (the earliest first message): the conversation that started it all keeps its id.
    One result per item; the target's result is the merged item."""
    _check_selection(items)
    if into is None:
        into = bulk_merge_target(items)
    elif into.pk not in {item.pk for item in items}:
        raise ValidationError({"into": MERGE_TARGET_NOT_SELECTED})
    results: dict[int, BulkResult] = {}
    merged_any = False
    for item in items:
        if item.pk == into.pk or item.pk in results:
            continue
        try:
            into = item_merge(actor=actor, source=item, into=into)
        except (ValidationError, PermissionDenied, ObjectDoesNotExist) as error:
            results[item.pk] = _refused(item.pk, error)
        else:
            merged_any = True
            results[item.pk] = BulkResult(item.pk, True, item=into)
    if merged_any:
        results[into.pk] = BulkResult(into.pk, True, item=into)
    else:
        alone = len({item.pk for item in items}) < 2
        nothing = {"detail": [MERGE_NEEDS_TWO if alone else MERGE_NOTHING_MERGED]}
        results[into.pk] = BulkResult(into.pk, False, nothing, into, status=400)
    return [results[item.pk] for item in items if item.pk in results]


__all__ = [
    "ACTION_ASSIGNEE",
    "ACTION_PRIORITY",
    "ACTION_SNOOZE",
    "ACTION_STATUS",
    "ACTION_TAGS",
    "ASSIGNEE_NOT_AGENT",
    "BULK_EMPTY",
    "BULK_NOTHING_TO_CHANGE",
    "BULK_TOO_MANY",
    "MAX_BULK_ITEMS",
    "MERGE_NEEDS_TWO",
    "MERGE_TARGET_NOT_SELECTED",
    "PRIORITY_AUTOMATIC",
    "PRIORITY_REASON_MANUAL",
    "PRIORITY_UNKNOWN",
    "SNOOZE_IN_PAST",
    "SNOOZE_NAIVE",
    "STATUS_UNKNOWN",
    "TAG_ADDED_AND_REMOVED",
    "TAG_OF_OTHER_TEAM",
    "UNSET",
    "BulkResult",
    "item_search_document_refresh",
    "item_update",
    "items_bulk_merge",
    "items_bulk_update",
]
