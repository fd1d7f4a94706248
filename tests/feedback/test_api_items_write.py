"""Triage through the API: PATCH /api/v1/feedback/items/{id}/ (status, assignee, tags,
priority, snooze), POST items/bulk/ (one result per id, merge), and tag management under
/api/v1/feedback/tags/ (create, rename and colour by PATCH, merge); 200/400/403/404 and the
schema."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from feedback.api.serializers.triage import BULK_WHAT, NO_SUCH_USER
from feedback.api.viewsets import BULK_NEEDS_AGENT, NO_SUCH_ITEM
from feedback.models import FeedbackItem, ItemStatus, Tag
from feedback.selectors import NO_SUCH_TAG
from feedback.services.tags import TAG_COLOUR_INVALID, TAG_NAME_TAKEN
from feedback.services.triage import (
    ASSIGNEE_NOT_AGENT,
    SNOOZE_IN_PAST,
    STATUS_UNKNOWN,
    TAG_OF_OTHER_TEAM,
)
from portal.models import AuditEntry
from tests.feedback.factories import FeedbackItemFactory, TagFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def patch(user, item, body):
    url = reverse("api:feedback-item-detail", args=[item.pk])
    return client_for(user).patch(url, body, format="json")


def bulk(user, body):
    return client_for(user).post(reverse("api:feedback-item-bulk"), body, format="json")


@pytest.fixture
def item(world):
    return FeedbackItemFactory(team=world.team_a, status=ItemStatus.OPEN)


# PATCH ---------------------------------------------------------------------------------------


def test_an_agent_triages_an_item_and_gets_it_back(world, item):
    bug = TagFactory(team=world.team_a, name="bug")
    snooze = (timezone.now() + timedelta(days=1)).replace(microsecond=0)

    response = patch(
        world.agent_a,
        item,
        {
            "status": "waiting",
            "assignee": world.agent_a.pk,
            "tags": [bug.pk],
            "priority": "high",
            "snoozed_until": snooze.isoformat(),
        },
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["assignee"], body["tags"]) == (
        "waiting",
        world.agent_a.pk,
        ["bug"],
    )
    assert (body["priority"], body["priority_manual"], body["priority_reason"]) == (
        "high",
        True,
        "set by agent_a",
    )
    stored = FeedbackItem.objects.get(pk=item.pk)
    assert stored.snoozed_until == snooze
    assert AuditEntry.objects.filter(target_id=item.pk).count() == 5


def test_resolving_through_the_api_stamps_resolved_at(world, item):
    response = patch(world.agent_a, item, {"status": "resolved"})

    assert response.status_code == 200
    assert response.json()["resolved_at"] is not None


def test_bad_values_answer_400_with_field_errors_and_change_nothing(world, item):
    foreign = TagFactory(team=world.team_b, name="theirs")

    unknown = patch(world.agent_a, item, {"status": "closed"})
    invisible_tag = patch(world.agent_a, item, {"tags": [foreign.pk]})
    past = patch(world.agent_a, item, {"snoozed_until": "2020-01-01T00:00:00Z"})
    far = patch(world.agent_a, item, {"snoozed_until": "9999-12-31T23:59:59Z"})

    assert unknown.status_code == invisible_tag.status_code == past.status_code == 400
    assert far.status_code == 400
    assert far.json()["snoozed_until"][0].startswith("Snooze for at most a year: until ")
    assert unknown.json() == {
        "status": [STATUS_UNKNOWN.format(value="closed", choices=", ".join(ItemStatus.values))]
    }
    assert invisible_tag.json() == {"tags": [NO_SUCH_TAG]}
    assert past.json() == {"snoozed_until": [SNOOZE_IN_PAST]}
    assert FeedbackItem.objects.get(pk=item.pk).status == ItemStatus.OPEN


def test_a_visible_tag_of_another_team_and_an_assignee_outside_the_team_answer_400(world, item):
    foreign = TagFactory(team=world.team_b, name="theirs")

    # The superuser sees team B's tag, so the service names it.
    tag = patch(world.superuser, item, {"tags": [foreign.pk]})
    viewer = patch(world.agent_a, item, {"assignee": world.viewer_a.pk})
    nobody = patch(world.agent_a, item, {"assignee": 10**9})
    # A superuser may act on every team, but is no member: the list could neither filter by
    # them nor show them as the assignee.
    superuser = patch(world.superuser, item, {"assignee": world.superuser.pk})

    assert superuser.json() == {
        "assignee": [
            ASSIGNEE_NOT_AGENT.format(user=f"User #{world.superuser.pk}", team=world.team_a)
        ]
    }
    assert tag.json() == {"tags": [TAG_OF_OTHER_TEAM.format(tag="theirs", team=world.team_a)]}
    assert viewer.status_code == 400
    assert viewer.json() == {
        "assignee": [ASSIGNEE_NOT_AGENT.format(user=world.viewer_a, team=world.team_a)]
    }
    assert nobody.json() == {"assignee": [NO_SUCH_USER]}


def test_null_unassigns_and_auto_hands_the_priority_back(world, item):
    FeedbackItem.objects.filter(pk=item.pk).update(
        assignee=world.agent_a, priority="urgent", priority_manual=True
    )

    response = patch(world.agent_a, item, {"assignee": None, "priority": "auto"})

    assert response.status_code == 200
    body = response.json()
    assert (body["assignee"], body["priority"], body["priority_manual"]) == (None, "normal", False)


def test_a_viewer_may_not_triage_and_another_teams_item_is_no_item(world, item):
    viewer = patch(world.viewer_a, item, {"status": "resolved"})
    elsewhere = patch(world.member_b, item, {"status": "resolved"})

    assert viewer.status_code == 403
    assert elsewhere.status_code == 404
    assert FeedbackItem.objects.get(pk=item.pk).status == ItemStatus.OPEN


def test_put_is_not_offered(world, item):
    url = reverse("api:feedback-item-detail", args=[item.pk])

    response = client_for(world.agent_a).put(url, {"status": "open"}, format="json")

    assert response.status_code == 405


# Bulk ----------------------------------------------------------------------------------------


def test_bulk_answers_one_result_per_id_in_order(world):
    mine = [FeedbackItemFactory(team=world.team_a) for _ in range(2)]
    theirs = FeedbackItemFactory(team=world.team_b)
    tag = TagFactory(team=world.team_a, name="billing")

    response = bulk(
        world.agent_a,
        {
            "ids": [mine[0].pk, theirs.pk, mine[1].pk, 10**12],
            "status": "resolved",
            "add_tags": [tag.pk],
        },
    )

    assert response.status_code == 200, response.json()
    rows = response.json()
    assert [(row["id"], row["status"]) for row in rows] == [
        (mine[0].pk, 200),
        (theirs.pk, 404),
        (mine[1].pk, 200),
        (10**12, 404),
    ]
    assert rows[1]["errors"] == {"detail": [NO_SUCH_ITEM]}
    assert rows[0]["item"]["status"] == "resolved"
    assert rows[0]["item"]["tags"] == ["billing"]
    assert FeedbackItem.objects.get(pk=theirs.pk).status == ItemStatus.NEW


def test_bulk_rows_refused_by_the_service_say_why(world):
    lead_team_item = FeedbackItemFactory(team=world.team_a)
    other = FeedbackItemFactory(team=world.team_b)
    foreign_tag = TagFactory(team=world.team_b, name="b-tag")

    # The superuser sees both teams: team B's tag is refused for team A's item only.
    response = bulk(
        world.superuser, {"ids": [lead_team_item.pk, other.pk], "add_tags": [foreign_tag.pk]}
    )

    rows = response.json()
    assert [row["status"] for row in rows] == [400, 200]
    assert rows[0]["errors"] == {
        "add_tags": [TAG_OF_OTHER_TEAM.format(tag="b-tag", team=world.team_a)]
    }


def test_bulk_merge_into_the_oldest_or_the_chosen(world):
    start = datetime(2026, 3, 1, tzinfo=UTC)
    old = FeedbackItemFactory(team=world.team_a, first_message_at=start, last_message_at=start)
    new = FeedbackItemFactory(team=world.team_a)

    response = bulk(world.agent_a, {"ids": [new.pk, old.pk], "merge": True})

    assert [row["status"] for row in response.json()] == [200, 200]
    assert [row["item"]["id"] for row in response.json()] == [old.pk, old.pk]
    assert list(FeedbackItem.objects.values_list("pk", flat=True)) == [old.pk]


def test_bulk_ids_in_other_digits_are_refused_and_nothing_merged(world):
    first, second = (FeedbackItemFactory(team=world.team_a) for _ in range(2))
    # "٣" is 3 to int(): the ids are given in Arabic-Indic digits.
    arabic = [
        str(pk).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")) for pk in (first.pk, second.pk)
    ]

    response = bulk(world.agent_a, {"ids": arabic, "merge": True, "into": arabic[0]})

    assert response.status_code == 400
    assert set(response.json()) <= {"ids", "into"}
    assert FeedbackItem.objects.filter(pk__in=[first.pk, second.pk]).count() == 2


def test_bulk_needs_changes_or_merge_and_an_agent(world, item):
    neither = bulk(world.agent_a, {"ids": [item.pk]})
    both = bulk(world.agent_a, {"ids": [item.pk], "status": "open", "merge": True})
    viewer = bulk(world.viewer_a, {"ids": [item.pk], "status": "resolved"})
    too_many = bulk(world.agent_a, {"ids": list(range(1, 202)), "status": "open"})

    assert neither.status_code == both.status_code == too_many.status_code == 400
    assert neither.json() == {"detail": [BULK_WHAT]}
    assert viewer.status_code == 403
    assert viewer.json() == {"detail": BULK_NEEDS_AGENT}
    assert FeedbackItem.objects.get(pk=item.pk).status == ItemStatus.OPEN


# Tags ----------------------------------------------------------------------------------------


def test_agents_create_tags_and_leads_rename_colour_and_merge_them(world):
    tags = reverse("api:feedback-tag-list")
    created = client_for(world.agent_a).post(
        tags, {"team": world.team_a.pk, "name": "Billing", "colour": "#1D4ED8"}, format="json"
    )
    assert created.status_code == 201, created.json()
    assert created.json()["colour"] == "#1d4ed8"
    tag_id = created.json()["id"]
    detail = reverse("api:feedback-tag-detail", args=[tag_id])

    by_agent = client_for(world.agent_a).patch(detail, {"name": "Invoices"}, format="json")
    by_lead = client_for(world.lead_a).patch(
        detail, {"name": "Invoices", "colour": "#ff0000"}, format="json"
    )

    assert by_agent.status_code == 403
    assert by_lead.status_code == 200
    assert (by_lead.json()["name"], by_lead.json()["colour"]) == ("Invoices", "#ff0000")

    into = TagFactory(team=world.team_a, name="Money")
    item = FeedbackItemFactory(team=world.team_a)
    item.tags.add(tag_id)
    merged = client_for(world.lead_a).post(
        reverse("api:feedback-tag-merge", args=[tag_id]), {"into": into.pk}, format="json"
    )

    assert merged.status_code == 200
    assert merged.json()["name"] == "Money"
    assert not Tag.objects.filter(pk=tag_id).exists()
    assert list(item.tags.values_list("name", flat=True)) == ["Money"]


def test_tag_writes_refuse_bad_values(world):
    TagFactory(team=world.team_a, name="bug")
    tag = TagFactory(team=world.team_a, name="ux")
    detail = reverse("api:feedback-tag-detail", args=[tag.pk])

    taken = client_for(world.lead_a).patch(detail, {"name": "BUG"}, format="json")
    colour = client_for(world.lead_a).patch(detail, {"colour": "red"}, format="json")
    viewer = client_for(world.viewer_a).post(
        reverse("api:feedback-tag-list"), {"team": world.team_a.pk, "name": "x"}, format="json"
    )
    elsewhere = client_for(world.member_b).patch(detail, {"name": "mine"}, format="json")

    assert taken.json() == {"name": [TAG_NAME_TAKEN.format(team=world.team_a, name="BUG")]}
    assert colour.json() == {"colour": [TAG_COLOUR_INVALID]}
    assert (viewer.status_code, elsewhere.status_code) == (403, 404)
    assert Tag.objects.get(pk=tag.pk).name == "ux"


def test_the_schema_documents_the_writes(world):
    response = client_for(world.agent_a).get(reverse("api-schema"), {"format": "json"})

    paths = response.json()["paths"]
    assert "patch" in paths["/api/v1/feedback/items/{id}/"]
    assert "post" in paths["/api/v1/feedback/items/bulk/"]
    assert "post" in paths["/api/v1/feedback/tags/{id}/merge/"]
    assert "patch" in paths["/api/v1/feedback/tags/{id}/"]


def test_a_snoozed_item_hidden_from_the_default_list_is_still_changed(world, item):
    FeedbackItem.objects.filter(pk=item.pk).update(snoozed_until=timezone.now() + timedelta(days=3))

    response = patch(world.agent_a, item, {"snoozed_until": None})

    assert response.status_code == 200
    assert response.json()["snoozed_until"] is None
