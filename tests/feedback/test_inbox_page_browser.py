"""The inbox list in a real browser (Debian's chromium driven by Playwright, as in
tests/portal/test_browser.py): an agent moves through the list with j and k, opens the
shortcut help with ?, selects a row with x, takes an item with a, resolves one with e, and
searches after /, the list swapped in place by htmx; on a 375px phone the rows are cards,
nothing needs scrolling sideways, the actions are touch-sized and the bulk bar stays on the
screen while a row is selected. With PORTAL_SCREENSHOTS=1 the screenshots land in
docs/screenshots/ (inbox-*.png)."""

import pytest
from django.utils import timezone

from feedback.models import FeedbackItem, ItemStatus
from portal.models import Role
from tests.factories import MembershipFactory, TeamFactory, UserFactory
from tests.feedback.factories import FeedbackItemFactory, TagFactory
from tests.feedback.inbox_browser import leave_search
from tests.feedback.inbox_page_data import inbox_data
from tests.portal.test_browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    _log_in,
    _overflow,
    _phone,
    browser,
    screenshot_dir,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def data(transactional_db):
    team = TeamFactory(name="Customer Care", slug="customer-care")
    agent = UserFactory(username="ann", first_name="Ann", last_name="Agent")
    MembershipFactory(user=agent, team=team, role=Role.AGENT)
    return inbox_data(team, agent=agent, now=timezone.now())


def _current(page) -> str | None:
    return page.evaluate("document.querySelector('#inbox-items tr.is-current')?.id || null")


def test_keyboard_through_the_list_on_a_desktop(
    browser,  # noqa: F811
    live_server,
    data,
    screenshot_dir,  # noqa: F811
):
    items = data.items
    # Demo-like tags and names, the widest the columns get.
    for name in ("feature request", "integrations", "performance"):
        items["invoice"].tags.add(TagFactory(team=items["invoice"].team, name=name))
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    _log_in(page, live_server.url)
    page.goto(f"{live_server.url}/inbox/")

    page.keyboard.press("j")
    assert _current(page) == f"item-{items['invoice'].pk}"
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert _current(page) == f"item-{items['export'].pk}"
    page.keyboard.press("x")
    assert page.locator(f"#item-{items['export'].pk} input[name=items]").is_checked()
    assert page.locator("[data-bulk-count]").inner_text() == "(1 selected)"
    page.screenshot(path=str(screenshot_dir / "inbox-desktop.png"), full_page=True)
    # The twelve columns fit the desktop: the row actions need no sideways scrolling.
    assert page.evaluate(
        "(s => s.scrollWidth <= s.clientWidth)(document.querySelector('.inbox-scroll'))"
    )

    page.keyboard.press("?")
    help_dialog = page.locator("#inbox-help")
    assert help_dialog.is_visible()
    page.screenshot(path=str(screenshot_dir / "inbox-help.png"))
    page.keyboard.press("Escape")
    assert not help_dialog.is_visible()

    # a: the row comes back assigned, still the current one.
    page.keyboard.press("a")
    row = page.locator(f"#item-{items['export'].pk}")
    row.locator(".col-assignee", has_text="Ann Agent").wait_for()
    assert _current(page) == f"item-{items['export'].pk}"
    # e: resolved. With the swapped row's form wired by htmx the row comes back in place;
    # pressed before htmx has settled the new row, its plain form is posted and the list
    # reloads, on the unsolved work without it. Either way the item is resolved.
    page.wait_for_function("!document.querySelector('.htmx-request, .htmx-settling')")
    page.keyboard.press("e")
    page.wait_for_function(
        """id => {
            const row = document.getElementById(id);
            const tag = row && row.querySelector('.status-tag');
            return !row || (tag ? tag.textContent : '').includes('Resolved');
        }""",
        arg=f"item-{items['export'].pk}",
    )
    exported = FeedbackItem.objects.get(pk=items["export"].pk)
    assert exported.status == ItemStatus.RESOLVED and exported.assignee.username == "ann"

    # Shortcuts wait while typing: "j" goes into the search box, which filters the list.
    page.keyboard.press("/")
    page.keyboard.type("invoices")
    page.wait_for_function(
        "document.querySelectorAll('#inbox-items tbody tr.inbox-row').length === 1"
    )
    assert page.locator("#inbox-search").input_value() == "invoices"
    assert page.url.endswith("/inbox/?q=invoices")
    assert _overflow(page) <= 0
    page.screenshot(path=str(screenshot_dir / "inbox-search.png"))

    # A status tab swaps the list and the filter form, which then shows the status asked.
    leave_search(page)
    page.locator(".inbox-tabs").get_by_role("link", name="Open 1").click()
    page.wait_for_url(f"{live_server.url}/inbox/?q=invoices&status=open")
    assert page.locator("input[name=status][value=open]").is_checked()

    # o opens the current item's page; r opens it at the reply form.
    page.keyboard.press("Escape")
    page.locator("#inbox-search").blur()
    page.keyboard.press("j")
    page.keyboard.press("r")
    page.wait_for_url(f"{live_server.url}/inbox/{items['invoice'].pk}/#reply")
    page.go_back()
    page.keyboard.press("j")
    page.keyboard.press("o")
    page.wait_for_url(f"{live_server.url}/inbox/{items['invoice'].pk}/")
    context.close()


def test_actions_work_without_javascript_on_a_phone(
    browser,  # noqa: F811
    live_server,
    data,
):
    context = _phone(browser, java_script_enabled=False)
    page = context.new_page()
    _log_in(page, live_server.url)
    page.goto(f"{live_server.url}/inbox/?status=new")
    row = page.locator(f"#item-{data.items['export'].pk}")

    row.get_by_role("button", name="Resolve").click()

    page.wait_for_url(f"{live_server.url}/inbox/?status=new")
    assert page.get_by_text(f"#{data.items['export'].pk} is resolved.").is_visible()
    assert FeedbackItem.objects.get(pk=data.items["export"].pk).status == ItemStatus.RESOLVED
    # The bulk bar is a plain form too: every action shows without a selection.
    page.goto(f"{live_server.url}/inbox/")
    page.locator(f"#item-{data.items['darkmode'].pk} input[name=items]").check()
    page.get_by_role("button", name="Set status").click()
    page.wait_for_url(f"{live_server.url}/inbox/")
    assert page.get_by_text("1 of 1 selected items changed.").is_visible()
    assert _overflow(page) <= 0
    context.close()


def test_the_list_is_cards_on_a_phone(
    browser,  # noqa: F811
    live_server,
    data,
    screenshot_dir,  # noqa: F811
):
    context = _phone(browser)
    page = context.new_page()
    _log_in(page, live_server.url)
    page.goto(f"{live_server.url}/inbox/")

    assert _overflow(page) <= 0
    first = page.locator("#inbox-items tr.inbox-row").first
    assert first.evaluate("row => getComputedStyle(row).display") == "flex"
    assert not page.locator("#inbox-items thead").is_visible() or page.evaluate(
        "document.querySelector('#inbox-items thead').getBoundingClientRect().height <= 1"
    )
    assert not page.locator(".inbox-more").evaluate("d => d.open")
    page.screenshot(path=str(screenshot_dir / "inbox-phone.png"), full_page=True)
    page.locator(".inbox-more > summary").click()
    assert _overflow(page) <= 0
    page.screenshot(path=str(screenshot_dir / "inbox-phone-filters.png"))
    context.close()


def _in_window(page, selector: str) -> bool:
    """Whether the element is wholly inside the window (not scrolled off, not below)."""
    return page.evaluate(
        """selector => {
            const box = document.querySelector(selector).getBoundingClientRect();
            return box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight;
        }""",
        selector,
    )


def test_on_a_phone_the_actions_are_touch_sized_and_the_bulk_bar_follows_a_selection(
    browser,  # noqa: F811
    live_server,
    data,
    screenshot_dir,  # noqa: F811
):
    team = data.items["invoice"].team
    for number in range(18):
        FeedbackItemFactory(team=team, subject=f"Later question {number}")
    context = _phone(browser)
    page = context.new_page()
    _log_in(page, live_server.url)
    page.goto(f"{live_server.url}/inbox/")

    # "Assign to me", "Resolve", the status select and "Set" of every card: 44px at least.
    heights = page.eval_on_selector_all(
        ".row-actions button, .row-actions select",
        "controls => controls.map(control => control.getBoundingClientRect().height)",
    )
    assert len(heights) >= 4 * 20 and min(heights) >= 44
    # A card deep in the list selected: the bulk bar is on the screen, below the card.
    deep = page.locator("#inbox-items tr.inbox-row").nth(15)
    deep.locator("input[name=items]").check()
    assert page.locator("[data-bulk-count]").inner_text() == "(1 selected)"
    assert _in_window(page, "#inbox-bulk") and _in_window(page, f"#{deep.get_attribute('id')}")
    assert page.evaluate("window.scrollY") > 1000
    assert _overflow(page) <= 0
    page.screenshot(path=str(screenshot_dir / "inbox-phone-bulk.png"))

    page.locator("#inbox-bulk").get_by_role("button", name="Set status").click()
    page.locator(".inbox-bulk-results", has_text="1 of 1 selected items changed.").wait_for()
    # The result is focused and shown where the list starts, not left above the screen.
    page.wait_for_function("document.activeElement.matches('.inbox-bulk-results')")
    assert _in_window(page, ".inbox-bulk-results")
    page.screenshot(path=str(screenshot_dir / "inbox-phone-bulk-done.png"))
    context.close()
