"""The feedback app's web pages in the access matrix.

Channel settings are for the team's admins; channel health and the quarantine are read by
every member of the team, and agents retry or discard quarantined payloads. Files (raw
payloads, attachments) go to the members of their team."""

from feedback.models import Attachment
from feedback.services import payload_parse, payload_receive
from feedback.services.storage import ATTACHMENT_PREFIX, blob_store, sha256_hex
from tests.access import (
    LOGIN,
    ORG_PAGE,
    REDIRECT,
    TEAM_A_ADMIN_POST,
    TEAM_A_PAGE,
    Case,
    Objects,
    expect,
    url,
)
from tests.feedback.factories import ChannelFactory, MessageFactory

TEAM_A_ADMIN_PAGE = expect(LOGIN, 403, 403, 403, 200, 404, 200)
TEAM_A_AGENT_POST = expect(LOGIN, 403, REDIRECT, REDIRECT, REDIRECT, 404, REDIRECT)
ATTACHMENT_BYTES = b"%PDF-1.4 not really a PDF\n"

CASES: dict[str, Case] = {
    # The inbox answers with an honest empty state until triage is built.
    "feedback:inbox": Case(url("feedback:inbox"), ORG_PAGE),
    "feedback:channel_list": Case(url("feedback:channel_list", "team-a"), TEAM_A_ADMIN_PAGE),
    "feedback:channel_create": Case(url("feedback:channel_create", "team-a"), TEAM_A_ADMIN_PAGE),
    "feedback:channel_edit": Case(
        url("feedback:channel_edit", "team-a", "pages_channel"), TEAM_A_ADMIN_PAGE
    ),
    # The channel's server is a closed port: the check fails at once, and says so.
    "feedback:channel_check": Case(
        url("feedback:channel_check", "team-a", "pages_channel"),
        TEAM_A_ADMIN_POST,
        method="post",
    ),
    "feedback:channel_enable": Case(
        url("feedback:channel_enable", "team-a", "pages_channel"),
        TEAM_A_ADMIN_POST,
        method="post",
        data=lambda objects: {"enabled": "false"},
    ),
    "feedback:channel_health": Case(url("feedback:channel_health", "team-a"), TEAM_A_PAGE),
    "feedback:quarantine_list": Case(url("feedback:quarantine_list", "team-a"), TEAM_A_PAGE),
    "feedback:quarantine_retry": Case(
        url("feedback:quarantine_retry", "team-a", "pages_quarantine"),
        TEAM_A_AGENT_POST,
        method="post",
    ),
    "feedback:quarantine_discard": Case(
        url("feedback:quarantine_discard", "team-a", "pages_quarantine"),
        TEAM_A_AGENT_POST,
        method="post",
    ),
    "feedback:quarantine_download": Case(
        url("feedback:quarantine_download", "team-a", "pages_quarantine"), TEAM_A_PAGE
    ),
    "feedback:attachment-download": Case(
        url("feedback:attachment-download", "pages_attachment"), TEAM_A_PAGE
    ),
}


def objects(world) -> Objects:
    channel = ChannelFactory(
        team=world.team_a,
        config={
            "host": "127.0.0.1",
            "port": 1,
            "username": "support",
            "password": "secret",
            "security": "none",
            "address": "support@example.test",
            "timeout": 2,
        },
    )
    payload, _ = payload_receive(channel=channel, raw=b"no headers\r\n", queue_parse=False)
    quarantine = payload_parse(payload=payload).quarantine
    message = MessageFactory(item__team=world.team_a, channel=channel)
    attachment = Attachment.objects.create(
        message=message,
        filename="invoice.pdf",
        content_type="application/pdf",
        size=len(ATTACHMENT_BYTES),
        sha256=sha256_hex(ATTACHMENT_BYTES),
        file=blob_store(ATTACHMENT_PREFIX, ATTACHMENT_BYTES),
    )
    return {
        "pages_channel": channel.pk,
        "pages_quarantine": quarantine.pk,
        "pages_attachment": attachment.pk,
    }
