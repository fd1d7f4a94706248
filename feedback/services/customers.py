"""Who sent it: a sender's address resolves to a Customer of the portal's directory.

The address is looked up by its normalised key (``portal.selectors.customer_find_by_email``);
an unknown sender becomes a new customer, created by the system actor through
``portal.services.customer_create`` (audited, as every directory write), and attached to the
account that owns their domain, unless the domain is a free-mail provider's: a gmail.com
address says nothing about the company someone works for. Only senders become customers;
addresses in To and Cc never do.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from portal import selectors as portal_selectors
from portal import services as portal_services
from portal.actors import SYSTEM
from portal.fields import normalised_key
from portal.models import Account, Customer

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


@dataclass
class SenderCache:
    """What one batch of mail (parsed in one transaction) already looked up: customers by
    normalised address and accounts by domain. Many mails of a batch come from one sender or
    one company; each is then one look-up per batch instead of one per mail. Only for the
    length of that transaction: a rolled-back batch drops its cache with it."""

    customers: dict[str, Customer | None] = field(default_factory=dict)
    accounts: dict[str, Account | None] = field(default_factory=dict)


def account_for_address(address: str, cache: SenderCache | None = None) -> Account | None:
    """The account owning the address's domain; None for free-mail domains."""
    domain = account_domain(address)
    if not domain:
        return None
    if cache is not None and domain in cache.accounts:
        return cache.accounts[domain]
    account = portal_selectors.account_find_by_domain(domain=domain)
    if cache is not None:
        cache.accounts[domain] = account
    return account


def customer_name_from_sender(name: str) -> str:
    """A sender's display name as a new customer's name: one line, NUL-free, within the cap."""
    return " ".join((name or "").replace("\x00", "").split())[:_NAME_MAX]


def customer_for_sender(
    *, address: str, name: str = "", cache: SenderCache | None = None
) -> Customer | None:
    """The customer behind ``address``, created when unknown; None when the address is not
    one a customer can have (the directory refuses it). ``cache`` remembers the answer for
    the rest of the batch (a refused address too: it is refused again)."""
    address = (address or "").strip()
    if not address:
        return None
    key = normalised_key(address) if cache is not None else ""
    if key and key in cache.customers:
        return cache.customers[key]
    customer = _find_or_create(address, name, cache)
    if key:
        cache.customers[key] = customer
    return customer


def _find_or_create(address: str, name: str, cache: SenderCache | None) -> Customer | None:
    found = portal_selectors.customer_find_by_email(email=address)
    if found is not None:
        return found
    try:
        return portal_services.customer_create(
            actor=SYSTEM,
            email=address,
            name=customer_name_from_sender(name),
            account=account_for_address(address, cache),
        )
    except ValidationError:
        # Either the address is not valid for the directory, or another worker created the
        # same customer a moment ago (the unique address refused ours): look again.
        return portal_selectors.customer_find_by_email(email=address)
