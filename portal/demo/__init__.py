"""The demo company, built by ``manage.py seed_demo``.

Everything is generated from one fixed seed, so every run describes the same company: Kitewire,
a scheduling product for field-service firms, with its teams, customer accounts and North Star.
The data is first built as plain specs (no database), then written through ``portal.services``
with the demo superuser as the actor, so the demo only holds data the portal itself accepts.

The company is built in parts (the logins, the organisation, the directory, the North Star),
each once: ``seed`` records a built part in ``DemoPart`` and skips it from then on, so what
people change or delete in the demo stays as they left it. Building a part creates only what is
missing under its natural keys (username, slug, account name, e-mail address, date) and never
updates a row that exists. Later capabilities append their own part to ``parts.PARTS``.

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
from portal.demo.parts import NO_DEMO_ACTOR, PARTS, login_lines, login_table, seed

__all__ = [
    "COMPANY",
    "CUSTOMERS_WITH_FURTHER_ADDRESSES",
    "NORTH_STAR_NAME",
    "NO_DEMO_ACTOR",
    "PARTS",
    "PRIORITY_CUSTOMERS",
    "SEED",
    "USERS",
    "VIP_CUSTOMERS",
    "build_accounts",
    "build_customers",
    "login_lines",
    "login_table",
    "seed",
]
