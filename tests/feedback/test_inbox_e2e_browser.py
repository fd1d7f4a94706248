"""The inbox end to end in a real browser (Debian's chromium driven by Playwright, as in
tests/portal/test_browser.py), against a live server and a real SMTP server (aiosmtpd,
tests/feedback/smtp.py): an agent logs in through the login form, filters the inbox by status
and a search, opens an item with the keyboard (j/k, then Enter), picks a response template,
sees it personalised for the customer, edits it, sends it, and finds the reply in the thread
marked as sent, while the mail server has the edited text. The same on a 375px phone (tapping
instead of keys), and with JavaScript off through the plain forms (the filter form's button,
the composer's own page). With PORTAL_SCREENSHOTS=1 the screenshots land in docs/screenshots/
(inbox-e2e-*.png)."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from feedback.models import (
    DeliveryStatus,
    Direction,
    FeedbackItem,
    ItemPriority,
    ItemStatus,
    Message,
)
from feedback.services.search_document import item_search_document_refresh
from feedback.services.templates import template_create
from feedback.views.replies import REPLY_QUEUED
from portal.models import Role
from tests.factories import (
    AccountFactory,
    CustomerFactory,
    MembershipFactory,
    TeamFactory,
    UserFactory,
)
from tests.feedback.factories import (
    SUPPORT_ADDRESS,
    ChannelFactory,
    FeedbackItemFactory,
    MessageFactory,
)
from tests.feedback.inbox_browser import leave_search
from tests.feedback.smtp import SmtpServer
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

TEMPLATE_NAME = "Invoice corrected"
TEMPLATE_BODY = (
    'Hi {{ customer.first_name|default:"there" }},\n\n'
    'thank you for telling us about "{{ item.subject }}". We have corrected the invoice for '
    "{{ account.name }}.\n\n{{ agent.first_name }}, {{ team.name }}"
)
PERSONALISED_START = "Hi Alice,"
ADDED_LINE = "P.S. The corrected PDF is attached to your account page."
ALICE = "alice@acme.test"
# The composer's text box, by its label ("Reply:"), so that a lost label fails the test.
REPLY_LABEL = re.compile(r"^Reply:?$")


@dataclass
class Inbox:
    item: FeedbackItem  # the one the agent answers
    other_match: FeedbackItem  # also found by the filter, listed after it
    filtered_out: list[FeedbackItem]


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer.start()
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_server, settings) -> SmtpServer:
    """Replies go out through the real SMTP server; the live server's thread shares the
    settings, and tasks run inline after the commit (tests/conftest.py)."""
    smtp_server.clear()
    for name, value in smtp_server.settings_for().items():
        setattr(settings, name, value)
    return smtp_server


@pytest.fixture
def inbox(transactional_db) -> Inbox:
    """Customer Care's inbox: two open items about invoices (an urgent one from a VIP, which
    the default order lists first), an invoice item that is still new, an open item about
    something else, and a lead's response template made through the template service."""
    team = TeamFactory(name="Customer Care", slug="customer-care")
    lead = UserFactory(username="lea", first_name="Lea", last_name="Lead")
    MembershipFactory(user=lead, team=team, role=Role.LEAD)
    agent = UserFactory(username="sam", first_name="Sam", last_name="Agent")
    MembershipFactory(user=agent, team=team, role=Role.AGENT)
    channel = ChannelFactory(
        team=team, kind="imap", name="Support mailbox", address=SUPPORT_ADDRESS
    )
    acme = AccountFactory(name="Acme Corporation", plan="enterprise", mrr=Decimal("6200"))
    globex = AccountFactory(name="Globex", plan="growth", mrr=Decimal("480"))
    customers = {
        "alice": CustomerFactory(name="Alice Doe", email=ALICE, account=acme, tier="vip"),
        "bob": CustomerFactory(name="Bob Roe", email="bob@globex.test", account=globex),
        "carla": CustomerFactory(name="Carla Diaz", email="carla@acme.test", account=acme),
    }
    now = timezone.now()

    def item(who: str, subject: str, text: str, minutes_ago: int, **fields) -> FeedbackItem:
        customer = customers[who]
        at = now - timedelta(minutes=minutes_ago)
        made = FeedbackItemFactory(
            team=team,
            channel=channel,
            customer=customer,
            subject=subject,
            first_message_at=at,
            last_message_at=at,
            **fields,
        )
        MessageFactory(
            item=made,
            channel=channel,
            sender=customer.email,
            sender_name=customer.name,
            subject=subject,
            text=text,
            sent_at=at,
            received_at=at,
        )
        return made

    answered = item(
        "alice",
        "Invoice shows the wrong VAT",
        "Our March invoices show 19% VAT but we are exempt. Please correct them.",
        90,
        status=ItemStatus.OPEN,
        priority=ItemPriority.URGENT,
        priority_reason="VIP customer",
    )
    other = item(
        "bob",
        "Second invoice never arrived",
        "We paid the first invoice; the second one never reached us.",
        10,
        status=ItemStatus.OPEN,
    )
    filtered_out = [
        item("carla", "Invoice PDF is blank", "The invoice PDF opens blank.", 5),
        item(
            "bob",
            "Dark mode, please",
            "A dark mode would help late shifts.",
            30,
            status=ItemStatus.OPEN,
        ),
    ]
    item_search_document_refresh([made.pk for made in (answered, other, *filtered_out)])
    template_create(actor=lead, team=team, name=TEMPLATE_NAME, body=TEMPLATE_BODY)
    return Inbox(item=answered, other_match=other, filtered_out=filtered_out)


def _rows(page) -> list[str]:
    return page.eval_on_selector_all(
        "#inbox-items tbody tr.inbox-row", "rows => rows.map(r => r.id)"
    )


def _current(page) -> str | None:
    return page.evaluate("document.querySelector('#inbox-items tr.is-current')?.id || null")


def _wait_for_rows(page, inbox: Inbox) -> None:
    """The list shows exactly the two open items about invoices, the urgent one first."""
    expected = [f"item-{inbox.item.pk}", f"item-{inbox.other_match.pk}"]
    page.wait_for_function(
        """(ids) => {
            const rows = [...document.querySelectorAll('#inbox-items tbody tr.inbox-row')];
            return rows.map(r => r.id).join() === ids.join();
        }""",
        arg=expected,
    )
    assert _rows(page) == expected


def _filter_open_invoices(page, base: str, inbox: Inbox) -> None:
    """With JavaScript: the status box and the search swap the list in place (htmx) and put
    the filters into the address."""
    more = page.locator(".inbox-more")
    if not more.evaluate("d => d.open"):
        more.locator("summary").click()
    page.locator("#inbox-filters input[name=status][value=open]").check()
    page.wait_for_url(f"{base}/inbox/?status=open")
    page.locator("#inbox-search").fill("invoice")
    page.wait_for_url(f"{base}/inbox/?q=invoice&status=open")
    _wait_for_rows(page, inbox)


def _reply_with_the_template(page, inbox: Inbox) -> str:
    """Choose the template (the composer comes back personalised), check it, add a line, send.
    Returns the text sent."""
    page.get_by_label("Start from a template").select_option(label=TEMPLATE_NAME)
    page.wait_for_function(
        "(start) => document.querySelector('#id_text').value.startsWith(start)",
        arg=PERSONALISED_START,
    )
    page.get_by_text(f"Personalised from “{TEMPLATE_NAME}” for this customer").wait_for()
    text = page.get_by_role("textbox", name=REPLY_LABEL)
    personalised = text.input_value()
    assert '"Invoice shows the wrong VAT"' in personalised
    assert "for Acme Corporation." in personalised
    assert personalised.endswith("Sam, Customer Care")
    assert "{{" not in personalised
    text.fill(f"{personalised}\n{ADDED_LINE}")
    return text.input_value()


def _sent_reply_in_the_thread(page, inbox: Inbox, smtp: SmtpServer, sent_text: str):
    """The item page again: the notice, and the reply as the last message of the thread,
    from the agent to the customer, marked as sent; the mail server has the same text."""
    page.get_by_text(REPLY_QUEUED.format(to=ALICE)).wait_for()
    message = Message.objects.get(item=inbox.item, direction=Direction.OUT)
    assert message.delivery == DeliveryStatus.SENT
    assert _lf(message.text) == _lf(sent_text)
    article = page.locator(f"#message-{message.pk}")
    article.wait_for()
    assert "is-outbound" in article.get_attribute("class")
    assert page.locator(".item-conversation article.item-message").last.get_attribute("id") == (
        f"message-{message.pk}"
    )
    assert article.locator(".delivery-badge").inner_text() == "Sent"
    assert article.get_by_text("Sam Agent").is_visible()
    assert article.get_by_text(f"to {ALICE}").is_visible()
    assert article.get_by_text(ADDED_LINE).is_visible()
    # The history says when the first response was, as a person reads a time.
    history = page.locator("#item-history").inner_text()
    assert "Sam Agent replied" in history
    assert re.search(r"first responded at: — → \d{1,2} \w{3} \d{4}, \d{2}:\d{2}", history)
    [received] = smtp.received
    assert received.recipients == [ALICE]
    assert _lf(received.message.get_content()).strip() == _lf(sent_text)
    inbox.item.refresh_from_db()
    assert inbox.item.status == ItemStatus.WAITING
    return article


def _lf(text: str) -> str:
    """A form sends a textarea's lines ended by CRLF; compare texts line by line."""
    return text.replace("\r\n", "\n")


def _shot(page, directory: Path, name: str) -> None:
    page.screenshot(path=str(directory / f"inbox-e2e-{name}.png"), full_page=True)


def test_an_agent_filters_opens_with_the_keyboard_and_replies_with_a_template(
    browser,  # noqa: F811
    live_server,
    inbox,
    smtp,
    screenshot_dir,  # noqa: F811
):
    base = live_server.url
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    _log_in(page, base, "sam")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox").click()
    page.wait_for_url(f"{base}/inbox/")

    _filter_open_invoices(page, base, inbox)
    assert _overflow(page) <= 0
    _shot(page, screenshot_dir, "desktop-1-filtered")

    # Keys wait while the search box has the focus; leave it, then walk the list.
    leave_search(page)
    page.keyboard.press("j")
    assert _current(page) == f"item-{inbox.item.pk}"
    page.keyboard.press("j")
    assert _current(page) == f"item-{inbox.other_match.pk}"
    page.keyboard.press("k")
    assert _current(page) == f"item-{inbox.item.pk}"
    assert page.evaluate("document.activeElement.id") == f"item-{inbox.item.pk}"
    _shot(page, screenshot_dir, "desktop-2-current-row")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/inbox/{inbox.item.pk}/")
    page.get_by_role("heading", name="Conversation").wait_for()
    assert page.get_by_text(f"To {ALICE}, by e-mail.").is_visible()

    sent_text = _reply_with_the_template(page, inbox)
    assert _overflow(page) <= 0
    page.locator("#reply").screenshot(path=str(screenshot_dir / "inbox-e2e-desktop-3-composer.png"))
    page.get_by_role("button", name="Send reply").click()
    page.wait_for_url(f"{base}/inbox/{inbox.item.pk}/#reply")

    _sent_reply_in_the_thread(page, inbox, smtp, sent_text)
    assert _overflow(page) <= 0
    _shot(page, screenshot_dir, "desktop-4-sent")
    context.close()


def test_the_same_on_a_phone_by_tapping(
    browser,  # noqa: F811
    live_server,
    inbox,
    smtp,
    screenshot_dir,  # noqa: F811
):
    base = live_server.url
    context = _phone(browser)
    page = context.new_page()
    _log_in(page, base, "sam")
    page.goto(f"{base}/inbox/")

    _filter_open_invoices(page, base, inbox)
    assert _overflow(page) <= 0
    assert _outside_window(page, "#inbox-main *") == []
    _shot(page, screenshot_dir, "phone-1-filtered")

    page.locator(f"#item-{inbox.item.pk} a.inbox-open").tap()
    page.wait_for_url(f"{base}/inbox/{inbox.item.pk}/")
    assert _overflow(page) <= 0
    _shot(page, screenshot_dir, "phone-2-item")

    sent_text = _reply_with_the_template(page, inbox)
    assert _overflow(page) <= 0
    assert _outside_window(page, "#reply *") == []
    page.locator("#reply").screenshot(path=str(screenshot_dir / "inbox-e2e-phone-3-composer.png"))
    page.get_by_role("button", name="Send reply").tap()
    page.wait_for_url(f"{base}/inbox/{inbox.item.pk}/#reply")

    article = _sent_reply_in_the_thread(page, inbox, smtp, sent_text)
    assert _overflow(page) <= 0
    assert _outside_window(page, f"#{article.get_attribute('id')} *") == []
    article.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "inbox-e2e-phone-4-sent.png"))
    context.close()


def test_without_javascript_the_plain_forms_filter_open_and_reply(
    browser,  # noqa: F811
    live_server,
    inbox,
    smtp,
    screenshot_dir,  # noqa: F811
):
    base = live_server.url
    context = _phone(browser, java_script_enabled=False)
    page = context.new_page()
    _log_in(page, base, "sam")
    page.goto(f"{base}/inbox/")

    page.locator(".inbox-more > summary").click()
    page.locator("#inbox-filters input[name=status][value=open]").check()
    page.locator("#inbox-search").fill("invoice")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**/inbox/?q=invoice&*status=open*")
    _wait_for_rows(page, inbox)
    assert _overflow(page) <= 0
    _shot(page, screenshot_dir, "nojs-1-filtered")

    page.locator(f"#item-{inbox.item.pk} a.inbox-open").click()
    page.wait_for_url(f"{base}/inbox/{inbox.item.pk}/")
    page.get_by_label("Start from a template").select_option(label=TEMPLATE_NAME)
    page.get_by_role("button", name="Use template").click()
    page.wait_for_url(f"{base}/inbox/{inbox.item.pk}/reply/?template=*")
    text = page.get_by_role("textbox", name=REPLY_LABEL)
    assert text.input_value().startswith(PERSONALISED_START)
    text.fill(f"{text.input_value()}\n{ADDED_LINE}")
    sent_text = text.input_value()
    assert _overflow(page) <= 0
    _shot(page, screenshot_dir, "nojs-2-composer")
    page.get_by_role("button", name="Send reply").click()
    page.wait_for_url(f"{base}/inbox/{inbox.item.pk}/#reply")

    _sent_reply_in_the_thread(page, inbox, smtp, sent_text)
    assert _overflow(page) <= 0
    _shot(page, screenshot_dir, "nojs-3-sent")
    context.close()
