"""The web widget in a real browser (Debian's chromium driven by Playwright, as in
tests/portal/test_browser.py): a page served from ANOTHER origin (a second small HTTP server on
its own port) embeds the script from the live server, a customer opens the dialog, fills it in
with a screenshot, sends it and sees the confirmation, and the item exists; a page on an origin
the channel does not allow cannot send. The no-JS form works with JavaScript off on a 375px
phone. With PORTAL_SCREENSHOTS=1 the screenshots land in docs/screenshots/widget-*.png."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from feedback.channels.widget import MAX_STORED_SIDE
from feedback.models import Attachment, FeedbackItem, Message
from feedback.services import channel_create, channel_update
from feedback.views.widget import NO_SUCH_WIDGET, SENT
from portal.actors import SYSTEM
from tests.factories import TeamFactory
from tests.portal.test_browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    _overflow,
    _phone,
    browser,
    screenshot_dir,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOP_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Kitewire dispatch</title>
<style>body {{ font: 16px Georgia, serif; margin: 2rem; }} button {{ color: red; }}</style>
</head><body>
<h1>Kitewire dispatch board</h1>
<p>The customer's own product, on its own origin.</p>
<script src="{portal}/static/feedback/widget.js" data-portal-key="{key}" async></script>
</body></html>
"""


class _Site:
    """A second origin: one HTML page that embeds the widget."""

    def __init__(self, body: str) -> None:
        page = body.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def site() -> Iterator:
    sites: list[_Site] = []

    def start(portal: str, key: str) -> _Site:
        sites.append(_Site(SHOP_PAGE.format(portal=portal, key=key)))
        return sites[-1]

    yield start
    for running in sites:
        running.close()


def _widget_channel(origins: list[str]):
    return channel_create(
        actor=SYSTEM,
        team=TeamFactory(name="Customer Care", slug="customer-care"),
        kind="widget",
        name="Website widget",
        config={"allowed_origins": origins, "address": "support@kitewire.example"},
    )


def _screenshot_file(tmp_path) -> str:
    from PIL import Image

    path = tmp_path / "board.jpg"
    Image.new("RGB", (MAX_STORED_SIDE + 400, 900), (30, 120, 200)).save(path, format="JPEG")
    return str(path)


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_a_page_on_another_origin_sends_feedback_through_the_script(
    browser,  # noqa: F811
    live_server,
    site,
    screenshot_dir,  # noqa: F811
    tmp_path,
    device,
):
    # The site's origin is known only once its server runs: allow it after starting it.
    channel = _widget_channel([])
    shop = site(live_server.url, channel.public_key)
    channel_update(actor=SYSTEM, channel=channel, config={"allowed_origins": [shop.url]})
    assert shop.url.split(":")[-1] != live_server.url.split(":")[-1]
    context = _phone(browser) if device == "phone" else browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{shop.url}/")

    page.get_by_role("button", name="Feedback").click()
    dialog = page.get_by_role("dialog", name="Send us feedback")
    assert dialog.is_visible()
    dialog.get_by_label("Your message").fill("Dragging a job onto Friday does nothing.")
    dialog.get_by_label("Your e-mail address").fill("nadia@alderfinch.example")
    dialog.get_by_label("Your name (optional)").fill("Nadia Kelly")
    dialog.get_by_label("Screenshot (optional)").set_input_files(_screenshot_file(tmp_path))
    if device == "phone":
        assert _overflow(page) <= 0
    page.screenshot(path=str(screenshot_dir / f"widget-dialog-{device}.png"))
    dialog.get_by_role("button", name="Send feedback").click()

    confirmation = SENT.format(email="nadia@alderfinch.example")
    dialog.get_by_text(confirmation).wait_for()
    page.screenshot(path=str(screenshot_dir / f"widget-sent-{device}.png"))
    context.close()

    message = Message.objects.get()
    assert message.text == "Dragging a job onto Friday does nothing."
    assert message.external_url == f"{shop.url}/"
    item = FeedbackItem.objects.get()
    assert (item.channel, item.customer.email) == (channel, "nadia@alderfinch.example")
    assert Attachment.objects.get(message=message).content_type == "image/png"


def test_a_page_on_an_origin_not_allowed_cannot_send(
    browser,  # noqa: F811
    live_server,
    site,
):
    channel = _widget_channel(["https://www.kitewire.example"])
    shop = site(live_server.url, channel.public_key)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{shop.url}/")

    page.get_by_role("button", name="Feedback").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Your message").fill("Hello")
    dialog.get_by_label("Your e-mail address").fill("a@b.example")
    dialog.get_by_role("button", name="Send feedback").click()
    dialog.get_by_text("could not be sent").wait_for()
    context.close()
    assert not Message.objects.exists()


def test_a_page_with_a_wrong_key_shows_that_no_form_has_this_address(
    browser,  # noqa: F811
    live_server,
    site,
):
    _widget_channel(["https://www.kitewire.example"])
    shop = site(live_server.url, "no-such-key")
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{shop.url}/")

    page.get_by_role("button", name="Feedback").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Your message").fill("Hello")
    dialog.get_by_label("Your e-mail address").fill("a@b.example")
    dialog.get_by_role("button", name="Send feedback").click()
    status = dialog.get_by_role("alert")
    status.get_by_text(NO_SUCH_WIDGET).wait_for()
    # The server's words, not the network error with a link to the form, itself a 404.
    assert status.inner_text() == NO_SUCH_WIDGET

    # A 404 without the portal's JSON (a proxy's page) gets the same words, and no link.
    page.route(
        "**/api/v1/widget/**",
        lambda route: route.fulfill(
            status=404, body="<h1>Not Found</h1>", headers={"Access-Control-Allow-Origin": "*"}
        ),
    )
    with page.expect_response("**/api/v1/widget/**"):
        dialog.get_by_role("button", name="Send feedback").click()
    status.get_by_text(NO_SUCH_WIDGET).wait_for()
    assert status.inner_text() == NO_SUCH_WIDGET
    context.close()
    assert not Message.objects.exists()


def test_the_no_js_form_works_on_a_phone_with_javascript_off(
    browser,  # noqa: F811
    live_server,
    screenshot_dir,  # noqa: F811
    tmp_path,
):
    channel = _widget_channel([])
    context = _phone(browser, java_script_enabled=False)
    page = context.new_page()
    page.goto(
        f"{live_server.url}/w/{channel.public_key}/?page=https://www.kitewire.example/pricing"
    )
    assert page.get_by_role("heading", name="Send us feedback").is_visible()
    # The honeypot is off-screen, out of the tab order and hidden from screen readers.
    trap = page.locator("input[name=website]")
    box = trap.bounding_box()
    assert box["x"] + box["width"] <= 0
    assert trap.get_attribute("tabindex") == "-1"
    assert page.get_by_role("textbox", name="Leave this field empty").count() == 0
    assert _overflow(page) <= 0
    page.screenshot(path=str(screenshot_dir / "widget-form-phone.png"), full_page=True)

    page.get_by_role("button", name="Send feedback").click()  # empty: errors, nothing sent
    assert page.get_by_text("Write your message.").is_visible()
    assert _overflow(page) <= 0
    page.screenshot(path=str(screenshot_dir / "widget-form-errors-phone.png"), full_page=True)
    page.get_by_label("Your message").fill("The prices page does not say whether VAT is in.")
    page.get_by_label("Your e-mail address").fill("omar@example.com")
    page.get_by_label("Screenshot (optional)").set_input_files(_screenshot_file(tmp_path))
    page.get_by_role("button", name="Send feedback").click()

    page.get_by_text(SENT.format(email="omar@example.com")).wait_for()
    assert _overflow(page) <= 0
    page.screenshot(path=str(screenshot_dir / "widget-sent-phone-nojs.png"))
    context.close()
    message = Message.objects.get()
    assert message.external_url == "https://www.kitewire.example/pricing"
    assert Attachment.objects.get(message=message).content_type == "image/png"


def test_the_no_js_form_on_a_wide_screen(
    browser,  # noqa: F811
    live_server,
    screenshot_dir,  # noqa: F811
):
    channel = _widget_channel([])
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/w/{channel.public_key}/")
    page.screenshot(path=str(screenshot_dir / "widget-form-desktop.png"), full_page=True)
    context.close()
