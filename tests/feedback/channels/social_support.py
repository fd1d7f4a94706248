"""What the Discourse and Mastodon tests share: the remotes' paging answered from recorded
pages by the local fake web server, and a channel of either kind polled through the service."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from feedback.models import Channel
from feedback.services.polling import PollReport, channel_poll_now
from tests.feedback.factories import ChannelFactory
from tests.feedback.fakeweb import Reply, Request

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
# Discourse answers at most this many posts a page.
DISCOURSE_PAGE = 50


def discourse_posts(posts: list[dict[str, Any]]):
    """``GET /posts.json`` as Discourse documents it: the latest posts, newest first, and with
    ``before`` only those with a lower id, a page at most."""

    def answer(request: Request) -> Reply:
        before = request.arg("before")
        chosen = [post for post in posts if before is None or post["id"] < int(before)]
        chosen.sort(key=lambda post: post["id"], reverse=True)
        return Reply.json({"latest_posts": chosen[:DISCOURSE_PAGE]})

    return answer


def mastodon_page(entries: list[dict[str, Any]]):
    """A Mastodon list (notifications, a hashtag timeline) with ``min_id`` paging: the
    ``limit`` entries just newer than ``min_id``, newest first; without it the newest."""

    def answer(request: Request) -> Reply:
        limit = int(request.arg("limit") or 20)
        ordered = sorted(entries, key=lambda entry: int(entry["id"]))
        min_id = request.arg("min_id")
        if min_id is not None:
            chosen = [entry for entry in ordered if int(entry["id"]) > int(min_id)][:limit]
        else:
            chosen = ordered[-limit:]
        return Reply.json(list(reversed(chosen)))

    return answer


def social_channel(kind: str, config: dict[str, Any], **fields: Any) -> Channel:
    return ChannelFactory(kind=kind, config=config, address="", name=f"{kind} channel", **fields)


def poll(channel: Channel, *, now: datetime = NOW, **options: Any) -> PollReport:
    return channel_poll_now(channel_id=channel.pk, now=now, **options)
