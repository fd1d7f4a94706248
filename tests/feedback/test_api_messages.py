"""The messages, quarantine and tags API: messages with their attachments and lanes, read-only
and in keyset pages; quarantined payloads retried or discarded by agents and downloaded raw as a
file; tags of the team; another team's rows 404 everywhere."""

from datetime import timedelta

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from feedback import services
from feedback.models import Attachment, Lane, Quarantine, QuarantineStatus
from feedback.services import QUARANTINE_CLOSED
from feedback.services.storage import ATTACHMENT_PREFIX, blob_store
from feedback.views.downloads import FILE_MISSING
from portal import access
from tests.feedback.factories import (
    SENT,
    ChannelFactory,
    FeedbackItemFactory,
    MessageFactory,
    TagFactory,
    make_mail,
)

pytestmark = pytest.mark.django_db

MESSAGES = "api:feedback-message-list"
QUARANTINE = "api:feedback-quarantine-list"
UNPARSEABLE = b"no headers here\r\n"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# Messages ------------------------------------------------------------------------------------


def test_a_message_shows_its_fields_and_its_attachments_with_a_download_link(world):
    channel = ChannelFactory(team=world.team_a)
    message = MessageFactory(
        item=FeedbackItemFactory(team=world.team_a),
        channel=channel,
        external_id="abc@mail.example",
        sender="omar@haddad.example",
        sender_name="Omar Haddad",
        reply_to="orders@haddad.example",
        quoted_text="> earlier",
        html="<p>Hello</p>",
    )
    content = b"%PDF-1.4 invoice"
    attachment = Attachment.objects.create(
        message=message,
        filename="invoice.pdf",
        content_type="application/pdf",
        size=len(content),
        sha256="a" * 64,
        file=blob_store(ATTACHMENT_PREFIX, content),
    )

    response = client_for(world.viewer_a).get(
        reverse("api:feedback-message-detail", args=[message.pk])
    )

    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in ("item", "channel", "external_id", "lane", "direction")} == {
        "item": message.item_id,
        "channel": channel.pk,
        "external_id": "abc@mail.example",
        "lane": Lane.CUSTOMER,
        "direction": "in",
    }
    assert (body["sender"], body["sender_name"], body["reply_to"]) == (
        "omar@haddad.example",
        "Omar Haddad",
        "orders@haddad.example",
    )
    assert (body["quoted_text"], body["html"], body["thread_reason"]) == (
        "> earlier",
        "<p>Hello</p>",
        "new",
    )
    assert body["sent_at"] == "2026-03-03T09:30:00Z"
    download = reverse("feedback:attachment-download", args=[attachment.pk])
    assert body["attachments"] == [
        {
            "id": attachment.pk,
            "filename": "invoice.pdf",
            "size": len(content),
            "content_type": "application/pdf",
            "sha256": "a" * 64,
            "inline": False,
            "content_id": "",
            "download_url": f"http://testserver{download}",
        }
    ]
    client = APIClient()
    client.force_login(world.viewer_a)
    assert b"".join(client.get(download).streaming_content) == content


def test_a_forum_post_a_note_and_a_failed_reply_say_what_they_are(world):
    item = FeedbackItemFactory(team=world.team_a)
    post = MessageFactory(
        item=item,
        sender="",
        sender_handle="forum.example.com/eve",
        external_url="https://forum.example.com/t/export/12/3",
        sentiment="negative",
        sentiment_score=-0.6,
    )
    note = MessageFactory(item=item, direction="out", is_note=True, author=world.agent_a)
    failed = MessageFactory(
        item=item, direction="out", author=world.agent_a, delivery="failed", delivery_error="550"
    )

    rows = {
        row["id"]: row
        for row in client_for(world.agent_a)
        .get(reverse(MESSAGES), {"item": item.pk})
        .json()["results"]
    }

    assert {key: rows[post.pk][key] for key in ("sender_handle", "external_url", "sentiment")} == {
        "sender_handle": "forum.example.com/eve",
        "external_url": "https://forum.example.com/t/export/12/3",
        "sentiment": "negative",
    }
    assert (rows[post.pk]["is_note"], rows[post.pk]["author"]) == (False, None)
    assert (rows[note.pk]["is_note"], rows[note.pk]["author"]) == (True, world.agent_a.pk)
    assert (rows[failed.pk]["delivery"], rows[failed.pk]["delivery_error"]) == ("failed", "550")
    # Neither a link nor a sentiment: null, as the schema says, not "" (no URL, no sentiment).
    assert (rows[note.pk]["external_url"], rows[note.pk]["sentiment"]) == (None, None)


def test_messages_filter_by_item_channel_lane_and_external_id(world):
    item = FeedbackItemFactory(team=world.team_a)
    channel = ChannelFactory(team=world.team_a)
    first = MessageFactory(item=item, external_id="one@x.example")
    bounce = MessageFactory(item=item, channel=channel, lane=Lane.BOUNCE)
    auto = MessageFactory(
        item=None, team=world.team_a, subject="", channel=channel, lane=Lane.AUTO_REPLY
    )
    other = MessageFactory(item=FeedbackItemFactory(team=world.team_b))
    client = client_for(world.superuser)

    def ids(params):
        response = client.get(reverse(MESSAGES), params)
        assert response.status_code == 200
        return sorted(row["id"] for row in response.json()["results"])

    assert ids({"item": item.pk}) == sorted([first.pk, bounce.pk])
    assert ids({"channel": channel.pk}) == sorted([bounce.pk, auto.pk])
    assert ids({"lane": ["bounce", "auto_reply"]}) == sorted([bounce.pk, auto.pk])
    assert ids({"external_id": "<one@x.example>"}) == [first.pk]
    assert ids({"team": world.team_b.pk}) == [other.pk]


@pytest.mark.parametrize(
    "params", [{"lane": "spam"}, {"item": "1.5"}, {"external_id": "a\x00b"}, {"ordering": "text"}]
)
def test_bad_message_filters_answer_400(world, params):
    response = client_for(world.agent_a).get(reverse(MESSAGES), params)

    assert response.status_code == 400
    assert list(response.json()) == list(params)


def test_another_teams_messages_are_neither_listed_nor_shown(world):
    message = MessageFactory(item=FeedbackItemFactory(team=world.team_a))
    client = client_for(world.member_b)

    assert client.get(reverse(MESSAGES)).json()["results"] == []
    detail = reverse("api:feedback-message-detail", args=[message.pk])
    assert client.get(detail).status_code == 404


def test_messages_are_read_only(world):
    message = MessageFactory(item=FeedbackItemFactory(team=world.team_a))
    client = client_for(world.superuser)
    detail = reverse("api:feedback-message-detail", args=[message.pk])

    assert client.post(reverse(MESSAGES), {}, format="json").status_code == 405
    assert client.patch(detail, {"text": "x"}, format="json").status_code == 405
    assert client.delete(detail).status_code == 405


def test_messages_come_oldest_first_in_keyset_pages(world):
    item = FeedbackItemFactory(team=world.team_a)
    messages = [
        MessageFactory(item=item, sent_at=SENT + timedelta(minutes=n // 2)) for n in range(5)
    ]
    client = client_for(world.agent_a)

    seen, response = [], client.get(reverse(MESSAGES), {"page_size": 2, "item": item.pk})
    while True:
        seen += [row["id"] for row in response.json()["results"]]
        if response.json()["next"] is None:
            break
        response = client.get(response.json()["next"])

    assert seen == [message.pk for message in messages]


# Quarantine ----------------------------------------------------------------------------------


def quarantined(team, raw: bytes = UNPARSEABLE) -> Quarantine:
    channel = ChannelFactory(team=team)
    payload, _ = services.payload_receive(channel=channel, raw=raw, queue_parse=False)
    services.payload_parse(payload=payload)
    return Quarantine.objects.get(payload=payload)


def action(user, quarantine, name):
    url = reverse(f"api:feedback-quarantine-{name}", args=[quarantine.pk])
    return client_for(user).post(url)


def test_a_quarantined_payload_shows_its_channel_error_size_and_hash(world):
    quarantine = quarantined(world.team_a)
    payload = quarantine.payload

    response = client_for(world.viewer_a).get(reverse(QUARANTINE))

    assert response.status_code == 200
    [row] = response.json()["results"]
    assert {
        key: row[key]
        for key in ("id", "team", "channel", "payload", "size", "sha256", "status", "retry_count")
    } == {
        "id": quarantine.pk,
        "team": world.team_a.pk,
        "channel": payload.channel_id,
        "payload": payload.pk,
        "size": len(UNPARSEABLE),
        "sha256": payload.sha256,
        "status": QuarantineStatus.OPEN,
        "retry_count": 0,
    }
    assert row["error"] == quarantine.error
    assert row["message"] is None
    raw = reverse("api:feedback-quarantine-raw", args=[quarantine.pk])
    assert row["raw_url"] == f"http://testserver{raw}"


def test_an_agent_retries_a_payload_that_fails_again_and_it_stays_open(world):
    quarantine = quarantined(world.team_a)

    response = action(world.agent_a, quarantine, "retry")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["retry_count"]) == ("open", 1)
    assert response.json()["error"]


def test_a_retry_that_parses_resolves_the_payload_and_names_its_message(world, monkeypatch):
    quarantine = quarantined(world.team_a)
    monkeypatch.setattr(
        "feedback.services.parsing.blob_read",
        lambda name: make_mail(message_id="fixed@x.example"),
    )

    response = action(world.agent_a, quarantine, "retry")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["retry_count"]) == ("resolved", 1)
    assert body["message"] is not None
    message = client_for(world.agent_a).get(
        reverse("api:feedback-message-detail", args=[body["message"]])
    )
    assert message.json()["external_id"] == "fixed@x.example"


def test_an_agent_discards_a_payload_once_and_a_second_time_is_refused(world):
    quarantine = quarantined(world.team_a)

    discarded = action(world.agent_a, quarantine, "discard")
    again = action(world.agent_a, quarantine, "discard")
    retried = action(world.agent_a, quarantine, "retry")

    assert (discarded.status_code, discarded.json()["status"]) == (200, "discarded")
    closed = {"detail": QUARANTINE_CLOSED.format(status="discarded")}
    assert (again.status_code, again.json()) == (400, closed)
    assert (retried.status_code, retried.json()) == (400, closed)


def test_a_viewer_may_not_retry_or_discard_and_another_team_gets_404(world):
    quarantine = quarantined(world.team_a)
    needs_agent = {"detail": access.NEEDS_ROLE.format(role="agent", team=world.team_a)}

    for name in ("retry", "discard"):
        refused = action(world.viewer_a, quarantine, name)
        assert (refused.status_code, refused.json()) == (403, needs_agent)
        assert action(world.member_b, quarantine, name).status_code == 404
    quarantine.refresh_from_db()
    assert (quarantine.status, quarantine.retry_count) == (QuarantineStatus.OPEN, 0)


def test_the_raw_payload_downloads_byte_for_byte_as_an_attachment(world):
    raw = b"no headers here\r\n\xff\xfe\x00 bytes as they came\r\n"
    quarantine = quarantined(world.team_a, raw=raw)

    response = client_for(world.viewer_a).get(
        reverse("api:feedback-quarantine-raw", args=[quarantine.pk])
    )

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == raw
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == (
        f'attachment; filename="payload-{quarantine.payload_id}.eml"'
    )
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_raw_payload_missing_from_storage_answers_404_and_another_team_404(world):
    quarantine = quarantined(world.team_a)
    url = reverse("api:feedback-quarantine-raw", args=[quarantine.pk])
    other = client_for(world.member_b).get(url)
    quarantine.payload.file.storage.delete(quarantine.payload.file.name)

    missing = client_for(world.agent_a).get(url)

    assert other.status_code == 404
    assert (missing.status_code, missing.json()) == (404, {"detail": FILE_MISSING})


def test_quarantine_lists_every_status_and_filters_by_status_team_and_channel(world):
    open_row = quarantined(world.team_a)
    discarded = quarantined(world.team_a, raw=b"also broken\r\n")
    services.quarantine_discard(actor=world.agent_a, quarantine=discarded)
    other = quarantined(world.team_b, raw=b"broken in b\r\n")
    client = client_for(world.superuser)

    def ids(params):
        response = client.get(reverse(QUARANTINE), params)
        assert response.status_code == 200
        return sorted(row["id"] for row in response.json()["results"])

    assert ids({}) == sorted([open_row.pk, discarded.pk, other.pk])
    assert ids({"status": "open", "team": world.team_a.pk}) == [open_row.pk]
    assert ids({"status": "discarded"}) == [discarded.pk]
    assert ids({"channel": other.payload.channel_id}) == [other.pk]
    assert client.get(reverse(QUARANTINE), {"status": "gone"}).status_code == 400
    assert client.get(reverse(QUARANTINE), {"ordering": "error"}).status_code == 400
    assert (
        client_for(world.agent_a).get(reverse(QUARANTINE), {"ordering": "-size"}).status_code == 200
    )


# Tags ----------------------------------------------------------------------------------------


def test_tags_of_the_team_are_listed_and_another_teams_are_not(world):
    tag = TagFactory(team=world.team_a, name="billing")
    other = TagFactory(team=world.team_b)
    client = client_for(world.viewer_a)

    listed = client.get(reverse("api:feedback-tag-list"))
    hidden = client.get(reverse("api:feedback-tag-detail", args=[other.pk]))

    assert listed.json()["results"] == [
        {"id": tag.pk, "team": world.team_a.pk, "name": "billing", "colour": tag.colour}
    ]
    assert hidden.status_code == 404
    assert client.get(reverse("api:feedback-tag-list"), {"team": "x"}).status_code == 400
