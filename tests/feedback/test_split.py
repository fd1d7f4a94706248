"""Splitting a message off into an item of its own (feedback.services.merging.message_split):
one message moves, nothing is lost or stored twice, both items follow their messages, the
split is audited and announced, and only agents of the team may split."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from feedback.models import Direction, FeedbackItem, ItemStatus, LikelyDuplicate, Message
from feedback.services.duplicates import item_duplicates_find
from feedback.services.merging import SPLIT_NOT_CUSTOMERS, SPLIT_ONLY_MESSAGE, message_split
from portal.models import AuditEntry, Role
from tests.factories import CustomerFactory, MembershipFactory, UserFactory
from tests.feedback.factories import SENT, ChannelFactory, FeedbackItemFactory, MessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def item():
    channel = ChannelFactory(kind="imap")
    customer = CustomerFactory(name="Lena Park", email="lena@park.example")
    item = FeedbackItemFactory(
        team=channel.team,
        channel=channel,
        customer=customer,
        subject="Export fails",
        status=ItemStatus.WAITING,
        first_message_at=SENT,
        last_message_at=SENT + timedelta(hours=2),
    )
    MessageFactory(item=item, channel=channel, text="The export fails", sent_at=SENT)
    MessageFactory(
        item=item,
        channel=channel,
        subject="Also: dark mode?",
        text="Separately, please add a dark mode",
        sent_at=SENT + timedelta(hours=2),
    )
    return item


@pytest.fixture
def agent(item):
    user = UserFactory(first_name="Sam", last_name="Agent")
    MembershipFactory(user=user, team=item.team, role=Role.AGENT)
    return user


def test_one_message_moves_to_a_new_item_of_the_same_team_and_customer(
    item, agent, django_capture_on_commit_callbacks
):
    message = item.messages.get(subject="Also: dark mode?")
    before = sorted(Message.objects.values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        new_item = message_split(actor=agent, message=message)
    assert callbacks  # feedback.item_created, for priority, SLA and duplicates
    assert sorted(Message.objects.values_list("pk", flat=True)) == before
    assert list(new_item.messages.values_list("pk", flat=True)) == [message.pk]
    assert item.messages.count() == 1
    assert new_item.team == item.team and new_item.customer == item.customer
    assert new_item.subject == "Also: dark mode?" and new_item.status == ItemStatus.OPEN
    assert new_item.first_message_at == new_item.last_message_at == message.sent_at
    item.refresh_from_db()
    assert item.last_message_at == SENT and item.first_message_at == SENT
    assert "dark mode" in new_item.search_document
    assert "dark mode" not in item.search_document
    actions = set(
        AuditEntry.objects.filter(target_id__in=[item.pk, new_item.pk]).values_list(
            "action", flat=True
        )
    )
    assert {"feedback_item.message_split_off", "feedback_item.split_from"} <= actions


def test_the_only_message_of_an_item_is_not_split(item, agent):
    lonely = FeedbackItemFactory(team=item.team)
    message = MessageFactory(item=lonely)
    with pytest.raises(ValidationError) as refused:
        message_split(actor=agent, message=message)
    assert refused.value.messages == [SPLIT_ONLY_MESSAGE]
    assert FeedbackItem.objects.filter(team=item.team).count() == 2


@pytest.mark.parametrize(
    "ours", [{"direction": Direction.OUT}, {"direction": Direction.OUT, "is_note": True}]
)
def test_our_replies_and_notes_are_not_split_into_customer_items(item, agent, ours):
    message = MessageFactory(item=item, channel=item.channel, text="Thanks!", **ours)
    with pytest.raises(ValidationError) as refused:
        message_split(actor=agent, message=message)
    assert refused.value.messages == [SPLIT_NOT_CUSTOMERS]
    assert FeedbackItem.objects.filter(team=item.team).count() == 1
    assert item.messages.count() == 3


def test_viewers_and_other_teams_may_not_split(item):
    viewer = UserFactory()
    MembershipFactory(user=viewer, team=item.team, role=Role.VIEWER)
    stranger = UserFactory()
    MembershipFactory(user=stranger, team=FeedbackItemFactory().team, role=Role.ADMIN)
    message = item.messages.last()
    for user in (viewer, stranger):
        with pytest.raises(PermissionDenied):
            message_split(actor=user, message=message)
    assert item.messages.count() == 2


def test_the_split_item_is_not_suggested_as_a_duplicate_of_the_item_it_came_from(item, agent):
    forum = ChannelFactory(team=item.team, kind="discourse")
    # From another channel and saying nearly what the item's first message says: the duplicate
    # check that follows the new item would suggest the pair.
    message = MessageFactory(
        item=item, channel=forum, text="The export fails", sent_at=SENT + timedelta(hours=3)
    )

    new_item = message_split(actor=agent, message=message)
    found = item_duplicates_find(item_id=new_item.pk, threshold=0.0)

    pair = LikelyDuplicate.objects.get()
    assert found == [pair]
    assert (pair.item_id, pair.other_id) == (item.pk, new_item.pk)
    assert (pair.dismissed_by, pair.dismissed_at is not None) == (agent, True)
    assert AuditEntry.objects.filter(action="likely_duplicate.dismissed").count() == 1
