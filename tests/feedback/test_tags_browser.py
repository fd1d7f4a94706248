"""The tags page in a real browser (Debian's chromium driven by Playwright, as in
tests/portal/test_browser.py), on a 375px phone: a lead adds a tag, a refused rename comes back
in place (htmx), a merge moves the items, and nothing is wider than the phone. With
PORTAL_SCREENSHOTS=1 the screenshot lands in docs/screenshots/."""

import pytest

from feedback.models import Tag
from portal.models import Role
from tests.factories import MembershipFactory, TeamFactory, UserFactory
from tests.feedback.factories import FeedbackItemFactory, TagFactory
from tests.portal.test_browser import (  # noqa: F401 (fixtures)
    _log_in,
    _overflow,
    _phone,
    browser,
    screenshot_dir,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEAM = "customer-care"


@pytest.fixture
def team(transactional_db):
    team = TeamFactory(name="Customer Care", slug=TEAM)
    MembershipFactory(user=UserFactory(username="ann", first_name="Ann"), team=team, role=Role.LEAD)
    return team


def test_a_lead_manages_tags_on_a_phone(
    browser,  # noqa: F811
    live_server,
    team,
    screenshot_dir,  # noqa: F811
):
    billing = TagFactory(team=team, name="Billing", colour="#1d4ed8")
    invoices = TagFactory(team=team, name="Invoices", colour="#b91c1c")
    item = FeedbackItemFactory(team=team)
    item.tags.add(invoices)
    page = _phone(browser).new_page()
    _log_in(page, live_server.url)
    page.goto(f"{live_server.url}/settings/teams/{TEAM}/tags/")

    page.locator("#tag-create-form").get_by_label("Name").fill("Login problems")
    page.get_by_role("button", name="Add tag").click()
    page.get_by_text("Tag Login problems added to Customer Care.").wait_for()

    row = page.locator(f"#tag-{invoices.pk}")
    row.get_by_text("Rename, colour or merge").click()
    row.get_by_label("Name").fill("billing")
    row.get_by_role("button", name="Save Invoices").click()
    page.get_by_text("Customer Care already has a tag named 'billing'").wait_for()
    assert page.url.endswith(f"/settings/teams/{TEAM}/tags/")

    row = page.locator(f"#tag-{invoices.pk}")
    row.get_by_label("Merge into").select_option(label="Billing")
    row.get_by_role("button", name="Merge Invoices").click()
    page.get_by_text("Tag merged into Billing").wait_for()
    assert not Tag.objects.filter(pk=invoices.pk).exists()
    assert list(item.tags.all()) == [billing]

    page.locator(f"#tag-{billing.pk}").get_by_text("Rename, colour or merge").click()
    assert _overflow(page) <= 0
    page.screenshot(path=str(screenshot_dir / "tags-phone.png"), full_page=True)
