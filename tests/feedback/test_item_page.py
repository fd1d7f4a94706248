"""The item page (/inbox/<id>/): every kind of message, the header's actions (plain POST and
htmx), history, likely duplicates, merge and split, the customer 360 panel's scoping, the
collision notice, and who may do what."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from feedback.models import (
    FeedbackItem,
    ItemPresence,
    ItemStatus,
    LikelyDuplicate,
    Message,
    PresenceActivity,
    Tag,
)
from feedback.services.merging import MERGE_INTO_ITSELF, SPLIT_NOT_CUSTOMERS
from feedback.services.presence import presence_touch
from feedback.services.replies import note_add
from feedback.services.triage import SNOOZE_IN_PAST, item_update
from feedback.views import item_actions as item_views
from portal.models import Role
from portal.services import profile_update
from tests.factories import MembershipFactory, UserFactory
from tests.feedback import item_page_data
from tests.feedback.factories import FeedbackItemFactory, MessageFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def world():
    return item_page_data.build()


@pytest.fixture
def agent_client(client, world):
    client.force_login(world.agent)
    return client


def page_url(item) -> str:
    return reverse("feedback:item", args=[item.pk])


def action_url(name: str, item) -> str:
    return reverse(f"feedback:item_{name}", args=[item.pk])


# --- the conversation -------------------------------------------------------------------------


def test_the_page_shows_every_message_kind_in_order(agent_client, world):
    page = agent_client.get(page_url(world.item)).content.decode()
    # In the order they were sent, across channels.
    positions = [
        page.index(f'id="message-{message.pk}"')
        for message in (world.mail, world.note, world.failed, world.widget, world.forum)
    ]
    assert positions == sorted(positions)
    # The mail's sanitised HTML is rendered as HTML; quoted history and signature are folded.
    assert item_page_data.MAIL_HTML in page
    assert "<summary>Quoted history</summary>" in page
    assert "&gt; On Monday you wrote" in page
    assert "<summary>Signature</summary>" in page
    # Plain text is escaped: a script in a message's text never reaches the page as a tag.
    assert item_page_data.SCRIPT not in page
    assert "&lt;script&gt;alert" in page
    # The note is set apart and says it is never sent.
    assert "Internal note — never sent" in page
    assert "is-note" in page
    # The failed reply says why and offers a retry through the replies' view.
    assert "550 mailbox unavailable" in page
    assert reverse("feedback:reply_retry", args=[world.item.pk, world.failed.pk]) in page
    # The widget's screenshot can be downloaded; the forum post links back to the forum.
    attachment = world.widget.attachments.get()
    assert reverse("feedback:attachment-download", args=[attachment.pk]) in page
    assert "screenshot.png" in page
    assert item_page_data.FORUM_URL in page
    assert "View on forum" in page
    # Why each message was threaded, channel kinds, sentiment, the customer's address.
    assert "Sent to the item&#x27;s signed reply address" in page
    assert "Widget" in page and "Forum" in page and "Mail" in page
    assert "sentiment-negative" in page
    assert "&lt;omar@haddad.example&gt;" in page


def test_times_are_shown_in_the_readers_time_zone(agent_client, world):
    profile_update(actor=world.agent, time_zone="Asia/Tokyo")
    page = agent_client.get(page_url(world.item)).content.decode()
    tokyo = timezone.localtime(world.mail.sent_at, ZoneInfo("Asia/Tokyo"))
    assert tokyo.strftime("%H:%M") + " JST" in page


def test_a_machine_message_shows_its_lane(agent_client, world):
    MessageFactory(item=world.item, lane="auto_reply", lane_reason="Auto-Submitted: auto-replied")
    page = agent_client.get(page_url(world.item)).content.decode()
    assert "Auto-reply" in page
    assert "Auto-Submitted: auto-replied" in page


def test_the_page_includes_the_reply_composer_for_agents_not_for_viewers(client, world):
    client.force_login(world.agent)
    assert 'id="reply"' in client.get(page_url(world.item)).content.decode()
    client.force_login(world.viewer)
    page = client.get(page_url(world.item))
    assert page.status_code == 200
    assert 'id="reply"' not in page.content.decode()
    assert reverse("feedback:item_status", args=[world.item.pk]) not in page.content.decode()


def test_another_teams_item_is_not_found(client, world):
    stranger = UserFactory()
    MembershipFactory(user=stranger, team=world.other_team, role=Role.ADMIN)
    client.force_login(stranger)
    assert client.get(page_url(world.item)).status_code == 404
    assert client.post(action_url("status", world.item), {"status": "resolved"}).status_code == 404
    assert client.get(page_url(world.other_item_other_team)).status_code == 200
    world.item.refresh_from_db()
    assert world.item.status == ItemStatus.OPEN


def test_a_viewers_writes_are_refused(client, world):
    client.force_login(world.viewer)
    for name, data in (
        ("status", {"status": "resolved"}),
        ("assign", {"assignee": "me"}),
        ("tags", {}),
        ("priority", {"priority": "high"}),
        ("snooze", {"preset": "tomorrow"}),
        ("merge", {"other": world.other_item_same_team.pk, "confirm": "1"}),
        ("presence", {"activity": "viewing"}),
    ):
        assert client.post(action_url(name, world.item), data).status_code == 403, name
    split = reverse("feedback:item_split", args=[world.item.pk, world.forum.pk])
    assert client.post(split).status_code == 403
    world.item.refresh_from_db()
    assert world.item.status == ItemStatus.OPEN


# --- header actions -----------------------------------------------------------------------------


def test_status_plain_post_redirects_with_a_message(agent_client, world):
    response = agent_client.post(action_url("status", world.item), {"status": "waiting"})
    assert response.status_code == 302
    assert response["Location"] == page_url(world.item)
    world.item.refresh_from_db()
    assert world.item.status == ItemStatus.WAITING
    page = agent_client.get(response["Location"]).content.decode()
    assert item_views.STATUS_SET.format(status="waiting") in page


def test_status_htmx_answers_the_header_with_the_outcome(agent_client, world):
    response = agent_client.post(action_url("status", world.item), {"status": "resolved"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert body.lstrip().startswith('<header id="item-header"')
    assert item_views.STATUS_SET.format(status="resolved") in body
    world.item.refresh_from_db()
    assert world.item.status == ItemStatus.RESOLVED and world.item.resolved_at is not None


def test_an_unknown_status_is_refused_in_place(agent_client, world):
    response = agent_client.post(action_url("status", world.item), {"status": "lost"}, **HTMX)
    assert response.status_code == 200
    assert "Unknown status" in response.content.decode()
    world.item.refresh_from_db()
    assert world.item.status == ItemStatus.OPEN


def test_assign_to_me_a_colleague_and_nobody(agent_client, world):
    agent_client.post(action_url("assign", world.item), {"assignee": "me"})
    world.item.refresh_from_db()
    assert world.item.assignee == world.agent
    agent_client.post(action_url("assign", world.item), {"assignee": str(world.colleague.pk)})
    world.item.refresh_from_db()
    assert world.item.assignee == world.colleague
    response = agent_client.post(action_url("assign", world.item), {"assignee": ""}, **HTMX)
    assert item_views.UNASSIGNED in response.content.decode()
    world.item.refresh_from_db()
    assert world.item.assignee is None


def test_assigning_a_viewer_or_a_stranger_is_refused(agent_client, world):
    for wanted in (world.viewer.pk, UserFactory().pk, "x"):
        response = agent_client.post(
            action_url("assign", world.item), {"assignee": str(wanted)}, **HTMX
        )
        assert item_views.ASSIGNEE_UNKNOWN in response.content.decode()
    world.item.refresh_from_db()
    assert world.item.assignee is None


def test_tags_are_set_from_the_picker_and_another_teams_tag_is_refused(agent_client, world):
    export = Tag.objects.get(team=world.team, name="export")
    agent_client.post(action_url("tags", world.item), {"tags": [str(export.pk)]})
    assert [tag.name for tag in world.item.tags.all()] == ["export"]
    foreign = Tag.objects.create(team=world.other_team, name="refunds")
    response = agent_client.post(action_url("tags", world.item), {"tags": [str(foreign.pk)]})
    assert response.status_code == 302
    assert [tag.name for tag in world.item.tags.all()] == ["export"]
    page = agent_client.get(page_url(world.item)).content.decode()
    assert item_views.TAG_UNKNOWN in page


def test_priority_by_hand_shows_who_set_it(agent_client, world):
    response = agent_client.post(action_url("priority", world.item), {"priority": "high"}, **HTMX)
    body = response.content.decode()
    assert "set by Sam Agent" in body
    world.item.refresh_from_db()
    assert world.item.priority == "high" and world.item.priority_manual


def test_snooze_presets_are_in_the_readers_zone(agent_client, world):
    profile_update(actor=world.agent, time_zone="America/New_York")
    agent_client.post(action_url("snooze", world.item), {"preset": "tomorrow"})
    world.item.refresh_from_db()
    local = timezone.localtime(world.item.snoozed_until, ZoneInfo("America/New_York"))
    assert (local.hour, local.minute) == (9, 0)
    today = timezone.localtime(timezone.now(), ZoneInfo("America/New_York")).date()
    assert local.date() == today + timedelta(days=1)
    agent_client.post(action_url("snooze", world.item), {"preset": "next_week"})
    world.item.refresh_from_db()
    local = timezone.localtime(world.item.snoozed_until, ZoneInfo("America/New_York"))
    assert local.weekday() == 0 and (local.hour, local.minute) == (9, 0)


def test_snooze_until_a_local_time_and_clear_it(agent_client, world):
    profile_update(actor=world.agent, time_zone="Europe/Berlin")
    until = timezone.localtime(timezone.now() + timedelta(days=3), ZoneInfo("Europe/Berlin"))
    given = until.strftime("%Y-%m-%dT%H:%M")
    response = agent_client.post(action_url("snooze", world.item), {"until": given}, **HTMX)
    assert "Snoozed until" in response.content.decode()
    world.item.refresh_from_db()
    stored = timezone.localtime(world.item.snoozed_until, ZoneInfo("Europe/Berlin"))
    assert stored.strftime("%Y-%m-%dT%H:%M") == given
    agent_client.post(action_url("snooze", world.item), {"preset": "clear"})
    world.item.refresh_from_db()
    assert world.item.snoozed_until is None


def test_snooze_in_the_past_or_unreadable_is_refused(agent_client, world):
    past = agent_client.post(
        action_url("snooze", world.item), {"until": "2020-01-01T09:00"}, **HTMX
    )
    assert SNOOZE_IN_PAST in past.content.decode()
    for data in ({"until": "soon"}, {"preset": "someday"}, {}):
        response = agent_client.post(action_url("snooze", world.item), data, **HTMX)
        assert item_views.SNOOZE_UNREADABLE in response.content.decode()
    # At the calendar's edges: once a 500 (OverflowError showing the time), now the reason.
    for edge in ("9999-12-31T23:59+00:00", "0001-01-01T00:00+14:00"):
        response = agent_client.post(action_url("snooze", world.item), {"until": edge}, **HTMX)
        assert response.status_code == 200
        assert 'role="alert"' in response.content.decode(), edge
    world.item.refresh_from_db()
    assert world.item.snoozed_until is None


def test_history_lists_who_did_what_in_order(agent_client, world):
    agent_client.post(action_url("status", world.item), {"status": "waiting"})
    agent_client.post(action_url("assign", world.item), {"assignee": "me"})
    page = agent_client.get(page_url(world.item)).content.decode()
    history = page[page.index('id="item-history"') :]
    status = history.index("changed the status")
    assignee = history.index("changed the assignee")
    assert status < assignee
    assert "<strong>Sam Agent</strong>" in history[status - 200 : status]


def test_history_names_people_as_the_page_does_in_one_query_however_many(agent_client, world):
    item_update(actor=world.agent, item=world.item, assignee=world.agent)
    agent_client.get(page_url(world.item))  # the first visit also creates the presence row
    with CaptureQueriesContext(connection) as short:
        agent_client.get(page_url(world.item))
    for _ in range(3):
        item_update(actor=world.colleague, item=world.item, assignee=world.colleague)
        item_update(actor=world.agent, item=world.item, assignee=world.agent)
    with CaptureQueriesContext(connection) as long:
        page = agent_client.get(page_url(world.item)).content.decode()

    assert len(long) == len(short)
    history = page[page.index('id="item-history"') :]
    # Full names, as the header's "Assignee: Sam Agent" and the messages' authors.
    assert "<strong>Ada Lead</strong> changed the assignee" in history
    assert "assignee: Sam Agent → Ada Lead" in history
    assert "assignee: — → Sam Agent" in history
    assert "<strong>sam</strong>" not in history and "→ ada" not in history


def test_history_says_a_note_was_added_without_its_message_id(agent_client, world):
    note = note_add(actor=world.agent, item=world.item, text="Called them back")
    page = agent_client.get(page_url(world.item)).content.decode()
    history = page[page.index('id="item-history"') :]

    assert "added an internal note" in history
    assert "note:" not in history and f"→ {note.pk}<" not in history


# --- duplicates, merge, split -------------------------------------------------------------------


def _pair(world) -> tuple[FeedbackItem, LikelyDuplicate]:
    other = FeedbackItemFactory(team=world.team, customer=world.item.customer, subject="Export")
    MessageFactory(item=other, text="The export times out")
    low, high = sorted((world.item.pk, other.pk))
    pair = LikelyDuplicate.objects.create(team=world.team, item_id=low, other_id=high, score=0.91)
    return other, pair


def test_likely_duplicates_are_listed_and_dismissed(agent_client, world):
    other, pair = _pair(world)
    page = agent_client.get(page_url(world.item)).content.decode()
    assert f"#{other.pk} Export" in page and "0.91" in page
    assert "Merge that into this" in page and "Not a duplicate" in page
    url = reverse("feedback:item_duplicate_dismiss", args=[world.item.pk, pair.pk])
    response = agent_client.post(url, **HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="item-duplicates"')
    assert item_views.DUPLICATE_DISMISSED.format(other=other.pk) in body
    pair.refresh_from_db()
    assert pair.dismissed_by == world.agent
    page = agent_client.get(page_url(world.item)).content.decode()
    duplicates = page[page.index('id="item-duplicates"') : page.index('id="item-history"')]
    assert f"#{other.pk} Export" not in duplicates
    # Dismissed already: nothing left to dismiss.
    assert agent_client.post(url).status_code == 404


def test_a_duplicate_of_another_team_is_not_shown(agent_client, world):
    stranger = FeedbackItemFactory(team=world.other_team, subject="Hidden twin")
    low, high = sorted((world.item.pk, stranger.pk))
    LikelyDuplicate.objects.create(team=world.team, item_id=low, other_id=high, score=0.9)
    page = agent_client.get(page_url(world.item)).content.decode()
    assert "Hidden twin" not in page
    assert "Likely duplicates" not in page


def _message_ids(*items) -> list[int]:
    return sorted(Message.objects.filter(item__in=items).values_list("pk", flat=True))


def test_merge_asks_then_keeps_every_message_once(agent_client, world):
    other, _ = _pair(world)
    before = _message_ids(world.item, other)
    review = agent_client.get(
        action_url("merge", world.item), {"other": other.pk, "direction": "into_this"}
    )
    assert review.status_code == 200
    assert f"#{other.pk} is then gone" in review.content.decode()
    assert FeedbackItem.objects.filter(pk=other.pk).exists()
    done = agent_client.post(
        action_url("merge", world.item),
        {"other": other.pk, "direction": "into_this", "confirm": "1"},
    )
    assert done.status_code == 302 and done["Location"] == page_url(world.item)
    assert not FeedbackItem.objects.filter(pk=other.pk).exists()
    assert _message_ids(world.item) == before
    assert Message.objects.filter(pk__in=before).count() == len(before)


def test_merge_this_into_that_goes_to_the_kept_item(agent_client, world):
    other, _ = _pair(world)
    before = _message_ids(world.item, other)
    done = agent_client.post(
        action_url("merge", world.item),
        {"other": f"#{other.pk}", "direction": "into_other", "confirm": "1"},
        **HTMX,
    )
    assert done["HX-Redirect"] == page_url(other)
    assert not FeedbackItem.objects.filter(pk=world.item.pk).exists()
    assert _message_ids(other) == before


def test_merge_with_an_item_out_of_reach_is_refused_by_name(agent_client, world):
    for wanted in (world.other_item_other_team.pk, 999999, "abc", "²", world.item.pk):
        response = agent_client.post(
            action_url("merge", world.item), {"other": wanted, "confirm": "1"}
        )
        assert response.status_code == 200
        assert 'role="alert"' in response.content.decode(), wanted
    assert FeedbackItem.objects.filter(pk=world.other_item_other_team.pk).exists()
    assert FeedbackItem.objects.filter(pk=world.item.pk).exists()


def test_the_merge_review_refuses_the_item_itself_before_offering_a_merge(agent_client, world):
    review = agent_client.get(
        action_url("merge", world.item), {"other": world.item.pk, "direction": "into_this"}
    ).content.decode()

    assert escape(MERGE_INTO_ITSELF) in review
    assert "is then gone" not in review and 'name="confirm"' not in review


def test_split_moves_one_message_to_a_new_item_of_the_same_customer(agent_client, world):
    before = _message_ids(world.item)
    url = reverse("feedback:item_split", args=[world.item.pk, world.forum.pk])
    response = agent_client.post(url)
    new_item = FeedbackItem.objects.exclude(
        pk__in=[world.item.pk, world.other_item_same_team.pk, world.other_item_other_team.pk]
    ).get()
    assert response["Location"] == page_url(new_item)
    assert new_item.team == world.team and new_item.customer == world.item.customer
    assert _message_ids(new_item) == [world.forum.pk]
    assert _message_ids(world.item, new_item) == before
    assert (
        item_views.SPLIT_DONE.format(id=new_item.pk)
        in agent_client.get(response["Location"]).content.decode()
    )


def test_split_of_another_items_message_is_not_found(agent_client, world):
    stray = Message.objects.filter(item=world.other_item_same_team).get()
    url = reverse("feedback:item_split", args=[world.item.pk, stray.pk])
    assert agent_client.post(url).status_code == 404


# --- customer 360 -------------------------------------------------------------------------------


def test_customer_panel_shows_account_and_only_items_the_viewer_may_see(agent_client, world):
    page = agent_client.get(page_url(world.item)).content.decode()
    panel = page[page.index('id="customer-panel"') : page.index('id="item-duplicates"')]
    assert "Omar Haddad" in panel and "VIP" in panel
    assert "Haddad Logistics" in panel and "Enterprise" in panel and "7,200.00" in panel
    assert "Password reset loop" in panel
    assert "Refund for March" not in panel
    assert "Survey scores — appear here once surveys are running" in panel
    assert "Linked backlog items — appear here once feedback is linked to the backlog" in panel


def test_customer_panel_includes_other_teams_the_viewer_belongs_to(agent_client, world):
    MembershipFactory(user=world.agent, team=world.other_team, role=Role.VIEWER)
    page = agent_client.get(page_url(world.item)).content.decode()
    panel = page[page.index('id="customer-panel"') : page.index('id="item-duplicates"')]
    assert "Refund for March" in panel and "Billing" in panel


# --- collision notice ---------------------------------------------------------------------------


def test_the_page_says_who_else_is_viewing_or_replying(client, world):
    now = timezone.now()
    presence_touch(user=world.colleague, item=world.item, activity="replying", now=now)
    client.force_login(world.agent)
    page = client.get(page_url(world.item)).content.decode()
    assert "Ada Lead</strong> is replying to this item" in page
    # The page recorded the agent as viewing; the colleague sees it.
    assert ItemPresence.objects.get(user=world.agent).activity == PresenceActivity.VIEWING
    client.force_login(world.colleague)
    page = client.get(page_url(world.item)).content.decode()
    assert "Sam Agent</strong> is viewing this item" in page


def test_the_presence_poll_records_replying_and_answers_the_notice(client, world):
    client.force_login(world.colleague)
    client.get(page_url(world.item))
    client.force_login(world.agent)
    response = client.post(action_url("presence", world.item), {"activity": "replying"}, **HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="item-presence"')
    assert "Ada Lead</strong> is viewing this item" in body
    assert ItemPresence.objects.get(user=world.agent).activity == PresenceActivity.REPLYING
    # Without htmx the poll is a plain POST: back to the page.
    assert client.post(action_url("presence", world.item)).status_code == 302


def test_a_viewer_does_not_appear_in_the_notice(client, world):
    client.force_login(world.viewer)
    client.get(page_url(world.item))
    assert not ItemPresence.objects.filter(user=world.viewer).exists()


def test_the_page_runs_the_same_queries_however_long_the_conversation(agent_client, world):
    agent_client.get(page_url(world.item))  # the first visit also creates the presence row
    with CaptureQueriesContext(connection) as short:
        agent_client.get(page_url(world.item))
    for number in range(10):
        MessageFactory(item=world.item, channel=world.mail.channel, text=f"More {number}")
    with CaptureQueriesContext(connection) as long:
        assert agent_client.get(page_url(world.item)).status_code == 200
    assert len(long) == len(short)
    assert len(short) <= 40


def test_the_merge_page_is_a_page_or_for_htmx_its_fragment(agent_client, world):
    url = action_url("merge", world.item)
    page = agent_client.get(url).content.decode()
    assert "<html" in page and 'id="item-merge"' in page
    fragment = agent_client.get(url, {"other": world.other_item_same_team.pk}, **HTMX)
    body = fragment.content.decode()
    assert "<html" not in body and body.lstrip().startswith('<section id="item-merge"')
    assert f"#{world.other_item_same_team.pk} is then gone" in body


def test_splitting_the_only_message_says_why(agent_client, world):
    lonely = world.other_item_same_team
    message = Message.objects.get(item=lonely)
    response = agent_client.post(reverse("feedback:item_split", args=[lonely.pk, message.pk]))
    assert response["Location"] == page_url(lonely)
    page = agent_client.get(response["Location"]).content.decode()
    assert "only message" in page
    assert Message.objects.get(pk=message.pk).item_id == lonely.pk


def test_a_reply_and_a_note_whose_author_was_deleted_still_show(agent_client, world):
    Message.objects.filter(pk__in=[world.failed.pk, world.note.pk]).update(author=None)

    page = agent_client.get(page_url(world.item)).content.decode()

    assert "550 mailbox unavailable" in page
    assert "by someone" in page


def test_a_reply_left_sending_long_ago_shows_as_stalled_with_a_retry(agent_client, world):
    Message.objects.filter(pk=world.failed.pk).update(
        delivery="sending", delivery_started_at=timezone.now() - timedelta(hours=1)
    )

    page = agent_client.get(page_url(world.item)).content.decode()

    assert "Sending stalled" in page
    assert reverse("feedback:reply_retry", args=[world.item.pk, world.failed.pk]) in page


def test_only_the_customers_messages_offer_a_split_and_ours_are_refused(agent_client, world):
    page = agent_client.get(page_url(world.item)).content.decode()
    for message in (world.note, world.failed):
        url = reverse("feedback:item_split", args=[world.item.pk, message.pk])
        assert url not in page
        response = agent_client.post(url, follow=True)
        assert SPLIT_NOT_CUSTOMERS in response.content.decode()
    assert reverse("feedback:item_split", args=[world.item.pk, world.forum.pk]) in page
    assert FeedbackItem.objects.filter(team=world.team).count() == 2
