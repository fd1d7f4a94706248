"""The web widget's JSON endpoint: ``POST /api/v1/widget/<public key>/submissions/``, which the
embeddable script (``static/feedback/widget.js``) posts to from the customer's site.

Public by design: no login, no token and no session, hence no CSRF token either (a session
cookie is never read, so a forged post can do nothing a customer's own post cannot); the
channel is found by its public key. CORS is answered from the channel's ``allowed_origins``:
a browser on another site is refused with 403 (the browser would hide the answer from the
page anyway), a request without ``Origin`` (curl, a server) is taken. The 404 of an unknown key
(and its preflight) may be read from any page: it reveals nothing, and the script shows it.
The answers, in the order they are decided: 404 unknown key or disabled channel, 403 origin
not allowed, 413 body over the cap (from Content-Length, nothing read), 429 rate limit
(``Retry-After``), 400 field errors, 201 stored. A filled honeypot is answered 201 like a
stored message and stores nothing.
"""

from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest
from django.utils.cache import patch_vary_headers
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from feedback.channels import widget
from feedback.models import Channel
from feedback.services.widget import (
    RateLimited,
    widget_rate_limit_hit,
    widget_submission_receive,
)
from feedback.views.widget import (
    EMAIL_INVALID,
    EMAIL_REQUIRED,
    HONEYPOT,
    MESSAGE_REQUIRED,
    NO_SUCH_WIDGET,
    SENT,
    client_ip,
    request_too_large,
    screenshot_png,
    widget_channel,
)
from portal.api.parsers import JSONParser
from portal.api.serializers import DetailSerializer
from portal.crypto import DecryptionError

ORIGIN_NOT_ALLOWED = (
    "This site ({origin}) may not send feedback to this portal: an admin of the team can add "
    "the origin to the widget channel's allowed origins."
)
PREFLIGHT_MAX_AGE = 600
ALLOWED_METHODS = "POST, OPTIONS"
ALLOWED_HEADERS = "Content-Type"
ANY_ORIGIN = "*"


class MessageField(serializers.CharField):
    """The message: line breaks counted once, and a text that shows nothing is blank."""

    def to_internal_value(self, data: Any) -> str:
        value = widget.message_text(super().to_internal_value(data))
        if not widget.visible(value):
            self.fail("blank")
        return value


class WidgetSubmissionSerializer(serializers.Serializer):
    message = MessageField(
        max_length=widget.MAX_MESSAGE_CHARS,
        error_messages={"required": MESSAGE_REQUIRED, "blank": MESSAGE_REQUIRED},
        help_text="What the customer wrote.",
    )
    email = serializers.EmailField(
        max_length=widget.MAX_EMAIL_CHARS,
        error_messages={
            "required": EMAIL_REQUIRED,
            "blank": EMAIL_REQUIRED,
            "invalid": EMAIL_INVALID,
        },
        help_text="Where the team's answer goes.",
    )
    name = serializers.CharField(
        max_length=widget.MAX_NAME_CHARS, required=False, allow_blank=True, default=""
    )
    page_url = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=True,
        help_text=(
            "The page the customer was on. Context only: left out (the message still stored) "
            f"when it is no http or https address or longer than {widget.MAX_PAGE_URL_CHARS} "
            "characters."
        ),
    )
    screenshot = serializers.FileField(
        required=False,
        allow_null=True,
        default=None,
        help_text=(
            "Multipart only: a PNG, JPEG, GIF or WebP image of at most 5 MB and 4096 x 4096 "
            "pixels; it is stored re-encoded as PNG."
        ),
    )
    website = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Leave empty (a trap for bots: a post that fills it is not stored).",
    )

    def validate_page_url(self, value: str) -> str:
        return widget.page_url_or_blank(value)

    def validate_screenshot(self, upload: Any) -> bytes | None:
        try:
            return screenshot_png(upload)
        except widget.ScreenshotRefused as refused:
            raise serializers.ValidationError(refused.message) from refused


ANSWER = inline_serializer(
    name="WidgetSubmissionAnswer",
    fields={"detail": serializers.CharField(help_text="The confirmation to show the customer.")},
)


class WidgetSubmissionView(APIView):
    """The script's endpoint. ``now`` (the rate limit's clock) is for tests."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    throttle_classes: list = []
    now: datetime | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.cors_origin = None
        try:
            self.channel: Channel = widget_channel(kwargs.get("public_key", ""))
        except Http404 as error:
            # Any page may read that no form has this address (it tells nothing about any
            # channel), so that the script shows it instead of a network error. The preflight
            # is answered too, or a browser would not send the post that learns it.
            self.cors_origin = ANY_ORIGIN
            if request.method == "OPTIONS":
                return
            raise NotFound(NO_SUCH_WIDGET) from error
        origin = request.headers.get("Origin")
        if origin is None:
            return
        try:
            config = self.channel.read_config()
        except DecryptionError:
            # Settings this deployment's key cannot open allow no site until saved again.
            config = {}
        if not (widget.origin_allowed(config, origin) or _same_origin(request, origin)):
            raise PermissionDenied(ORIGIN_NOT_ALLOWED.format(origin=origin[:200]))
        self.cors_origin = origin

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        # Every answer to an allowed origin carries the header, errors included, so that the
        # script can show the customer what went wrong.
        if getattr(self, "cors_origin", None):
            response["Access-Control-Allow-Origin"] = self.cors_origin
        patch_vary_headers(response, ["Origin"])
        return response

    @extend_schema(exclude=True)
    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The CORS preflight (sent before a JSON post): reached only for an allowed origin,
        without one, or for a key no enabled channel has (whose post answers 404)."""
        response = Response(status=status.HTTP_204_NO_CONTENT)
        if self.cors_origin:
            response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
        return response

    @extend_schema(
        operation_id="widget_submission_create",
        tags=["widget"],
        summary="Send feedback from the web widget (public, no authentication)",
        description=(
            "Used by the embeddable script `static/feedback/widget.js`; no login, no token, "
            "no CSRF token. `public_key` is the widget channel's public key. A browser must "
            "post from one of the channel's allowed origins (CORS). At most 10 submissions a "
            "minute and 100 a day per IP address; a request body of at most 6 MB. See "
            "docs/widget.md."
        ),
        request={
            "multipart/form-data": WidgetSubmissionSerializer,
            "application/json": WidgetSubmissionSerializer,
        },
        responses={
            201: OpenApiResponse(ANSWER, description="Stored; the team answers by e-mail."),
            400: OpenApiResponse(description="A field was refused; nothing was stored."),
            403: OpenApiResponse(
                DetailSerializer,
                description="A browser on a site that is not among the allowed origins.",
            ),
            404: OpenApiResponse(
                DetailSerializer, description="No enabled widget channel has this key."
            ),
            413: OpenApiResponse(
                DetailSerializer,
                description="The body is over 6 MB; refused unread, nothing was stored.",
            ),
            429: OpenApiResponse(
                DetailSerializer,
                description="Too many submissions from this address; `Retry-After` says when.",
            ),
        },
    )
    def post(self, request: Request, public_key: str) -> Response:
        refused = request_too_large(request)
        if refused is not None:
            return Response({"detail": refused}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        try:
            widget_rate_limit_hit(channel=self.channel, ip=client_ip(request), now=self.now)
        except RateLimited as limited:
            return Response(
                {"detail": limited.message},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(limited.retry_after)},
            )
        serializer = WidgetSubmissionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if not data.get(HONEYPOT):
            widget_submission_receive(
                channel=self.channel,
                submission=widget.Submission(
                    message=data["message"],
                    email=data["email"],
                    name=data.get("name") or "",
                    page_url=data.get("page_url") or "",
                    user_agent=request.headers.get("User-Agent", ""),
                    screenshot_png=data.get("screenshot"),
                ),
                now=self.now,
            )
        return Response(
            {"detail": SENT.format(email=data["email"])}, status=status.HTTP_201_CREATED
        )


def _same_origin(request: HttpRequest, origin: str) -> bool:
    """The portal's own pages (the API docs' "try it out") are not cross-origin."""
    return widget.normalise_origin(origin) == widget.normalise_origin(
        request.build_absolute_uri("/")
    )
