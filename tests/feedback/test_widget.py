"""The web widget (issue 9, channel 5): a customer's submission, through the JSON endpoint the
script posts to or the no-JS form, is stored raw first and parsed into an item from the address
they gave, with the screenshot re-encoded as PNG; abuse (a burst from one address, a 10 MB
body, a non-image "screenshot", a filled honeypot, another site's page) gets a clear answer and
stores nothing."""

import html
import io
import json
import random
import re
import zlib
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image, PngImagePlugin

from feedback.api.widget import ORIGIN_NOT_ALLOWED, WidgetSubmissionView
from feedback.channels import get_connector
from feedback.channels import widget as widget_module
from feedback.channels.base import ConfigError, unknown_settings_message
from feedback.channels.widget import (
    ADDRESS_INVALID,
    MAX_MESSAGE_CHARS,
    MAX_PIXELS,
    MAX_STORED_SIDE,
    ORIGIN_HOST_INVALID,
    ORIGIN_INVALID,
    ORIGIN_NOT_HTTPS,
    ORIGIN_PORT_INVALID,
    ORIGIN_TRAILING_DOT,
    SCREENSHOT_NOT_IMAGE,
    SCREENSHOT_TOO_MANY_PIXELS,
    ScreenshotRefused,
    Submission,
    origin_allowed,
    parse_submission,
    reencode_screenshot,
    submission_payload,
)
from feedback.channels.widget import CONFIG_FIELDS as WIDGET_FIELDS
from feedback.mail import UnparseableMessage
from feedback.models import (
    Attachment,
    Direction,
    FeedbackItem,
    Message,
    PayloadStatus,
    RawPayload,
    ThreadReason,
)
from feedback.services import channel_create, channel_update
from feedback.services.storage import blob_read
from feedback.services.widget import (
    CACHE_PREFIX,
    TOO_MANY,
    RateLimited,
    widget_rate_limit_hit,
)
from feedback.views.widget import (
    EMAIL_REQUIRED,
    MESSAGE_REQUIRED,
    NO_SUCH_WIDGET,
    SENT,
    TOO_LARGE,
    embed_snippet,
    widget_form,
)
from portal.actors import SYSTEM
from portal.models import Customer
from tests.factories import TeamFactory

ORIGIN = "https://www.kitewire.example"
OTHER_ORIGIN = "https://evil.example"
IDN_ORIGIN = "https://bücher.example"
# What a browser on that site sends in Origin: the host in its IDNA (punycode) form.
IDN_ORIGIN_SENT = "https://xn--bcher-kva.example"
NOW = datetime(2026, 3, 3, 12, 0, 30, tzinfo=UTC)


def png(width: int = 40, height: int = 30, *, mode: str = "RGB", **save) -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), "white").save(out, format="PNG", **save)
    return out.getvalue()


def jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (60, 20), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Inc."  # Make
    exif[0x0112] = 6  # Orientation: rotate 90 degrees to show upright
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


# --- config -----------------------------------------------------------------------------------


def test_config_keeps_origins_normalised_once_and_the_reply_address():
    cleaned = get_connector("widget").validate_config(
        {
            "allowed_origins": [
                "https://WWW.Kitewire.example/",
                "https://www.kitewire.example:443",
                "http://127.0.0.1:8001",
                "http://localhost:3000",
            ],
            "address": " support@kitewire.example ",
        }
    )
    assert cleaned == {
        "allowed_origins": [
            "https://www.kitewire.example",
            "http://127.0.0.1:8001",
            "http://localhost:3000",
        ],
        "address": "support@kitewire.example",
    }


def test_config_keeps_an_internationalised_host_in_the_form_browsers_send():
    cleaned = get_connector("widget").validate_config(
        {
            "allowed_origins": [
                IDN_ORIGIN,
                "https://BÜCHER.Example:443",
                IDN_ORIGIN_SENT,
                # Non-transitional, as browsers: "ß" is a letter of its own, not "ss".
                "https://straße.example",
            ]
        }
    )
    assert cleaned["allowed_origins"] == [IDN_ORIGIN_SENT, "https://xn--strae-oqa.example"]


def test_config_takes_origins_one_a_line_as_the_settings_form_sends_them():
    cleaned = get_connector("widget").validate_config(
        {"allowed_origins": "https://a.example\r\nhttps://b.example\n"}
    )
    assert cleaned["allowed_origins"] == ["https://a.example", "https://b.example"]


@pytest.mark.parametrize(
    ("config", "message", "field"),
    [
        (
            {"allowed_origins": ["http://www.kitewire.example"]},
            ORIGIN_NOT_HTTPS.format(origin="http://www.kitewire.example"),
            "allowed_origins",
        ),
        (
            {"allowed_origins": ["https://www.kitewire.example/feedback"]},
            ORIGIN_INVALID.format(origin="https://www.kitewire.example/feedback"),
            "allowed_origins",
        ),
        (
            {"allowed_origins": ["www.kitewire.example"]},
            ORIGIN_INVALID.format(origin="www.kitewire.example"),
            "allowed_origins",
        ),
        # Origins no browser ever sends: a pattern, a host ending in a dot, ports outside 1 to
        # 65535, and a host with no IDNA form (a private-use character).
        (
            {"allowed_origins": ["https://*.example.com"]},
            ORIGIN_INVALID.format(origin="https://*.example.com"),
            "allowed_origins",
        ),
        (
            {"allowed_origins": ["*"]},
            ORIGIN_INVALID.format(origin="*"),
            "allowed_origins",
        ),
        (
            {"allowed_origins": ["https://x.example."]},
            ORIGIN_TRAILING_DOT.format(origin="https://x.example."),
            "allowed_origins",
        ),
        (
            {"allowed_origins": ["https://x.example:0"]},
            ORIGIN_PORT_INVALID.format(origin="https://x.example:0"),
            "allowed_origins",
        ),
        (
            {"allowed_origins": ["https://x.example:65536"]},
            ORIGIN_PORT_INVALID.format(origin="https://x.example:65536"),
            "allowed_origins",
        ),
        (
            {"allowed_origins": ["https://\ue000.example"]},
            ORIGIN_HOST_INVALID.format(origin="https://\ue000.example"),
            "allowed_origins",
        ),
        ({"address": "not an address"}, ADDRESS_INVALID, "address"),
        ({"secret": "x"}, unknown_settings_message("widget", ["secret"], WIDGET_FIELDS), "secret"),
    ],
)
def test_config_refusals_name_their_field(config, message, field):
    with pytest.raises(ConfigError) as refused:
        get_connector("widget").validate_config(config)
    assert (refused.value.message, refused.value.field) == (message, field)


def test_only_listed_origins_are_allowed():
    config = {"allowed_origins": [ORIGIN]}
    assert origin_allowed(config, "https://www.kitewire.example")
    assert origin_allowed(config, "HTTPS://www.kitewire.example:443")
    assert not origin_allowed(config, OTHER_ORIGIN)
    assert not origin_allowed(config, "https://www.kitewire.example.evil.example")
    assert not origin_allowed(config, "null")
    assert not origin_allowed({"allowed_origins": []}, ORIGIN)


def test_an_internationalised_origin_saved_before_it_was_normalised_still_matches():
    # Stored as typed by an earlier version: compared in the form the browser sends.
    assert origin_allowed({"allowed_origins": [IDN_ORIGIN]}, IDN_ORIGIN_SENT)
    assert origin_allowed({"allowed_origins": [IDN_ORIGIN_SENT]}, IDN_ORIGIN_SENT)
    assert not origin_allowed(
        {"allowed_origins": ["https://*.example.com"]}, "https://a.example.com"
    )


# --- screenshots ------------------------------------------------------------------------------


def test_a_png_is_written_anew_without_its_metadata_or_what_was_appended_to_it():
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret-location-51.5N")
    polyglot = png(pnginfo=info) + b"<script>alert(1)</script>PK\x03\x04"

    result = reencode_screenshot(polyglot)

    assert result.startswith(b"\x89PNG\r\n\x1a\n")
    assert b"secret-location" not in result and b"<script>" not in result
    with Image.open(io.BytesIO(result)) as image:
        assert (image.format, image.size) == ("PNG", (40, 30))
        assert "Comment" not in image.info


def test_a_jpeg_is_turned_upright_and_loses_its_exif():
    result = reencode_screenshot(jpeg_with_exif())

    assert b"SpyCam" not in result
    with Image.open(io.BytesIO(result)) as image:
        assert image.format == "PNG"
        assert image.size == (20, 60)  # rotated by its orientation
        assert not image.getexif()


@pytest.mark.parametrize("image_format", ["GIF", "WEBP"])
def test_gif_and_webp_are_taken(image_format):
    out = io.BytesIO()
    Image.new("RGB", (10, 10), "blue").save(out, format=image_format)
    with Image.open(io.BytesIO(reencode_screenshot(out.getvalue()))) as image:
        assert (image.format, image.size) == ("PNG", (10, 10))


def test_a_large_screenshot_is_scaled_into_the_stored_size():
    with Image.open(io.BytesIO(reencode_screenshot(png(4000, 1000, mode="L")))) as image:
        assert image.size == (MAX_STORED_SIDE, MAX_STORED_SIDE // 4)


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n1 0 obj<<>>endobj\n",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"",
        png()[:30],  # truncated
        b"BM" + b"\x00" * 60,  # a BMP is an image, but not one the widget takes
    ],
)
def test_anything_but_a_png_jpeg_gif_or_webp_is_refused(data):
    with pytest.raises(ScreenshotRefused) as refused:
        reencode_screenshot(data)
    assert refused.value.message == SCREENSHOT_NOT_IMAGE


def test_an_image_beyond_pillows_own_guard_gets_the_size_message():
    # A PNG header declaring 30,000 x 30,000 pixels: Pillow refuses it while opening.
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")
        )

    header = (30_000).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")
    with pytest.raises(ScreenshotRefused) as refused:
        reencode_screenshot(bomb)
    assert refused.value.message == SCREENSHOT_TOO_MANY_PIXELS


def test_a_photo_too_big_as_png_is_kept_smaller_instead_of_refused(monkeypatch):
    noise = Image.frombytes("RGB", (800, 600), random.Random(5).randbytes(800 * 600 * 3))
    photo = io.BytesIO()
    noise.save(photo, format="JPEG", quality=95)
    monkeypatch.setattr(widget_module, "MAX_STORED_SCREENSHOT_BYTES", 400_000)
    monkeypatch.setattr(widget_module, "MIN_STORED_SIDE", 100)

    stored = reencode_screenshot(photo.getvalue())

    assert len(stored) <= 400_000
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "PNG" and image.width < 800
        assert image.width / image.height == pytest.approx(800 / 600, rel=0.02)
    monkeypatch.setattr(widget_module, "MIN_STORED_SIDE", 800)
    with pytest.raises(ScreenshotRefused):
        reencode_screenshot(photo.getvalue())


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    # 1-bit pixels compress to almost nothing: a small file that would be a huge bitmap.
    side = int(MAX_PIXELS**0.5) + 1
    bomb = png(side, side, mode="1")
    assert len(bomb) < 100_000
    with pytest.raises(ScreenshotRefused) as refused:
        reencode_screenshot(bomb)
    assert refused.value.message == SCREENSHOT_TOO_MANY_PIXELS


# --- payload and parse ------------------------------------------------------------------------


SUBMISSION = Submission(
    message="The export button does nothing on Safari.\nI tried twice.",
    email="Nadia.Kelly@Alderfinch.example",
    name="  Nadia   Kelly ",
    page_url="https://www.kitewire.example/app/reports?id=7",
    user_agent="Mozilla/5.0 (Macintosh) Safari/605.1.15",
    screenshot_png=None,
)


def test_the_payload_is_the_same_bytes_for_the_same_submission():
    first = submission_payload(
        SUBMISSION, submission_id="abc", submitted_at=NOW, portal_host="portal.example"
    )
    again = submission_payload(
        SUBMISSION, submission_id="abc", submitted_at=NOW, portal_host="portal.example"
    )
    assert first == again
    assert json.loads(first)["email"] == SUBMISSION.email


def test_the_parse_gives_a_customer_message_with_the_page_and_the_screenshot():
    screenshot = reencode_screenshot(png())
    raw = submission_payload(
        Submission(**{**SUBMISSION.__dict__, "screenshot_png": screenshot}),
        submission_id="5f1e",
        submitted_at=NOW,
        portal_host="portal.example",
    )
    parsed = parse_submission(raw, received_at=NOW + timedelta(seconds=1))

    assert parsed.message_id == "widget-5f1e@portal.example"
    assert (parsed.from_address, parsed.from_name) == (
        "nadia.kelly@alderfinch.example",
        "Nadia Kelly",
    )
    assert parsed.subject == "The export button does nothing on Safari."
    assert parsed.text == SUBMISSION.message
    assert parsed.url == SUBMISSION.page_url
    assert parsed.sent_at == NOW
    assert parsed.lane == "customer"
    [attachment] = parsed.attachments
    assert (attachment.filename, attachment.content_type, attachment.content) == (
        "screenshot.png",
        "image/png",
        screenshot,
    )


def test_a_submission_time_in_the_future_is_not_believed():
    raw = submission_payload(
        SUBMISSION, submission_id="x", submitted_at=NOW + timedelta(days=1), portal_host=""
    )
    parsed = parse_submission(raw, received_at=NOW)
    assert parsed.sent_at == NOW
    assert parsed.message_id == "widget-x@widget"


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"[1, 2]",
        b'{"submission_id": "x", "message": "hi", "submitted_at": "2026-03-03T12:00:00+00:00"}',
        b'{"submission_id": "x", "message": "hi", "email": "a@b.example", "submitted_at": "soon"}',
        b'{"submission_id": "x", "message": "hi", "email": "a@b.example", '
        b'"submitted_at": "2026-03-03T12:00:00+00:00", "screenshot": {"base64": "***"}}',
    ],
)
def test_malformed_payloads_are_unparseable(raw):
    with pytest.raises(UnparseableMessage):
        parse_submission(raw, received_at=NOW)


# --- rate limit -------------------------------------------------------------------------------


class _Channel:
    pk = 7


def test_the_rate_limit_counts_per_minute_with_an_injected_clock():
    for _ in range(10):
        widget_rate_limit_hit(channel=_Channel, ip="203.0.113.5", now=NOW)
    with pytest.raises(RateLimited) as limited:
        widget_rate_limit_hit(channel=_Channel, ip="203.0.113.5", now=NOW)
    assert limited.value.retry_after == 30  # the minute ends at 12:01:00
    assert limited.value.message == TOO_MANY.format(wait="30 seconds")
    # Another address, another channel and the next minute are counted apart.
    widget_rate_limit_hit(channel=_Channel, ip="203.0.113.6", now=NOW)
    widget_rate_limit_hit(channel=type("Other", (), {"pk": 8}), ip="203.0.113.5", now=NOW)
    widget_rate_limit_hit(channel=_Channel, ip="203.0.113.5", now=NOW + timedelta(seconds=30))


@pytest.mark.parametrize(
    ("proxies", "forwarded", "counted"),
    [
        (0, "198.51.100.7", "10.0.0.2"),  # no proxy trusted: the header is not read
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # a client's own entry is not believed
        (2, "198.51.100.7, 10.0.0.9", "198.51.100.7"),
        (2, "198.51.100.7", "10.0.0.2"),  # fewer entries than proxies: the peer's address
        (1, "", "10.0.0.2"),
    ],
)
def test_the_rate_limit_counts_the_address_the_outermost_trusted_proxy_saw(
    settings, proxies, forwarded, counted
):
    from django.test import RequestFactory

    from feedback.views.widget import client_ip

    settings.PORTAL_TRUSTED_PROXIES = proxies
    request = RequestFactory().post("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == counted


def test_the_rate_limit_counts_per_day_and_refusals_do_not_use_the_day_up():
    start = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)

    def hit(minute: int) -> bool:
        try:
            widget_rate_limit_hit(
                channel=_Channel, ip="198.51.100.1", now=start + timedelta(minutes=minute)
            )
        except RateLimited:
            return False
        return True

    # A burst of 15 in the first minute: 5 refused, and not counted against the day.
    assert sum(hit(0) for _ in range(15)) == 10
    assert sum(hit(minute) for minute in range(1, 10) for _ in range(10)) == 90
    with pytest.raises(RateLimited) as limited:
        widget_rate_limit_hit(
            channel=_Channel, ip="198.51.100.1", now=start + timedelta(minutes=10)
        )
    assert limited.value.retry_after == 24 * 3600 - 10 * 60
    assert limited.value.message == TOO_MANY.format(wait="24 hours")
    assert hit(24 * 60)  # the next day


@pytest.mark.parametrize("backend", ["file", "redis"])
def test_the_rate_limit_counts_in_the_deployments_cache(backend, settings, tmp_path):
    """The embedded default's file cache, and Redis when REDIS_URL names one: the counts are
    shared by every process of a deployment, so they must work in both."""
    import os

    from django.core.cache import caches

    from tests.conftest import require_service

    if backend == "redis":
        location = os.environ.get("REDIS_URL", "")
        require_service(bool(location), "REDIS_URL is not set")
        config = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location}
    else:
        config = {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    settings.CACHES = {"default": {**config, "KEY_PREFIX": f"widget-test-{os.getpid()}"}}
    ip = f"192.0.2.{os.getpid() % 250}"
    moment = datetime.now(UTC).replace(second=0, microsecond=0)
    try:
        for _ in range(10):
            widget_rate_limit_hit(channel=_Channel, ip=ip, now=moment)
        with pytest.raises(RateLimited):
            widget_rate_limit_hit(channel=_Channel, ip=ip, now=moment)
    finally:
        for window in (60, 86_400):
            start = int(moment.timestamp()) // window * window
            caches["default"].delete(f"{CACHE_PREFIX}:{_Channel.pk}:{ip}:{window}:{start}")


def test_the_rate_limit_holds_under_concurrent_posts_with_the_file_cache(settings, tmp_path):
    """Django's file cache increments by reading the count and writing it back: without a
    lock, posts at the same moment read the same count and more than the limit got through."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }
    posts = 40
    start = Barrier(posts)

    def post(_: int) -> bool:
        start.wait()
        try:
            widget_rate_limit_hit(channel=_Channel, ip="203.0.113.77", now=NOW)
        except RateLimited:
            return False
        return True

    with ThreadPoolExecutor(max_workers=posts) as pool:
        taken = sum(pool.map(post, range(posts)))

    assert taken == 10


# --- the JSON endpoint ------------------------------------------------------------------------


@pytest.fixture
def team():
    return TeamFactory()


@pytest.fixture
def channel(team):
    return channel_create(
        actor=SYSTEM,
        team=team,
        kind="widget",
        name="Website widget",
        config={"allowed_origins": [ORIGIN], "address": "support@kitewire.example"},
    )


def api_url(channel_or_key) -> str:
    key = getattr(channel_or_key, "public_key", channel_or_key)
    return reverse("api:widget-submission", kwargs={"public_key": key})


def submit(channel, *, origin: str | None = ORIGIN, ip: str = "203.0.113.9", **fields):
    data = {"message": "The export button does nothing.", "email": "nadia@alderfinch.example"}
    data.update(fields)
    extra = {"REMOTE_ADDR": ip, "HTTP_USER_AGENT": "Mozilla/5.0 test"}
    if origin is not None:
        extra["HTTP_ORIGIN"] = origin
    return Client().post(api_url(channel), data=data, **extra)


def upload(content: bytes, name: str = "shot.png", content_type: str = "image/png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=content_type)


def nothing_stored() -> bool:
    return not RawPayload.objects.exists() and not Message.objects.exists()


@pytest.mark.django_db
def test_a_widget_channel_gets_a_public_key_and_other_kinds_none(channel, team):
    assert len(channel.public_key) >= 20
    webhook = channel_create(
        actor=SYSTEM, team=team, kind="webhook", name="Hook", config={"secret": "s" * 20}
    )
    assert webhook.public_key == ""
    assert channel.next_poll_at is None  # push: never polled


@pytest.mark.django_db
def test_a_submission_becomes_an_item_of_the_customer_with_the_screenshot_as_png(
    channel, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(
            channel,
            name="Nadia Kelly",
            page_url="https://www.kitewire.example/app/reports",
            screenshot=upload(jpeg_with_exif(), "photo.jpg", "image/jpeg"),
        )

    assert response.status_code == 201, response.content
    assert response.json() == {"detail": SENT.format(email="nadia@alderfinch.example")}
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    payload = RawPayload.objects.get()
    assert payload.status == PayloadStatus.PARSED
    document = json.loads(blob_read(payload.file.name))
    assert document["user_agent"] == "Mozilla/5.0 test"
    assert payload.source_id == f"submission:{document['submission_id']}"
    message = Message.objects.get()
    item = FeedbackItem.objects.get()
    assert message.item == item and item.channel == channel and item.team == channel.team
    assert item.customer == Customer.objects.get(email="nadia@alderfinch.example")
    assert item.customer.name == "Nadia Kelly"
    assert message.text == "The export button does nothing."
    assert message.external_url == "https://www.kitewire.example/app/reports"
    attachment = Attachment.objects.get()
    assert (attachment.filename, attachment.content_type) == ("screenshot.png", "image/png")
    stored = blob_read(attachment.file.name)
    assert stored.startswith(b"\x89PNG") and b"SpyCam" not in stored


@pytest.mark.django_db
@pytest.mark.parametrize(
    "email",
    ["support@kitewire.example", "Support+test@kitewire.example", "SUPPORT@Kitewire.example"],
)
def test_a_submission_from_the_channels_own_reply_address_still_opens_an_item(
    channel, email, django_capture_on_commit_callbacks
):
    """The widget holds no copies of our own mail: whoever typed the address is a customer,
    even when it is the channel's reply address (a colleague testing the widget)."""
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(channel, email=email)

    assert response.status_code == 201, response.content
    message = Message.objects.get()
    assert (message.direction, message.thread_reason) == (Direction.IN, ThreadReason.NEW)
    item = FeedbackItem.objects.get()
    assert message.item == item and item.channel == channel
    assert item.customer == Customer.objects.get(email=email.lower())


@pytest.mark.django_db
def test_submissions_from_the_own_reply_address_parsed_in_one_chunk_open_items(channel):
    from feedback.services import payloads_parse

    submit(channel, email="support@kitewire.example")
    submit(channel, email="Support+test@kitewire.example")
    payloads_parse(payload_ids=list(RawPayload.objects.values_list("pk", flat=True)))

    messages = Message.objects.all()
    assert [message.direction for message in messages] == [Direction.IN, Direction.IN]
    assert all(message.item_id is not None for message in messages)
    assert FeedbackItem.objects.count() == 2


@pytest.mark.django_db
def test_two_identical_submissions_are_two_messages(channel, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submit(channel)
        submit(channel)
    assert RawPayload.objects.count() == 2
    assert Message.objects.count() == 2


@pytest.mark.django_db
def test_a_json_body_is_taken_too(channel):
    response = Client().post(
        api_url(channel),
        data=json.dumps({"message": "Hi", "email": "a@b.example"}),
        content_type="application/json",
        HTTP_ORIGIN=ORIGIN,
    )
    assert response.status_code == 201
    assert RawPayload.objects.count() == 1


@pytest.mark.django_db
def test_a_hundred_posts_from_one_address_store_only_the_allowed_ones(channel, monkeypatch):
    # The clock injected: with the real one, a minute that ends during the hundred posts
    # opens a new window, and the test failed on a loaded machine.
    monkeypatch.setattr(WidgetSubmissionView, "now", NOW)
    answers = [submit(channel, message=f"Message {n}") for n in range(100)]

    statuses = [answer.status_code for answer in answers]
    assert statuses == [201] * 10 + [429] * 90
    refused = answers[-1]
    assert refused["Retry-After"] == "30"
    assert refused.json()["detail"].startswith(TOO_MANY.split("{")[0])
    assert refused["Access-Control-Allow-Origin"] == ORIGIN  # the script can read why
    assert RawPayload.objects.count() == 10
    # Another address is not held up by this one.
    assert submit(channel, ip="203.0.113.10").status_code == 201


@pytest.mark.django_db
def test_a_10_mb_body_is_413_and_stores_nothing(channel):
    response = submit(channel, screenshot=upload(b"\x89PNG" + b"\x00" * (10 * 1024 * 1024)))
    assert response.status_code == 413
    assert response.json()["detail"] == TOO_LARGE.format(limit=6)
    assert nothing_stored()


@pytest.mark.django_db
def test_a_non_image_screenshot_is_400_and_stores_nothing(channel):
    response = submit(channel, screenshot=upload(b"%PDF-1.4 not an image", "shot.png", "image/png"))
    assert response.status_code == 400
    assert response.json() == {"screenshot": [SCREENSHOT_NOT_IMAGE]}
    assert nothing_stored()


@pytest.mark.django_db
def test_missing_fields_are_400_in_words(channel):
    response = submit(channel, email="", message="\u200b\u200b \u2060")
    assert response.status_code == 400
    assert response.json() == {"email": [EMAIL_REQUIRED], "message": [MESSAGE_REQUIRED]}
    assert nothing_stored()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "page_url",
    [
        "javascript:alert(1)",
        "https://www.kitewire.example/app?q=" + "x" * 2100,
        "https://exa mple.example/",
        "https:///no-host",
    ],
)
def test_a_page_address_the_customer_cannot_correct_is_left_out_not_refused(
    channel, page_url, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(channel, page_url=page_url)
    assert response.status_code == 201
    assert Message.objects.get().external_url in ("", None)


@pytest.mark.django_db
@pytest.mark.parametrize("page_url", ["https://intranet/helpdesk/new", "http://my_app.example/x"])
def test_a_page_on_an_intranet_host_is_kept(channel, page_url, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert submit(channel, page_url=page_url).status_code == 201
    assert Message.objects.get().external_url == page_url


@pytest.mark.django_db
def test_line_breaks_are_counted_once_as_the_form_counts_them(
    channel, django_capture_on_commit_callbacks
):
    # What a browser posts for 50 lines of 99 characters: 5,000 characters as typed.
    typed = "\n".join(["y" * 99] * 50) + "y"
    assert len(typed) == MAX_MESSAGE_CHARS
    with django_capture_on_commit_callbacks(execute=True):
        assert submit(channel, message=typed.replace("\n", "\r\n")).status_code == 201
        form = Client().post(
            form_url(channel), {"message": typed.replace("\n", "\r\n"), "email": "a@b.example"}
        )
    assert form.status_code == 302
    assert [message.text for message in Message.objects.order_by("pk")] == [typed, typed]
    assert submit(channel, message="y" * (MAX_MESSAGE_CHARS + 1)).status_code == 400


@pytest.mark.django_db
def test_a_filled_honeypot_is_answered_as_stored_and_stores_nothing(channel):
    response = submit(channel, website="https://cheap-pills.example")
    assert response.status_code == 201
    assert response.json() == {"detail": SENT.format(email="nadia@alderfinch.example")}
    assert nothing_stored()


@pytest.mark.django_db
def test_another_sites_page_is_403_and_stores_nothing(channel):
    response = submit(channel, origin=OTHER_ORIGIN)
    assert response.status_code == 403
    assert response.json() == {"detail": ORIGIN_NOT_ALLOWED.format(origin=OTHER_ORIGIN)}
    assert not response.has_header("Access-Control-Allow-Origin")
    assert nothing_stored()


@pytest.mark.django_db
def test_a_request_without_origin_is_taken_without_cors_headers(channel):
    response = submit(channel, origin=None)
    assert response.status_code == 201
    assert not response.has_header("Access-Control-Allow-Origin")
    assert RawPayload.objects.count() == 1


@pytest.mark.django_db
def test_the_preflight_is_answered_for_allowed_origins_only(channel):
    allowed = Client().options(
        api_url(channel),
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    assert allowed.status_code == 204
    assert allowed["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in allowed["Access-Control-Allow-Methods"]
    assert allowed["Access-Control-Allow-Headers"].lower() == "content-type"
    assert "Origin" in allowed["Vary"]
    refused = Client().options(api_url(channel), HTTP_ORIGIN=OTHER_ORIGIN)
    assert refused.status_code == 403
    assert not refused.has_header("Access-Control-Allow-Origin")


@pytest.mark.django_db
def test_an_unknown_key_and_a_disabled_channel_are_404(channel):
    response = submit("no-such-key")
    assert (response.status_code, response.json()) == (404, {"detail": NO_SUCH_WIDGET})
    channel_update(actor=SYSTEM, channel=channel, enabled=False)
    assert submit(channel).status_code == 404
    assert (
        Client().get(reverse("feedback:widget_form", args=[channel.public_key])).status_code == 404
    )
    assert nothing_stored()


@pytest.mark.django_db
@pytest.mark.parametrize("origin", [ORIGIN, OTHER_ORIGIN])
def test_the_404_and_its_preflight_may_be_read_by_the_script_on_any_page(channel, origin):
    """The script shows why nothing was sent: without the header the browser hides the 404,
    and the customer saw a network error and a link to a form that is itself a 404."""
    preflight = Client().options(
        api_url("no-such-key"),
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    assert preflight["Access-Control-Allow-Headers"].lower() == "content-type"
    unknown = submit("no-such-key", origin=origin)
    channel_update(actor=SYSTEM, channel=channel, enabled=False)
    disabled = submit(channel, origin=origin)

    for answer in (unknown, disabled):
        assert (answer.status_code, answer.json()) == (404, {"detail": NO_SUCH_WIDGET})
        assert answer["Access-Control-Allow-Origin"] == "*"
    assert nothing_stored()


@pytest.mark.django_db
def test_the_endpoint_ignores_a_session_and_needs_no_csrf_token(channel, django_user_model):
    client = Client(enforce_csrf_checks=True)
    client.force_login(django_user_model.objects.create_user("someone", password="x" * 12))
    response = client.post(
        api_url(channel), data={"message": "Hi", "email": "a@b.example"}, HTTP_ORIGIN=ORIGIN
    )
    assert response.status_code == 201


@pytest.mark.django_db
def test_the_schema_documents_the_public_endpoint(client):
    from tests.test_api_fuzz import DOCUMENT

    operation = DOCUMENT["paths"]["/api/v1/widget/{public_key}/submissions/"]["post"]
    assert set(operation["requestBody"]["content"]) == {"multipart/form-data", "application/json"}
    assert {"201", "400", "403", "404", "413", "429"} <= set(operation["responses"])
    assert operation.get("security") in (None, [], [{}])


# --- the no-JS form ---------------------------------------------------------------------------


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def form_url(channel) -> str:
    return reverse("feedback:widget_form", args=[channel.public_key])


def csrf_token(client: Client, url: str) -> str:
    page = client.get(url).content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


@pytest.mark.django_db
def test_the_form_takes_the_page_from_the_link_and_ends_in_a_confirmation(
    channel, django_capture_on_commit_callbacks
):
    client = Client(enforce_csrf_checks=True)
    url = form_url(channel)
    page = client.get(url, {"page": "https://www.kitewire.example/pricing"})
    assert page.status_code == 200
    assert b'value="https://www.kitewire.example/pricing"' in page.content
    assert b'aria-hidden="true"' in page.content and b'tabindex="-1"' in page.content
    token = csrf_token(client, url)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url,
            {
                "csrfmiddlewaretoken": token,
                "message": "Prices are unclear.",
                "email": "omar@example.com",
                "page_url": "https://www.kitewire.example/pricing",
                "screenshot": upload(png()),
            },
            follow=True,
        )

    assert response.status_code == 200
    assert response.redirect_chain[0][1] == 302
    assert SENT.format(email="omar@example.com") in page_text(response)
    message = Message.objects.get()
    assert message.external_url == "https://www.kitewire.example/pricing"
    assert message.item.customer.email == "omar@example.com"
    assert Attachment.objects.get().content_type == "image/png"


@pytest.mark.django_db
def test_a_page_that_is_no_web_address_is_left_out_of_the_form(channel):
    page = Client().get(form_url(channel), {"page": "javascript:alert(1)"})
    assert b"javascript:" not in page.content


@pytest.mark.django_db
def test_the_form_without_its_csrf_token_is_refused(channel):
    response = Client(enforce_csrf_checks=True).post(
        form_url(channel), {"message": "Hi", "email": "a@b.example"}
    )
    assert response.status_code == 403
    assert nothing_stored()


@pytest.mark.django_db
def test_the_form_shows_field_errors_and_keeps_what_was_typed(channel):
    response = Client().post(form_url(channel), {"message": "Keep me", "email": ""})
    assert response.status_code == 400
    assert EMAIL_REQUIRED in page_text(response)
    assert b"Keep me" in response.content
    assert nothing_stored()


class _Descriptions(HTMLParser):
    """Every element id of a page, and every id its aria-describedby attributes name."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.described_by: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.append(found["id"])
        if found.get("aria-describedby"):
            self.described_by[found.get("name") or tag] = found["aria-describedby"].split()


def descriptions(response) -> _Descriptions:
    parsed = _Descriptions()
    parsed.feed(response.content.decode())
    return parsed


@pytest.mark.django_db
def test_every_description_a_field_names_exists_once_errors_included(channel):
    """A screen reader reads the help text and the error named by aria-describedby: a name
    with no element behind it is read as nothing."""
    blank = descriptions(Client().get(form_url(channel)))
    refused = descriptions(
        Client().post(form_url(channel), {"message": "", "email": "not an address"})
    )

    assert blank.described_by == {
        "email": ["id_email_helptext"],
        "screenshot": ["id_screenshot_helptext"],
    }
    assert refused.described_by == {
        "message": ["id_message_error"],
        "email": ["id_email_helptext", "id_email_error"],
        "screenshot": ["id_screenshot_helptext"],
    }
    for page in (blank, refused):
        named = [name for names in page.described_by.values() for name in names]
        assert all(page.ids.count(name) == 1 for name in named), (named, page.ids)


@pytest.mark.django_db
def test_the_form_refuses_a_non_image_and_a_10_mb_body_and_stores_nothing(channel):
    client = Client()
    not_image = client.post(
        form_url(channel),
        {"message": "Hi", "email": "a@b.example", "screenshot": upload(b"MZ\x90\x00 exe")},
    )
    assert not_image.status_code == 400
    assert SCREENSHOT_NOT_IMAGE in page_text(not_image)
    huge = client.post(
        form_url(channel),
        {"message": "Hi", "email": "a@b.example", "screenshot": upload(b"\x00" * 10_000_000)},
    )
    assert huge.status_code == 413
    assert TOO_LARGE.format(limit=6) in page_text(huge)
    assert nothing_stored()


@pytest.mark.django_db
def test_the_form_with_a_filled_honeypot_confirms_and_stores_nothing(channel):
    response = Client().post(
        form_url(channel),
        {"message": "Buy now", "email": "bot@spam.example", "website": "x"},
        follow=True,
    )
    assert SENT.format(email="bot@spam.example") in page_text(response)
    assert nothing_stored()


@pytest.mark.django_db
def test_the_form_is_rate_limited_with_the_clock_injected(channel):
    from django.test import RequestFactory

    def post():
        request = RequestFactory().post(
            form_url(channel), {"message": "Hi", "email": "a@b.example", "website": "x"}
        )
        request._dont_enforce_csrf_checks = True
        return widget_form(request, public_key=channel.public_key, now=NOW)

    assert [post().status_code for _ in range(11)] == [302] * 10 + [429]
    response = post()
    assert response["Retry-After"] == "30"
    assert TOO_MANY.format(wait="30 seconds") in page_text(response)


@pytest.mark.django_db
def test_a_forged_confirmation_names_no_address(channel):
    page = Client().get(form_url(channel), {"sent": "victim@example.com"})
    assert b"victim@example.com" not in page.content
    assert b"Send us feedback" in page.content


# --- the channel's settings ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_channel_page_shows_the_embed_code_and_the_public_link(world):
    channel = channel_create(
        actor=SYSTEM, team=world.team_a, kind="widget", name="Widget", config={}
    )
    client = Client()
    client.force_login(world.admin_a)
    page = client.get(reverse("feedback:channel_edit", args=[world.team_a.slug, channel.pk]))
    assert page.status_code == 200
    snippet = embed_snippet(channel)
    assert snippet["script_tag"].endswith(
        f'/static/feedback/widget.js" data-portal-key="{channel.public_key}" async></script>'
    )
    html = page.content.decode()
    assert f"data-portal-key=&quot;{channel.public_key}&quot;" in html
    assert snippet["form_url"] in html


@pytest.mark.django_db
def test_the_channel_form_edits_allowed_origins_one_a_line(world):
    client = Client()
    client.force_login(world.admin_a)
    url = reverse("feedback:channel_create", args=[world.team_a.slug]) + "?kind=widget"
    response = client.post(
        url,
        {"name": "Widget", "allowed_origins": "https://a.example\nhttp://evil.example"},
    )
    assert response.status_code == 200
    assert ORIGIN_NOT_HTTPS.format(origin="http://evil.example") in page_text(response)
    response = client.post(
        url, {"name": "Widget", "allowed_origins": "https://a.example\nhttps://b.example/"}
    )
    assert response.status_code == 302
    channel = world.team_a.channels.get(kind="widget")
    assert channel.read_config()["allowed_origins"] == ["https://a.example", "https://b.example"]
    edit = client.get(reverse("feedback:channel_edit", args=[world.team_a.slug, channel.pk]))
    assert "https://a.example\nhttps://b.example</textarea>" in edit.content.decode()


@pytest.mark.django_db
def test_the_api_creates_a_widget_channel_with_its_config(world):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(world.admin_a)
    response = client.post(
        "/api/v1/channels/",
        {
            "team": world.team_a.pk,
            "kind": "widget",
            "name": "Widget",
            "config": {"allowed_origins": ["http://www.example.com"]},
        },
        format="json",
    )
    assert response.status_code == 400
    response = client.post(
        "/api/v1/channels/",
        {
            "team": world.team_a.pk,
            "kind": "widget",
            "name": "Widget",
            "config": {"allowed_origins": [ORIGIN]},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["config"]["allowed_origins"] == [ORIGIN]
    # The key the embed code needs, read-only.
    assert body["public_key"] == world.team_a.channels.get(kind="widget").public_key != ""


@pytest.mark.django_db
def test_the_check_names_the_public_form(channel):
    from feedback.services import channel_check

    result = channel_check(actor=SYSTEM, channel=channel)
    assert result.ok
    assert f"/w/{channel.public_key}/" in result.message
    assert ORIGIN in result.message


@pytest.mark.django_db
def test_the_preflight_from_an_internationalised_site_saved_in_unicode_is_allowed(world):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(world.admin_a)
    refused = client.post(
        "/api/v1/channels/",
        {
            "team": world.team_a.pk,
            "kind": "widget",
            "name": "Widget",
            "config": {"allowed_origins": ["https://*.bücher.example"]},
        },
        format="json",
    )
    created = client.post(
        "/api/v1/channels/",
        {
            "team": world.team_a.pk,
            "kind": "widget",
            "name": "Widget",
            "config": {"allowed_origins": [IDN_ORIGIN]},
        },
        format="json",
    )

    assert refused.status_code == 400
    assert refused.json() == {"config": [ORIGIN_INVALID.format(origin="https://*.bücher.example")]}
    assert created.status_code == 201, created.content
    assert created.json()["config"]["allowed_origins"] == [IDN_ORIGIN_SENT]
    preflight = Client().options(
        api_url(created.json()["public_key"]),
        HTTP_ORIGIN=IDN_ORIGIN_SENT,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == IDN_ORIGIN_SENT
