"""The Zendesk connector: the export and comment requests, the cursor, and the check; what
the answers are cut into lives in ``payloads``, the settings in ``config``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from feedback.channels import http, network
from feedback.channels.base import (
    CheckResult,
    Connector,
    ConnectorError,
    FetchedItem,
    FetchResult,
)
from feedback.channels.zendesk.config import KIND, ZendeskSettings, clean_config
from feedback.channels.zendesk.payloads import (
    TICKET_FIELDS,
    parse_comment,
    ticket_items,
    whole_id,
)
from feedback.mail import ParsedMessage
from portal.validation import json_loads

logger = logging.getLogger(__name__)

# The first poll reads the tickets changed this long before it, unless start_time says.
DEFAULT_START = timedelta(days=30)
# Tickets per export page: their summaries wait in the cursor until their comments are read.
EXPORT_PAGE_SIZE = 100
# A ticket with more comment pages than this is refused rather than read for ever.
MAX_COMMENT_PAGES = 100
EXPORT_PATH = "/api/v2/incremental/tickets/cursor.json"
COMMENTS_PATH = "/api/v2/tickets/{id}/comments.json"
ME_PATH = "/api/v2/users/me.json"

# Answers a person reads on the channel page or the health page.
CHECK_OK = "Connected to {host} as {name}"
CHECK_REFUSED = (
    "Zendesk refused the e-mail/token: check that email is the address you sign in to "
    "{host} with and api_token an active API token (Admin Center > Apps and integrations > "
    "Zendesk API)"
)
CHECK_NOT_ADMIN = (
    "Connected to {host} as {name}, who is not an admin: Zendesk's ticket export is for admins "
    "only; use an admin's e-mail and API token"
)
ANSWER_UNREADABLE = "{host} answered {path} with something other than Zendesk's JSON: {error}"
EXPORT_STUCK = (
    "{host}'s ticket export said there is more but gave no new cursor to read it from; "
    "trying again later"
)
# Logged, not shown: a ticket deleted since the export listed it is passed over.
TICKET_GONE = "Zendesk ticket %s at %s is gone (HTTP 404 for its comments); it was skipped"
TOO_MANY_COMMENT_PAGES = (
    "ticket {ticket} has more than {pages} pages of comments; it was not read (tell the "
    "portal's operators)"
)


def _get(
    settings: ZendeskSettings,
    path: str,
    params: dict[str, Any],
    session: requests.Session | None = None,
    ok: tuple[int, ...] = (200,),
) -> http.Response:
    """The one network call: GET ``path`` on the instance."""
    return http.get(
        settings.base_url + path,
        params=params,
        headers=settings.headers(),
        timeout=settings.timeout,
        ok=ok,
        session=session,
    )


def _json_object(settings: ZendeskSettings, path: str, answer: http.Response) -> dict[str, Any]:
    """The JSON object Zendesk answered ``path`` with; a retryable ConnectorError otherwise."""
    try:
        data = json_loads(answer.body)
    except (UnicodeDecodeError, ValueError) as error:
        data, problem = None, str(error)[:200]
    else:
        problem = "not a JSON object"
    if not isinstance(data, dict):
        host = urlsplit(settings.base_url).hostname
        raise ConnectorError(ANSWER_UNREADABLE.format(host=host, path=path, error=problem))
    return data


def _ticket_comments(
    settings: ZendeskSettings, ticket_id: int, session: requests.Session
) -> tuple[list[Any], dict[int, dict[str, Any]]]:
    """Every comment of the ticket, oldest first, and the users Zendesk sideloaded by id.
    A ticket deleted since the export listed it (Zendesk answers 404) has none: it is
    logged and passed over, so that it does not hold up the tickets after it."""
    path = COMMENTS_PATH.format(id=ticket_id)
    params: dict[str, Any] = {"include": "users"}
    comments: list[Any] = []
    users: dict[int, dict[str, Any]] = {}
    for _ in range(MAX_COMMENT_PAGES):
        answer = _get(settings, path, params, session, ok=(200, 404))
        if answer.status == 404:
            logger.info(TICKET_GONE, ticket_id, settings.host)
            return [], {}
        page = _json_object(settings, path, answer)
        comments += page.get("comments") if isinstance(page.get("comments"), list) else []
        for user in page.get("users") if isinstance(page.get("users"), list) else []:
            if isinstance(user, dict) and whole_id(user.get("id")) is not None:
                users[user["id"]] = user
        next_page = page.get("next_page")
        if not isinstance(next_page, str) or not next_page:
            return comments, users
        # Only the next page's query is taken: the credentials never go to another host.
        params = dict(parse_qsl(urlsplit(next_page).query))
    raise ConnectorError(
        TOO_MANY_COMMENT_PAGES.format(ticket=ticket_id, pages=MAX_COMMENT_PAGES), retryable=False
    )


@dataclass
class _Position:
    """Where a fetch stands; what the channel's cursor stores between polls."""

    after_cursor: str | None
    pending: list[dict[str, Any]]
    after: str | None

    @classmethod
    def load(cls, cursor: Mapping[str, Any] | None) -> _Position:
        cursor = cursor or {}
        pending = [
            ticket
            for ticket in cursor.get("pending") or []
            if isinstance(ticket, dict) and whole_id(ticket.get("id")) is not None
        ]
        after_cursor = cursor.get("after_cursor")
        after = cursor.get("after")
        return cls(
            after_cursor if isinstance(after_cursor, str) and after_cursor else None,
            pending,
            after if isinstance(after, str) and pending else None,
        )

    def dump(self) -> dict[str, Any]:
        return {"after_cursor": self.after_cursor, "pending": self.pending, "after": self.after}


def _remaining(items: list[FetchedItem], after: str | None) -> list[FetchedItem]:
    """The items after the one taken last; all of them when it is gone (the bytes of those
    taken before are the same, so they are stored once)."""
    for index, item in enumerate(items):
        if item.source_id == after:
            return items[index + 1 :]
    return items


class ZendeskConnector(Connector):
    kind = KIND
    secret_fields = frozenset({"api_token"})
    mail = False
    # An answer is e-mailed to the comment's author (Zendesk gives requesters' addresses); it
    # is not added to the Zendesk ticket.
    reply_by = "email"

    def validate_config(
        self, config: dict[str, Any], *, allow_plaintext: bool = False
    ) -> dict[str, Any]:
        return clean_config(config)[0]

    def check(self, config: dict[str, Any], *, url: str | None = None) -> CheckResult:
        try:
            settings = clean_config(config)[1]
            answer = http.get(
                settings.base_url + ME_PATH,
                headers=settings.headers(),
                timeout=settings.timeout,
                ok=(200, 401, 403),
            )
            user = json_loads(answer.body).get("user") if answer.status == 200 else None
        except ConnectorError as error:
            return CheckResult(ok=False, message=error.message)
        except (UnicodeDecodeError, ValueError, AttributeError) as error:
            host = urlsplit(settings.base_url).hostname
            message = ANSWER_UNREADABLE.format(host=host, path=ME_PATH, error=error)
            return CheckResult(ok=False, message=message)
        # Zendesk answers bad credentials on this endpoint with 401, or with the anonymous
        # user (no id) when the token is not sent as it expects.
        if not isinstance(user, dict) or whole_id(user.get("id")) is None:
            return CheckResult(ok=False, message=CHECK_REFUSED.format(host=settings.host))
        name = str(user.get("name") or user.get("email") or user["id"])
        if user.get("role") != "admin":
            return CheckResult(
                ok=False, message=CHECK_NOT_ADMIN.format(host=settings.host, name=name)
            )
        return CheckResult(ok=True, message=CHECK_OK.format(host=settings.host, name=name))

    def fetch(
        self,
        config: dict[str, Any],
        cursor: dict[str, Any] | None,
        *,
        limit: int = 100,
        max_bytes: int = 20 * 1024 * 1024,
    ) -> FetchResult:
        """The comments of the pending tickets, then of one more export page: one page a
        call at most, so a fetch stays a bounded number of requests; ``more`` until the
        export reports the end of its stream."""
        settings = clean_config(config)[1]
        position = _Position.load(cursor)
        items: list[FetchedItem] = []
        size, page_read, end_of_stream = 0, False, True
        with network.session() as session:
            while True:
                while position.pending:
                    if len(items) >= limit:
                        return FetchResult(items, position.dump(), more=True)
                    ticket = position.pending[0]
                    comments, users = _ticket_comments(settings, ticket["id"], session)
                    for item in _remaining(
                        ticket_items(settings, ticket, comments, users), position.after
                    ):
                        if len(items) >= limit or (items and size + len(item.raw) > max_bytes):
                            return FetchResult(items, position.dump(), more=True)
                        items.append(item)
                        size += len(item.raw)
                        position.after = item.source_id
                    position.pending.pop(0)
                    position.after = None
                if page_read:
                    return FetchResult(items, position.dump(), more=not end_of_stream)
                page = self._export_page(settings, position, session)
                page_read = True
                end_of_stream = page.get("end_of_stream") is not False
                after_cursor = page.get("after_cursor")
                moved = isinstance(after_cursor, str) and after_cursor != position.after_cursor
                if not end_of_stream and not (moved and after_cursor):
                    # Asking again from the same place would answer the same page for ever.
                    raise ConnectorError(EXPORT_STUCK.format(host=settings.host))
                if isinstance(after_cursor, str) and after_cursor:
                    position.after_cursor = after_cursor
                tickets = page.get("tickets") if isinstance(page.get("tickets"), list) else []
                position.pending = [
                    {key: ticket.get(key) for key in TICKET_FIELDS}
                    for ticket in tickets
                    if isinstance(ticket, dict)
                    and whole_id(ticket.get("id")) is not None
                    and ticket.get("status") != "deleted"
                ]

    def _export_page(
        self, settings: ZendeskSettings, position: _Position, session: requests.Session
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"per_page": EXPORT_PAGE_SIZE}
        if position.after_cursor:
            params["cursor"] = position.after_cursor
        else:
            start = settings.start_time or datetime.now(UTC) - DEFAULT_START
            params["start_time"] = int(start.timestamp())
        return _json_object(settings, EXPORT_PATH, _get(settings, EXPORT_PATH, params, session))

    def parse(
        self, raw: bytes, *, received_at: datetime, metadata: dict[str, Any]
    ) -> ParsedMessage:
        return parse_comment(raw)
