"""Who sent it: a sender's address resolves to a Customer of the portal's directory.

The address is looked up by its normalised key (``portal.selectors.customer_find_by_email``);
an unknown sender becomes a new customer, created by the system actor through
``portal.services.customer_create`` (audited, as every directory write), and attached to the
account that owns their domain, unless the domain is a free-mail provider's: a gmail.com
address says nothing about the company someone works for. Only senders become customers;
addresses in To and Cc never do.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from feedback.models import FeedbackItem
from portal import selectors as portal_selectors
from portal import services as portal_services
from portal.actors import SYSTEM
from portal.fields import normalised_key
from portal.models import Account, Customer
from portal.services.directory_bulk import CustomerRow, customers_import_rows

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
    return " ".join((name or "").replace("\x00", "").split())[:_NAME_MAX]


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


@dataclass
class ChunkSenders:
    """The senders of one chunk of mail (parsed in one transaction), found and created as a
    set: ``look_up`` finds the known ones in one query before the chunk is stored; a new
    item of an unknown sender is created without its customer and ``create`` creates those
    customers at the chunk's end in one go (``customers_import_rows``, the system's, audited
    as ``customer_create`` audits) and sets them on their items. Nothing reads an item's
    customer before the commit, and events run after it. Only for the length of that
    transaction: a rolled-back chunk drops it with everything else."""

    # Customer id by normalised address; None for an address the directory refused.
    ids: dict[str, int | None] = field(default_factory=dict)
    # Unknown senders by normalised address: the address and the name of their first mail.
    pending: dict[str, tuple[str, str]] = field(default_factory=dict)
    waiting: list[tuple[FeedbackItem, str]] = field(default_factory=list)
    looked_up: set[str] = field(default_factory=set)

    def look_up(self, addresses: Iterable[str]) -> None:
        wanted = {_key(a.strip()): a.strip() for a in addresses if a and a.strip()}
        unknown = [a for key, a in wanted.items() if key not in self.looked_up]
        if unknown:
            self.ids.update(portal_selectors.customer_ids_find_by_emails(emails=unknown))
            self.looked_up.update(wanted)

    def customer_id(self, address: str, name: str) -> int | None:
        """The sender's customer id when known; None otherwise (an unknown sender is then
        remembered, with this mail's name, for ``create``)."""
        address = (address or "").strip()
        if not address:
            return None
        key = _key(address)
        if key in self.ids:
            return self.ids[key]
        if key not in self.looked_up:
            self.look_up([address])
        if key in self.ids:
            return self.ids[key]
        self.pending.setdefault(key, (address, name))
        return None

    def wait(self, item: FeedbackItem, address: str) -> None:
        """``item`` (of an unknown sender) gets its customer from ``create``."""
        key = _key((address or "").strip())
        if key in self.pending:
            self.waiting.append((item, key))

    def create(self) -> None:
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
        items = []
        for item, key in self.waiting:
            item.customer_id = self.ids.get(key)
            if item.customer_id is not None:
                items.append(item)
        self.waiting.clear()
        FeedbackItem.objects.bulk_update(items, ["customer"])
