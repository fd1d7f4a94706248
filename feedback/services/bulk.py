"""Many pushed feedback items at once, for the CSV import: the checks of ``item_ingest``
(``item_push_clean``), set-based look-ups and bulk writes, with the customers, tags and events
that ``item_ingest`` makes one row at a time.

A batch of rows costs a handful of queries however many rows it has: one look-up each for the
rows' external ids, content identities, customers (main and further addresses), account
domains and tags, then one INSERT each for the new customers (through the portal's set-based
``customers_import_rows``, as the system, audited), tags, items, messages and item tags.

Identity, so that the same file twice stores nothing twice: a row with an ``external_id`` is
the team's item with that external id, or the item it was merged into since (as
``item_ingest`` decides); a row without one is
identified by a SHA-256 of its team, customer address, ``received_at`` (as written, or empty),
subject and text, after the same trimming ``item_ingest`` does. That hash is the identity of
the item's first message (``Message.identity_hash`` with an empty ``external_id``), so the
database's unique constraint on message identity holds it even against a concurrent import of
the same file. A row already stored, or repeated within the file, stores nothing and is
counted as updated. Should a concurrent writer store a row between the look-ups and the
insert, the constraints refuse the batch, and its rows are written one at a time, each in its
own savepoint, where such a clash means "already stored".
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from feedback.inbox.choices import team_choices_changed
from feedback.models import (
    Direction,
    FeedbackItem,
    ItemStatus,
    Lane,
    MergedItem,
    Message,
    Tag,
    ThreadReason,
)
from feedback.services.customers import account_domain, customer_name_from_sender
from feedback.services.items import PushedItem, item_push_clean, push_identity
from feedback.services.search_document import search_document_of
from feedback.services.sentiment import sentiment_queue
from portal import access, events
from portal.actors import SYSTEM
from portal.fields import normalised_key
from portal.models import AccountDomain, Customer, CustomerEmail, Role, Team
from portal.services.directory_bulk import (
    CustomerRow,
    RowsResult,
    customers_import_rows,
    row_message,
)


@dataclass(frozen=True)
class ItemRow:
    """One row to import: the team it goes to (already resolved) and the values of the push,
    as ``item_ingest`` takes them."""

    line: int
    team: Team
    customer_email: str
    subject: str = ""
    text: str = ""
    customer_name: str = ""
    external_id: str = ""
    received_at: datetime | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Checked:
    line: int
    team: Team
    pushed: PushedItem
    content_hash: str

    @property
    def key(self) -> tuple[int, str, str]:
        if self.pushed.external_id:
            return (self.team.pk, "external_id", self.pushed.external_id)
        return (self.team.pk, "content", self.content_hash)


def content_hash(team: Team, pushed: PushedItem) -> str:
    """The identity of a row without an external id (see the module's docstring)."""
    # In UTC: the same instant written with another offset is the same row.
    received = pushed.received_at.astimezone(UTC).isoformat() if pushed.received_at else ""
    fields = ["csv", team.pk, pushed.email, received, pushed.subject, pushed.text]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()


def items_import_rows(
    *, actor: AbstractBaseUser, rows: Sequence[ItemRow], now: datetime | None = None
) -> RowsResult:
    """Store one feedback item per row, each with its first message, as ``item_ingest``
    would; rows already stored store nothing. Bad rows are reported, not raised."""
    now = now or timezone.now()
    result = RowsResult()
    checked: list[_Checked] = []
    for row in rows:
        try:
            access.require_team_role(actor, row.team, Role.AGENT)
            pushed = item_push_clean(
                team=row.team,
                customer_email=row.customer_email,
                subject=row.subject,
                text=row.text,
                customer_name=row.customer_name,
                external_id=row.external_id,
                received_at=row.received_at,
                tags=row.tags,
                now=now,
            )
        except (ValidationError, PermissionDenied) as error:
            result.rejections.append((row.line, row_message(error)))
            continue
        checked.append(_Checked(row.line, row.team, pushed, content_hash(row.team, pushed)))
    try:
        with transaction.atomic():
            result.add(_import_batch(checked, now))
    except IntegrityError:
        result.add(_import_one_by_one(checked, now))
    result.rejections.sort()
    return result


def _import_one_by_one(checked: list[_Checked], now: datetime) -> RowsResult:
    result = RowsResult()
    for row in checked:
        try:
            with transaction.atomic():
                result.add(_import_batch([row], now))
        except IntegrityError:
            # A concurrent writer stored this row between our look-up and our insert.
            result.updated += 1
    return result


def _stored_keys(checked: list[_Checked]) -> set[tuple[int, str, str]]:
    team_ids = {row.team.pk for row in checked}
    external_ids = {row.pushed.external_id for row in checked if row.pushed.external_id}
    hashes = {row.content_hash for row in checked if not row.pushed.external_id}
    stored: set[tuple[int, str, str]] = set()
    if external_ids:
        found = FeedbackItem.objects.filter(
            team_id__in=team_ids, external_id__in=external_ids
        ).values_list("team_id", "external_id")
        stored.update((team_id, "external_id", value) for team_id, value in found)
        # An item merged into another since is stored too: it is that other item now.
        found = MergedItem.objects.filter(
            into__team_id__in=team_ids, external_id__in=external_ids
        ).values_list("into__team_id", "external_id")
        stored.update((team_id, "external_id", value) for team_id, value in found)
    if hashes:
        found = Message.objects.filter(
            team_id__in=team_ids, external_id="", identity_hash__in=hashes
        ).values_list("team_id", "identity_hash")
        stored.update((team_id, "content", value) for team_id, value in found)
    return stored


def _import_batch(checked: list[_Checked], now: datetime) -> RowsResult:
    result = RowsResult()
    stored = _stored_keys(checked)
    new: list[_Checked] = []
    for row in checked:
        if row.key in stored:
            result.updated += 1
            continue
        stored.add(row.key)
        new.append(row)
    if not new:
        return result
    customers = _customers(new)
    tags = _tags(new)
    items = FeedbackItem.objects.bulk_create(
        [
            FeedbackItem(
                team=row.team,
                subject=row.pushed.subject,
                customer_id=customers.get(row.pushed.email),
                status=ItemStatus.NEW,
                external_id=row.pushed.external_id,
                first_message_at=row.pushed.received_at or now,
                last_message_at=row.pushed.received_at or now,
                search_document=search_document_of(row.pushed.subject, [row.pushed.text]),
            )
            for row in new
        ]
    )
    messages = Message.objects.bulk_create(
        [
            Message(
                team=row.team,
                item=item,
                direction=Direction.IN,
                lane=Lane.CUSTOMER,
                identity_hash=(
                    push_identity(item.pk, row.pushed.text)
                    if row.pushed.external_id
                    else row.content_hash
                ),
                sender_name=row.pushed.sender_name,
                sender=row.pushed.email,
                reply_to=row.pushed.email,
                subject=row.pushed.subject,
                text=row.pushed.text,
                sent_at=row.pushed.received_at or now,
                received_at=row.pushed.received_at or now,
                thread_reason=ThreadReason.NEW,
            )
            for row, item in zip(new, items, strict=True)
        ]
    )
    through = FeedbackItem.tags.through
    through.objects.bulk_create(
        [
            through(feedbackitem_id=item.pk, tag_id=tags[(row.team.pk, normalised_key(name))])
            for row, item in zip(new, items, strict=True)
            for name in row.pushed.tag_names
        ]
    )
    for item, message in zip(items, messages, strict=True):
        # Their handlers take the transaction's items at once (one duplicate check, one SLA
        # start per chunk of them: feedback.apps).
        events.emit("feedback.item_created", item_id=item.pk)
        events.emit("feedback.message_received", message_id=message.pk, item_id=item.pk)
    # Scored after the commit, one task for the batch (``feedback.services.sentiment``).
    sentiment_queue(message.pk for message in messages)
    result.created += len(items)
    return result


def _customers(rows: list[_Checked]) -> dict[str, int]:
    """The customer id of each row's address, unknown senders created as ``item_ingest``
    creates them (by the system, attached to the account owning their domain, free-mail
    domains excepted); an address the directory refuses has none."""
    names: dict[str, str] = {}
    for row in rows:
        names.setdefault(row.pushed.email, row.pushed.customer_name)
    found = _customers_by_address(names)
    unknown = [email for email in names if email not in found]
    if not unknown:
        return found
    domains = {account_domain(email).rstrip(".") for email in unknown} - {""}
    accounts = dict(
        AccountDomain.objects.filter(domain__in=domains).values_list("domain", "account__name")
    )
    customers_import_rows(
        actor=SYSTEM,
        rows=[
            CustomerRow(
                line=index,
                email=email,
                fields={"name": customer_name_from_sender(names[email])},
                account=accounts.get(account_domain(email).rstrip(".")),
            )
            for index, email in enumerate(unknown)
        ],
    )
    found.update(_customers_by_address(unknown))
    return found


def _customers_by_address(emails) -> dict[str, int]:
    """Customer ids by address, main or further (as ``customer_find_by_email`` finds them)."""
    keys = {normalised_key(email): email for email in emails}
    found: dict[str, int] = {}
    for key, customer_id in Customer.objects.filter(email_key__in=keys).values_list(
        "email_key", "pk"
    ):
        found[keys[key]] = customer_id
    others = keys.keys() - {normalised_key(email) for email in found}
    if others:
        for key, customer_id in CustomerEmail.objects.filter(email_key__in=others).values_list(
            "email_key", "customer_id"
        ):
            found.setdefault(keys[key], customer_id)
    return found


def _tags(rows: list[_Checked]) -> dict[tuple[int, str], int]:
    """The tag id of every (team, tag name key) the rows name, each created on first use."""
    wanted: dict[tuple[int, str], tuple[Team, str]] = {}
    for row in rows:
        for name in row.pushed.tag_names:
            wanted.setdefault((row.team.pk, normalised_key(name)), (row.team, name))
    if not wanted:
        return {}

    def look_up() -> dict[tuple[int, str], int]:
        team_ids = {team_id for team_id, _ in wanted}
        keys = {key for _, key in wanted}
        return {
            (team_id, key): pk
            for team_id, key, pk in Tag.objects.filter(
                team_id__in=team_ids, name_key__in=keys
            ).values_list("team_id", "name_key", "pk")
        }

    found = look_up()
    missing = [wanted[key] for key in wanted.keys() - found.keys()]
    if missing:
        # A concurrent writer may create the same tag meanwhile: its row is kept, ours skipped.
        Tag.objects.bulk_create(
            [Tag(team=team, name=name) for team, name in missing], ignore_conflicts=True
        )
        for team_id in {team.pk for team, _ in missing}:
            team_choices_changed(team_id)
        found = look_up()
    return found
