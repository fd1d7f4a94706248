"""Feedback reads: team-scoped (another team's object is a 404), filtered, and in a fixed
number of queries however many rows there are."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from feedback import selectors
from feedback.models import Lane, QuarantineStatus
from feedback.services import payload_parse, payload_receive
from portal.actors import SYSTEM
from tests.feedback.factories import (
    ChannelFactory,
    FeedbackItemFactory,
    MessageFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


def test_members_see_their_teams_feedback_and_nobody_elses(world):
    mine = MessageFactory(item__team=world.team_a)
    theirs = MessageFactory(item__team=world.team_b)

    assert list(selectors.item_list(user=world.viewer_a)) == [mine.item]
    assert list(selectors.message_list(user=world.viewer_a)) == [mine]
    assert list(selectors.item_list(user=world.outsider)) == []
    assert set(selectors.item_list(user=world.superuser)) == {mine.item, theirs.item}
    with pytest.raises(Http404):
        selectors.item_get(user=world.viewer_a, pk=theirs.item_id)
    with pytest.raises(Http404):
        selectors.message_get(user=world.member_b, pk=mine.pk)


def test_channels_and_their_quarantine_are_scoped_to_the_team(world):
    channel = ChannelFactory(team=world.team_a)
    payload, _ = payload_receive(channel=channel, raw=b"no headers\r\n", queue_parse=False)
    quarantine = payload_parse(payload=payload).quarantine

    assert list(selectors.channel_list(user=world.agent_a)) == [channel]
    assert list(selectors.quarantine_list(user=world.agent_a)) == [quarantine]
    assert list(selectors.quarantine_list(user=world.member_b)) == []
    with pytest.raises(Http404):
        selectors.channel_get(user=world.member_b, pk=channel.pk)
    with pytest.raises(Http404):
        selectors.quarantine_get(user=world.member_b, pk=quarantine.pk)
    with pytest.raises(Http404):
        selectors.payload_get(user=world.member_b, pk=payload.pk)
    assert selectors.quarantine_count(user=world.agent_a) == 1
    assert (
        list(selectors.quarantine_list(user=world.agent_a, status=QuarantineStatus.DISCARDED)) == []
    )


def test_the_public_config_leaves_the_secrets_out():
    channel = ChannelFactory()

    config = selectors.channel_public_config(channel)

    assert "password" not in config
    assert config["username"] == "support"


def test_lists_filter_by_status_channel_lane_tag_and_message_id(world):
    channel = ChannelFactory(team=world.team_a)
    tag = TagFactory(team=world.team_a, name="billing")
    open_item = FeedbackItemFactory(team=world.team_a, status="open", channel=channel)
    open_item.tags.add(tag)
    FeedbackItemFactory(team=world.team_a, status="resolved")
    bounce = MessageFactory(item=open_item, lane=Lane.BOUNCE, channel=channel)
    MessageFactory(item=open_item, external_id="hello@x.example")

    assert list(selectors.item_list(user=world.agent_a, status=["open", "new"])) == [open_item]
    assert list(selectors.item_list(user=world.agent_a, channel=channel)) == [open_item]
    assert list(selectors.item_list(user=world.agent_a, tag=tag)) == [open_item]
    assert list(selectors.message_list(user=world.agent_a, lane="bounce")) == [bounce]
    assert [
        m.external_id
        for m in selectors.message_list(user=world.agent_a, external_id="<hello@x.example>")
    ] == ["hello@x.example"]


def test_items_are_listed_most_recent_conversation_first(world):
    older = FeedbackItemFactory(team=world.team_a, first_message_at=NOW, last_message_at=NOW)
    newer = FeedbackItemFactory(
        team=world.team_a, first_message_at=NOW, last_message_at=NOW + timedelta(hours=1)
    )

    assert list(selectors.item_list(user=world.agent_a)) == [newer, older]


def test_item_and_message_lists_take_a_fixed_number_of_queries(world):
    def queries(build) -> int:
        build()
        with CaptureQueriesContext(connection) as captured:
            for item in selectors.item_list(user=world.agent_a):
                [tag.name for tag in item.tags.all()]
                str(item.customer)
                str(item.channel)
            for message in selectors.message_list(user=world.agent_a):
                [a.filename for a in message.attachments.all()]
                str(message.item)
        return len(captured)

    def more() -> None:
        for _ in range(3):
            message = MessageFactory(item__team=world.team_a)
            message.item.tags.add(TagFactory(team=world.team_a))
            message.attachments.create(
                filename="a.txt", content_type="text/plain", size=1, sha256="0" * 64, file="x"
            )

    assert queries(more) == queries(more)


def test_health_figures_count_per_channel_in_one_query(world):
    channel = ChannelFactory(team=world.team_a, last_success_at=NOW - timedelta(minutes=5))
    quiet = ChannelFactory(team=world.team_a)
    for minutes in (10, 50, 120):
        MessageFactory(
            item__team=world.team_a, channel=channel, received_at=NOW - timedelta(minutes=minutes)
        )
    payload, _ = payload_receive(channel=channel, raw=b"junk\r\n", queue_parse=False)
    payload_parse(payload=payload)
    payload_receive(channel=channel, raw=b"From: a@b.example\r\n\r\nx", queue_parse=False)

    with CaptureQueriesContext(connection) as captured:
        health = {h.channel: h for h in selectors.channel_health_list(user=world.admin_a, now=NOW)}

    assert len(captured) == 1
    figures = health[channel]
    assert figures.lag_seconds == 300
    assert (figures.messages_last_hour, figures.messages_per_hour) == (2, 0.1)
    assert (figures.quarantine_count, figures.pending_count) == (1, 1)
    assert health[quiet].lag_seconds is None
    assert (health[quiet].messages_last_hour, health[quiet].quarantine_count) == (0, 0)


def test_the_unhealthy_notice_is_for_the_teams_admins(world):
    broken = ChannelFactory(team=world.team_a, healthy=False)
    ChannelFactory(team=world.team_a, healthy=False, enabled=False)
    ChannelFactory(team=world.team_b, healthy=False)

    assert list(selectors.channel_unhealthy_list(user=world.admin_a)) == [broken]
    assert list(selectors.channel_unhealthy_list(user=world.agent_a)) == []
    assert len(selectors.channel_unhealthy_list(user=world.superuser)) == 2
    assert len(selectors.channel_unhealthy_list(user=SYSTEM)) == 2


def test_attachments_are_found_only_through_the_team(world):
    message = MessageFactory(item__team=world.team_a)
    attachment = message.attachments.create(
        filename="a.pdf", content_type="application/pdf", size=3, sha256="1" * 64, file="f"
    )

    assert selectors.attachment_get(user=world.viewer_a, pk=attachment.pk) == attachment
    with pytest.raises(Http404):
        selectors.attachment_get(user=world.member_b, pk=attachment.pk)
