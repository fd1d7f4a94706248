"""The service levels page in a real browser (Debian's chromium driven by Playwright, as in
tests/portal/test_browser.py), on a 375px phone: a lead's refused hours come back in place
(htmx), saved policies and rules show after the redirect, and nothing is wider than the phone.
With PORTAL_SCREENSHOTS=1 the screenshot lands in docs/screenshots/."""

import pytest

from feedback.models import InboxSettings, SlaPolicy
from feedback.services.sla_settings import RESOLUTION_BEFORE_FIRST_RESPONSE
from portal.models import Role
from tests.factories import MembershipFactory, TeamFactory, UserFactory
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


def test_a_lead_sets_service_levels_on_a_phone(
    browser,  # noqa: F811
    live_server,
    team,
    screenshot_dir,  # noqa: F811
):
    page = _phone(browser).new_page()
    _log_in(page, live_server.url)
    page.goto(f"{live_server.url}/settings/teams/{TEAM}/sla/")

    page.get_by_label("First response (hours)").nth(2).fill("2")
    page.get_by_label("Resolution (hours)").nth(2).fill("1")
    page.get_by_role("button", name="Save policies").click()
    error = page.get_by_text(RESOLUTION_BEFORE_FIRST_RESPONSE.format(hours=2))
    error.wait_for()
    assert page.url.endswith(f"/settings/teams/{TEAM}/sla/")
    assert not SlaPolicy.objects.exists()

    page.get_by_label("Resolution (hours)").nth(2).fill("24")
    page.get_by_role("button", name="Save policies").click()
    page.get_by_text("SLA policies of Customer Care saved").wait_for()
    assert list(SlaPolicy.objects.values_list("priority", "resolution_hours")) == [("urgent", 24)]

    page.get_by_label("Priority plans").fill("Enterprise\nScale")
    page.get_by_label("MRR threshold").fill("5000")
    page.get_by_role("button", name="Save rules").click()
    page.get_by_text("Priority customer rules of Customer Care saved").wait_for()
    assert InboxSettings.objects.get(team=team).priority_plans == ["Enterprise", "Scale"]
    assert _overflow(page) <= 0
    page.screenshot(path=str(screenshot_dir / "sla-settings-phone.png"), full_page=True)
