"""A connector that serves mail from a Python list, for the tests of the pipeline around the
connector (dispatcher, leases, backoff, health, storing) that need no mail server.

Tests register it for one test with ``fake_connector`` (``monkeypatch.setitem`` on the
registry), put mail into ``connector.mails`` and arm ``connector.errors`` with exceptions that
the next fetches raise, in order.

``FakeForumConnector`` (``fake_forum``) is its counterpart without e-mail (``mail = False``):
its payloads are small JSON posts (``forum_post``) that its own pure ``parse`` turns into
handle-based, revisable messages, as the Discourse or Mastodon connectors do.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from feedback.channels import CONNECTORS, ConfigError, FetchedItem, FetchResult
from feedback.mail import LANE_CUSTOMER, ParsedMessage, UnparseableMessage

KIND = "fake"
RECEIVED = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


@dataclass
class FakeConnector:
    kind: str = KIND
    secret_fields: frozenset[str] = frozenset({"token"})
    push: bool = False
    mail: bool = True
    reply_by: str = "email"
    mails: list[bytes] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    after_store_errors: list[BaseException] = field(default_factory=list)
    fetches: int = 0
    stored_batches: list[list[str]] = field(default_factory=list)

    def validate_config(self, config: dict[str, Any], *, allow_plaintext: bool = False) -> dict:
        if "address" in config and "@" not in str(config["address"]):
            raise ConfigError("address must be an e-mail address", field="address")
        return {"address": "", "token": "", **config}

    def check(self, config: dict[str, Any], *, url: str | None = None):
        raise NotImplementedError

    def fetch(
        self,
        config: dict[str, Any],
        cursor: dict[str, Any] | None,
        *,
        limit: int = 100,
        max_bytes: int = 20 * 1024 * 1024,
    ) -> FetchResult:
        self.fetches += 1
        if self.errors:
            raise self.errors.pop(0)
        position = (cursor or {}).get("position", 0)
        batch = self.mails[position : position + limit]
        items = [
            FetchedItem(
                source_id=f"fake:{position + offset + 1}",
                raw=raw,
                received_at=RECEIVED,
                metadata={"position": position + offset + 1},
            )
            for offset, raw in enumerate(batch)
        ]
        end = position + len(batch)
        return FetchResult(items, {"position": end}, more=end < len(self.mails))

    def after_store(self, config: dict[str, Any], items: list[FetchedItem]) -> None:
        self.stored_batches.append([item.source_id for item in items])
        if self.after_store_errors:
            raise self.after_store_errors.pop(0)


@pytest.fixture
def fake_connector(monkeypatch: pytest.MonkeyPatch) -> FakeConnector:
    """A FakeConnector registered as kind ``fake`` for one test."""
    connector = FakeConnector()
    monkeypatch.setitem(CONNECTORS, KIND, connector)
    return connector


FORUM_KIND = "fakeforum"
FORUM_HOST = "forum.example.test"
NOT_JSON = "the post is not JSON: {error}"
POST_FIELD_MISSING = "the post has no {field}"


def forum_post(
    post_id: int,
    *,
    username: str = "alice",
    name: str = "Alice A.",
    text: str = "Hello",
    title: str = "A topic",
    reply_to: int | None = None,
    topic: int | None = None,
    email: str = "",
    published: str = "2026-03-03T09:30:00+00:00",
) -> bytes:
    """A post as the fake forum's API would send it, serialised as the pipeline stores it."""
    post = {
        "id": post_id,
        "username": username,
        "name": name,
        "raw": text,
        "title": title,
        "reply_to_post_number": reply_to,
        "topic_id": topic,
        "email": email,
        "created_at": published,
    }
    return json.dumps(post, sort_keys=True).encode()


def forum_message_id(post_id: int) -> str:
    return f"fakeforum-post-{post_id}@{FORUM_HOST}"


@dataclass
class FakeForumConnector:
    """A forum without e-mail: posts by handle, replies naming the post they answer, edits
    revising the post. ``parse`` is pure, as every connector's must be."""

    kind: str = FORUM_KIND
    secret_fields: frozenset[str] = frozenset()
    push: bool = False
    mail: bool = False
    reply_by: str = ""

    def validate_config(self, config: dict[str, Any], *, allow_plaintext: bool = False) -> dict:
        return dict(config)

    def check(self, config: dict[str, Any], *, url: str | None = None):
        raise NotImplementedError

    def fetch(self, config, cursor, *, limit=100, max_bytes=20 * 1024 * 1024) -> FetchResult:
        return FetchResult([], cursor or {}, more=False)

    def after_store(self, config: dict[str, Any], items: list[FetchedItem]) -> None:
        return None

    def parse(
        self, raw: bytes, *, received_at: datetime, metadata: dict[str, Any]
    ) -> ParsedMessage:
        try:
            post = json.loads(raw)
        except ValueError as error:
            raise UnparseableMessage(NOT_JSON.format(error=error)) from error
        for name in ("id", "username", "raw"):
            if not isinstance(post, dict) or post.get(name) in (None, ""):
                raise UnparseableMessage(POST_FIELD_MISSING.format(field=name))
        message_id = forum_message_id(post["id"])
        parent = post.get("reply_to_post_number")
        root = post.get("topic_id")
        references = [forum_message_id(n) for n in (root, parent) if n]
        return ParsedMessage(
            message_id=message_id,
            in_reply_to=forum_message_id(parent) if parent else "",
            references=references,
            subject=post.get("title") or "",
            from_name=post.get("name") or "",
            from_address=(post.get("email") or "").lower(),
            reply_to="",
            to=[],
            cc=[],
            recipient_addresses=[],
            sent_at=datetime.fromisoformat(post["created_at"]).astimezone(UTC),
            lane=LANE_CUSTOMER,
            lane_reason="",
            text=post["raw"],
            quoted_text="",
            signature="",
            html="",
            attachments=[],
            identity_hash=hashlib.sha256(message_id.encode()).hexdigest(),
            original_message_id="",
            sender_handle_kind="discourse",
            sender_handle=f"{FORUM_HOST}/{post['username']}",
            url=f"https://{FORUM_HOST}/p/{post['id']}",
            revisable=True,
        )


@pytest.fixture
def fake_forum(monkeypatch: pytest.MonkeyPatch) -> FakeForumConnector:
    """A FakeForumConnector registered as kind ``fakeforum`` for one test."""
    connector = FakeForumConnector()
    monkeypatch.setitem(CONNECTORS, FORUM_KIND, connector)
    return connector
