"""The inbound e-mail webhook: ``POST /hooks/email/<channel id>/`` with one raw mail as the
body, signed as ``feedback.channels.webhook`` describes. docs/webhooks.md is the operator's
guide.

The answers, in the order they are decided:

- 405 for anything but POST;
- 404 when no webhook channel has that id (any other kind of channel included);
- 413 when the body is larger than the parser would ever take (``MAX_MESSAGE_BYTES``), told by
  Content-Length before a byte is read, or found while reading;
- 401 when a signature header is missing, 403 when the signature or timestamp is wrong or the
  timestamp is more than 5 minutes from the portal's clock (nothing is stored for either);
- 403 when the channel is disabled (a signed post only, so that nobody without the secret
  learns which channels exist but are off);
- 400 for an empty body;
- 202 once the raw bytes are durably stored (``payload_receive`` commits, then queues the
  parse); 200 when exactly these bytes were stored before, which makes a provider's retry, or
  a replay within the 5 minutes, harmless.

The endpoint is public and CSRF-exempt (a mail provider has no session); the HMAC is its
authentication. Answers are JSON ``{"detail": ...}`` like the API's.
"""

from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from feedback import selectors
from feedback.channels.webhook import (
    KIND,
    SIGNATURE_HEADER,
    SIGNATURE_MISSING,
    TIMESTAMP_HEADER,
    SignatureRefused,
    verify,
)
from feedback.mail.parse import MAX_MESSAGE_BYTES
from feedback.models import Channel
from feedback.services import payload_receive
from portal.actors import SYSTEM
from portal.links import absolute_url
from portal.selectors import get_or_404

NO_SUCH_WEBHOOK = "No inbound e-mail webhook has this address."
TOO_LARGE = (
    "The message is {size} bytes; this webhook takes at most {limit} bytes. Nothing was stored."
)
TOO_LARGE_UNKNOWN = (
    "The message is over {limit} bytes; this webhook takes no more. Nothing was stored."
)
CONTENT_LENGTH_INVALID = "Content-Length must be a whole number of bytes."
CHANNEL_DISABLED = (
    "This channel is disabled, so it stores nothing; an admin of its team can enable it again."
)
EMPTY_BODY = "The body is empty: post the raw message (RFC 5322 bytes) as the request body."
STORED = "Stored; the message is parsed in the background."
STORED_BEFORE = "These bytes were stored before; nothing new was stored."

# Read in pieces so that an oversized body is refused after at most MAX_MESSAGE_BYTES + 1.
_READ_CHUNK = 1024 * 1024


def webhook_url(channel: Channel) -> str:
    """The absolute address a mail provider posts the channel's mail to."""
    return absolute_url(reverse("feedback:email_webhook", kwargs={"pk": channel.pk}))


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _answer(status: int, detail: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"detail": detail, **extra}, status=status)


def _declared_length(request: HttpRequest, limit: int) -> int | None:
    value = request.META.get("CONTENT_LENGTH") or ""
    if not value:
        return None
    if not (value.isascii() and value.isdigit()):
        raise _Refused(400, CONTENT_LENGTH_INVALID)
    length = int(value)
    if length > limit:
        raise _Refused(413, TOO_LARGE.format(size=length, limit=limit))
    return length


def _read_body(request: HttpRequest, limit: int, declared: int | None) -> bytes:
    """The body, at most ``limit`` bytes. ``request.body`` is not used: it refuses anything
    over DATA_UPLOAD_MAX_MEMORY_SIZE, which is meant for forms, not for mail."""
    if declared is not None:
        # One read into one buffer: a large mail is held once, not once per piece and again
        # joined. The server's stream ends at Content-Length, which is within the limit.
        return request.read(declared)
    pieces, size = [], 0
    while True:
        piece = request.read(min(_READ_CHUNK, limit + 1 - size))
        if not piece:
            break
        pieces.append(piece)
        size += len(piece)
        if size > limit:
            raise _Refused(413, TOO_LARGE_UNKNOWN.format(limit=limit))
    return b"".join(pieces)


@csrf_exempt
@require_POST
def email_webhook(
    request: HttpRequest,
    pk: int,
    *,
    now: datetime | None = None,
    max_bytes: int = MAX_MESSAGE_BYTES,
) -> JsonResponse:
    """Store one posted mail. ``now`` (the clock the signature's age is measured against)
    and ``max_bytes`` are for tests calling the view directly."""
    now = now or timezone.now()
    try:
        channel = get_or_404(selectors.channel_list(user=SYSTEM, kind=KIND), NO_SUCH_WEBHOOK, pk=pk)
    except Http404:
        return _answer(404, NO_SUCH_WEBHOOK)
    try:
        declared = _declared_length(request, max_bytes)
        timestamp = request.headers.get(TIMESTAMP_HEADER)
        signature_value = request.headers.get(SIGNATURE_HEADER)
        if not timestamp or not signature_value:
            # Refused before the body is read: an unsigned post costs nothing.
            raise SignatureRefused(SIGNATURE_MISSING, status=401)
        body = _read_body(request, max_bytes, declared)
        verify(
            secret=channel.read_config().get("secret") or "",
            timestamp=timestamp,
            signature_value=signature_value,
            body=body,
            now=now,
        )
    except SignatureRefused as refused:
        return _answer(refused.status, refused.message)
    except _Refused as refused:
        return _answer(refused.status, refused.message)
    if not channel.enabled:
        return _answer(403, CHANNEL_DISABLED)
    if not body:
        return _answer(400, EMPTY_BODY)
    payload, created = payload_receive(
        channel=channel,
        raw=body,
        metadata={"via": "webhook", "content_type": request.content_type or ""},
        now=now,
    )
    if created:
        return _answer(202, STORED, payload=payload.pk)
    return _answer(200, STORED_BEFORE, payload=payload.pk)
