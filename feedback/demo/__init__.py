"""The feedback part of the demo company (``manage.py seed_demo``): an inbound e-mail webhook
channel fed a few hundred generated mails through the real pipeline, and a disabled IMAP
channel. ``content`` and ``mails`` are pure; ``seed`` writes."""

from feedback.demo.mails import ITEMS, DemoMail, build_mails, refused_post
from feedback.demo.seed import (
    DEMO_WEBHOOK_SECRET,
    IMAP_CHANNEL,
    SUPPORT_ADDRESS,
    TEAM_SLUG,
    WEBHOOK_CHANNEL,
    demo_mails,
    seed_feedback,
)

__all__ = [
    "DEMO_WEBHOOK_SECRET",
    "IMAP_CHANNEL",
    "ITEMS",
    "SUPPORT_ADDRESS",
    "TEAM_SLUG",
    "WEBHOOK_CHANNEL",
    "DemoMail",
    "build_mails",
    "demo_mails",
    "refused_post",
    "seed_feedback",
]
