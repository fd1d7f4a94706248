"""The channel pages in a real browser (Debian's chromium driven by Playwright, as in
tests/portal/test_browser.py): a team admin creates an IMAP channel through the pages on a
wide screen and on a 375px phone, checks its connection (htmx puts the answer in place), and
reads the health and quarantine pages, which need no horizontal scrolling on the phone. With
PORTAL_SCREENSHOTS=1 the screenshots land in docs/screenshots/."""

from datetime import timedelta

import pytest
from django.utils import timezone

from feedback.models import Channel
from feedback.services import payload_parse, payload_receive
from portal.models import Role
from tests.factories import MembershipFactory, TeamFactory, UserFactory
from tests.feedback.factories import ChannelFactory, MessageFactory
from tests.portal.test_browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    _log_in,
    _outside_window,
    _overflow,
    _phone,
    browser,
    screenshot_dir,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEAM = "customer-care"


@pytest.fixture
def data(transactional_db):
    team = TeamFactory(name="Customer Care", slug=TEAM)
    admin = UserFactory(username="ann", first_name="Ann")
    MembershipFactory(user=admin, team=team, role=Role.ADMIN)
    now = timezone.now()
    mailbox = ChannelFactory(
        team=team,
        name="Support mailbox",
        address="support@acme.test",
        last_polled_at=now - timedelta(seconds=40),
        last_success_at=now - timedelta(seconds=40),
    )
    for minutes in range(0, 24 * 60, 37):
        MessageFactory(
            item__team=team, channel=mailbox, received_at=now - timedelta(minutes=minutes)
        )
    broken = ChannelFactory(
        team=team,
        name="Billing mailbox",
        address="billing@acme.test",
        healthy=False,
        error_streak=7,
        last_error="authentication failed",
        last_error_at=now - timedelta(minutes=3),
        last_success_at=now - timedelta(hours=5, minutes=12),
    )
    for raw in (b"no headers at all\r\n", b"\x00\x01 binary garbage\r\n"):
        payload, _ = payload_receive(channel=broken, raw=raw, queue_parse=False)
        payload_parse(payload=payload)
    return {"team": team, "admin": admin}


def _fits_the_phone(page) -> bool:
    """Nothing wider than the phone: a mobile browser would widen its layout viewport to the
    widest element (so that scrollWidth equals innerWidth), hence both are compared with the
    screen's own width too."""
    widths = page.evaluate(
        "[window.innerWidth, document.documentElement.scrollWidth, screen.width]"
    )
    return widths[0] == widths[1] == widths[2] and _overflow(page) <= 0


def _create_imap_channel(page, base: str, name: str) -> None:
    page.goto(f"{base}/settings/teams/{TEAM}/channels/")
    # Links styled as buttons carry role="button".
    page.get_by_role("button", name="New channel").click()
    page.get_by_label("IMAP mailbox", exact=True).check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base}/settings/teams/{TEAM}/channels/new/?kind=imap")
    page.get_by_label("Name:", exact=True).fill(name)
    page.get_by_label("Server:", exact=True).fill("127.0.0.1")
    page.get_by_label("Encryption:", exact=True).select_option("none")
    # Port 1 on the loopback: nothing listens, so the check fails at once and says so.
    page.get_by_label("Port:", exact=True).fill("1")
    page.get_by_label("Username:", exact=True).fill("support@acme.test")
    page.get_by_label("Password:", exact=True).fill("s3cret password")
    page.get_by_label("Public address:", exact=True).fill("support@acme.test")
    page.get_by_role("button", name="Create channel").click()
    page.wait_for_url(f"{base}/settings/teams/{TEAM}/channels/*/")
    assert page.get_by_text(f"Channel {name} created.").is_visible()
    # The password is never sent back to the browser.
    assert "s3cret password" not in page.content()


def _check_connection(page) -> None:
    page.get_by_role("button", name="Check connection").click()
    result = page.locator("#channel-check .message")
    result.wait_for()
    assert result.inner_text().startswith("Connection failed: could not connect to 127.0.0.1:1")


def test_an_admin_creates_and_checks_an_imap_channel_on_a_wide_screen(
    browser,  # noqa: F811
    live_server,
    data,
    screenshot_dir,  # noqa: F811
):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    _log_in(page, live_server.url)

    _create_imap_channel(page, live_server.url, "Sales mailbox")
    _check_connection(page)
    page.screenshot(path=str(screenshot_dir / "channel-settings.png"), full_page=True)

    channel = Channel.objects.get(name="Sales mailbox")
    assert channel.read_config()["password"] == "s3cret password"
    page.goto(f"{live_server.url}/settings/teams/{TEAM}/channels/")
    assert page.get_by_text("Channel Billing mailbox is unhealthy").is_visible()
    page.screenshot(path=str(screenshot_dir / "channel-list.png"), full_page=True)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Channels").click()
    page.wait_for_url(f"{live_server.url}/settings/teams/{TEAM}/channels/health/")
    assert page.locator("#channel-health thead").is_visible()
    page.screenshot(path=str(screenshot_dir / "channel-health.png"), full_page=True)

    page.get_by_role("button", name="Quarantine").click()
    page.wait_for_url(f"{live_server.url}/settings/teams/{TEAM}/quarantine/")
    assert page.locator("#quarantine-results tbody tr").count() == 2
    page.screenshot(path=str(screenshot_dir / "quarantine.png"), full_page=True)
    context.close()


def test_an_admin_creates_an_imap_channel_on_a_phone(
    browser,  # noqa: F811
    live_server,
    data,
    screenshot_dir,  # noqa: F811
):
    context = _phone(browser)
    page = context.new_page()
    _log_in(page, live_server.url)

    _create_imap_channel(page, live_server.url, "Phone mailbox")
    _check_connection(page)
    assert _fits_the_phone(page)
    assert _outside_window(page, "main *") == []
    page.screenshot(path=str(screenshot_dir / "channel-settings-phone.png"), full_page=True)

    for path, shot in (
        (f"/settings/teams/{TEAM}/channels/", "channel-list-phone.png"),
        (f"/settings/teams/{TEAM}/channels/new/?kind=imap", None),
        (f"/settings/teams/{TEAM}/channels/health/", "channel-health-phone.png"),
        (f"/settings/teams/{TEAM}/quarantine/", "quarantine-phone.png"),
    ):
        page.goto(f"{live_server.url}{path}")
        assert _fits_the_phone(page), path
        assert _outside_window(page, "main *") == [], path
        if shot:
            page.screenshot(path=str(screenshot_dir / shot), full_page=True)
    assert Channel.objects.filter(name="Phone mailbox").exists()
    context.close()
