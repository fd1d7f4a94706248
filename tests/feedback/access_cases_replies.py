"""Replies, notes and response templates in the access matrix.

Agents of team A reply, add notes and retry failed replies on its items (a viewer 403, team B
404). Every member of team A reads its templates; its leads (and admins, and superusers)
create, preview, edit and delete them. The API: every member reads replies and templates;
agents send replies (202); leads manage templates."""

from feedback.models import DeliveryStatus, Direction
from feedback.services.templates import template_create
from portal.actors import SYSTEM
from tests.access import (
    API_ORG,
    API_TEAM_A,
    LOGIN,
    REDIRECT,
    TEAM_A_PAGE,
    Case,
    Objects,
    expect,
    url,
)
from tests.feedback.factories import (
    SUPPORT_ADDRESS,
    ChannelFactory,
    FeedbackItemFactory,
    MessageFactory,
)

TEAM_A_AGENT_PAGE = expect(LOGIN, 403, 200, 200, 200, 404, 200)
TEAM_A_AGENT_POST = expect(LOGIN, 403, REDIRECT, REDIRECT, REDIRECT, 404, REDIRECT)
TEAM_A_LEAD_PAGE = expect(LOGIN, 403, 403, 200, 200, 404, 200)
TEAM_A_LEAD_POST = expect(LOGIN, 403, 403, REDIRECT, REDIRECT, 404, REDIRECT)
API_TEAM_A_AGENT_ACTION = expect(401, 403, 202, 202, 202, 404, 202)

CASES: dict[str, Case] = {
    "feedback:reply_compose": Case(
        url("feedback:reply_compose", "replies_item"), TEAM_A_AGENT_PAGE
    ),
    "feedback:note_create": Case(
        url("feedback:note_create", "replies_item"),
        TEAM_A_AGENT_POST,
        method="post",
        data=lambda o: {"text": "Called the customer."},
    ),
    "feedback:reply_retry": Case(
        url("feedback:reply_retry", "replies_item", "replies_failed"),
        TEAM_A_AGENT_POST,
        method="post",
    ),
    "feedback:template_list": Case(url("feedback:template_list", "team-a"), TEAM_A_PAGE),
    "feedback:template_new": Case(url("feedback:template_new", "team-a"), TEAM_A_LEAD_PAGE),
    "feedback:template_preview": Case(
        url("feedback:template_preview", "team-a"),
        TEAM_A_LEAD_PAGE,
        method="post",
        data=lambda o: {"body": "Hi {{ customer.first_name }}"},
    ),
    "feedback:template_edit": Case(
        url("feedback:template_edit", "team-a", "replies_template"), TEAM_A_LEAD_PAGE
    ),
    "feedback:template_delete": Case(
        url("feedback:template_delete", "team-a", "replies_template"),
        TEAM_A_LEAD_POST,
        method="post",
    ),
    # API ---------------------------------------------------------------------------------------
    "api:feedback-template-list": Case(url("api:feedback-template-list"), API_ORG),
    "api:feedback-template-detail": Case(
        url("api:feedback-template-detail", "replies_template"), API_TEAM_A
    ),
    "api:feedback-reply-list": Case(url("api:feedback-reply-list"), API_ORG),
    "api:feedback-reply-detail": Case(
        url("api:feedback-reply-detail", "replies_failed"), API_TEAM_A
    ),
    "api:feedback-reply-retry": Case(
        url("api:feedback-reply-retry", "replies_failed"), API_TEAM_A_AGENT_ACTION, method="post"
    ),
}


def objects(world) -> Objects:
    channel = ChannelFactory(team=world.team_a, kind="imap", address=SUPPORT_ADDRESS)
    item = FeedbackItemFactory(team=world.team_a, channel=channel)
    MessageFactory(item=item, channel=channel, sender="customer@example.test")
    failed = MessageFactory(
        item=item,
        channel=channel,
        direction=Direction.OUT,
        delivery=DeliveryStatus.FAILED,
        delivery_error="Sending failed",
        sender=SUPPORT_ADDRESS,
        to=["customer@example.test"],
    )
    template = template_create(actor=SYSTEM, team=world.team_a, name="Hello", body="Hi")
    return {
        "replies_item": item.pk,
        "replies_failed": failed.pk,
        "replies_template": template.pk,
    }
