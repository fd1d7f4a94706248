"""Templates and the reply composer in a real browser (Debian's chromium driven by Playwright,
as in tests/portal/test_browser.py), on a 375px phone: a lead writes a template and sees the
live preview (htmx) name an unknown placeholder and then render for the team's customer; an
agent picks it in the composer, gets it personalised, edits and sends. With
PORTAL_SCREENSHOTS=1 the screenshots land in docs/screenshots/."""

import pytest

from feedback.models import DeliveryStatus, Direction, Message, ResponseTemplate
from portal.models import Role
from tests.factories import CustomerFactory, MembershipFactory, TeamFactory, UserFactory
from tests.feedback.factories import (
    SUPPORT_ADDRESS,
    ChannelFactory,
    FeedbackItemFactory,
    MessageFactory,
)
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
def item(transactional_db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    team = TeamFactory(name="Customer Care", slug=TEAM)
    MembershipFactory(user=UserFactory(username="ann", first_name="Ann"), team=team, role=Role.LEAD)
    MembershipFactory(
        user=UserFactory(username="sam", first_name="Sam", last_name="Agent"),
        team=team,
        role=Role.AGENT,
    )
    channel = ChannelFactory(team=team, kind="imap", address=SUPPORT_ADDRESS)
    customer = CustomerFactory(name="Omar Haddad", email="omar@haddad.example")
    item = FeedbackItemFactory(
        team=team, channel=channel, customer=customer, subject="The coffee machine leaks"
    )
    MessageFactory(item=item, channel=channel, sender="omar@haddad.example")
    return item


def test_a_lead_writes_a_template_and_an_agent_replies_with_it_on_a_phone(
    browser,  # noqa: F811
    live_server,
    item,
    screenshot_dir,  # noqa: F811
):
    lead = _phone(browser).new_page()
    _log_in(lead, live_server.url, "ann")
    lead.goto(f"{live_server.url}/settings/teams/{TEAM}/templates/new/")
    lead.get_by_label("Name").fill("Technician visit")
    text = lead.get_by_label("Text")
    text.fill("Hi {{ customer.shoe_size }}")
    lead.get_by_text("Unknown placeholder {{ customer.shoe_size }}").wait_for()
    text.fill(
        'Hi {{ customer.first_name|default:"there" }},\n\nabout "{{ item.subject }}": a '
        "technician will call you tomorrow.\n\n{{ agent.first_name }}, {{ team.name }}"
    )
    lead.get_by_text("Hi Omar,").wait_for()
    assert _overflow(lead) <= 0
    lead.screenshot(path=str(screenshot_dir / "templates-editor-phone.png"), full_page=True)
    lead.get_by_role("button", name="Create template").click()
    lead.get_by_text("Template Technician visit created.").wait_for()
    assert ResponseTemplate.objects.get().team == item.team

    agent = _phone(browser).new_page()
    _log_in(agent, live_server.url, "sam")
    agent.goto(f"{live_server.url}/inbox/{item.pk}/reply/")
    agent.get_by_label("Start from a template").select_option(label="Technician visit")
    reply = agent.locator("#id_text")
    agent.wait_for_function("() => document.querySelector('#id_text').value.startsWith('Hi Omar,')")
    assert "Sam, Customer Care" in reply.input_value()
    reply.fill(reply.input_value() + "\nP.S. Between 9 and 12.")
    assert _overflow(agent) <= 0
    agent.screenshot(path=str(screenshot_dir / "reply-composer-phone.png"), full_page=True)
    agent.get_by_role("button", name="Send reply").click()
    agent.get_by_text("Reply to omar@haddad.example queued").wait_for()

    sent = Message.objects.get(item=item, direction=Direction.OUT)
    assert sent.text.endswith("P.S. Between 9 and 12.")
    assert sent.delivery == DeliveryStatus.SENT


def test_a_subject_without_spaces_does_not_widen_pages_on_a_phone_without_javascript(
    browser,  # noqa: F811
    live_server,
    item,
):
    # A 1,000-letter subject made the reply page 20,407 px wide (outside QA report): headings
    # and crumbs now wrap anywhere, and the crumbs' last divider is clipped at the edge.
    item.subject = "L" * 1000
    item.save()
    page = _phone(browser, java_script_enabled=False).new_page()
    _log_in(page, live_server.url, "sam")

    for path in (f"/inbox/{item.pk}/reply/", f"/inbox/{item.pk}/", f"/inbox/{item.pk}/merge/"):
        page.goto(f"{live_server.url}{path}")
        assert _overflow(page) <= 0, path
