"""The feedback parts of the demo company (``manage.py seed_demo``): an inbound e-mail webhook
channel fed a few hundred generated mails through the real pipeline and a disabled IMAP channel
(part "feedback"), then an App Store review feed, the community forum, Mastodon mentions, a
Zendesk help desk and the website widget with what customers said on each (part "feedback
channels"). ``content``, ``mails``, ``voices``, ``remote`` and ``desk`` are pure; ``seed`` and
``channels`` write."""

from feedback.demo.channels import (
    FEED_CHANNEL,
    FORUM_CHANNEL,
    MASTODON_CHANNEL,
    WIDGET_CHANNEL,
    ZENDESK_CHANNEL,
    seed_feedback_channels,
)
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
    "FEED_CHANNEL",
    "FORUM_CHANNEL",
    "IMAP_CHANNEL",
    "ITEMS",
    "MASTODON_CHANNEL",
    "SUPPORT_ADDRESS",
    "TEAM_SLUG",
    "WEBHOOK_CHANNEL",
    "WIDGET_CHANNEL",
    "ZENDESK_CHANNEL",
    "DemoMail",
    "build_mails",
    "demo_mails",
    "refused_post",
    "seed_feedback",
    "seed_feedback_channels",
]
