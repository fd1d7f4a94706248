"""The inbound e-mail webhook in the access matrix. It is public and authenticated by its HMAC
signature alone, so every persona's session or token is beside the point: a POST without a
signature answers 401 to everyone, and stores nothing."""

from tests.access import Case, Objects, expect, url
from tests.feedback.factories import ChannelFactory

UNSIGNED = expect(401, 401, 401, 401, 401, 401, 401)

CASES: dict[str, Case] = {
    "feedback:email_webhook": Case(
        url("feedback:email_webhook", "webhook_channel"), UNSIGNED, method="post"
    ),
}


def objects(world) -> Objects:
    channel = ChannelFactory(
        team=world.team_a,
        kind="webhook",
        next_poll_at=None,
        config={"address": "support@example.test", "secret": "an-access-matrix-secret"},
    )
    return {"webhook_channel": channel.pk}
