"""The web widget's public endpoints in the access matrix. They are public by design: the
channel is named by its public key, and every persona (a session or a token beside the point)
gets the same answer. The post fills the honeypot, so that it is answered like a stored one
and stores nothing. The channel's settings page, with the embed code, is the channel page the
pages' cases already cover."""

from tests.access import PUBLIC, Case, Objects, expect, url
from tests.feedback.factories import ChannelFactory

ANSWERED_AS_STORED = expect(201, 201, 201, 201, 201, 201, 201)

CASES: dict[str, Case] = {
    "feedback:widget_form": Case(url("feedback:widget_form", "widget_key"), PUBLIC),
    "api:widget-submission": Case(
        url("api:widget-submission", "widget_key"),
        ANSWERED_AS_STORED,
        method="post",
        data=lambda objects: {"message": "Hi", "email": "a@example.com", "website": "bot"},
    ),
}


def objects(world) -> Objects:
    channel = ChannelFactory(
        team=world.team_a,
        kind="widget",
        next_poll_at=None,
        public_key="access-matrix-widget-key",
        config={"allowed_origins": [], "address": ""},
    )
    return {"widget_key": channel.public_key}
