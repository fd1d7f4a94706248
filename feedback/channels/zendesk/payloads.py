"""Pure functions from what Zendesk answered to payloads, and from a payload to a message:
a ticket's comments cut into one payload each, and one payload parsed (no network, no ORM)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from feedback.channels.base import FetchedItem
from feedback.channels.zendesk.config import KIND, ZendeskSettings
from feedback.mail import LANE_CUSTOMER, ParsedMessage, UnparseableMessage, sanitize_html
from portal.validation import json_loads

# Their comments are the help desk's answers, not what a customer said.
AGENT_ROLES = frozenset({"agent", "admin"})
# What a payload keeps of its ticket and its author: fields that do not change with every
# update, so the same comment exported again is the same bytes.
TICKET_FIELDS = ("id", "subject", "requester_id", "via", "created_at")
AUTHOR_FIELDS = ("id", "name", "email", "role")
ATTACHMENT_NOT_FETCHED = "attachment {name} ({size} bytes) stays in Zendesk: open the ticket"

# Parse refusals (the payload is quarantined with this reason).
PAYLOAD_NOT_JSON = "the Zendesk comment is not a JSON object"
PAYLOAD_FIELD_MISSING = "the Zendesk comment has no {field}"
COMMENT_TIME_INVALID = "Zendesk comment {id} has no readable created_at: {value!r}"
COMMENT_TEXT_MISSING = "Zendesk comment {id} has no text (plain_body or body)"


def whole_id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _serialised(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, ensure_ascii=False).encode("utf-8")


def utc_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def _is_customer_comment(comment: Any, users: Mapping[int, Mapping[str, Any]]) -> bool:
    """Public comments by anyone but agents and admins. A comment that cannot be read as one
    is kept, so that it ends in quarantine with its bytes rather than vanish."""
    if not isinstance(comment, dict):
        return True
    if comment.get("public") is False:
        return False
    author = users.get(whole_id(comment.get("author_id")) or 0, {})
    return author.get("role") not in AGENT_ROLES


def ticket_items(
    settings: ZendeskSettings,
    ticket: Mapping[str, Any],
    comments: list[Any],
    users: Mapping[int, Mapping[str, Any]],
) -> list[FetchedItem]:
    """One payload per customer comment of ``ticket`` (pure: what ``fetch`` cuts a ticket into).
    The first of them opens the ticket's item; each payload names it and the one before."""
    summary = {key: ticket.get(key) for key in TICKET_FIELDS}
    kept = [comment for comment in comments if _is_customer_comment(comment, users)]
    ids = [whole_id(comment.get("id")) if isinstance(comment, dict) else None for comment in kept]
    root = next((comment_id for comment_id in ids if comment_id is not None), None)
    items, previous = [], None
    for comment, comment_id in zip(kept, ids, strict=True):
        readable = isinstance(comment, dict)
        author = users.get(whole_id(comment.get("author_id")) or 0) if readable else None
        payload = {
            "site": settings.site,
            "ticket": summary,
            "comment": comment,
            "author": {key: author[key] for key in AUTHOR_FIELDS if key in author}
            if author
            else None,
            "thread": {"root_comment_id": root, "previous_comment_id": previous},
        }
        raw = _serialised(payload)
        if comment_id is None:
            source_id = f"ticket:{ticket['id']}:unreadable:{hashlib.sha256(raw).hexdigest()[:16]}"
        else:
            source_id = f"comment:{comment_id}"
            previous = comment_id
        received_at = utc_time(comment.get("created_at")) if readable else None
        items.append(FetchedItem(source_id, raw, received_at, {"ticket_id": ticket["id"]}))
    return items


def _object(data: Mapping[str, Any], field: str) -> dict[str, Any]:
    value = data.get(field)
    if not isinstance(value, dict):
        raise UnparseableMessage(PAYLOAD_FIELD_MISSING.format(field=field))
    return value


def _required_id(data: Mapping[str, Any], field: str, name: str) -> int:
    value = whole_id(data.get(field))
    if value is None:
        raise UnparseableMessage(PAYLOAD_FIELD_MISSING.format(field=name))
    return value


def parse_comment(raw: bytes) -> ParsedMessage:
    """Pure: one stored comment payload as a customer message of its ticket's item."""
    try:
        data = json_loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise UnparseableMessage(PAYLOAD_NOT_JSON) from None
    if not isinstance(data, dict):
        raise UnparseableMessage(PAYLOAD_NOT_JSON)
    site = data.get("site") if isinstance(data.get("site"), str) else ""
    host = urlsplit(site).netloc.casefold()
    if not host:
        raise UnparseableMessage(PAYLOAD_FIELD_MISSING.format(field="site"))
    ticket, comment = _object(data, "ticket"), _object(data, "comment")
    ticket_id = _required_id(ticket, "id", "ticket id")
    comment_id = _required_id(comment, "id", "comment id")
    sent_at = utc_time(comment.get("created_at"))
    if sent_at is None:
        raise UnparseableMessage(
            COMMENT_TIME_INVALID.format(id=comment_id, value=comment.get("created_at"))
        )
    text = next(
        (comment[key] for key in ("plain_body", "body") if isinstance(comment.get(key), str)),
        None,
    )
    if text is None:
        raise UnparseableMessage(COMMENT_TEXT_MISSING.format(id=comment_id))
    html = comment.get("html_body") if isinstance(comment.get("html_body"), str) else ""
    thread = data.get("thread") if isinstance(data.get("thread"), dict) else {}
    root_message_id = f"zendesk-ticket-{ticket_id}@{host}"
    previous = whole_id(thread.get("previous_comment_id"))
    if whole_id(thread.get("root_comment_id")) == comment_id:
        message_id, references = root_message_id, []
    else:
        message_id = f"zendesk-comment-{comment_id}@{host}"
        # The ticket's first comment, then the one before: either joins the ticket's item.
        references = [root_message_id]
        if previous is not None and previous != whole_id(thread.get("root_comment_id")):
            references.append(f"zendesk-comment-{previous}@{host}")
    author = data.get("author") if isinstance(data.get("author"), dict) else {}
    author_id = whole_id(comment.get("author_id"))
    if author_id is None:
        author_id = whole_id(author.get("id"))
    email = author.get("email") if isinstance(author.get("email"), str) else ""
    email = email.strip().lower()
    if "@" not in email or any(character.isspace() for character in email):
        email = ""
    subject = ticket.get("subject") if isinstance(ticket.get("subject"), str) else ""
    return ParsedMessage(
        message_id=message_id,
        in_reply_to=references[0] if references else "",
        references=references,
        subject=subject.strip(),
        from_name=author.get("name").strip() if isinstance(author.get("name"), str) else "",
        from_address=email,
        reply_to="",
        to=[],
        cc=[],
        recipient_addresses=[],
        sent_at=sent_at,
        lane=LANE_CUSTOMER,
        lane_reason="",
        text=text.strip(),
        quoted_text="",
        signature="",
        html=sanitize_html(html),
        attachments=[],
        # A comment is identified by its id alone: the same comment with a renamed author or
        # ticket is new bytes, but never a second message.
        identity_hash=hashlib.sha256(message_id.encode("utf-8")).hexdigest(),
        original_message_id="",
        defects=_attachment_notes(comment),
        sender_handle_kind=KIND if author_id is not None else "",
        sender_handle=f"{host}/{author_id}" if author_id is not None else "",
        url=f"{site.rstrip('/')}/agent/tickets/{ticket_id}",
        revisable=False,
    )


def _attachment_notes(comment: Mapping[str, Any]) -> list[str]:
    attachments = comment.get("attachments")
    if not isinstance(attachments, list):
        return []
    return [
        ATTACHMENT_NOT_FETCHED.format(
            name=attachment.get("file_name") or "without a name", size=attachment.get("size", "?")
        )
        for attachment in attachments
        if isinstance(attachment, dict)
    ]
