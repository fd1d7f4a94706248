"""The inbox list page: filters applied (and a refused one shown, not a 500), counts per
status, keyset paging links, the htmx fragment against the whole page, SLA and times in the
reader's zone, a constant number of queries."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from django.core.cache import cache
from django.db import connection
from django.db.models import Value
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from feedback.inbox.choices import team_choices_forget
from feedback.inbox.counts import inbox_counts_forget
from feedback.inbox.params import UNKNOWN_CHOICE
from feedback.models import FeedbackItem, ItemStatus, SavedView
from feedback.views.inbox_rows import SNIPPET_LENGTH, relative, snippet
from feedback.views.items import FILTERS_REFUSED
from portal.selectors import UNREAD_KEY
from portal.services import profile_update
from tests.factories import CustomerFactory
from tests.feedback.factories import FeedbackItemFactory, TagFactory
from tests.feedback.inbox_page_data import inbox_data

pytestmark = pytest.mark.django_db

INBOX = "/inbox/"


@pytest.fixture
def data(world):
    return inbox_data(world.team_a, agent=world.agent_a, now=timezone.now())


def _page(client, user, query: str = "", **headers) -> str:
    client.force_login(user)
    response = client.get(f"{INBOX}{query}", **headers)
    assert response.status_code == 200
    return response.content.decode()


def _row_ids(page: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr id="item-(\d+)"', page)]


# Every status asked for by name: the "All" tab (the list opens on the unsolved ones).
ALL = "&".join(f"status={value}" for value in ("new", "open", "waiting", "resolved", "spam"))


def _tabs(page: str) -> dict[str, int]:
    found = re.findall(r'hx-get="[^"]*"[^>]*>(\w+) <span class="count">(\d+)</span>', page)
    return {label: int(count) for label, count in found}


def test_the_default_view_leaves_snoozed_items_out_and_puts_escalated_ones_first(
    client, world, data
):
    page = _page(client, world.agent_a)
    items = data.items

    rows = _row_ids(page)
    assert rows[0] == items["invoice"].pk
    # The unsolved work: the resolved item waits under "All" and "Resolved".
    assert set(rows) == {items[key].pk for key in ("invoice", "export", "darkmode")}
    assert items["login"].status == "resolved"
    everything = _row_ids(_page(client, world.agent_a, "?" + ALL))
    assert set(everything) == {items[k].pk for k in ("invoice", "export", "darkmode", "login")}
    assert "Call me back next week" not in page
    # The row shows what an agent decides on.
    assert "Our March invoices show 19% VAT" in page  # the snippet
    assert 'class="tier-badge tier-vip">VIP</span>' in page
    assert "Acme Corporation" in page
    assert 'title="VIP customer">Urgent</span>' in page
    assert ">Escalated</span>" in page
    assert 'style="background: #d9480f"' in page and ">billing</span>" in page
    assert 'title="Discourse forum: Community forum"' in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?status=open", ["invoice"]),
        ("?status=open&status=new", ["invoice", "export"]),
        ("?priority=high", ["export"]),
        ("?sentiment=positive", ["darkmode"]),
        ("?tier=priority", ["export"]),
        ("?assignee=me", ["darkmode"]),
        ("?assignee=none&status=new", ["export"]),
        ("?channel=widget", ["export"]),
        ("?snoozed=only", ["snoozed"]),
        ("?q=invoices", ["invoice"]),
        ("?q=export+rows", ["export"]),
    ],
)
def test_filters_narrow_the_list(client, world, data, query, expected):
    page = _page(client, world.agent_a, query)

    assert sorted(_row_ids(page)) == sorted(data.items[key].pk for key in expected)


def test_tag_customer_and_account_filters_take_ids(client, world, data):
    items = data.items
    tag = data.tags["bug"]
    alice = items["invoice"].customer

    by_tag = _page(client, world.agent_a, f"?tag={tag.pk}")
    by_customer = _page(client, world.agent_a, f"?customer={alice.pk}&snoozed=include")
    by_account = _page(client, world.agent_a, f"?account={alice.account_id}")

    assert sorted(_row_ids(by_tag)) == sorted([items["invoice"].pk, items["export"].pk])
    assert sorted(_row_ids(by_customer)) == sorted([items["invoice"].pk, items["snoozed"].pk])
    assert "Customer: Alice Doe" in by_customer
    assert sorted(_row_ids(by_account)) == sorted([items["invoice"].pk, items["export"].pk])


def test_the_filter_form_shows_what_was_asked(client, world, data):
    page = _page(client, world.agent_a, "?status=open&priority=urgent&q=vat&ordering=sla_due")

    assert '<input type="checkbox" name="status" value="open" checked>' in page
    assert '<input type="checkbox" name="priority" value="urgent" checked>' in page
    assert 'name="q" value="vat"' in page
    assert '<option value="sla_due" selected>' in page
    # Filters are set, so the collapsible part is open and says how many.
    assert "Filters (2 active)" in page


# What the no-JS filter form sends when applied: its blank fields, the default order and the
# default snoozed choice.
FORM_DEFAULTS = "q=&ordering=priority&assignee=&from=&to=&snoozed=hide"


@pytest.mark.parametrize(
    ("query", "summary"),
    [
        (f"?{FORM_DEFAULTS}", "<summary>Filters</summary>"),
        (f"?{FORM_DEFAULTS}&status=new&status=open&status=waiting", "<summary>Filters</summary>"),
        (f"?{FORM_DEFAULTS}&priority=urgent&tier=vip", "<summary>Filters (2 active)</summary>"),
        ("?snoozed=include&status=new", "<summary>Filters (2 active)</summary>"),
    ],
)
def test_the_filter_count_leaves_out_what_the_form_sends_by_default(
    client, world, data, query, summary
):
    page = _page(client, world.agent_a, query)

    assert summary in page


def test_a_refused_filter_says_which_value_and_why_instead_of_failing(client, world, data):
    page = _page(client, world.agent_a, "?status=bogus&to=yesterday")

    assert FILTERS_REFUSED in page
    message = UNKNOWN_CHOICE.format(
        value="bogus", what="status", choices=", ".join(ItemStatus.values)
    )
    # The list is Jinja2's, which writes a quote as &#39; where Django's engine writes &#x27;.
    assert message.replace("'", "&#39;") in page
    assert "&#39;yesterday&#39; is not a date" in page
    assert _row_ids(page) == []


def test_a_stale_cursor_starts_again_from_the_first_page(client, world, data):
    page = _page(client, world.agent_a, "?cursor=not-a-cursor")

    assert "That page link no longer fits this list" in page
    assert _row_ids(page)[0] == data.items["invoice"].pk


def test_status_tabs_count_under_the_other_filters(client, world, data):
    everything = _tabs(_page(client, world.agent_a))
    urgent = _tabs(_page(client, world.agent_a, "?priority=urgent&status=new"))

    assert everything == {
        "Unsolved": 3,
        "All": 4,
        "New": 1,
        "Open": 1,
        "Waiting": 1,
        "Resolved": 1,
        "Spam": 0,
    }
    # The status itself is left out of the counts, so that each tab says what it would show.
    assert urgent == {
        "Unsolved": 1,
        "All": 1,
        "New": 0,
        "Open": 1,
        "Waiting": 0,
        "Resolved": 0,
        "Spam": 0,
    }


def test_mine_and_unassigned_quick_links(client, world, data):
    page = _page(client, world.agent_a, "?assignee=me")

    assert re.search(r'href="/inbox/\?assignee=me"[^>]*aria-current="page">Mine</a>', page)
    assert 'href="/inbox/?assignee=none"' in page


def test_keyset_pages_link_forward_and_back(client, world):
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    for minute in range(30):
        moment = start + timedelta(minutes=minute)
        FeedbackItemFactory(team=world.team_a, first_message_at=moment, last_message_at=moment)

    first = _page(client, world.agent_a, "?ordering=-last_message_at")
    next_url = re.search(r'href="([^"]+)"[^>]*rel="next"', first).group(1).replace("&amp;", "&")
    second = _page(client, world.agent_a, next_url.removeprefix(INBOX))
    previous = re.search(r'href="([^"]+)"[^>]*rel="prev"', second).group(1).replace("&amp;", "&")
    back = _page(client, world.agent_a, previous.removeprefix(INBOX))

    assert len(_row_ids(first)) == 25
    assert 'rel="prev"' not in first
    assert len(_row_ids(second)) == 5
    assert not set(_row_ids(first)) & set(_row_ids(second))
    assert 'rel="next"' not in second
    assert "ordering=-last_message_at" in next_url
    assert _row_ids(back) == _row_ids(first)


def test_htmx_gets_the_fragment_and_the_page_varies_on_it(client, world, data):
    client.force_login(world.agent_a)

    full = client.get(INBOX)
    fragment = client.get(f"{INBOX}?status=open", HTTP_HX_REQUEST="true")

    assert "<html" in full.content.decode()
    body = fragment.content.decode()
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="inbox-main"')
    assert 'id="inbox-results"' in body and 'id="inbox-views"' in body
    assert _row_ids(body) == [data.items["invoice"].pk]
    assert "HX-Request" in fragment["Vary"]
    assert "HX-Request" in full["Vary"]


def test_a_history_restore_gets_the_whole_page(client, world, data):
    client.force_login(world.agent_a)

    response = client.get(INBOX, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")

    assert "<html" in response.content.decode()


def test_sla_due_times_are_relative_and_breaches_red(client, world, data):
    page = _page(client, world.agent_a)

    breached = re.search(r'<time[^>]*class="sla sla-breached"[^>]*>([^<]+)</time>', page)
    assert breached and breached.group(1) == "2 h overdue"
    assert re.search(r'class="sla"[^>]*title="First response due [^"]+">in (2|3) h</time>', page)
    assert re.search(r'class="sla"[^>]*title="Resolution due [^"]+">in (29|30) h</time>', page)


def test_relative_times_use_the_coarsest_useful_unit():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    assert relative(now + timedelta(seconds=30), now) == "due now"
    assert relative(now + timedelta(minutes=45), now) == "in 45 min"
    assert relative(now - timedelta(hours=5), now) == "5 h overdue"
    assert relative(now + timedelta(days=3, hours=2), now) == "in 3 d"


def test_times_are_shown_in_the_readers_time_zone(client, world):
    moment = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    FeedbackItemFactory(team=world.team_a, first_message_at=moment, last_message_at=moment)
    profile_update(actor=world.agent_a, time_zone="Asia/Tokyo")

    tokyo = _page(client, world.agent_a)
    utc = _page(client, world.lead_a)

    assert ">2 Mar, 08:30</time>" in tokyo
    assert ">1 Mar, 23:30</time>" in utc


def test_viewers_see_the_list_without_write_controls(client, world, data):
    page = _page(client, world.viewer_a, "?" + ALL)

    assert len(_row_ids(page)) == 4
    assert 'name="items"' not in page
    assert 'id="inbox-bulk"' not in page
    assert "inbox_row_action" not in page and "/row/" not in page
    assert "Save this view" not in page


def test_a_rows_text_from_customers_is_escaped(client, world):
    # The rows are Jinja2's (templates/jinja2/): what a customer wrote never becomes markup.
    hostile = '<script>alert("x")</script>'
    customer = CustomerFactory(name=f'"><img src=x onerror=alert(1)> {hostile}')
    tag = TagFactory(team=world.team_a, name="<b>bold</b>")
    item = FeedbackItemFactory(
        team=world.team_a, subject=hostile, customer=customer, priority_reason=hostile
    )
    item.tags.add(tag)

    page = _page(client, world.agent_a)

    assert _row_ids(page) == [item.pk]
    assert "<script>" not in page.split('<tr id="item-')[1]
    assert "<img src=x" not in page and "<b>bold</b>" not in page
    row = page.split('<tr id="item-')[1].split("</tr>")[0]
    # Shown as text: the subject, the customer's name, the priority's reason and the tag.
    assert row.count("&lt;script&gt;alert(") == 3
    assert "&lt;b&gt;bold&lt;/b&gt;" in row


def test_a_rows_sentiment_names_its_score_only_when_there_is_one(client, world):
    scored = FeedbackItemFactory(team=world.team_a, sentiment="negative", sentiment_score=-0.62)
    unscored = FeedbackItemFactory(team=world.team_a, sentiment="neutral", sentiment_score=None)

    page = _page(client, world.agent_a)

    rows = {pk: page.split(f'<tr id="item-{pk}"')[1].split("</tr>")[0] for pk in _row_ids(page)}
    assert 'title="Of the latest message from the customer (score -0.62)"' in rows[scored.pk]
    assert 'title="Of the latest message from the customer"' in rows[unscored.pk]
    assert "(score )" not in page


def test_the_filter_form_and_saved_views_escape_what_they_echo(client, world):
    # The list around the rows is Jinja2's too: a search, a saved view's name, a tag and a
    # customer filter's name are shown as text.
    hostile = '"><script>alert(1)</script>'
    customer = CustomerFactory(name=hostile)
    FeedbackItemFactory(team=world.team_a, customer=customer)
    TagFactory(team=world.team_a, name=f"<i>{hostile}</i>")
    SavedView.objects.create(team=world.team_a, owner=None, name=hostile, params={})

    page = _page(client, world.agent_a, f"?q={quote(hostile)}&customer={customer.pk}")

    assert "<script>" not in page and "<i>" not in page
    # The search box, the tag and the saved view (no row matches the search).
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3


def test_another_teams_items_never_show(client, world, data):
    FeedbackItemFactory(team=world.team_b, subject="Team B only")

    page = _page(client, world.agent_a, "?snoozed=include")
    other = _page(client, world.member_b)

    assert "Team B only" not in page
    assert _row_ids(other) != [] and "Invoice shows the wrong VAT" not in other


def test_the_page_runs_the_same_queries_however_many_rows(client, world):
    client.force_login(world.agent_a)
    FeedbackItemFactory(team=world.team_a)
    client.get(INBOX)
    with CaptureQueriesContext(connection) as few:
        client.get(INBOX)
    for _ in range(20):
        FeedbackItemFactory(team=world.team_a)
    with CaptureQueriesContext(connection) as many:
        client.get(INBOX)

    assert len(many) == len(few)


def test_the_page_reads_at_most_ten_queries_with_or_without_its_counts_kept(client, world):
    client.force_login(world.agent_a)
    tag = TagFactory(team=world.team_a)
    for _ in range(5):
        FeedbackItemFactory(team=world.team_a).tags.add(tag)
    client.get(INBOX)
    with CaptureQueriesContext(connection) as warm:
        client.get(INBOX)
    inbox_counts_forget(world.team_a.pk)
    team_choices_forget(world.team_a.pk)
    cache.delete(UNREAD_KEY.format(user_id=world.agent_a.pk))
    with CaptureQueriesContext(connection) as cold:
        page = client.get(INBOX).content.decode()

    # Session (cached), user with profile, teams with roles, items, their tags and duplicates;
    # the counts, the members, channels, tags and saved views, and the bell's unread count
    # when not kept.
    assert len(warm) == 4 and len(cold) == 10
    assert page.count("tag-badge") == 5


def test_the_snippet_is_the_text_after_the_subject_cut_to_a_line(world):
    long_text = "word " * 60
    FeedbackItemFactory(
        team=world.team_a, subject="Export", search_document="Export\n  Rows   are\nmissing"
    )
    FeedbackItemFactory(team=world.team_a, subject="Long", search_document=f"Long {long_text}")
    items = FeedbackItem.objects.order_by("pk")

    short, long = [snippet(item) for item in items]
    deferred = [snippet(item) for item in items.defer("search_document")]
    annotated = snippet(items.annotate(inbox_snippet=Value("Export\nFrom the annotation"))[0])

    assert short == "Rows are missing"
    assert len(long) == SNIPPET_LENGTH and long.endswith("…")
    assert deferred == ["", ""]
    assert annotated == "From the annotation"


@pytest.mark.parametrize(
    ("subject", "document", "expected"),
    [
        # A subject the widget made from the message's first line, cut: the snippet goes on
        # where it stopped instead of saying the start again.
        (
            "Attaching a PDF fails on the job sh…",
            "Attaching a PDF fails on the job sh…\nAttaching a PDF fails on the job sheet page.",
            "…eet page.",
        ),
        # A subject that is the message's whole first line: the rest of the message.
        ("The app crashes", "The app crashes\nThe app crashes\nwhen I open it", "when I open it"),
        ("The app crashes", "The app crashes\nThe app crashes", ""),
        # A mail whose text merely begins with the subject's word keeps every word.
        ("Invoice", "Invoice\nInvoice 123 is wrong", "Invoice 123 is wrong"),
        ("Invoice…", "Invoice…\nYour invoice is wrong", "Your invoice is wrong"),
    ],
)
def test_the_snippet_does_not_repeat_a_subject_made_from_the_message(
    world, subject, document, expected
):
    FeedbackItemFactory(team=world.team_a, subject=subject, search_document=document)

    assert snippet(FeedbackItem.objects.get()) == expected
