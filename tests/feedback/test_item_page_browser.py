"""The item page in a real browser (Debian's chromium driven by Playwright, as in
tests/portal/test_browser.py), on a desktop and on a 375px phone: every kind of message, the
collision notice, a status change swapped in place by htmx, and nothing wider than the phone.
With PORTAL_SCREENSHOTS=1 the screenshots land in docs/screenshots/item-*.png."""

import pytest
from django.utils import timezone

from feedback.models import ItemStatus, Message
from feedback.services.presence import presence_touch
from feedback.views.item_actions import STATUS_SET
from portal.models import Role
from tests.factories import MembershipFactory, TeamFactory, UserFactory
from tests.feedback import item_page_data
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


@pytest.fixture
def world(transactional_db):
    team = TeamFactory(name="Customer Care", slug="customer-care")
    ann = UserFactory(username="ann", first_name="Ann", last_name="Agent")
    MembershipFactory(user=ann, team=team, role=Role.AGENT)
    world = item_page_data.build(team=team, agent=ann)
    presence_touch(user=world.colleague, item=world.item, activity="replying", now=timezone.now())
    return world


def test_an_agent_works_an_item_on_a_desktop(
    browser,  # noqa: F811
    live_server,
    world,
    screenshot_dir,  # noqa: F811
):
    page = browser.new_context(viewport=DESKTOP).new_page()
    _log_in(page, live_server.url)
    page.goto(f"{live_server.url}/inbox/{world.item.pk}/")
    page.get_by_text("Ada Lead is replying to this item").wait_for()
    assert page.get_by_text("Internal note — never sent").is_visible()
    assert page.get_by_role("link", name="View on forum").is_visible()
    assert page.get_by_role("button", name="Retry").is_visible()
    page.screenshot(path=str(screenshot_dir / "item-desktop.png"), full_page=True)

    page.get_by_text("Change status, assignee, priority, tags or snooze").click()
    page.locator("#item-header").screenshot(path=str(screenshot_dir / "item-desktop-forms.png"))
    page.locator("#item-status").select_option("waiting")
    page.get_by_role("button", name="Set status").click()
    page.get_by_text(STATUS_SET.format(status="waiting")).wait_for()
    assert page.url.endswith(f"/inbox/{world.item.pk}/")  # swapped in place, no reload
    world.item.refresh_from_db()
    assert world.item.status == ItemStatus.WAITING
    page.screenshot(path=str(screenshot_dir / "item-desktop-actions.png"))


def test_the_item_page_fits_a_phone(
    browser,  # noqa: F811
    live_server,
    world,
    screenshot_dir,  # noqa: F811
):
    # A long address in a message's header once widened the page past the phone.
    long_address = "l" * 70 + "@qa.example"
    Message.objects.filter(pk=world.mail.pk).update(sender=long_address, sender_name="Long")
    Message.objects.filter(pk=world.failed.pk).update(to=[long_address])
    page = _phone(browser).new_page()
    _log_in(page, live_server.url)
    page.goto(f"{live_server.url}/inbox/{world.item.pk}/")
    page.get_by_text("Ada Lead is replying to this item").wait_for()
    assert page.get_by_text(long_address).first.is_visible()
    assert _overflow(page) <= 0
    assert _outside_window(page, ".message-head > *") == []
    page.screenshot(path=str(screenshot_dir / "item-phone.png"), full_page=True)
