"""Mastodon connector: the statuses that mention the team's account (the notifications API)
or that carry a hashtag (the hashtag timeline), each status one message.

Fetching. ``source`` is ``mentions`` (``GET /api/v1/notifications?types[]=mention``) or
``hashtag`` (``GET /api/v1/timelines/tag/<hashtag>``), both read with ``min_id``: the page
just newer than the cursor, handed over oldest first. The cursor is the newest notification
(mentions) or status (hashtag) id looked at (``since_id``; Mastodon's ids are numeric strings,
compared as numbers). Mentions are read from the account's first one; a hashtag from the time
the channel is set up (its history is the whole fediverse's): its first poll stores nothing and
only sets the cursor, to the newest status on the tag, or to the id Mastodon would give a
status posted at that moment when the tag has none yet (Mastodon's ids are the time in
milliseconds shifted left 16 bits). ``more`` says a full page came back, so there may be newer
ones.

Own statuses. The team's own account (``verify_credentials``, asked once and kept in the
cursor) writes the answers; its statuses are not customer messages and are skipped.

Threading. A status's message id is ``mastodon-<id>@<instance>``. A reply names the statuses
it answers, root first (``GET /api/v1/statuses/<id>/context``, asked for replies only), so it
joins its thread's item even when its parent is the team's own answer, which is not stored.
Replies are not sent from the portal yet (``reply_by`` is empty): an agent answers on
Mastodon. An edited status is revisable, but only a status fetched again is seen edited.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from html import escape
from typing import Any

from feedback.channels import social
from feedback.channels.base import (
    CheckResult,
    ConfigError,
    ConnectorError,
    FetchedItem,
    FetchResult,
)
from feedback.mail import ParsedMessage, UnparseableMessage

KIND = "mastodon"
CONFIG_FIELDS = frozenset({"base_url", "access_token", "source", "hashtag", "timeout"})
SOURCES = ("mentions", "hashtag")
# Mastodon answers at most 40 statuses (and 80 notifications) a page.
PAGE_SIZE = 40
SUBJECT_LENGTH = 80
WHAT = "Mastodon status"
SERVICE = "Mastodon"
HASHTAG_PATTERN = re.compile(r"^\w{1,100}$")
# Mastodon's ids are milliseconds since 1970 shifted left by this many bits, plus a sequence.
ID_TIME_SHIFT = 16

SOURCE_INVALID = "source must be mentions or hashtag"
HASHTAG_REQUIRED = "hashtag is required when source is hashtag"
HASHTAG_INVALID = "hashtag must be letters, digits and underscores, such as acmesupport"
NOT_A_LIST = "the answer is not a list"
ACCOUNT_UNREADABLE = "{host} did not say which account the access token belongs to"
CHECK_OK = (
    "Connected to {url} as @{acct}; reading {what}. Replies are not sent from the portal yet: "
    "answer on Mastodon."
)
MENTIONS = "mentions of @{acct}"
HASHTAG = "statuses tagged #{hashtag}"
# A status's media, noted on its message: "[image: screenshot of error]", "[video]".
MEDIA_DESCRIBED = "[{kind}: {description}]"
MEDIA = "[{kind}]"


def _source(config: Mapping[str, Any]) -> tuple[str, str]:
    source = social.config_text(config, "source", required=False) or "mentions"
    if source not in SOURCES:
        raise ConfigError(SOURCE_INVALID, field="source")
    hashtag = social.config_text(config, "hashtag", required=False).lstrip("#")
    if source == "hashtag" and not hashtag:
        raise ConfigError(HASHTAG_REQUIRED, field="hashtag")
    if hashtag and not HASHTAG_PATTERN.match(hashtag):
        raise ConfigError(HASHTAG_INVALID, field="hashtag")
    return source, hashtag


class _Reader(social.ApiReader):
    """One fetch's requests: the own account, a page of statuses, a reply's thread."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config, {"Authorization": f"Bearer {config['access_token']}"})

    def account(self, cursor: dict[str, Any]) -> tuple[str, str]:
        """The team's own account ``(id, acct)``: from the cursor, else asked once."""
        if cursor.get("account_id"):
            return str(cursor["account_id"]), str(cursor.get("account_acct") or "")
        data = self.get("/api/v1/accounts/verify_credentials")
        if not isinstance(data, dict) or not data.get("id"):
            raise ConnectorError(ACCOUNT_UNREADABLE.format(host=social.host_of(self.base)))
        return str(data["id"]), str(data.get("acct") or data.get("username") or "")

    def page(self, config: dict[str, Any], *, since: str, size: int) -> list[dict[str, Any]]:
        """The ``size`` entries just newer than ``since``, oldest first."""
        params: dict[str, Any] = {"limit": size}
        if config["source"] == "mentions":
            params.update({"types[]": "mention", "min_id": since or "0"})
            path = "/api/v1/notifications"
        else:
            if since:
                params["min_id"] = since
            path = f"/api/v1/timelines/tag/{config['hashtag']}"
        entries = self.get(path, **params)
        if not isinstance(entries, list):
            host = social.host_of(self.base)
            raise ConnectorError(
                social.PAGE_UNREADABLE.format(host=host, path=path, error=NOT_A_LIST)
            )
        # An entry without a readable id cannot be placed after the cursor; it is passed over.
        placed = [entry for entry in entries if social.item_id(entry) is not None]
        return sorted(placed, key=social.item_id)

    def thread(self, status: dict[str, Any]) -> list[str]:
        """The ids of the statuses a reply answers, root first, parent last; [] for a status
        that answers nothing."""
        if not status.get("in_reply_to_id") or social.item_id(status) is None:
            return []
        parent = str(status["in_reply_to_id"])
        try:
            context = self.get(f"/api/v1/statuses/{social.item_id(status)}/context")
        except ConnectorError as error:
            if error.retryable:
                raise
            # The status went away meanwhile (404): its parent alone still threads it.
            return [parent]
        ancestors = context.get("ancestors") if isinstance(context, dict) else None
        ids = [str(a["id"]) for a in ancestors or [] if isinstance(a, dict) and a.get("id")]
        return [*[i for i in ids if i != parent], parent]


class MastodonConnector(social.SocialConnector):
    kind = KIND
    service = SERVICE
    config_fields = CONFIG_FIELDS
    secret_fields = frozenset({"access_token"})

    def clean_settings(self, config: Mapping[str, Any]) -> dict[str, Any]:
        source, hashtag = _source(config)
        return {
            "access_token": social.config_text(config, "access_token", required=True),
            "source": source,
            "hashtag": hashtag,
        }

    def check_settings(self, config: dict[str, Any]) -> CheckResult:
        base = config["base_url"]
        data, status, detail = social.probe(
            base + "/api/v1/accounts/verify_credentials",
            headers=_Reader(config).headers,
            timeout=config["timeout"],
        )
        if status == 200 and not (isinstance(data, dict) and data.get("acct")):
            status, detail = 404, ACCOUNT_UNREADABLE.format(host=social.host_of(base))
        if status != 200:
            return social.check_failure(service=SERVICE, url=base, status=status, detail=detail)
        acct = str(data["acct"])
        if config["source"] == "hashtag":
            what = HASHTAG.format(hashtag=config["hashtag"])
        else:
            what = MENTIONS.format(acct=acct)
        return CheckResult(ok=True, message=CHECK_OK.format(url=base, acct=acct, what=what))

    def fetch(
        self,
        config: dict[str, Any],
        cursor: dict[str, Any] | None,
        *,
        limit: int = 100,
        max_bytes: int = 20 * 1024 * 1024,
    ) -> FetchResult:
        config = self.validate_config(config)
        cursor = cursor or {}
        reader = _Reader(config)
        account_id, account_acct = reader.account(cursor)
        since = str(cursor.get("since_id") or "")
        page_size = max(1, min(limit, PAGE_SIZE))
        entries = reader.page(config, since=since, size=page_size)
        if config["source"] == "hashtag" and not since:
            # The first look at a hashtag: what it carried before the channel existed is not
            # the team's feedback; from here on, it is.
            newest = max((social.item_id(entry) for entry in entries), default=None)
            start = str(newest) if newest is not None else status_id_at(datetime.now(UTC))
            first = {"since_id": start, "account_id": account_id, "account_acct": account_acct}
            return FetchResult(items=[], cursor=first, more=False)
        batch = social.Batch(limit=limit, max_bytes=max_bytes)
        position, full = int(since or 0), False
        for entry in entries:
            status = entry.get("status") if config["source"] == "mentions" else entry
            if _wanted(status, account_id):
                # Whether it fits is known before its thread is asked for.
                if not batch.fits(social.item_bytes(status)):
                    full = True
                    break
                item = status_item(
                    status,
                    base_url=reader.base,
                    account=account_acct,
                    thread=reader.thread(status),
                    entry=entry,
                )
                batch.offer(item)
            position = max(position, social.item_id(entry))
        next_cursor = {
            "since_id": str(position) if position else since,
            "account_id": account_id,
            "account_acct": account_acct,
        }
        more = full or len(entries) >= page_size
        return FetchResult(items=batch.items, cursor=next_cursor, more=more)

    def parse(
        self, raw: bytes, *, received_at: datetime, metadata: dict[str, Any]
    ) -> ParsedMessage:
        return parse_status(
            raw,
            base_url=str(metadata.get("base_url") or ""),
            own_acct=str(metadata.get("account") or ""),
            thread=[str(i) for i in metadata.get("thread") or []],
        )


def status_id_at(when: datetime) -> str:
    """Pure: the lowest id Mastodon gives a status posted at ``when``."""
    return str(int(when.timestamp() * 1000) << ID_TIME_SHIFT)


def status_item(
    status: dict[str, Any],
    *,
    base_url: str,
    account: str,
    thread: list[str],
    entry: dict[str, Any] | None = None,
) -> FetchedItem:
    """Pure: one status as the fetch hands it over: ``status:<id>``, the status's own JSON,
    and in its metadata the instance, the team's account (``account``) and the ids of the
    statuses it answers, root first (``thread``). A status without an id is filed under its
    notification's (``entry``), for its parse to quarantine it. For the connector and for
    whatever else stores statuses as a poll would (the demo)."""
    status_id = social.item_id(status)
    if status_id is not None:
        source_id = f"status:{status_id}"
    else:
        source_id = f"entry:{social.item_id(entry or {})}"
    return FetchedItem(
        source_id=source_id,
        raw=social.item_bytes(status),
        received_at=None,
        metadata={"base_url": base_url, "account": account, "thread": thread},
    )


def _wanted(status: Any, account_id: str) -> bool:
    """A status to store: there is one (a mention of a deleted status has none) and it is not
    the team's own. A broken status is kept, for its parse to quarantine it."""
    if not isinstance(status, dict):
        return False
    account = status.get("account")
    return not (isinstance(account, dict) and str(account.get("id")) == account_id)


def _without_own_mentions(text: str, own_acct: str) -> str:
    """The text without the leading ``@team`` mentions that addressed it to us ("" when they
    were all of it)."""
    if not own_acct:
        return text
    own = own_acct.split("@")[0].casefold()
    words = text.split(" ")
    while words and words[0].startswith("@") and words[0][1:].split("@")[0].casefold() == own:
        words.pop(0)
    return " ".join(words).strip()


def _media_lines(status: Mapping[str, Any]) -> list[str]:
    """One line per attached medium: ``[image: <its description>]``, or its type alone when
    it has no description; the media stay on Mastodon."""
    media = status.get("media_attachments")
    lines = []
    for medium in media if isinstance(media, list) else []:
        if not isinstance(medium, dict):
            continue
        kind = str(medium.get("type") or "media").strip() or "media"
        description = " ".join(str(medium.get("description") or "").split())
        lines.append(
            MEDIA_DESCRIBED.format(kind=kind, description=description)
            if description
            else MEDIA.format(kind=kind)
        )
    return lines


def parse_status(
    raw: bytes, *, base_url: str, own_acct: str = "", thread: list[str] | None = None
) -> ParsedMessage:
    """Pure: one stored Mastodon status as a message (see the module's docstring)."""
    status = social.load_item(raw, what=WHAT)
    status_id = social.item_id(status)
    if status_id is None:
        raise UnparseableMessage(social.ITEM_FIELD_MISSING.format(what=WHAT, field="id"))
    account = social.required(status, "account", what=WHAT)
    if not isinstance(account, dict):
        raise UnparseableMessage(social.ITEM_FIELD_MISSING.format(what=WHAT, field="account"))
    acct = str(social.required(account, "acct", what=f"{WHAT}'s account"))
    host = social.host_of(base_url)
    html, content = social.html_and_text(str(status.get("content") or ""))
    # A content warning says what the status is about: it is the first line and the subject.
    warning = " ".join(str(status.get("spoiler_text") or "").split())
    media = _media_lines(status)
    said = _without_own_mentions(content, own_acct)
    # A status that is only our own mention (and nothing else) keeps it, rather than no text.
    text = "\n".join(part for part in (warning, said, *media) if part) or content
    if html and (warning or media):
        before = f"<p>{escape(warning)}</p>" if warning else ""
        html = before + html + "".join(f"<p>{escape(line)}</p>" for line in media)
    parent = status.get("in_reply_to_id")
    ancestors = list(thread or ([str(parent)] if parent else []))
    return social.social_message(
        message_id=f"mastodon-{status_id}@{host}",
        thread=[f"mastodon-{ancestor}@{host}" for ancestor in ancestors],
        subject=_subject(warning or text),
        html=html,
        text=text,
        from_name=str(account.get("display_name") or account.get("username") or acct),
        handle_kind=KIND,
        handle=acct if "@" in acct else f"{acct}@{host}",
        url=str(status.get("url") or status.get("uri") or ""),
        sent_at=social.timestamp(status, "created_at", what=WHAT),
    )


def _subject(text: str) -> str:
    """A status has no subject: its first line, shortened, names the item."""
    line = text.strip().split("\n", 1)[0].strip()
    return line if len(line) <= SUBJECT_LENGTH else line[: SUBJECT_LENGTH - 1].rstrip() + "…"
