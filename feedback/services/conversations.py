"""Threading: which item a parsed mail belongs to, and why.

In order: for machine mail, the message it reports on (a bounce's or receipt's original
Message-ID); then In-Reply-To, then References (most recent first) against the team's stored
messages, our outbound ones included; then a signed reply token in the plus-address of the
channel's public address. A subject never threads: two customers who both write "Invoice"
are two conversations.
"""

from dataclasses import dataclass

from feedback.mail import ParsedMessage, plus_tokens
from feedback.models import Channel, FeedbackItem, Message, ThreadReason
from feedback.tokens import item_id_from_token
from portal.models import Team


@dataclass(frozen=True)
class Thread:
    item: FeedbackItem | None
    reason: str


def _item_of(team: Team, message_id: str) -> FeedbackItem | None:
    """The item of the most recent message of the team with this Message-ID (two different
    mails may share one)."""
    if not message_id:
        return None
    found = (
        Message.objects.filter(team=team, external_id=message_id, item__isnull=False)
        .select_related("item")
        .order_by("-sent_at", "-pk")
        .first()
    )
    return found.item if found else None


def _item_of_references(team: Team, references: list[str]) -> FeedbackItem | None:
    wanted = [reference for reference in references if reference]
    if not wanted:
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
    *, team: Team, channel: Channel | None, parsed: ParsedMessage, machine: bool
) -> Thread:
    """The item ``parsed`` belongs to, or None with ``new`` (a customer's mail opens one) or
    ``unattached`` (machine mail about nothing we know opens none)."""
    if machine:
        item = _item_of(team, parsed.original_message_id)
        if item is not None:
            return Thread(item, ThreadReason.ORIGINAL_MESSAGE)
    item = _item_of(team, parsed.in_reply_to)
    if item is not None:
        return Thread(item, ThreadReason.IN_REPLY_TO)
    item = _item_of_references(team, parsed.references)
    if item is not None:
        return Thread(item, ThreadReason.REFERENCES)
    item = _item_of_token(team, channel, parsed)
    if item is not None:
        return Thread(item, ThreadReason.REPLY_TOKEN)
    return Thread(None, ThreadReason.UNATTACHED if machine else ThreadReason.NEW)


def is_own_address(channel: Channel | None, address: str) -> bool:
    """Whether ``address`` is the channel's public address (with or without a plus part):
    mail from it is a copy of our own, never a customer's."""
    if channel is None or not channel.address or not address:
        return False
    own_local, _, own_domain = channel.address.lower().rpartition("@")
    local, _, domain = address.lower().rpartition("@")
    return domain == own_domain and local.split("+", 1)[0] == own_local.split("+", 1)[0]
