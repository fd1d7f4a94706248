"""The feedback app's API endpoints in the access matrix.

Every object belongs to team A: member_b (admin of team B) gets 404 for each of them. Channels
are managed (and checked) by the team's admins; agents retry and discard quarantined payloads;
every member reads. The checked channel is an inbound webhook, whose check needs no network.
"""

from feedback import services
from feedback.models import LikelyDuplicate, Quarantine
from tests.access import API_ORG, API_TEAM_A, Case, Objects, csv_file, expect, url
from tests.feedback.factories import ChannelFactory, FeedbackItemFactory, MessageFactory, TagFactory

API_TEAM_A_ADMIN = expect(401, 403, 403, 403, 200, 404, 200)
API_TEAM_A_AGENT = expect(401, 403, 200, 200, 200, 404, 200)
UNPARSEABLE = b"no headers here\r\n"

CASES: dict[str, Case] = {
    "api:feedback-channel-list": Case(url("api:feedback-channel-list"), API_ORG),
    "api:feedback-channel-detail": Case(
        url("api:feedback-channel-detail", "api_channel"), API_TEAM_A
    ),
    "api:feedback-channel-check": Case(
        url("api:feedback-channel-check", "api_channel"), API_TEAM_A_ADMIN, method="post"
    ),
    "api:feedback-item-list": Case(url("api:feedback-item-list"), API_ORG),
    "api:feedback-item-detail": Case(url("api:feedback-item-detail", "api_item"), API_TEAM_A),
    # Any agent may queue an import; each row names its team, refused per row where the
    # importer is no agent of it.
    "api:feedback-item-import": Case(
        url("api:feedback-item-import"),
        expect(401, 403, 202, 202, 202, 202, 202),
        method="post",
        data=lambda o: {"file": csv_file("team,customer_email,text\nteam-a,a@example.test,x\n")},
    ),
    # Agents merge an item into another of their team; member_b sees neither (404).
    "api:feedback-item-merge": Case(
        url("api:feedback-item-merge", "api_item"),
        API_TEAM_A_AGENT,
        method="post",
        data=lambda o: {"into": o["api_item_into"]},
    ),
    # Triage of many items: agents of some team; member_b (admin of team B) is answered 200
    # with the item's row saying 404; a viewer, agent of no team, 403.
    "api:feedback-item-bulk": Case(
        url("api:feedback-item-bulk"),
        expect(401, 403, 200, 200, 200, 200, 200),
        method="post",
        data=lambda o: {"ids": [o["api_item"]], "status": "open"},
    ),
    "api:feedback-item-dismiss-duplicate": Case(
        url("api:feedback-item-dismiss-duplicate", "api_item", "api_item_into"),
        API_TEAM_A_AGENT,
        method="post",
    ),
    "api:feedback-message-list": Case(url("api:feedback-message-list"), API_ORG),
    "api:feedback-message-detail": Case(
        url("api:feedback-message-detail", "api_message"), API_TEAM_A
    ),
    "api:feedback-quarantine-list": Case(url("api:feedback-quarantine-list"), API_ORG),
    "api:feedback-quarantine-detail": Case(
        url("api:feedback-quarantine-detail", "api_quarantine"), API_TEAM_A
    ),
    "api:feedback-quarantine-retry": Case(
        url("api:feedback-quarantine-retry", "api_quarantine"), API_TEAM_A_AGENT, method="post"
    ),
    "api:feedback-quarantine-discard": Case(
        url("api:feedback-quarantine-discard", "api_quarantine"), API_TEAM_A_AGENT, method="post"
    ),
    "api:feedback-quarantine-raw": Case(
        url("api:feedback-quarantine-raw", "api_quarantine"), API_TEAM_A
    ),
    "api:feedback-tag-list": Case(url("api:feedback-tag-list"), API_ORG),
    "api:feedback-tag-detail": Case(url("api:feedback-tag-detail", "api_tag"), API_TEAM_A),
    # Leads merge tags of their team.
    "api:feedback-tag-merge": Case(
        url("api:feedback-tag-merge", "api_tag"),
        expect(401, 403, 403, 200, 200, 404, 200),
        method="post",
        data=lambda o: {"into": o["api_tag_into"]},
    ),
}


def objects(world) -> Objects:
    channel = ChannelFactory(
        team=world.team_a,
        kind="webhook",
        name="Inbound mail",
        config={"address": "support@example.test", "secret": "s" * 32},
    )
    item = FeedbackItemFactory(team=world.team_a)
    message = MessageFactory(item=item, channel=channel)
    into = FeedbackItemFactory(team=world.team_a)
    LikelyDuplicate.objects.create(team=world.team_a, item=item, other=into, score=0.8)
    payload, _ = services.payload_receive(channel=channel, raw=UNPARSEABLE, queue_parse=False)
    services.payload_parse(payload=payload)
    return {
        "api_channel": channel.pk,
        "api_item": item.pk,
        "api_item_into": into.pk,
        "api_message": message.pk,
        "api_quarantine": Quarantine.objects.get(payload=payload).pk,
        "api_tag": TagFactory(team=world.team_a).pk,
        "api_tag_into": TagFactory(team=world.team_a).pk,
    }
