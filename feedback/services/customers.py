"""Who sent it: a sender's address resolves to a Customer of the portal's directory.

The address is looked up by its normalised key (``portal.selectors.customer_find_by_email``);
an unknown sender becomes a new customer, created by the system actor through
``portal.services.customer_create`` (audited, as every directory write), and attached to the
account that owns their domain, unless the domain is a free-mail provider's: a gmail.com
address says nothing about the company someone works for. Only senders become customers;
addresses in To and Cc never do.

Channels without e-mail (forums, social media, ticket queues) name their sender by a handle
(``ParsedMessage.sender_handle``, qualified by its instance, of an ``IdentityKind``). The handle
is the sender's identity on that channel, so it decides first: the customer holding it
(``portal.selectors.customer_ids_find_by_identities``). An unknown handle that comes with an
address of a known customer is that customer's (a Zendesk requester who also mailed us), and
the handle is added to their identities (``portal.services.customer_update``, the system's,
audited), so that their messages without an address find them too; when the directory refuses
that (another customer took the handle meanwhile, or they hold the most handles allowed) the
address still decides. Otherwise the handle becomes a new customer holding it
(``portal.services.customer_identities_ensure``, the system's, audited), with the address when
one came that nobody has yet (a new Zendesk requester: one person, whom a later mail from that
address finds) and the account of its domain, else without an e-mail address; staff merge
them with a known customer later. A handle the directory refuses (an unknown kind, too long)
is treated as absent.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from feedback.models import FeedbackItem
from feedback.services.duplicates import duplicates_queue
from feedback.services.sla import customer_items_priority_refresh
from portal import selectors as portal_selectors
from portal import services as portal_services
from portal.actors import SYSTEM
from portal.fields import normalised_key
from portal.models import Account, Customer
from portal.services.directory_bulk import CustomerRow, customers_import_rows
from portal.services.identities import IdentityRow
from portal.validation import one_line

# Domains anyone can get an address at: never matched to an account.
FREE_MAIL_DOMAINS = frozenset(
    {
        "aim.com",
        "aol.com",
        "fastmail.com",
        "gmail.com",
        "gmx.at",
        "gmx.ch",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "googlemail.com",
        "hey.com",
        "hotmail.co.uk",
        "hotmail.com",
        "hotmail.de",
        "hotmail.fr",
        "icloud.com",
        "libero.it",
        "live.com",
        "mac.com",
        "mail.com",
        "mail.ru",
        "me.com",
        "msn.com",
        "orange.fr",
        "outlook.com",
        "outlook.de",
        "pm.me",
        "proton.me",
        "protonmail.ch",
        "protonmail.com",
        "qq.com",
        "t-online.de",
        "tutanota.com",
        "web.de",
        "yahoo.co.uk",
        "yahoo.com",
        "yahoo.de",
        "yahoo.fr",
        "yandex.com",
        "yandex.ru",
        "zoho.com",
    }
)

_NAME_MAX = Customer._meta.get_field("name").max_length


def is_free_mail(domain: str) -> bool:
    return domain.strip().lower().rstrip(".") in FREE_MAIL_DOMAINS


def account_domain(address: str) -> str:
    """The domain of ``address`` that may name an account; empty for free-mail domains."""
    domain = address.rpartition("@")[2].strip().lower()
    if not domain or is_free_mail(domain):
        return ""
    return domain


def account_for_address(address: str) -> Account | None:
    """The account owning the address's domain; None for free-mail domains."""
    domain = account_domain(address)
    if not domain:
        return None
    return portal_selectors.account_find_by_domain(domain=domain)


def customer_name_from_sender(name: str) -> str:
    """A sender's display name as a new customer's name: one line, NUL-free, within the cap."""
    return one_line(name)[:_NAME_MAX]


def customer_for_sender(*, address: str, name: str = "") -> Customer | None:
    """The customer behind ``address``, created when unknown; None when the address is not
    one a customer can have (the directory refuses it)."""
    address = (address or "").strip()
    if not address:
        return None
    found = portal_selectors.customer_find_by_email(email=address)
    if found is not None:
        return found
    try:
        return portal_services.customer_create(
            actor=SYSTEM,
            email=address,
            name=customer_name_from_sender(name),
            account=account_for_address(address),
        )
    except ValidationError:
        # Either the address is not valid for the directory, or another worker created the
        # same customer a moment ago (the unique address refused ours): look again.
        return portal_selectors.customer_find_by_email(email=address)


def _key(address: str) -> str:
    return normalised_key(address) or address


# A handle as the directory keys it: (kind, normalised handle).
HandleKey = tuple[str, str]


def handle_clean(kind: str, handle: str) -> tuple[str, str] | None:
    """``(kind, handle)`` checked as the directory checks it; None when there is no handle or
    the directory would refuse it."""
    if not (handle or "").strip():
        return None
    try:
        return portal_services.identity_clean(kind, handle)
    except ValidationError:
        return None


def handle_key(kind: str, handle: str) -> HandleKey:
    return (kind, normalised_key(handle))


def customer_id_for_handle(
    *, kind: str, handle: str, name: str = "", address: str = ""
) -> int | None:
    """The customer id of a sender known by a handle (see the module's docstring), created
    when unknown; the address's customer (``customer_for_sender``) when the handle is
    refused."""
    cleaned = handle_clean(kind, handle)
    if cleaned is None:
        customer = customer_for_sender(address=address, name=name)
        return customer.pk if customer is not None else None
    key = handle_key(*cleaned)
    found = portal_selectors.customer_ids_find_by_identities(identities=[cleaned]).get(key)
    if found is not None:
        return found
    address = (address or "").strip()
    account = None
    if address:
        customer = portal_selectors.customer_find_by_email(email=address)
        if customer is not None:
            identity_attach(customer_id=customer.pk, kind=cleaned[0], handle=cleaned[1])
            return customer.pk
        account = account_for_address(address)
    row = IdentityRow(
        *cleaned,
        customer_name_from_sender(name),
        address,
        account.pk if account is not None else None,
    )
    created = portal_services.customer_identities_ensure(actor=SYSTEM, identities=[row])
    return created.get(key)


def identity_attach(*, customer_id: int, kind: str, handle: str) -> bool:
    """Add the handle to the customer's identities; False when the directory refuses it."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        return False
    held = list(customer.identities.values_list("kind", "handle"))
    try:
        portal_services.customer_update(
            actor=SYSTEM, customer=customer, identities=[*held, (kind, handle)]
        )
    except ValidationError:
        return False
    return True


@dataclass
class ChunkSenders:
    """The senders of one chunk of mail (parsed in one transaction), found and created as a
    set: ``look_up`` (addresses) and ``look_up_handles`` find the known ones in one query each
    before the chunk is stored; a new item of an unknown sender is created without its
    customer, and ``create`` creates those customers at the chunk's end in one go (by address
    through ``customers_import_rows``, by handle through ``customer_identities_ensure``, the
    system's, audited as ``customer_create`` audits) and sets them on their items. Nothing
    reads an item's customer before the commit, and events run after it. Only for the length
    of that transaction: a rolled-back chunk drops it with everything else."""

    # Customer id by normalised address; None for an address the directory refused.
    ids: dict[str, int | None] = field(default_factory=dict)
    # Unknown senders by normalised address: the address and the name of their first mail.
    pending: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Items waiting for the customer of an address (its key) or of a handle (a HandleKey).
    waiting: list[tuple[FeedbackItem, str | HandleKey]] = field(default_factory=list)
    looked_up: set[str] = field(default_factory=set)
    # The same for handles: customer ids by HandleKey, the unknown ones as (kind, handle,
    # name, address) of their first message, and the keys looked up.
    handle_ids: dict[HandleKey, int] = field(default_factory=dict)
    handles_pending: dict[HandleKey, tuple[str, str, str, str]] = field(default_factory=dict)
    handles_looked_up: set[HandleKey] = field(default_factory=set)
    # Unknown handles that came with a known customer's address: added to that customer's
    # identities by ``create``, as (customer id, kind, handle).
    attach: dict[HandleKey, tuple[int, str, str]] = field(default_factory=dict)

    def look_up(self, addresses: Iterable[str]) -> None:
        wanted = {_key(a.strip()): a.strip() for a in addresses if a and a.strip()}
        unknown = [a for key, a in wanted.items() if key not in self.looked_up]
        if unknown:
            self.ids.update(portal_selectors.customer_ids_find_by_emails(emails=unknown))
            self.looked_up.update(wanted)

    def look_up_handles(self, handles: Iterable[tuple[str, str]]) -> None:
        """Find the customers of ``(kind, handle)`` pairs in one query (refused ones skipped)."""
        wanted = {}
        for kind, handle in handles:
            cleaned = handle_clean(kind, handle)
            if cleaned is not None and handle_key(*cleaned) not in self.handles_looked_up:
                wanted[handle_key(*cleaned)] = cleaned
        if wanted:
            found = portal_selectors.customer_ids_find_by_identities(identities=wanted.values())
            self.handle_ids.update(found)
            self.handles_looked_up.update(wanted)

    def customer_id(
        self, address: str, name: str, handle_kind: str = "", handle: str = ""
    ) -> int | None:
        """The sender's customer id when known; None otherwise (an unknown sender is then
        remembered, with this message's name, for ``create``). A handle decides first (see
        the module's docstring)."""
        cleaned = handle_clean(handle_kind, handle)
        if cleaned is not None:
            key = handle_key(*cleaned)
            if key not in self.handles_looked_up:
                self.look_up_handles([cleaned])
            if key in self.handle_ids:
                return self.handle_ids[key]
            by_address = self._known(address)
            if by_address is not None:
                # The chunk's later messages of this handle are this customer's too.
                self.handle_ids[key] = by_address
                self.attach[key] = (by_address, *cleaned)
                return by_address
            self.handles_pending.setdefault(
                key, (*cleaned, customer_name_from_sender(name), (address or "").strip())
            )
            return None
        address = (address or "").strip()
        if not address:
            return None
        known = self._known(address)
        if known is not None or _key(address) in self.ids:
            return known
        self.pending.setdefault(_key(address), (address, name))
        return None

    def _known(self, address: str) -> int | None:
        """The customer id of ``address`` when the directory has one (looked up if needed)."""
        address = (address or "").strip()
        if not address:
            return None
        key = _key(address)
        if key not in self.looked_up:
            self.look_up([address])
        return self.ids.get(key)

    def wait(
        self, item: FeedbackItem, address: str, handle_kind: str = "", handle: str = ""
    ) -> None:
        """``item`` (of an unknown sender) gets its customer from ``create``."""
        cleaned = handle_clean(handle_kind, handle)
        if cleaned is not None:
            if handle_key(*cleaned) in self.handles_pending:
                self.waiting.append((item, handle_key(*cleaned)))
            return
        key = _key((address or "").strip())
        if key in self.pending:
            self.waiting.append((item, key))

    def create(self) -> None:
        for customer_id, kind, handle in self.attach.values():
            identity_attach(customer_id=customer_id, kind=kind, handle=handle)
        self.attach.clear()
        if not self.pending and not self.handles_pending:
            return
        # Handles first: a new sender's handle and address become one customer holding both,
        # whom the chunk's mail from that address then finds (``_create_by_address`` looks the
        # addresses up again before creating any).
        self._create_by_handle()
        self._create_by_address()
        items = []
        for item, key in self.waiting:
            item.customer_id = (
                self.handle_ids.get(key) if isinstance(key, tuple) else self.ids.get(key)
            )
            if item.customer_id is not None:
                items.append(item)
        self.waiting.clear()
        FeedbackItem.objects.bulk_update(items, ["customer"])

    def _create_by_handle(self) -> None:
        if not self.handles_pending:
            return
        accounts = portal_selectors.accounts_find_by_domains(
            domains=[account_domain(row[3]) for row in self.handles_pending.values() if row[3]]
        )
        rows = []
        for kind, handle, name, address in self.handles_pending.values():
            account = accounts.get(account_domain(address).rstrip(".")) if address else None
            rows.append(IdentityRow(kind, handle, name, address, account.pk if account else None))
        # Race-safe on its own: a handle or address another writer stored meanwhile is found.
        self.handle_ids.update(
            portal_services.customer_identities_ensure(actor=SYSTEM, identities=rows)
        )
        self.handles_pending.clear()

    def _create_by_address(self) -> None:
        if not self.pending:
            return
        # Another worker may have created some of them since the look-up: those are found,
        # never updated (the import would update a customer it finds).
        addresses = [address for address, _name in self.pending.values()]
        self.ids.update(portal_selectors.customer_ids_find_by_emails(emails=addresses))
        new = {key: value for key, value in self.pending.items() if key not in self.ids}
        if new:
            accounts = portal_selectors.accounts_find_by_domains(
                domains=[account_domain(address) for address, _name in new.values()]
            )
            rows = []
            for line, (address, name) in enumerate(new.values()):
                account = accounts.get(account_domain(address).rstrip("."))
                rows.append(
                    CustomerRow(
                        line=line,
                        email=address,
                        fields={"name": customer_name_from_sender(name)},
                        account=account.name if account is not None else None,
                        other_emails=[],
                    )
                )
            # Refused addresses are reported as rejections: they stay without a customer.
            customers_import_rows(actor=SYSTEM, rows=rows)
            created = portal_selectors.customer_ids_find_by_emails(
                emails=[address for address, _name in new.values()]
            )
            self.ids.update({key: created.get(key) for key in new})
        self.pending.clear()


@transaction.atomic
def customer_items_move(*, source_id: int, target_id: int) -> int:
    """On ``portal.customers_merged``: the merged (source) customer's items become the
    target's, in one UPDATE, take the priority the target's tier and account give (an open
    item of a VIP is urgent, whoever it was filed under), and are checked for duplicates among
    the target's other items after the commit (``duplicates_queue``: one person's mail and
    forum post, known apart until the merge, may say the same); run again, it finds nothing
    left to move. The number moved."""
    moved = list(
        FeedbackItem.objects.select_for_update()
        .filter(customer_id=source_id)
        .values_list("pk", flat=True)
    )
    if not moved:
        return 0
    FeedbackItem.objects.filter(pk__in=moved, customer_id=source_id).update(customer_id=target_id)
    customer_items_priority_refresh(customer_id=target_id)
    duplicates_queue(moved)
    return len(moved)
