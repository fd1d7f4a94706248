"""Channel health, the quarantine and the downloads: every member of the team reads health and
quarantine, admins are told about unhealthy channels, agents retry and discard, and every file
goes out as an attachment that no browser renders, to the members of its team only."""

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from feedback.channels import ConnectorError
from feedback.models import Attachment, Quarantine, QuarantineStatus
from feedback.services import (
    QUARANTINE_CLOSED,
    UNHEALTHY_KIND,
    channel_claim,
    channel_create,
    channel_poll,
    new_lease_owner,
    payload_parse,
    payload_receive,
)
from feedback.services.storage import ATTACHMENT_PREFIX, blob_store, sha256_hex
from feedback.views.downloads import FILE_MISSING, OCTET_STREAM
from feedback.views.monitoring import DISCARDED, NEVER, RETRY_FAILED, duration_words
from portal.models import Notification, UserProfile
from tests.feedback.factories import ChannelFactory, MessageFactory
from tests.feedback.fake_connector import KIND, fake_connector  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
BAD_MAIL = b"no headers\r\n"


def text(response) -> str:
    return html.unescape(response.content.decode())


def words(response) -> str:
    """The page's text without its tags, as a reader sees it."""
    return " ".join(re.sub(r"<[^>]+>", " ", text(response)).split())


def health_url(slug: str = "team-a") -> str:
    return reverse("feedback:channel_health", args=[slug])


def quarantine_url(slug: str = "team-a") -> str:
    return reverse("feedback:quarantine_list", args=[slug])


# Health ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (None, NEVER),
        (0, "0 s"),
        (59.9, "59 s"),
        (60, "1 min"),
        (3599, "59 min"),
        (3600, "1 h"),
        (3660, "1 h 1 min"),
        (86400, "1 d"),
        (86400 + 7200, "1 d 2 h"),
    ],
)
def test_lags_read_as_words(seconds, words):
    assert duration_words(seconds) == words


def unhealthy_channel(team, name: str = "Broken mailbox", **fields):
    return ChannelFactory(
        team=team,
        name=name,
        healthy=False,
        error_streak=6,
        last_error="authentication failed",
        last_error_at=timezone.now(),
        **fields,
    )


def test_members_read_their_teams_channel_health(client, world):
    ChannelFactory(
        team=world.team_a,
        name="Support mailbox",
        last_success_at=timezone.now() - timedelta(minutes=5, seconds=10),
    )
    unhealthy_channel(world.team_a)
    ChannelFactory(team=world.team_b, name="Growth mailbox")
    client.force_login(world.viewer_a)

    response = client.get(health_url())

    body = text(response)
    assert response.status_code == 200
    assert "Support mailbox" in body
    assert "5 min" in body
    assert "Broken mailbox" in body
    assert "authentication failed" in body
    assert "Growth mailbox" not in body
    # The notice is for the admins, who can act on it.
    assert "is unhealthy:" not in body


def test_admins_see_a_notice_for_each_unhealthy_channel(client, world):
    broken = unhealthy_channel(world.team_a)
    unhealthy_channel(world.team_a, name="Off and broken", enabled=False)
    client.force_login(world.admin_a)

    response = client.get(health_url())
    body = text(response)

    assert (
        "Channel Broken mailbox is unhealthy: its last 6 polls failed (authentication failed)"
        in words(response)
    )
    assert "Channel Off and broken is unhealthy" not in body
    assert reverse("feedback:channel_edit", args=["team-a", broken.pk]) in body
    list_body = words(client.get(reverse("feedback:channel_list", args=["team-a"])))
    assert "Channel Broken mailbox is unhealthy" in list_body


def test_the_health_page_counts_quarantined_payloads_and_messages(client, world):
    channel = ChannelFactory(team=world.team_a)
    payload, _ = payload_receive(channel=channel, raw=BAD_MAIL, queue_parse=False)
    payload_parse(payload=payload)
    now = timezone.now()
    for minutes in (5, 30, 90):
        MessageFactory(
            item__team=world.team_a, channel=channel, received_at=now - timedelta(minutes=minutes)
        )
    client.force_login(world.viewer_a)

    response = client.get(health_url())

    row = response.context["rows"][0]
    assert (row.health.quarantine_count, row.health.messages_last_hour) == (1, 2)
    assert row.health.messages_per_hour == round(3 / 24, 1)
    assert "2 in the last hour" in text(response)


def test_times_are_shown_in_the_readers_time_zone(client, world):
    ChannelFactory(team=world.team_a, last_success_at=datetime(2026, 3, 3, 12, 0, tzinfo=UTC))
    UserProfile.objects.update_or_create(
        user=world.viewer_a, defaults={"time_zone": "Europe/Berlin"}
    )
    client.force_login(world.viewer_a)

    assert "3 Mar 2026, 13:00" in text(client.get(health_url()))


def test_the_health_page_renders_as_a_page_and_as_a_fragment(client, world):
    ChannelFactory(team=world.team_a)
    client.force_login(world.viewer_a)

    page = client.get(health_url())
    fragment = client.get(health_url(), **HX)

    assert b"<html" in page.content
    assert b"<html" not in fragment.content
    assert fragment.content.lstrip().startswith(b'<section id="channel-health"')
    assert "HX-Request" in fragment["Vary"]


def test_the_page_says_the_table_refreshes_itself_only_with_javascript(client, world):
    ChannelFactory(team=world.team_a)
    client.force_login(world.viewer_a)

    body = text(client.get(health_url()))

    assert "with JavaScript on, the table refreshes itself every minute; reload the page" in body


def test_a_team_without_channels_says_so(client, world):
    client.force_login(world.viewer_a)

    body = text(client.get(health_url()))

    assert "Team A has no channels, so there is nothing to watch yet." in body
    assert "An admin of the team adds channels." in body


def test_another_teams_health_page_is_not_found(client, world):
    client.force_login(world.member_b)

    assert client.get(health_url("team-a")).status_code == 404
    assert client.get(quarantine_url("team-a")).status_code == 404


def test_the_unhealthy_notification_links_to_the_health_page(world, fake_connector):  # noqa: F811
    channel = ChannelFactory(team=world.team_a, kind=KIND, config={"address": "s@example.test"})
    fake_connector.errors = [ConnectorError("authentication failed", retryable=False)]
    owner = new_lease_owner()
    now = timezone.now()
    assert channel_claim(channel_id=channel.pk, owner=owner, now=now)

    channel_poll(channel_id=channel.pk, owner=owner, now=now)

    notification = Notification.objects.get(user=world.admin_a, kind=UNHEALTHY_KIND)
    assert notification.url == health_url()


# Quarantine --------------------------------------------------------------------------------


def quarantined(team, raw: bytes = BAD_MAIL) -> Quarantine:
    channel = ChannelFactory(team=team, name=f"Mailbox of {team}")
    payload, _ = payload_receive(channel=channel, raw=raw, queue_parse=False)
    return payload_parse(payload=payload).quarantine


def action_url(name: str, row: Quarantine) -> str:
    return reverse(name, args=[row.payload.channel.team.slug, row.pk])


def test_viewers_read_the_quarantine_without_the_actions(client, world):
    row = quarantined(world.team_a)
    quarantined(world.team_b)
    client.force_login(world.viewer_a)

    response = client.get(quarantine_url())

    body = text(response)
    assert row.error in body
    assert "Mailbox of Team A" in body
    assert "Mailbox of Team B" not in body
    assert action_url("feedback:quarantine_download", row) in body
    assert action_url("feedback:quarantine_retry", row) not in body
    assert action_url("feedback:quarantine_discard", row) not in body


def test_agents_see_retry_and_discard(client, world):
    row = quarantined(world.team_a)
    client.force_login(world.agent_a)

    body = text(client.get(quarantine_url()))

    assert action_url("feedback:quarantine_retry", row) in body
    assert action_url("feedback:quarantine_discard", row) in body


def test_the_quarantine_renders_as_a_page_and_as_a_fragment(client, world):
    quarantined(world.team_a)
    client.force_login(world.viewer_a)

    page = client.get(quarantine_url())
    fragment = client.get(quarantine_url(), **HX)

    assert b"<html" in page.content
    assert b"<html" not in fragment.content
    assert fragment.content.lstrip().startswith(b'<section id="quarantine-results"')


def test_an_empty_quarantine_says_every_payload_was_read(client, world):
    client.force_login(world.viewer_a)

    body = text(client.get(quarantine_url()))

    assert "Nothing is in quarantine: every payload the channels delivered was read." in body


def test_a_retry_that_fails_again_says_why_and_counts(client, world):
    row = quarantined(world.team_a)
    client.force_login(world.agent_a)

    response = client.post(action_url("feedback:quarantine_retry", row), follow=True)

    row.refresh_from_db()
    assert response.redirect_chain == [(quarantine_url(), 302)]
    assert (row.status, row.retry_count) == (QuarantineStatus.OPEN, 1)
    assert RETRY_FAILED.format(error=row.error) in text(response)


def test_discarding_takes_the_payload_out_of_the_list_and_keeps_its_bytes(client, world):
    row = quarantined(world.team_a)
    client.force_login(world.agent_a)

    response = client.post(action_url("feedback:quarantine_discard", row), follow=True)

    row.refresh_from_db()
    assert row.status == QuarantineStatus.DISCARDED
    assert row.closed_by == world.agent_a
    assert DISCARDED in text(response)
    assert row.error not in text(response)
    assert client.get(action_url("feedback:quarantine_download", row)).status_code == 200
    shown = text(client.get(quarantine_url(), {"status": "discarded"}))
    assert row.error in shown
    again = client.post(action_url("feedback:quarantine_discard", row), follow=True)
    assert QUARANTINE_CLOSED.format(status="discarded") in text(again)


def test_viewers_may_not_retry_or_discard(client, world):
    row = quarantined(world.team_a)
    client.force_login(world.viewer_a)

    assert client.post(action_url("feedback:quarantine_retry", row)).status_code == 403
    assert client.post(action_url("feedback:quarantine_discard", row)).status_code == 403
    row.refresh_from_db()
    assert (row.status, row.retry_count) == (QuarantineStatus.OPEN, 0)


def test_another_teams_payload_is_not_found_under_this_teams_url(client, world):
    theirs = quarantined(world.team_b)
    client.force_login(world.admin_a)

    for name in ("feedback:quarantine_retry", "feedback:quarantine_discard"):
        assert client.post(reverse(name, args=["team-a", theirs.pk])).status_code == 404
    download = reverse("feedback:quarantine_download", args=["team-a", theirs.pk])
    assert client.get(download).status_code == 404


def test_the_raw_payload_downloads_byte_for_byte_as_an_attachment(client, world):
    raw = BAD_MAIL + b"<script>alert(1)</script>\xff\r\n"
    row = quarantined(world.team_a, raw=raw)
    client.force_login(world.viewer_a)

    response = client.get(action_url("feedback:quarantine_download", row))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == raw
    assert response["Content-Disposition"] == (
        f'attachment; filename="payload-{row.payload_id}.eml"'
    )
    assert response["Content-Type"] == OCTET_STREAM
    assert response["X-Content-Type-Options"] == "nosniff"


# Attachments --------------------------------------------------------------------------------


def attachment(team, *, filename: str, content_type: str, content: bytes = b"bytes") -> Attachment:
    message = MessageFactory(item__team=team)
    return Attachment.objects.create(
        message=message,
        filename=filename,
        content_type=content_type,
        size=len(content),
        sha256=sha256_hex(content),
        file=blob_store(ATTACHMENT_PREFIX, content),
    )


def download_url(row: Attachment) -> str:
    return reverse("feedback:attachment-download", args=[row.pk])


def test_an_attachment_downloads_as_a_file_never_inline(client, world):
    row = attachment(world.team_a, filename="invoice.pdf", content_type="application/pdf")
    client.force_login(world.viewer_a)

    response = client.get(download_url(row))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"bytes"
    assert response["Content-Disposition"] == 'attachment; filename="invoice.pdf"'
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("content_type", ["text/html", "image/svg+xml", "application/x-sh", ""])
def test_types_a_browser_could_run_go_out_as_octet_stream(client, world, content_type):
    row = attachment(world.team_a, filename="page.html", content_type=content_type)
    client.force_login(world.viewer_a)

    response = client.get(download_url(row))

    assert response["Content-Type"] == OCTET_STREAM
    assert response["Content-Disposition"].startswith("attachment;")


def test_the_file_name_in_the_header_is_cleaned(client, world):
    row = attachment(
        world.team_a, filename='..\\..\\boot"\x07 .ini\r\nX-Evil: 1', content_type="text/plain"
    )
    client.force_login(world.viewer_a)

    disposition = client.get(download_url(row))["Content-Disposition"]

    assert disposition.startswith("attachment; filename=")
    assert "\r" not in disposition and "\n" not in disposition and "\x07" not in disposition
    assert "\\" not in disposition and ".." not in disposition


def test_a_non_ascii_file_name_is_kept(client, world):
    row = attachment(world.team_a, filename="Übersicht März.pdf", content_type="application/pdf")
    client.force_login(world.viewer_a)

    disposition = client.get(download_url(row))["Content-Disposition"]

    assert disposition == "attachment; filename*=utf-8''%C3%9Cbersicht%20M%C3%A4rz.pdf"


def test_another_teams_attachment_is_not_found(client, world):
    row = attachment(world.team_b, filename="secret.pdf", content_type="application/pdf")
    client.force_login(world.admin_a)

    assert client.get(download_url(row)).status_code == 404
    client.logout()
    assert client.get(download_url(row)).status_code == 302


def test_a_file_lost_from_storage_is_a_404_that_says_so(client, world, settings):
    row = attachment(world.team_a, filename="gone.pdf", content_type="application/pdf")
    (settings.MEDIA_ROOT / row.file.name).unlink()
    client.force_login(world.viewer_a)

    response = client.get(download_url(row))

    assert response.status_code == 404
    assert FILE_MISSING in text(response)


def test_a_push_channel_is_receiving_rather_than_waiting_for_a_poll(client, world):
    channel_create(
        actor=world.admin_a,
        team=world.team_a,
        kind="webhook",
        name="Inbound mail",
        config={"address": "help@example.test"},
    )
    ChannelFactory(team=world.team_a, name="Fresh mailbox")
    client.force_login(world.viewer_a)

    response = client.get(health_url())

    states = {row.health.channel.name: row.state for row in response.context["rows"]}
    assert states == {"Inbound mail": "push", "Fresh mailbox": "new"}
    assert "Receiving" in text(response)
    assert "Not polled yet" in text(response)


def test_the_notice_tag_tells_admins_of_the_team_only(rf, world):
    from django.template import Context, Template

    unhealthy_channel(world.team_a)
    unhealthy_channel(world.team_b, name="Their mailbox")
    page = Template("{% load feedback_channels %}{% unhealthy_channels_notice team %}")

    def notice(user, team=None) -> str:
        request = rf.get("/")
        request.user = user
        return page.render(Context({"request": request, "team": team}))

    assert "Channel Broken mailbox is unhealthy" in html.unescape(notice(world.admin_a))
    assert "Their mailbox" not in notice(world.admin_a)
    assert notice(world.admin_a, team=world.team_b).strip() == ""
    assert notice(world.agent_a).strip() == ""
    assert "Their mailbox" in notice(world.member_b)


@pytest.mark.parametrize(
    "page",
    [lambda: reverse("portal:home"), lambda: reverse("portal:team_settings", args=["team-a"])],
)
def test_admins_see_the_unhealthy_notice_on_home_and_team_settings(client, world, page):
    unhealthy_channel(world.team_a)
    client.force_login(world.admin_a)
    assert "Channel Broken mailbox is unhealthy" in words(client.get(page()))

    client.force_login(world.agent_a)
    assert "is unhealthy" not in words(client.get(page()))


def test_team_settings_link_to_the_channel_pages(client, world):
    client.force_login(world.admin_a)
    body = text(client.get(reverse("portal:team_settings", args=["team-a"])))
    for name in ("feedback:channel_list", "feedback:channel_health", "feedback:quarantine_list"):
        assert f'href="{reverse(name, args=["team-a"])}"' in body

    client.force_login(world.viewer_a)
    body = text(client.get(reverse("portal:team_settings", args=["team-a"])))
    assert f'href="{reverse("feedback:channel_list", args=["team-a"])}"' not in body
    assert f'href="{reverse("feedback:channel_health", args=["team-a"])}"' in body
