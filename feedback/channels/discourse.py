"""Discourse forum connector: the posts of a forum (or of chosen categories) through its
documented JSON API, each post one message, a topic one item.

Fetching. ``GET /posts.json`` answers the latest public posts, newest first, and with
``before=<id>`` the ones below that id. The cursor is the highest post id already looked at
(``last_post_id``); a fetch reads the latest page, and when that page does not reach down to
the cursor (a first poll, or a busy forum) walks up from the cursor in windows of ``STEP``
ids (``before = start + STEP + 1``, keeping only ids inside the window, which is right whether
the forum reads ``before`` as "below" or "up to"). Posts are handed over in id order, at most
``limit``; ``more`` says there are newer ones. A first poll reads the forum's whole public
history, as a mailbox's first poll reads the whole folder.

Edits. A post edited after it was stored keeps its id; a fetch hands it over again when the
latest page shows it with ``version`` above 1 and an ``updated_at`` later than the newest edit
seen before (``edits_seen`` in the cursor), and the message is revised (``revisable``). Edits
of posts older than the latest page are not seen.

Withdrawals. A post its author withdraws stays in ``/posts.json`` for a day as an edit
(``version`` raised) whose ``cooked`` is Discourse's placeholder "(post withdrawn by author, will
be automatically deleted in 24 hours unless flagged)", with ``user_deleted`` true; once deleted
it has ``deleted_at`` set. Such a post is no edit and no customer message: the fetch passes over
it (the cursor moves past it), so the message stored before keeps what the customer wrote and
a post withdrawn before it was ever fetched is never stored; ``parse_post`` refuses one stored
all the same. Nothing marks the stored message as withdrawn.

Filters. ``categories`` (slugs or ids, their subcategories included; empty: all) are resolved
through ``/categories.json`` at every fetch, so a renamed slug is an error a person sees. The
API user's own posts (the team's answers written on the forum), whispers and moderator or small
actions are not customer messages and are skipped; the cursor still moves past them.

Threading. A topic's first post has the message id ``discourse-topic-<topic id>@<host>``; every
other post ``discourse-post-<id>@<host>`` and names the topic's id as the message it answers,
so a reply joins its topic's item. Replies are not sent from the portal yet (``reply_by`` is
empty): an agent answers on the forum.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
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

KIND = "discourse"
CONFIG_FIELDS = frozenset({"base_url", "api_key", "api_username", "categories", "timeout"})
# Post ids one window of the walk covers: at most one page of 50 posts, whichever way the
# forum reads ``before``.
STEP = 49
# Requests one fetch makes at most while walking; the cursor keeps its place for the next.
MAX_WINDOWS = 40
WHAT = "Discourse post"
# Discourse's ``post_type`` of a post someone wrote for everyone to read.
REGULAR_POST = 1
# A post whose category cannot be asked for (no topic id): kept, so its parse quarantines it.
BROKEN = object()
SERVICE = "Discourse"

CATEGORIES_INVALID = "categories must be a list of category slugs or ids, such as support, 7"
CATEGORY_UNKNOWN = (
    "unknown category {category}: the forum has no category with that slug or id (it has: {known})"
)
CHECK_OK = (
    "Connected to {url} as @{username}; reading {what}. Replies are not sent from the portal "
    "yet: answer on the forum."
)
ALL_CATEGORIES = "all {count} categories"
SOME_CATEGORIES = "{count} categories ({names})"
NOT_A_FORUM = "the answer to {path} is not a Discourse category list"
# Why ``parse_post`` refuses a stored post (it is then quarantined with its bytes).
POST_WITHDRAWN = (
    "the post was withdrawn by its author or deleted on the forum: it is no customer message, "
    "and a message stored from it before keeps what it said"
)


def _categories(config: Mapping[str, Any]) -> list[str]:
    value = config.get("categories")
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        raise ConfigError(CATEGORIES_INVALID, field="categories")
    cleaned = []
    for entry in value:
        if isinstance(entry, bool) or not isinstance(entry, str | int):
            raise ConfigError(CATEGORIES_INVALID, field="categories")
        text = str(entry).strip()
        if text and text not in cleaned:
            cleaned.append(text)
    return cleaned


def _headers(config: dict[str, Any]) -> dict[str, str]:
    return {"Api-Key": config["api_key"], "Api-Username": config["api_username"]}


def _category_list(data: Any) -> list[dict[str, Any]]:
    categories = data.get("category_list", {}).get("categories") if isinstance(data, dict) else None
    if not isinstance(categories, list):
        raise ConnectorError(NOT_A_FORUM.format(path="/categories.json"))
    return [category for category in categories if isinstance(category, dict)]


def _category_ids(chosen: list[str], categories: list[dict[str, Any]]) -> set[int]:
    """The ids of the ``chosen`` categories (by slug or id) and of their subcategories;
    ConfigError naming the first one the forum does not have."""
    flat: list[dict[str, Any]] = []
    for category in categories:
        flat.append(category)
        flat.extend(sub for sub in category.get("subcategory_list") or [] if isinstance(sub, dict))
    by_name = {}
    for category in flat:
        by_name[str(category.get("id"))] = category
        by_name[str(category.get("slug", "")).casefold()] = category
    ids: set[int] = set()
    for name in chosen:
        category = by_name.get(name.casefold())
        if category is None:
            known = ", ".join(sorted(str(c.get("slug")) for c in flat)) or "none"
            raise ConfigError(
                CATEGORY_UNKNOWN.format(category=name, known=known), field="categories"
            )
        ids.add(category["id"])
        ids.update(category.get("subcategory_ids") or [])
        ids.update(sub.get("id") for sub in category.get("subcategory_list") or [])
    return ids


class _Reader(social.ApiReader):
    """One fetch's requests: pages of posts, the category list and topics' categories."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config, _headers(config))
        self.topic_categories: dict[int, Any] = {}

    def posts(self, before: int | None = None) -> list[dict[str, Any]]:
        data = self.get("/posts.json", **({"before": before} if before else {}))
        posts = data.get("latest_posts") if isinstance(data, dict) else None
        if not isinstance(posts, list):
            raise ConnectorError(
                social.PAGE_UNREADABLE.format(
                    host=social.host_of(self.base), path="/posts.json", error="no latest_posts"
                )
            )
        # A post without a readable id cannot be placed; one with an id is stored even when
        # the rest of it is broken, and the parse quarantines it with its bytes.
        return [post for post in posts if social.item_id(post) is not None]

    def category_of(self, post: dict[str, Any]) -> Any:
        if "category_id" in post:
            return post["category_id"]
        topic_id = post.get("topic_id")
        if isinstance(topic_id, bool) or not isinstance(topic_id, int):
            # A broken post is kept: its parse quarantines it with its bytes.
            return BROKEN
        if topic_id not in self.topic_categories:
            try:
                topic = self.get(f"/t/{topic_id}.json")
            except ConnectorError as error:
                if error.retryable:
                    raise
                # A topic deleted or closed to the API user since: in no chosen category.
                topic = {}
            category = topic.get("category_id") if isinstance(topic, dict) else None
            self.topic_categories[topic_id] = category
        return self.topic_categories[topic_id]


class DiscourseConnector(social.SocialConnector):
    kind = KIND
    service = SERVICE
    config_fields = CONFIG_FIELDS
    secret_fields = frozenset({"api_key"})

    def clean_settings(self, config: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "api_key": social.config_text(config, "api_key", required=True),
            "api_username": social.config_text(config, "api_username", required=True),
            "categories": _categories(config),
        }

    def check_settings(self, config: dict[str, Any]) -> CheckResult:
        base = config["base_url"]
        data, status, detail = social.probe(
            base + "/categories.json?include_subcategories=true",
            headers=_Reader(config).headers,
            timeout=config["timeout"],
        )
        if status == 200:
            try:
                categories = _category_list(data)
            except ConnectorError as error:
                status, detail = 404, error.message
        if status != 200:
            return social.check_failure(service=SERVICE, url=base, status=status, detail=detail)
        chosen = config["categories"]
        try:
            _category_ids(chosen, categories)
        except ConfigError as error:
            return CheckResult(ok=False, message=error.message)
        if chosen:
            what = SOME_CATEGORIES.format(count=len(chosen), names=", ".join(chosen))
        else:
            what = ALL_CATEGORIES.format(count=len(categories))
        message = CHECK_OK.format(url=base, username=config["api_username"], what=what)
        return CheckResult(ok=True, message=message)

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
        last = int(cursor.get("last_post_id") or 0)
        edits_seen = str(cursor.get("edits_seen") or "")
        reader = _Reader(config)
        keep = _keeper(config, reader)
        latest = reader.posts()
        if not latest:
            return FetchResult(items=[], cursor=cursor, more=False)
        top = max(social.item_id(post) for post in latest)
        found, scanned = _new_posts(reader, latest, last=last, top=top, limit=limit)
        batch = social.Batch(limit=limit, max_bytes=max_bytes)
        metadata = {"base_url": config["base_url"]}
        # Edits first, oldest edit first, so that ``edits_seen`` moves even in a full batch.
        for post in _edited(latest, last=last, edits_seen=edits_seen):
            if keep(post) and not _add(batch, post, metadata):
                return _result(batch, last, edits_seen, top, full=True)
            edits_seen = max(edits_seen, _updated_at(post))
        position = last
        for post_id in sorted(found):
            if keep(found[post_id]) and not _add(batch, found[post_id], metadata):
                return _result(batch, position, edits_seen, top, full=True)
            position = post_id
        return _result(batch, max(position, scanned), edits_seen, top, full=False)

    def parse(
        self, raw: bytes, *, received_at: datetime, metadata: dict[str, Any]
    ) -> ParsedMessage:
        return parse_post(raw, base_url=str(metadata.get("base_url") or ""))


def _keeper(config: dict[str, Any], reader: _Reader) -> Callable[[dict[str, Any]], bool]:
    """Whether a post is stored: a regular post, not the API user's own, in a chosen
    category."""
    own = config["api_username"].casefold()
    wanted = None
    if config["categories"]:
        answer = reader.get("/categories.json", include_subcategories="true")
        wanted = _category_ids(config["categories"], _category_list(answer))

    def keep(post: dict[str, Any]) -> bool:
        if str(post.get("username") or "").casefold() == own:
            return False
        if _withdrawn(post):
            # Its text is Discourse's placeholder: as an edit it would overwrite what the
            # customer wrote, and seen for the first time it says nothing.
            return False
        if post.get("post_type", REGULAR_POST) != REGULAR_POST:
            # Whispers (staff only), moderator actions and small actions ("closed this
            # topic") are the forum's own notes, not what a customer wrote.
            return False
        if wanted is None:
            return True
        category = reader.category_of(post)
        return category is BROKEN or category in wanted

    return keep


def _new_posts(
    reader: _Reader, latest: list[dict[str, Any]], *, last: int, top: int, limit: int
) -> tuple[dict[int, dict[str, Any]], int]:
    """The posts above ``last`` by id, and the id up to which they are all there. The latest
    page serves when it reaches down to the cursor; else the walk goes up from the cursor a
    window at a time until it has ``limit`` posts, reaches the top or has asked enough."""
    if min(social.item_id(post) for post in latest) <= last + 1:
        return {social.item_id(post): post for post in latest if social.item_id(post) > last}, top
    found: dict[int, dict[str, Any]] = {}
    scanned = last
    for _ in range(MAX_WINDOWS):
        if scanned >= top or len(found) >= limit:
            break
        for post in reader.posts(before=scanned + STEP + 1):
            if scanned < social.item_id(post) <= scanned + STEP:
                found[social.item_id(post)] = post
        scanned += STEP
    return found, min(scanned, top)


def _edited(latest: list[dict[str, Any]], *, last: int, edits_seen: str) -> list[dict[str, Any]]:
    """Posts already handed over that were edited since the newest edit seen."""
    edited = [
        post
        for post in latest
        if social.item_id(post) <= last and _version(post) > 1 and _updated_at(post) > edits_seen
    ]
    return sorted(edited, key=_updated_at)


def _add(batch: social.Batch, post: dict[str, Any], metadata: dict[str, Any]) -> bool:
    return batch.offer(post_item(post, base_url=metadata["base_url"]))


def post_item(post: dict[str, Any], *, base_url: str) -> FetchedItem:
    """Pure: one post of ``/posts.json`` as the fetch hands it over (``post:<id>``, the post's
    own JSON, the forum's address for its parse), for the connector and for whatever else
    stores posts as a poll would (the demo)."""
    return FetchedItem(
        source_id=f"post:{social.item_id(post)}",
        raw=social.item_bytes(post),
        received_at=None,
        metadata={"base_url": base_url},
    )


def _result(
    batch: social.Batch, position: int, edits_seen: str, top: int, *, full: bool
) -> FetchResult:
    cursor = {"last_post_id": position, "edits_seen": edits_seen}
    return FetchResult(items=batch.items, cursor=cursor, more=full or position < top)


def _withdrawn(post: dict[str, Any]) -> bool:
    """Whether the post was withdrawn by its author (``user_deleted``) or deleted
    (``deleted_at``, which a staff API user still sees)."""
    return post.get("user_deleted") is True or bool(post.get("deleted_at"))


def _version(post: dict[str, Any]) -> int:
    version = post.get("version")
    return version if isinstance(version, int) and not isinstance(version, bool) else 1


def _updated_at(post: dict[str, Any]) -> str:
    return str(post.get("updated_at") or "")


def parse_post(raw: bytes, *, base_url: str) -> ParsedMessage:
    """Pure: one stored Discourse post as a message (see the module's docstring)."""
    post = social.load_item(raw, what=WHAT)
    post_id = social.item_id(post)
    if post_id is None:
        raise UnparseableMessage(social.ITEM_FIELD_MISSING.format(what=WHAT, field="id"))
    if _withdrawn(post):
        # The fetch passes withdrawn posts over; one stored by an earlier version must not
        # replace the customer's text with the placeholder either.
        raise UnparseableMessage(POST_WITHDRAWN)
    topic_id = social.required(post, "topic_id", what=WHAT)
    username = str(social.required(post, "username", what=WHAT))
    host = social.host_of(base_url)
    root = f"discourse-topic-{topic_id}@{host}"
    first = post.get("post_number") == 1
    html, text = social.html_and_text(str(post.get("cooked") or ""), str(post.get("raw") or ""))
    slug = str(post.get("topic_slug") or "")
    post_url = post.get("post_url") or f"/t/{slug or 'topic'}/{topic_id}/{post.get('post_number')}"
    return social.social_message(
        message_id=root if first else f"discourse-post-{post_id}@{host}",
        thread=[] if first else [root],
        subject=str(post.get("topic_title") or slug.replace("-", " ")),
        html=html,
        text=text,
        from_name=str(post.get("name") or username),
        handle_kind=KIND,
        handle=f"{host}/{username}",
        url=base_url + str(post_url),
        sent_at=social.timestamp(post, "created_at", what=WHAT),
    )
