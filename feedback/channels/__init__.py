"""Channel connectors and their explicit registry.

Adding a channel is one module under ``feedback/channels/``, one line in ``CONNECTORS``,
recorded fixtures and tests. Nothing registers itself on import.
"""

from feedback.channels.base import (
    CheckResult,
    ConfigError,
    Connector,
    ConnectorError,
    FetchedItem,
    FetchResult,
)
from feedback.channels.discourse import DiscourseConnector
from feedback.channels.feed import FeedConnector
from feedback.channels.imap import ImapConnector
from feedback.channels.mastodon import MastodonConnector
from feedback.channels.webhook import WebhookConnector
from feedback.channels.widget import WidgetConnector
from feedback.channels.zendesk import ZendeskConnector

UNKNOWN_KIND = "unknown channel kind {kind!r}; known kinds: {known}"

CONNECTORS: dict[str, Connector] = {
    ImapConnector.kind: ImapConnector(),
    WebhookConnector.kind: WebhookConnector(),
    FeedConnector.kind: FeedConnector(),
    WidgetConnector.kind: WidgetConnector(),
    DiscourseConnector.kind: DiscourseConnector(),
    MastodonConnector.kind: MastodonConnector(),
    ZendeskConnector.kind: ZendeskConnector(),
}


# What each kind is called on the pages and in messages.
KIND_LABELS = {
    "imap": "IMAP mailbox",
    "webhook": "Inbound e-mail webhook",
    "widget": "Web feedback widget",
    "zendesk": "Zendesk tickets",
    "discourse": "Discourse forum",
    "mastodon": "Mastodon mentions or hashtag",
    "feed": "RSS / Atom feed",
}


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def get_connector(kind: str) -> Connector:
    """The connector for ``kind``; ConfigError (never retryable) for a kind nobody knows."""
    try:
        return CONNECTORS[kind]
    except (KeyError, TypeError):
        known = ", ".join(sorted(CONNECTORS))
        raise ConfigError(UNKNOWN_KIND.format(kind=kind, known=known), field="kind") from None


__all__ = [
    "CONNECTORS",
    "KIND_LABELS",
    "UNKNOWN_KIND",
    "CheckResult",
    "ConfigError",
    "Connector",
    "ConnectorError",
    "FetchResult",
    "FetchedItem",
    "get_connector",
    "kind_label",
]
