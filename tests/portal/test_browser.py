"""The pages in a real browser: Debian's chromium driven by Playwright.

Logs in through the real form, uses the team switcher and the live customer search (htmx),
checks that a phone-sized window needs no horizontal scrolling, that tables stack into
labelled cards and the main navigation folds into a menu there (with JavaScript off too),
that every chart's curve stays between its points, and that the search still works with
JavaScript off. With PORTAL_SCREENSHOTS=1 the screenshots land in docs/screenshots/,
otherwise in a temporary directory."""

import os
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from portal import services
from portal.models import Role
from tests.conftest import require_service
from tests.factories import (
    TEST_PASSWORD,
    AccountFactory,
    CustomerFactory,
    MembershipFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}


@pytest.fixture(scope="module")
def browser() -> Iterator:
    chromium = shutil.which("chromium")
    require_service(chromium is not None, "chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # to create data are still plain synchronous calls between browser steps.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium, args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def screenshot_dir(tmp_path) -> Path:
    if os.environ.get("PORTAL_SCREENSHOTS") == "1":
        path = Path(settings.BASE_DIR) / "docs" / "screenshots"
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path


@pytest.fixture
def data(transactional_db):
    team_a = TeamFactory(name="Customer Care", slug="customer-care")
    team_b = TeamFactory(name="Growth", slug="growth")
    user = UserFactory(username="ann", first_name="Ann")
    MembershipFactory(user=user, team=team_a, role=Role.LEAD)
    MembershipFactory(user=user, team=team_b, role=Role.VIEWER)
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    acme = AccountFactory(name="Acme Corporation", segment="enterprise", mrr=Decimal("4200"))
    globex = AccountFactory(name="Globex", segment="mid_market", mrr=Decimal("980"))
    CustomerFactory(name="Alice Doe", email="alice@acme.test", account=acme, tier="vip")
    CustomerFactory(name="Bob Roe", email="bob@globex.test", account=globex)
    CustomerFactory(name="Carla Diaz", email="carla@acme.test", account=acme, tier="priority")
    services.north_star_set(
        actor=root,
        name="Weekly active teams",
        definition="Teams with at least three members active in the week.",
        unit="teams",
    )
    start = date(2025, 1, 6)
    for week, value in enumerate([31, 34, 33, 38, 41, 40, 45, 49]):
        services.north_star_measurement_record(
            actor=root, measured_on=start + timedelta(weeks=week), value=value
        )
    return {"user": user, "team_a": team_a, "team_b": team_b}


def _log_in(page, base_url: str, username: str = "ann") -> None:
    page.goto(f"{base_url}/auth/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/")


def _result_names(page) -> list[str]:
    return page.locator("#customer-results tbody tr td:first-child").all_inner_texts()


def test_log_in_switch_team_and_search_customers(browser, live_server, data, screenshot_dir):
    base = live_server.url
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    _log_in(page, base)

    main_nav = page.get_by_role("navigation", name="Main")
    for label in ("Inbox", "Surveys", "Backlog", "Objectives", "Dashboards", "Customers"):
        assert main_nav.get_by_role("link", name=label).is_visible()
    assert page.get_by_role("heading", name="Hello, Ann").is_visible()
    page.wait_for_selector("canvas[data-drawn]")
    page.screenshot(path=str(screenshot_dir / "home.png"))

    switcher = page.get_by_label("Current team")
    assert switcher.input_value() == str(data["team_a"].pk)
    switcher.select_option(label="Growth")
    page.get_by_role("button", name="Switch").click()
    page.wait_for_load_state()
    assert page.get_by_label("Current team").input_value() == str(data["team_b"].pk)

    main_nav.get_by_role("link", name="Customers").click()
    page.wait_for_url(f"{base}/customers/")
    assert sorted(_result_names(page)) == ["Alice Doe", "Bob Roe", "Carla Diaz"]
    page.get_by_label("Search").press_sequentially("acme", delay=30)
    page.wait_for_function("document.querySelectorAll('#customer-results tbody tr').length === 2")
    assert sorted(_result_names(page)) == ["Alice Doe", "Carla Diaz"]
    page.wait_for_url("**/customers/?q=acme*")
    context.close()


PHONE_PAGES = (
    "/",
    "/customers/",
    "/accounts/",
    "/north-star/",
    "/dashboards/",
    "/settings/",
    "/settings/teams/customer-care/",
    "/settings/value-streams/",
    "/notifications/",
    "/imports/",
)


def _phone(browser, **options):
    return browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, **options)


def _overflow(page) -> int:
    """How far the page is wider than the window it was opened in, in CSS pixels. Measured
    against the viewport asked for, not ``window.innerWidth``: on a phone the browser widens
    its layout viewport to fit content that overflows, which then never seems to overflow."""
    return page.evaluate("document.documentElement.scrollWidth") - page.viewport_size["width"]


def _outside_window(page, selector: str) -> list[str]:
    """The texts of the visible elements matched by ``selector`` that end past the window's
    right edge or start before its left one."""
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)]
            .filter((el) => el.getClientRects().length > 0)
            .filter((el) => !el.closest("thead, .visually-hidden"))
            .filter((el) => {
              const box = el.getBoundingClientRect();
              return box.left < 0 || box.right > window.innerWidth + 0.5;
            })
            .map((el) => el.textContent.trim())""",
        selector,
    )


def _label(cell) -> str:
    return cell.evaluate("(td) => getComputedStyle(td, '::before').content")


def test_phone_layout_needs_no_horizontal_scrolling(browser, live_server, data, screenshot_dir):
    context = _phone(browser)
    page = context.new_page()
    _log_in(page, live_server.url, username="root")
    page.wait_for_selector("canvas[data-drawn]")
    page.screenshot(path=str(screenshot_dir / "home-phone.png"), full_page=True)
    for path in PHONE_PAGES:
        page.goto(f"{live_server.url}{path}")
        assert _overflow(page) <= 0, path
        assert _outside_window(page, "main *") == [], path
    context.close()


def test_customers_table_on_a_phone_shows_email_account_and_tier_of_each_row(
    browser, live_server, data, screenshot_dir
):
    context = _phone(browser)
    page = context.new_page()
    _log_in(page, live_server.url)
    page.goto(f"{live_server.url}/customers/")

    rows = page.locator("#customer-results tbody tr")
    assert rows.count() == 3
    alice = rows.filter(has_text="Alice Doe")
    for label, value in (
        ("E-mail", "alice@acme.test"),
        ("Account", "Acme Corporation"),
        ("Tier", "VIP"),
    ):
        cell = alice.locator(f'td[data-label="{label}"]')
        assert cell.is_visible(), label
        assert cell.inner_text().strip() == value
        assert _label(cell) == f'"{label}"'
    # The header row is for screen readers only: each value carries its label instead.
    head = page.locator("#customer-results thead").bounding_box()
    assert head["width"] <= 1 and head["height"] <= 1
    assert _outside_window(page, "#customer-results td, #customer-results td *") == []
    assert _overflow(page) <= 0
    page.screenshot(path=str(screenshot_dir / "customers-phone.png"), full_page=True)
    context.close()


def test_tables_keep_their_columns_on_a_wide_screen(browser, live_server, data):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    _log_in(page, live_server.url)
    page.goto(f"{live_server.url}/customers/")

    assert page.locator("#customer-results thead").is_visible()
    first_row = page.locator("#customer-results tbody tr").first
    tops = {
        round(box["y"]) for box in (cell.bounding_box() for cell in first_row.locator("td").all())
    }
    assert len(tops) == 1
    assert _label(first_row.locator("td").first) == "none"
    context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_navigation_on_a_phone_is_a_menu_that_opens_and_leads_to_each_section(
    browser, live_server, data, screenshot_dir, javascript
):
    context = _phone(browser, java_script_enabled=javascript)
    page = context.new_page()
    _log_in(page, live_server.url)
    main_nav = page.get_by_role("navigation", name="Main")
    customers = main_nav.get_by_role("link", name="Customers")
    assert not customers.is_visible()

    main_nav.get_by_text("Menu").click()

    for label in ("Inbox", "Surveys", "Backlog", "Objectives", "Dashboards", "Customers"):
        link = main_nav.get_by_role("link", name=label)
        assert link.is_visible(), label
        # A tap target a finger can hit: the whole width of the menu, at least 40px high.
        assert link.bounding_box()["height"] >= 40, label
    assert _outside_window(page, "header *") == []
    assert _overflow(page) <= 0
    if javascript:
        page.screenshot(path=str(screenshot_dir / "navigation-phone.png"))
    customers.click()
    page.wait_for_url(f"{live_server.url}/customers/")
    # The menu is closed again on the new page, and marks the section it leads to.
    assert page.locator('nav[aria-label="Main"] a[aria-current="page"]').text_content() == (
        "Customers"
    )
    context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_navigation_on_a_wide_screen_is_a_row_of_links(browser, live_server, data, javascript):
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=javascript)
    page = context.new_page()
    _log_in(page, live_server.url)
    main_nav = page.get_by_role("navigation", name="Main")

    assert not main_nav.get_by_text("Menu").is_visible()
    links = [
        main_nav.get_by_role("link", name=label) for label in ("Inbox", "Customers", "Settings")
    ]
    assert all(link.is_visible() for link in links)
    assert len({round(link.bounding_box()["y"]) for link in links}) == 1
    context.close()


def test_every_chart_curve_stays_between_its_points(browser, live_server, data):
    """The measurements rise, dip and rise again (34, 33, 38, 41, 40, ...): a smoothed curve
    would overshoot at each turn. Between two points, the curve's control points lie within
    the two values, so no drawn value exceeds what was measured."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    _log_in(page, live_server.url)
    for path in ("/", "/north-star/", "/dashboards/"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_selector("canvas[data-drawn]")
        segments = page.evaluate(
            """() => Object.values(Chart.instances).flatMap((chart) =>
                chart.data.datasets.flatMap((_dataset, index) => {
                  const meta = chart.getDatasetMeta(index);
                  const points = meta.data;
                  return points.slice(1).map((point, i) => ({
                    mode: meta.dataset.options.cubicInterpolationMode,
                    low: Math.min(points[i].y, point.y),
                    high: Math.max(points[i].y, point.y),
                    controls: [points[i].cp2y, point.cp1y],
                  }));
                }))"""
        )
        assert segments, path
        for segment in segments:
            assert segment["mode"] == "monotone", path
            for y in segment["controls"]:
                assert segment["low"] - 0.01 <= y <= segment["high"] + 0.01, (path, segment)
    context.close()


def test_customer_search_works_without_javascript(browser, live_server, data):
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    page = context.new_page()
    _log_in(page, live_server.url)
    page.goto(f"{live_server.url}/customers/")
    page.get_by_label("Search").fill("bob")
    page.get_by_label("Search").press("Enter")
    page.wait_for_url("**/customers/?q=bob*")
    assert _result_names(page) == ["Bob Roe"]
    context.close()
