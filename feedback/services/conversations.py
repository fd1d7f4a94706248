"""Threading: which item a parsed mail belongs to, and why.

In order: for machine mail, the message it reports on (a bounce's or receipt's original
Message-ID); then In-Reply-To, then References (most recent first) against the team's stored
messages, our outbound ones included; then a signed reply token in the plus-address of the
channel's public address. A subject never threads: two customers who both write "Invoice"
are two conversations.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from feedback.channels import CONNECTORS
from feedback.mail import ParsedMessage, plus_tokens
from feedback.models import Channel, FeedbackItem, Message, ThreadReason
from feedback.tokens import item_id_from_token
from portal.models import Team


@dataclass(frozen=True)
class Thread:
    item: FeedbackItem | None
    reason: str


@dataclass
class ThreadIndex:
    """The items of a chunk's threading targets, read in one query (``load``) instead of one
    or two a mail, and kept current as the chunk stores messages (``add``): the same answers
    ``thread_for`` gets from the database, a reply to an earlier mail of the chunk included."""

    # (team id, Message-ID) -> (rank, item) of the most recent message with an item; the rank
    # orders as the database does: sent_at, then pk (a message the chunk stores after the
    # read has a pk above every stored one, and the chunk's own come in the order inserted).
    items: dict[tuple[int, str], tuple[tuple[datetime, int, int], FeedbackItem]] = field(
        default_factory=dict
    )
    added: int = 0

    def load(self, wanted: Iterable[tuple[int, str]]) -> None:
        wanted = {(team_id, message_id) for team_id, message_id in wanted if message_id}
        if not wanted:
            return
        stored = (
            Message.objects.filter(
                team_id__in={team_id for team_id, _ in wanted},
                external_id__in={message_id for _, message_id in wanted},
                item__isnull=False,
            )
            .select_related("item")
            .only("team_id", "external_id", "sent_at", "item")
        )
        for message in stored:
            key = (message.team_id, message.external_id)
            if key in wanted:
                self._keep(key, (message.sent_at, 0, message.pk), message.item)

    def add(self, team_id: int, message_id: str, sent_at: datetime, item: FeedbackItem) -> None:
        """A message the chunk stores (not necessarily inserted yet)."""
        if message_id:
            self.added += 1
            self._keep((team_id, message_id), (sent_at, 1, self.added), item)

    def _keep(
        self, key: tuple[int, str], rank: tuple[datetime, int, int], item: FeedbackItem
    ) -> None:
        known = self.items.get(key)
        if known is None or rank > known[0]:
            self.items[key] = (rank, item)

    def item_of(self, team: Team, message_id: str) -> FeedbackItem | None:
        known = self.items.get((team.pk, message_id)) if message_id else None
        return known[1] if known else None


def _item_of(team: Team, message_id: str, index: ThreadIndex | None = None) -> FeedbackItem | None:
    """The item of the most recent message of the team with this Message-ID (two different
    mails may share one)."""
    if index is not None:
        return index.item_of(team, message_id)
    if not message_id:
        return None
    found = (
        Message.objects.filter(team=team, external_id=message_id, item__isnull=False)
        .select_related("item")
        .order_by("-sent_at", "-pk")
        .first()
    )
    return found.item if found else None


def _item_of_references(
    team: Team, references: list[str], index: ThreadIndex | None = None
) -> FeedbackItem | None:
    wanted = [reference for reference in references if reference]
    if not wanted:
        return None
    if index is not None:
        for reference in reversed(wanted):
            item = index.item_of(team, reference)
            if item is not None:
                return item
        return None
    item_ids = dict(
        Message.objects.filter(team=team, external_id__in=wanted, item__isnull=False)
        .order_by("sent_at", "pk")
        .values_list("external_id", "item_id")
    )
    for reference in reversed(wanted):
        if reference in item_ids:
            return FeedbackItem.objects.filter(pk=item_ids[reference]).first()
    return None


def _item_of_token(
    team: Team, channel: Channel | None, parsed: ParsedMessage
) -> FeedbackItem | None:
    if channel is None or not channel.address:
        return None
    for token in plus_tokens(parsed, channel.address):
        item_id = item_id_from_token(token)
        if item_id is not None:
            item = FeedbackItem.objects.filter(team=team, pk=item_id).first()
            if item is not None:
                return item
    return None


def thread_for(
    *,
    team: Team,
    channel: Channel | None,
    parsed: ParsedMessage,
    machine: bool,
    index: ThreadIndex | None = None,
) -> Thread:
    """The item ``parsed`` belongs to, or None with ``new`` (a customer's mail opens one) or
    ``unattached`` (machine mail about nothing we know opens none). With ``index`` (a chunk's,
    loaded with every Message-ID ``parsed`` names) stored messages are looked up in it."""
    if machine:
        item = _item_of(team, parsed.original_message_id, index)
        if item is not None:
            return Thread(item, ThreadReason.ORIGINAL_MESSAGE)
    item = _item_of(team, parsed.in_reply_to, index)
    if item is not None:
        return Thread(item, ThreadReason.IN_REPLY_TO)
    item = _item_of_references(team, parsed.references, index)
    if item is not None:
        return Thread(item, ThreadReason.REFERENCES)
    item = _item_of_token(team, channel, parsed)
    if item is not None:
        return Thread(item, ThreadReason.REPLY_TOKEN)
    return Thread(None, ThreadReason.UNATTACHED if machine else ThreadReason.NEW)


def is_own_address(channel: Channel | None, address: str) -> bool:
    """Whether ``address`` is the channel's public address (with or without a plus part) on a
    mail channel: mail from it is a copy of our own, never a customer's. Other channels hold
    no copies of our mail (a widget's sender is whoever typed the address): never."""
    if channel is None or not channel.address or not address:
        return False
    connector = CONNECTORS.get(channel.kind)
    if connector is not None and not connector.mail:
        return False
    own_local, _, own_domain = channel.address.lower().rpartition("@")
    local, _, domain = address.lower().rpartition("@")
    return domain == own_domain and local.split("+", 1)[0] == own_local.split("+", 1)[0]
