"""The feedback items API (/api/v1/feedback/items/): pushed one at a time or in bulk, the same
external_id stored once, agents push and viewers may not, another team's item 404, filters and
keyset pages that neither skip nor repeat a row."""

import base64
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from feedback.api.pagination import CURSOR_INVALID
from feedback.api.viewsets import BULK_NOT_OBJECTS, BULK_ROWS, BULK_TOO_LARGE, MAX_BULK_ITEMS
from feedback.inbox.params import UNKNOWN_ORDERING
from feedback.models import FeedbackItem, ItemStatus, Message, Tag
from feedback.services import (
    RECEIVED_IN_FUTURE,
    RECEIVED_TOO_EARLY,
    TEXT_REQUIRED,
    TOO_MANY_TAGS,
)
from feedback.services.merging import item_merge
from portal import access
from tests.factories import MembershipFactory
from tests.feedback.factories import SENT, ChannelFactory, FeedbackItemFactory, TagFactory

pytestmark = pytest.mark.django_db

LIST = "api:feedback-item-list"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def push(user, body):
    return client_for(user).post(reverse(LIST), body, format="json")


def feedback(team, **fields):
    return {
        "team": team.pk,
        "subject": "The coffee machine leaks",
        "text": "It leaks water on the floor.",
        "customer_email": "Omar@Haddad.example",
        **fields,
    }


# Pushing one item ----------------------------------------------------------------------------


def test_an_agent_pushes_an_item_with_its_first_message_and_tags(world):
    received = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

    response = push(
        world.agent_a,
        feedback(
            world.team_a,
            customer_name="Omar Haddad",
            external_id="ticket-1",
            received_at=received.isoformat(),
            tags=["Coffee", "hardware", "coffee"],
        ),
    )

    assert response.status_code == 201
    body = response.json()
    item = FeedbackItem.objects.get(pk=body["id"])
    assert (body["team"], body["subject"], body["status"], body["external_id"]) == (
        world.team_a.pk,
        "The coffee machine leaks",
        ItemStatus.NEW,
        "ticket-1",
    )
    assert (body["customer_email"], body["customer_name"]) == ("omar@haddad.example", "Omar Haddad")
    assert body["tags"] == ["Coffee", "hardware"]
    assert body["first_message_at"] == body["last_message_at"] == "2026-03-01T08:00:00Z"
    message = Message.objects.get(item=item)
    assert (message.text, message.sender) == ("It leaks water on the floor.", "omar@haddad.example")


def test_the_same_external_id_again_answers_200_with_the_stored_item(world):
    first = push(world.agent_a, feedback(world.team_a, external_id="ticket-7"))
    again = push(
        world.agent_a, feedback(world.team_a, external_id=" ticket-7 ", text="Something else")
    )

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert FeedbackItem.objects.count() == 1
    assert Message.objects.count() == 1


def test_the_external_id_of_a_merged_item_again_answers_200_with_the_item_it_went_into(world):
    first = push(world.agent_a, feedback(world.team_a, external_id="R3-X2"))
    kept = push(world.agent_a, feedback(world.team_a, external_id="R3-Y2", text="Still leaking"))
    item_merge(
        actor=world.agent_a,
        source=FeedbackItem.objects.get(pk=first.json()["id"]),
        into=FeedbackItem.objects.get(pk=kept.json()["id"]),
    )

    again = push(world.agent_a, feedback(world.team_a, external_id="R3-X2"))
    elsewhere = push(world.superuser, feedback(world.team_b, external_id="R3-X2"))

    assert again.status_code == 200
    assert (again.json()["id"], again.json()["external_id"]) == (kept.json()["id"], "R3-Y2")
    assert Message.objects.filter(team=world.team_a).count() == 2
    # Another team's push of the same external id is its own item still.
    assert elsewhere.status_code == 201


def test_the_same_external_id_in_another_team_is_another_item(world):
    push(world.superuser, feedback(world.team_a, external_id="ticket-7"))

    response = push(world.superuser, feedback(world.team_b, external_id="ticket-7"))

    assert response.status_code == 201
    assert FeedbackItem.objects.count() == 2


def test_a_viewer_may_not_push_and_hears_so_before_any_field_error(world):
    response = push(world.viewer_a, feedback(world.team_a, customer_email="", text=""))

    assert response.status_code == 403
    assert response.json() == {"detail": access.NEEDS_ROLE.format(role="agent", team=world.team_a)}
    assert not FeedbackItem.objects.exists()


def test_pushing_into_a_team_one_does_not_belong_to_is_refused(world):
    response = push(world.member_b, feedback(world.team_a))

    assert response.status_code == 400
    assert list(response.json()) == ["team"]
    assert not FeedbackItem.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"subject": "", "text": ""}, "text", TEXT_REQUIRED),
        ({"received_at": "2999-01-01T00:00:00Z"}, "received_at", RECEIVED_IN_FUTURE),
        # Year 1 was once stored, then failed every page west of UTC that showed it.
        ({"received_at": "0001-01-01T00:00:00Z"}, "received_at", RECEIVED_TOO_EARLY),
        ({"tags": [f"tag {n}" for n in range(21)]}, "tags", TOO_MANY_TAGS),
    ],
)
def test_refused_feedback_names_the_field_with_the_services_message(world, fields, field, message):
    response = push(world.agent_a, feedback(world.team_a, **fields))

    assert response.status_code == 400
    assert response.json() == {field: [message]}
    assert not FeedbackItem.objects.exists()


@pytest.mark.parametrize(
    "fields",
    [
        {"text": "nul\x00inside"},
        {"subject": 42},
        {"customer_email": "not an address"},
        {"customer_email": None},
        {"received_at": "yesterday"},
        {"tags": "one,two"},
        {"team": 2**64},
        {"team": "Team A"},
    ],
)
def test_bad_input_answers_400_with_field_errors_and_stores_nothing(world, fields):
    response = push(world.agent_a, {**feedback(world.team_a), **fields})

    assert response.status_code == 400
    assert set(response.json()) == set(fields)
    assert not FeedbackItem.objects.exists()


def test_a_body_that_is_neither_an_object_nor_a_list_is_refused(world):
    response = push(world.agent_a, "just text")

    assert response.status_code == 400
    assert response.json() == {"detail": BULK_NOT_OBJECTS}


# Bulk ----------------------------------------------------------------------------------------


def test_a_bulk_push_answers_200_with_one_result_per_row_in_order(world):
    push(world.agent_a, feedback(world.team_a, external_id="known"))
    rows = [
        feedback(world.team_a, external_id="new-1"),
        feedback(world.team_a, customer_email="nobody"),
        feedback(world.team_a, external_id="known"),
        feedback(world.team_a, subject="", text=""),
    ]

    response = push(world.agent_a, rows)

    assert response.status_code == 200
    results = response.json()
    assert [row["status"] for row in results] == [201, 400, 200, 400]
    assert results[0]["item"]["external_id"] == "new-1"
    assert results[0]["errors"] is None
    assert results[1]["item"] is None
    assert list(results[1]["errors"]) == ["customer_email"]
    assert results[2]["item"]["id"] == FeedbackItem.objects.get(external_id="known").pk
    assert results[3]["errors"] == {"text": [TEXT_REQUIRED]}
    assert FeedbackItem.objects.count() == 2


def test_a_bulk_push_with_a_malformed_row_is_refused_whole_naming_each_rows_errors(world):
    rows = [
        feedback(world.team_a, external_id="fine"),
        "not an object",
        feedback(world.team_a, subject=42),
        {"team": world.team_a.pk},
    ]

    response = push(world.agent_a, rows)

    assert response.status_code == 400
    errors = response.json()[BULK_ROWS]
    assert errors[0] == {}
    assert list(errors[1]) == ["non_field_errors"]
    assert list(errors[2]) == ["subject"]
    assert list(errors[3]) == ["customer_email"]
    assert not FeedbackItem.objects.exists()


def test_a_bulk_row_for_a_team_where_the_role_is_too_low_is_refused_alone(world):
    MembershipFactory(user=world.agent_a, team=world.team_b, role="viewer")

    response = push(
        world.agent_a, [feedback(world.team_b, external_id="b"), feedback(world.team_a)]
    )

    results = response.json()
    assert [row["status"] for row in results] == [403, 201]
    assert results[0]["errors"] == {
        "detail": access.NEEDS_ROLE.format(role="agent", team=world.team_b)
    }
    assert list(FeedbackItem.objects.values_list("team", flat=True)) == [world.team_a.pk]


def test_a_bulk_push_of_the_same_rows_twice_stores_them_once(world):
    rows = [feedback(world.team_a, external_id=f"row-{n}") for n in range(3)]

    first = push(world.agent_a, rows).json()
    again = push(world.agent_a, rows).json()

    assert [row["status"] for row in first] == [201, 201, 201]
    assert [row["status"] for row in again] == [200, 200, 200]
    assert [row["item"]["id"] for row in first] == [row["item"]["id"] for row in again]
    assert FeedbackItem.objects.count() == 3


def test_an_empty_bulk_push_answers_an_empty_list_and_too_many_rows_are_refused(world):
    empty = push(world.agent_a, [])
    too_many = push(world.agent_a, [feedback(world.team_a)] * (MAX_BULK_ITEMS + 1))

    assert (empty.status_code, empty.json()) == (200, [])
    assert (too_many.status_code, too_many.json()) == (400, {"detail": BULK_TOO_LARGE})
    assert not FeedbackItem.objects.exists()


# Reading -------------------------------------------------------------------------------------


def test_another_teams_items_are_neither_listed_nor_shown(world):
    item = FeedbackItemFactory(team=world.team_a)
    client = client_for(world.member_b)

    assert client.get(reverse(LIST)).json()["results"] == []
    assert client.get(reverse("api:feedback-item-detail", args=[item.pk])).status_code == 404
    assert client.get(reverse("api:feedback-item-detail", args=[2**62])).status_code == 404


def test_a_viewer_reads_the_items_of_the_team(world):
    item = FeedbackItemFactory(team=world.team_a)

    listed = client_for(world.viewer_a).get(reverse(LIST))
    shown = client_for(world.viewer_a).get(reverse("api:feedback-item-detail", args=[item.pk]))

    assert [row["id"] for row in listed.json()["results"]] == [item.pk]
    assert set(listed.json()) == {"next", "previous", "results"}
    assert shown.json()["id"] == item.pk


def test_items_filter_by_team_channel_status_and_tag(world):
    channel = ChannelFactory(team=world.team_a)
    tag = TagFactory(team=world.team_a)
    tagged = FeedbackItemFactory(team=world.team_a, status=ItemStatus.OPEN)
    tagged.tags.add(tag)
    by_channel = FeedbackItemFactory(team=world.team_a, channel=channel)
    spam = FeedbackItemFactory(team=world.team_a, status=ItemStatus.SPAM)
    other = FeedbackItemFactory(team=world.team_b)
    client = client_for(world.superuser)

    def ids(params):
        response = client.get(reverse(LIST), params)
        assert response.status_code == 200
        return sorted(row["id"] for row in response.json()["results"])

    assert ids({"team": world.team_b.pk}) == [other.pk]
    assert ids({"channel": channel.pk}) == [by_channel.pk]
    assert ids({"tag": tag.pk}) == [tagged.pk]
    assert ids({"status": ["open", "spam"]}) == sorted([tagged.pk, spam.pk])


@pytest.mark.parametrize(
    "params",
    [
        {"team": "a"},
        {"team": ""},
        {"channel": str(2**64)},
        {"status": "closed"},
        {"page_size": "0"},
        {"ordering": "subject"},
        {"to": "9999-12-31"},
        {"from": "0001-01-01"},
    ],
)
def test_bad_filters_answer_400_naming_the_parameter(world, params):
    response = client_for(world.agent_a).get(reverse(LIST), params)

    assert response.status_code == 400
    assert list(response.json()) == list(params)


def test_an_unknown_ordering_answers_400_with_the_choices(world):
    response = client_for(world.agent_a).get(reverse(LIST), {"ordering": "-customer"})

    assert response.json() == {
        "ordering": [
            UNKNOWN_ORDERING.format(
                value="-customer",
                choices="priority, last_message_at, first_message_at, created_at, sla_due",
            )
        ]
    }


# Keyset pages --------------------------------------------------------------------------------


def pages(client, url, params, *, link="next") -> list[list[int]]:
    """Every page from ``url`` on, following ``link``: the ids on each."""
    found = []
    response = client.get(url, params)
    while True:
        assert response.status_code == 200, response.json()
        body = response.json()
        found.append([row["id"] for row in body["results"]])
        if body[link] is None:
            return found
        response = client.get(body[link])


def items_with_ties(team, count: int) -> list[FeedbackItem]:
    # Three items share each time, so the order is decided by the id within a time.
    return [
        FeedbackItemFactory(
            team=team,
            first_message_at=SENT - timedelta(hours=n // 3),
            last_message_at=SENT - timedelta(hours=n // 3),
        )
        for n in range(count)
    ]


def test_keyset_pages_walk_the_whole_list_once_in_order_both_ways(world):
    items = items_with_ties(world.team_a, 11)
    expected = [
        item.pk for item in sorted(items, key=lambda i: (i.last_message_at, i.pk), reverse=True)
    ]
    client = client_for(world.agent_a)

    forward = pages(client, reverse(LIST), {"page_size": 3})

    assert [len(page) for page in forward] == [3, 3, 3, 2]
    assert [pk for page in forward for pk in page] == expected
    last = client.get(reverse(LIST), {"page_size": 3})
    for _ in range(3):
        last = client.get(last.json()["next"])
    assert last.json()["next"] is None
    backward = pages(client, last.json()["previous"], {}, link="previous")
    assert backward == forward[-2::-1]


def test_keyset_pages_follow_the_ordering_asked_for(world):
    items = items_with_ties(world.team_a, 7)
    expected = [item.pk for item in sorted(items, key=lambda i: (i.first_message_at, i.pk))]

    found = pages(
        client_for(world.agent_a), reverse(LIST), {"page_size": 2, "ordering": "first_message_at"}
    )

    assert [pk for page in found for pk in page] == expected


def test_an_item_arriving_while_someone_pages_does_not_shift_the_pages(world):
    items_with_ties(world.team_a, 6)
    client = client_for(world.agent_a)
    first = client.get(reverse(LIST), {"page_size": 3}).json()

    newest = FeedbackItemFactory(team=world.team_a, last_message_at=SENT + timedelta(days=1))
    second = client.get(first["next"]).json()

    seen = [row["id"] for row in first["results"] + second["results"]]
    assert len(set(seen)) == 6
    assert newest.pk not in seen
    assert second["next"] is None


def test_the_first_page_has_no_previous_link_and_filters_stay_in_the_links(world):
    items_with_ties(world.team_a, 4)
    FeedbackItemFactory(team=world.team_b)
    client = client_for(world.superuser)

    first = client.get(reverse(LIST), {"page_size": 2, "team": world.team_a.pk}).json()
    query = parse_qs(urlparse(first["next"]).query)

    assert first["previous"] is None
    assert (query["team"], query["page_size"]) == ([str(world.team_a.pk)], ["2"])
    assert [len(page) for page in pages(client, first["next"], {})] == [2]


@pytest.mark.parametrize(
    "cursor", ["nonsense", "e30", "eyJkIjoibiIsIm8iOlsiLWxhc3RfbWVzc2FnZV9hdCJdLCJ2IjpbMV19", "é"]
)
def test_a_cursor_this_list_did_not_give_out_answers_404(world, cursor):
    FeedbackItemFactory(team=world.team_a)

    response = client_for(world.agent_a).get(reverse(LIST), {"cursor": cursor})

    assert response.status_code == 404
    assert response.json() == {"detail": CURSOR_INVALID}


def test_a_cursor_of_another_ordering_answers_404(world):
    items_with_ties(world.team_a, 3)
    client = client_for(world.agent_a)
    cursor = parse_qs(urlparse(client.get(reverse(LIST), {"page_size": 1}).json()["next"]).query)[
        "cursor"
    ][0]

    response = client.get(reverse(LIST), {"cursor": cursor, "ordering": "created_at"})

    assert (response.status_code, response.json()) == (404, {"detail": CURSOR_INVALID})


def test_a_cursor_with_a_huge_id_or_a_naive_time_answers_404(world):
    def cursor(values):
        payload = {"d": "n", "o": ["-last_message_at", "-id"], "v": values}
        return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")

    client = client_for(world.agent_a)
    huge = client.get(reverse(LIST), {"cursor": cursor(["2026-03-03T09:30:00+00:00", 2**70])})
    naive = client.get(reverse(LIST), {"cursor": cursor(["2026-03-03T09:30:00", 1])})
    month = client.get(reverse(LIST), {"cursor": cursor(["2026-13-03T09:30:00+00:00", 1])})

    assert [r.status_code for r in (huge, naive, month)] == [404, 404, 404]


def test_listing_items_takes_the_same_number_of_queries_however_many(world):
    client = client_for(world.agent_a)
    for _ in range(2):
        item = FeedbackItemFactory(team=world.team_a)
        item.tags.add(TagFactory(team=world.team_a))
    client.get(reverse(LIST))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse(LIST))
    for _ in range(10):
        item = FeedbackItemFactory(team=world.team_a)
        item.tags.add(TagFactory(team=world.team_a))
    with CaptureQueriesContext(connection) as many:
        client.get(reverse(LIST))

    assert len(many) == len(few)
    assert Tag.objects.count() == 12


# CSV import ------------------------------------------------------------------------------------


def test_a_csv_import_answers_202_with_a_job_that_stores_each_row_once(
    world, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from feedback.imports import UNKNOWN_TEAM

    text = (
        "team,customer_email,subject,text,external_id\n"
        "team-a,ada@example.test,Export,The export fails,csv-1\n"
        "team-b,bob@example.test,Elsewhere,Not my team,csv-2\n"
    )
    client = client_for(world.agent_a)

    def upload():
        file = SimpleUploadedFile("feedback.csv", text.encode(), content_type="text/csv")
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                reverse("api:feedback-item-import"), {"file": file}, format="multipart"
            )

    response = upload()
    assert response.status_code == 202
    # A plain str: WSGI servers (runserver's among them) refuse a header of another type.
    assert type(response["Location"]) is str
    job = client.get(response["Location"]).json()
    assert job["status"] == "done"
    assert (job["created"], job["rejected"]) == (1, 1)
    reason = "team: " + UNKNOWN_TEAM.format(team="team-b")
    assert job["report"] == [{"line": 3, "reason": reason}]
    assert FeedbackItem.objects.get(external_id="csv-1").team == world.team_a

    again = client.get(upload()["Location"]).json()
    assert (again["created"], again["updated"], again["rejected"]) == (0, 1, 1)
    assert FeedbackItem.objects.filter(external_id="csv-1").count() == 1


def test_a_viewer_may_not_import_feedback(world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    file = SimpleUploadedFile("f.csv", b"team,customer_email,text\nteam-a,a@example.test,x\n")
    response = client_for(world.viewer_a).post(
        reverse("api:feedback-item-import"), {"file": file}, format="multipart"
    )
    assert response.status_code == 403
