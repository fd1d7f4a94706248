"""An item with one message of every kind the item page shows, for the page's tests and its
browser screenshots: a customer's HTML mail with quoted history and a signature, an internal
note, a reply that failed to send, a widget message with a screenshot attachment, and a forum
post with its link."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.core.files.base import ContentFile

from feedback.models import (
    Attachment,
    DeliveryStatus,
    Direction,
    FeedbackItem,
    ItemPriority,
    Message,
    Sentiment,
    ThreadReason,
)
from portal.models import Role, Team, Tier
from tests.factories import (
    AccountFactory,
    CustomerFactory,
    MembershipFactory,
    TeamFactory,
    UserFactory,
)
from tests.feedback.factories import (
    SUPPORT_ADDRESS,
    ChannelFactory,
    FeedbackItemFactory,
    MessageFactory,
    TagFactory,
)

START = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
MAIL_HTML = '<p>The <strong>invoice</strong> export fails with a timeout.</p><p><a href="https://example.test/docs">docs</a></p>'
# Left in the text a message would carry if sanitising were skipped; the page never shows it.
SCRIPT = "<script>alert('x')</script>"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92"
    b"\xef\x00\x00\x00\x00IEND\xaeB`\x82"
)
FORUM_URL = "https://forum.example.test/t/export-timeout/42"


@dataclass
class ItemWorld:
    team: Team
    other_team: Team
    item: FeedbackItem
    agent: object
    colleague: object
    viewer: object
    mail: Message
    note: Message
    failed: Message
    widget: Message
    forum: Message
    other_item_same_team: FeedbackItem
    other_item_other_team: FeedbackItem


def build(team: Team | None = None, agent=None) -> ItemWorld:
    team = team or TeamFactory(name="Customer Care", slug="care")
    other_team = TeamFactory(name="Billing", slug="billing")
    if agent is None:
        agent = UserFactory(username="sam", first_name="Sam", last_name="Agent")
        MembershipFactory(user=agent, team=team, role=Role.AGENT)
    colleague = UserFactory(username="ada", first_name="Ada", last_name="Lead")
    MembershipFactory(user=colleague, team=team, role=Role.LEAD)
    viewer = UserFactory(username="vic", first_name="Vic", last_name="Viewer")
    MembershipFactory(user=viewer, team=team, role=Role.VIEWER)
    account = AccountFactory(name="Haddad Logistics", plan="Enterprise", mrr=Decimal("7200.00"))
    customer = CustomerFactory(
        name="Omar Haddad", email="omar@haddad.example", account=account, tier=Tier.VIP
    )
    mail_channel = ChannelFactory(team=team, kind="imap", address=SUPPORT_ADDRESS, name="Support")
    widget_channel = ChannelFactory(team=team, kind="widget", address="", name="In-app widget")
    forum_channel = ChannelFactory(team=team, kind="discourse", address="", name="Forum")
    item = FeedbackItemFactory(
        team=team,
        channel=mail_channel,
        customer=customer,
        subject="Invoice export times out",
        status="open",
        priority=ItemPriority.URGENT,
        priority_reason="VIP customer",
        first_message_at=START,
        last_message_at=START + timedelta(hours=4),
        first_response_due_at=START + timedelta(hours=1),
        resolution_due_at=START + timedelta(hours=24),
        sentiment=Sentiment.NEGATIVE,
    )
    item.tags.add(TagFactory(team=team, name="billing", colour="#d32f2f"))
    TagFactory(team=team, name="export")
    mail = MessageFactory(
        item=item,
        channel=mail_channel,
        sender="omar@haddad.example",
        sender_name="Omar Haddad",
        subject=item.subject,
        text="The invoice export fails with a timeout.",
        html=MAIL_HTML,
        quoted_text="> On Monday you wrote: try again later",
        signature="Omar Haddad\nHaddad Logistics",
        sentiment=Sentiment.NEGATIVE,
        sent_at=START,
        received_at=START,
    )
    note = MessageFactory(
        item=item,
        channel=None,
        direction=Direction.OUT,
        is_note=True,
        author=colleague,
        sender="",
        text="Checked the export job: it hits the 30 s limit.",
        sent_at=START + timedelta(hours=1),
        received_at=START + timedelta(hours=1),
        thread_reason=ThreadReason.NEW,
    )
    failed = MessageFactory(
        item=item,
        channel=mail_channel,
        direction=Direction.OUT,
        author=agent,
        sender=SUPPORT_ADDRESS,
        to=["omar@haddad.example"],
        text="We are looking into it.",
        delivery=DeliveryStatus.FAILED,
        delivery_error="550 mailbox unavailable",
        delivery_attempts=1,
        sent_at=START + timedelta(hours=2),
        received_at=START + timedelta(hours=2),
    )
    widget = MessageFactory(
        item=item,
        channel=widget_channel,
        sender="omar@haddad.example",
        sender_name="Omar Haddad",
        text="Here is a screenshot of the error. " + SCRIPT,
        sent_at=START + timedelta(hours=3),
        received_at=START + timedelta(hours=3),
        thread_reason=ThreadReason.REPLY_TOKEN,
    )
    attachment = Attachment(
        message=widget, filename="screenshot.png", content_type="image/png", size=len(PNG)
    )
    attachment.file.save("screenshot.png", ContentFile(PNG), save=False)
    attachment.save()
    forum = MessageFactory(
        item=item,
        channel=forum_channel,
        sender="",
        sender_handle="omar_h",
        sender_name="omar_h",
        external_url=FORUM_URL,
        text="Same timeout here on the forum.",
        sent_at=START + timedelta(hours=4),
        received_at=START + timedelta(hours=4),
        thread_reason=ThreadReason.REFERENCES,
    )
    other_same = FeedbackItemFactory(team=team, customer=customer, subject="Password reset loop")
    MessageFactory(item=other_same, text="Reset loops")
    other_team_item = FeedbackItemFactory(
        team=other_team, customer=customer, subject="Refund for March"
    )
    MessageFactory(item=other_team_item, text="Refund please")
    return ItemWorld(
        team=team,
        other_team=other_team,
        item=item,
        agent=agent,
        colleague=colleague,
        viewer=viewer,
        mail=mail,
        note=note,
        failed=failed,
        widget=widget,
        forum=forum,
        other_item_same_team=other_same,
        other_item_other_team=other_team_item,
    )
