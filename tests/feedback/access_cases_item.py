"""The item page and its actions in the access matrix. Every member of team A reads the page
(member_b, of team B, gets 404); agents and above of team A change the item (a viewer 403).
Each persona gets fresh objects, so a merge or a split in one request does not take the item
away from the next persona's."""

from feedback.models import LikelyDuplicate
from tests.access import LOGIN, REDIRECT, TEAM_A_PAGE, Case, Objects, expect, url
from tests.feedback.factories import FeedbackItemFactory, MessageFactory

TEAM_A_AGENT_POST = expect(LOGIN, 403, REDIRECT, REDIRECT, REDIRECT, 404, REDIRECT)

CASES: dict[str, Case] = {
    "feedback:item": Case(url("feedback:item", "item_page_item"), TEAM_A_PAGE),
    "feedback:item_status": Case(
        url("feedback:item_status", "item_page_item"),
        TEAM_A_AGENT_POST,
        method="post",
        data=lambda o: {"status": "open"},
    ),
    "feedback:item_assign": Case(
        url("feedback:item_assign", "item_page_item"),
        TEAM_A_AGENT_POST,
        method="post",
        data=lambda o: {"assignee": "me"},
    ),
    "feedback:item_tags": Case(
        url("feedback:item_tags", "item_page_item"), TEAM_A_AGENT_POST, method="post"
    ),
    "feedback:item_priority": Case(
        url("feedback:item_priority", "item_page_item"),
        TEAM_A_AGENT_POST,
        method="post",
        data=lambda o: {"priority": "high"},
    ),
    "feedback:item_snooze": Case(
        url("feedback:item_snooze", "item_page_item"),
        TEAM_A_AGENT_POST,
        method="post",
        data=lambda o: {"preset": "tomorrow"},
    ),
    # GET is the confirmation page; the merge itself is a POST with confirm.
    "feedback:item_merge": Case(
        url("feedback:item_merge", "item_page_item"),
        TEAM_A_AGENT_POST,
        method="post",
        data=lambda o: {"other": o["item_page_twin"], "direction": "into_this", "confirm": "1"},
    ),
    "feedback:item_split": Case(
        url("feedback:item_split", "item_page_item", "item_page_message"),
        TEAM_A_AGENT_POST,
        method="post",
    ),
    "feedback:item_duplicate_dismiss": Case(
        url("feedback:item_duplicate_dismiss", "item_page_item", "item_page_pair"),
        TEAM_A_AGENT_POST,
        method="post",
    ),
    "feedback:item_presence": Case(
        url("feedback:item_presence", "item_page_item"),
        TEAM_A_AGENT_POST,
        method="post",
        data=lambda o: {"activity": "replying"},
    ),
}


def objects(world) -> Objects:
    item = FeedbackItemFactory(team=world.team_a, subject="Item page matrix")
    MessageFactory(item=item, text="First")
    second = MessageFactory(item=item, text="Second, split off")
    twin = FeedbackItemFactory(team=world.team_a, subject="Item page twin")
    MessageFactory(item=twin, text="Twin")
    low, high = sorted((item.pk, twin.pk))
    pair = LikelyDuplicate.objects.create(team=world.team_a, item_id=low, other_id=high, score=0.9)
    return {
        "item_page_item": item.pk,
        "item_page_message": second.pk,
        "item_page_twin": twin.pk,
        "item_page_pair": pair.pk,
    }
