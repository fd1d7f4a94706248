"""The demo company, built by ``manage.py seed_demo``.

Everything is generated from one fixed seed, so every run describes the same company: Kitewire,
a scheduling product for field-service firms, with its teams, customer accounts and North Star.
The data is first built as plain specs (no database), then written through ``portal.services``
with the demo superuser as the actor, so the demo only holds data the portal itself accepts.

Each ``seed_*`` function is keyed on natural keys (username, slug, account name, e-mail address,
date) and writes only what is missing or different: running the seed twice changes nothing.
Later capabilities add their own ``seed_*`` function and a line in ``seed``.

E-mail addresses use the reserved ``.example`` top-level domain (RFC 2606), so that a demo reply
can never reach a real inbox.
"""

from portal.demo.data import (
    COMPANY,
    CUSTOMERS_WITH_FURTHER_ADDRESSES,
    NORTH_STAR_NAME,
    PRIORITY_CUSTOMERS,
    SEED,
    USERS,
    VIP_CUSTOMERS,
    build_accounts,
    build_customers,
)
from portal.demo.seed import login_lines, seed

__all__ = [
    "COMPANY",
    "CUSTOMERS_WITH_FURTHER_ADDRESSES",
    "NORTH_STAR_NAME",
    "PRIORITY_CUSTOMERS",
    "SEED",
    "USERS",
    "VIP_CUSTOMERS",
    "build_accounts",
    "build_customers",
    "login_lines",
    "seed",
]
