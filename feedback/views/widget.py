"""The web widget's public pages: the no-JS feedback form at ``/w/<public key>/`` and what the
JSON endpoint (``feedback.api.widget``) shares with it: the channel found by its public key,
the size cap read from Content-Length, the sender's address for the rate limit, and the
submission form.

No login: the channel is found by its public key (an unknown key or a disabled channel answers
404). The form is same-origin, so it carries a CSRF token as usual; the token is checked only
after the size cap, because checking it reads the body, and a 10 MB post must be refused
before a byte of it is read. A filled honeypot is answered like a stored message and stores
nothing. docs/widget.md is the guide.
"""

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from feedback import selectors
from feedback.channels import widget
from feedback.models import Channel
from feedback.services.widget import (
    RateLimited,
    widget_rate_limit_hit,
    widget_submission_receive,
)
from portal.actors import SYSTEM
from portal.links import absolute_url

NO_SUCH_WIDGET = "No feedback form has this address."
TOO_LARGE = (
    "Your message and screenshot together are larger than {limit} MB, so nothing was sent. "
    "Send a smaller screenshot, or none."
)
CONTENT_LENGTH_INVALID = "Content-Length must be a whole number of bytes."
MESSAGE_REQUIRED = "Write your message."
EMAIL_REQUIRED = "Enter your e-mail address, so that we can answer you."
EMAIL_INVALID = "Enter a valid e-mail address, such as name@example.com."
SENT = "Thanks — we got your message; we'll answer at {email}."
# The confirmation page names the address from a signed token in its URL, valid this long.
SENT_SALT = "feedback.widget.sent"
SENT_MAX_AGE = 3600
HONEYPOT = "website"
SCRIPT = "feedback/widget.js"
SCREENSHOT_ACCEPT = "image/png,image/jpeg,image/gif,image/webp"


def widget_channel(public_key: str) -> Channel:
    """The enabled widget channel with this public key; Http404 otherwise (a disabled channel
    looks like no channel, so that a key taken off a site stops working at once)."""
    if not public_key or len(public_key) > Channel._meta.get_field("public_key").max_length:
        raise Http404(NO_SUCH_WIDGET)
    channels = selectors.channel_list(user=SYSTEM, kind=widget.KIND, enabled=True)
    channel = channels.filter(public_key=public_key).first()
    if channel is None:
        raise Http404(NO_SUCH_WIDGET)
    return channel


def request_too_large(request: HttpRequest) -> str | None:
    """Why the body is refused unread (413), or None. A request without Content-Length has
    no body for Django (its stream ends at once), so the header is all there is to check."""
    value = request.META.get("CONTENT_LENGTH") or "0"
    if not (value.isascii() and value.isdigit()):
        return CONTENT_LENGTH_INVALID
    if int(value) > widget.MAX_REQUEST_BYTES:
        return TOO_LARGE.format(limit=widget.MAX_REQUEST_BYTES // (1024 * 1024))
    return None


def client_ip(request: HttpRequest) -> str:
    """The address the rate limit counts: the peer's, as the web server reports it; behind
    ``PORTAL_TRUSTED_PROXIES`` proxies, the address the outermost of them saw, read from the
    right of ``X-Forwarded-For`` (what a client writes further left is not believed)."""
    hops = settings.PORTAL_TRUSTED_PROXIES
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if hops and len(forwarded) >= hops:
        return forwarded[-hops][:64]
    return request.META.get("REMOTE_ADDR") or "unknown"


def screenshot_png(upload: Any) -> bytes | None:
    """The uploaded screenshot re-encoded as PNG, None without one; ScreenshotRefused for a
    file that is too large or no image. The size is checked before the file is read."""
    if not upload:
        return None
    if upload.size > widget.MAX_SCREENSHOT_BYTES:
        raise widget.ScreenshotRefused(
            widget.SCREENSHOT_TOO_LARGE.format(limit=widget.MAX_SCREENSHOT_BYTES // (1024 * 1024))
        )
    return widget.reencode_screenshot(upload.read())


class MessageField(forms.CharField):
    """The message: line breaks counted once (``widget.message_text``), and a text that shows
    nothing (zero-width spaces alone) is no message."""

    def to_python(self, value: Any) -> str:
        return widget.message_text(super().to_python(value))

    def validate(self, value: str) -> None:
        super().validate(value)
        if not widget.visible(value):
            raise ValidationError(MESSAGE_REQUIRED, code="required")


class WidgetSubmissionForm(forms.Form):
    message = MessageField(
        label="Your message",
        max_length=widget.MAX_MESSAGE_CHARS,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": MESSAGE_REQUIRED},
    )
    email = forms.EmailField(
        label="Your e-mail address",
        max_length=widget.MAX_EMAIL_CHARS,
        help_text="We answer you there.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={"required": EMAIL_REQUIRED, "invalid": EMAIL_INVALID},
    )
    name = forms.CharField(
        label="Your name (optional)",
        max_length=widget.MAX_NAME_CHARS,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    screenshot = forms.FileField(
        label="Screenshot (optional)",
        required=False,
        help_text="A PNG, JPEG, GIF or WebP image of at most 5 MB.",
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/png,image/jpeg,image/gif,image/webp"}
        ),
    )
    # Left out when it is no http(s) address or too long: the customer cannot correct it.
    page_url = forms.CharField(required=False, widget=forms.HiddenInput)
    # Hidden from people (CSS, aria-hidden, out of the tab order); bots fill it in.
    website = forms.CharField(
        label="Leave this field empty",
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def clean_page_url(self) -> str:
        return widget.page_url_or_blank(self.cleaned_data.get("page_url") or "")

    def clean_screenshot(self) -> bytes | None:
        try:
            return screenshot_png(self.cleaned_data.get("screenshot"))
        except widget.ScreenshotRefused as refused:
            raise ValidationError(refused.message) from refused

    def is_bot(self) -> bool:
        return bool(self.cleaned_data.get(HONEYPOT))

    def submission(self, *, user_agent: str) -> widget.Submission:
        data = self.cleaned_data
        return widget.Submission(
            message=data["message"],
            email=data["email"],
            name=data.get("name") or "",
            page_url=data.get("page_url") or "",
            user_agent=user_agent,
            screenshot_png=data.get("screenshot"),
        )


def sent_token(email: str) -> str:
    return signing.dumps(email, salt=SENT_SALT, compress=True)


def _sent_email(token: str) -> str | None:
    try:
        email = signing.loads(token, salt=SENT_SALT, max_age=SENT_MAX_AGE)
    except signing.BadSignature:
        return None
    return email if isinstance(email, str) else None


def widget_form_url(channel: Channel) -> str:
    """The absolute address of the channel's public no-JS form."""
    return absolute_url(reverse("feedback:widget_form", args=[channel.public_key]))


def embed_snippet(channel: Channel) -> dict[str, str]:
    """What the channel's settings page shows: the script tag to embed and the no-JS link."""
    # The unversioned name, not the hashed one ``static()`` gives in production: sites keep
    # the tag they pasted, and each release's script reaches them under the same address.
    script = absolute_url(f"/{settings.STATIC_URL.strip('/')}/{SCRIPT}")
    return {
        "script_tag": (
            f'<script src="{script}" data-portal-key="{channel.public_key}" async></script>'
        ),
        "form_url": widget_form_url(channel),
    }


def _form_page(
    request: HttpRequest,
    channel: Channel,
    form: WidgetSubmissionForm,
    *,
    status: int = 200,
    error: str = "",
) -> HttpResponse:
    context = {"form": form, "error": error, "honeypot": form[HONEYPOT]}
    return render(request, "feedback/widget/form.html", context, status=status)


@csrf_protect
def _widget_form(request: HttpRequest, channel: Channel, now: datetime | None) -> HttpResponse:
    if request.method == "GET":
        token = request.GET.get("sent")
        email = _sent_email(token) if token else None
        if email is not None:
            return render(request, "feedback/widget/sent.html", {"sent": SENT.format(email=email)})
        initial = {"page_url": widget.page_url_or_blank(request.GET.get("page", ""))}
        return _form_page(request, channel, WidgetSubmissionForm(initial=initial))
    form = WidgetSubmissionForm(request.POST, request.FILES)
    try:
        widget_rate_limit_hit(channel=channel, ip=client_ip(request), now=now)
    except RateLimited as limited:
        response = _form_page(request, channel, form, status=429, error=limited.message)
        response["Retry-After"] = str(limited.retry_after)
        return response
    if not form.is_valid():
        return _form_page(request, channel, form, status=400)
    if not form.is_bot():
        widget_submission_receive(
            channel=channel,
            submission=form.submission(user_agent=request.headers.get("User-Agent", "")),
            now=now,
        )
    # Post/redirect/get; the confirmation names the address from a signed token.
    url = reverse("feedback:widget_form", args=[channel.public_key])
    query = urlencode({"sent": sent_token(form.cleaned_data["email"])})
    return HttpResponseRedirect(f"{url}?{query}")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def widget_form(
    request: HttpRequest, public_key: str, *, now: datetime | None = None
) -> HttpResponse:
    """The public form. ``now`` (the rate limit's clock) is for tests calling the view."""
    channel = widget_channel(public_key)
    if request.method == "POST":
        refused = request_too_large(request)
        if refused is not None:
            form = WidgetSubmissionForm()
            status = 400 if refused == CONTENT_LENGTH_INVALID else 413
            return _form_page(request, channel, form, status=status, error=refused)
    return _widget_form(request, channel, now)
