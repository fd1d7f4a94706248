"""The demo's help desk tickets and widget messages, as the Zendesk connector and the widget's
form hand them to the pipeline: the tickets cut by the connector's own ``ticket_items``, the
widget's messages as the form's cleaned ``Submission`` values (the service stores them). Pure,
like ``feedback.demo.remote``.
"""

import html
import io
from collections.abc import Sequence
from datetime import datetime

from feedback.channels import FetchedItem
from feedback.channels.widget import Submission, reencode_screenshot
from feedback.channels.zendesk import config as zendesk_config
from feedback.channels.zendesk import payloads as zendesk_payloads
from feedback.demo import voices
from feedback.demo.remote import Repeat, when_written
from portal.demo.data import STAFF_DOMAIN, CustomerSpec

# The Zendesk help desk billing questions still go to: an example host, never reached.
ZENDESK_CONFIG = {
    "base_url": "https://kitewire.zendesk.example",
    "email": f"priya@{STAFF_DOMAIN}",
    "api_token": "demo-token-for-an-example-help-desk",
}
ZENDESK_FIRST_TICKET_ID = 30412
ZENDESK_FIRST_COMMENT_ID = 8810020
ZENDESK_FIRST_USER_ID = 3721000
ZENDESK_AGENT_ID = 3700011
USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0 Safari/537.36"
REPEATED_NOTE = "I sent this by e-mail yesterday as well."


# --- the help desk (Zendesk) -------------------------------------------------------------------


def zendesk_settings() -> zendesk_config.ZendeskSettings:
    """The Zendesk connector's settings for the demo's help desk (an example host)."""
    return zendesk_config.clean_config(ZENDESK_CONFIG)[1]


def _zendesk_time(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def zendesk_items(end: datetime, customers: list[CustomerSpec]) -> list[FetchedItem]:
    """Each ticket as the Zendesk connector's fetch cuts it (``ticket_items``): the ticket's
    export, its comments and their authors in, one payload per customer comment out (the
    agent's answers left out), oldest first."""
    settings = zendesk_settings()
    agent = {"id": ZENDESK_AGENT_ID, "name": voices.HELP_DESK_AGENT,
             "email": f"priya@{STAFF_DOMAIN}", "role": "agent"}  # fmt: skip
    items = []
    for number, ticket in enumerate(voices.TICKETS):
        if ticket.customer is not None:
            name, email = customers[ticket.customer].name, customers[ticket.customer].email
        else:
            name, email = ticket.name, ticket.email
        requester = {"id": ZENDESK_FIRST_USER_ID + number, "name": name, "email": email,
                     "role": "end-user"}  # fmt: skip
        users = {requester["id"]: requester, agent["id"]: agent}
        opened = when_written(end, ticket.comments[0].days_back)
        summary = {
            "id": ZENDESK_FIRST_TICKET_ID + number,
            "subject": ticket.subject,
            "requester_id": requester["id"],
            "via": {"channel": "email"},
            "created_at": _zendesk_time(opened),
            "status": "open",
        }
        comments = []
        for position, comment in enumerate(ticket.comments):
            author = agent if comment.agent else requester
            comments.append(
                {
                    "id": ZENDESK_FIRST_COMMENT_ID + number * 10 + position,
                    "type": "Comment",
                    "author_id": author["id"],
                    "body": comment.text,
                    "plain_body": comment.text,
                    "html_body": f"<p>{html.escape(comment.text)}</p>",
                    "public": True,
                    "attachments": [],
                    "created_at": _zendesk_time(when_written(end, comment.days_back)),
                }
            )
        items += zendesk_payloads.ticket_items(settings, summary, comments, users)
    return sorted(items, key=lambda item: item.received_at)


# --- the widget ----------------------------------------------------------------------------------


def screenshot() -> bytes:
    """A small picture of the invoice preview with its last line cut off, drawn with Pillow
    and re-encoded by the widget's own screenshot rules."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 200), (248, 249, 251))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 320, 28), fill=(32, 76, 140))
    draw.text((10, 8), "Invoice KW-2026-00412", fill=(255, 255, 255))
    for row in range(5):
        draw.rectangle((16, 44 + row * 26, 300, 58 + row * 26), fill=(222, 226, 232))
    draw.rectangle((16, 174, 220, 200), fill=(200, 60, 60))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return reencode_screenshot(out.getvalue())


def widget_submissions(
    end: datetime, customers: list[CustomerSpec], repeated: Sequence[Repeat] = ()
) -> list[tuple[Submission, datetime]]:
    """The widget's messages as the form cleans them, with when each was sent, oldest first:
    those of ``voices`` and one for each repeated mail."""
    picture = None
    submissions = [
        (
            Submission(
                message=f"{repeat.subject}: {repeat.text} {REPEATED_NOTE}",
                email=repeat.customer.email,
                name=repeat.customer.name,
                page_url="https://app.kitewire.example/board",
                user_agent=USER_AGENT,
            ),
            repeat.sent_at,
        )
        for repeat in repeated
    ]
    for message in sorted(voices.WIDGET_MESSAGES, key=lambda message: -message.days_back):
        if message.customer is not None:
            email, name = customers[message.customer].email, customers[message.customer].name
        else:
            email, name = message.email, message.name
        if message.screenshot and picture is None:
            picture = screenshot()
        submission = Submission(
            message=message.message,
            email=email,
            name=name,
            page_url=f"https://app.kitewire.example{message.page}",
            user_agent=USER_AGENT,
            screenshot_png=picture if message.screenshot else None,
        )
        submissions.append((submission, when_written(end, message.days_back)))
    return sorted(submissions, key=lambda pair: pair[1])
