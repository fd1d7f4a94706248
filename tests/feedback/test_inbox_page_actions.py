"""What agents do from the inbox list: a row's quick actions and the bulk bar, each as a plain
form (post/redirect/get with messages) and through htmx (the row, or the list's results, come
back in place, refusals inline); the CSV export of the current view; saved views. Viewers
read but never write (403); another team's item is no item (404, or refused in bulk)."""

import csv
import html
import io
import re
from urllib.parse import urlencode

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from feedback.models import FeedbackItem, ItemStatus, SavedView
from feedback.services.triage import STATUS_UNKNOWN
from feedback.views.bulk import BULK_DONE, CHOOSE_TAG, NO_SUCH_ITEM
from feedback.views.items import FILTERS_REFUSED, SAVED_VIEW_GONE
from feedback.views.saved_views import VIEW_SAVED
from tests.feedback.factories import FeedbackItemFactory, MessageFactory
from tests.feedback.inbox_page_data import inbox_data

pytestmark = pytest.mark.django_db

INBOX = "/inbox/"
BULK = "/inbox/bulk/"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def data(world):
    return inbox_data(world.team_a, agent=world.agent_a, now=timezone.now())


def _row_url(item) -> str:
    return reverse("feedback:inbox_row_action", args=[item.pk])


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# Row actions ---------------------------------------------------------------------------------


def test_assign_to_me_as_a_plain_form_redirects_back_to_the_same_list(client, world, data):
    item = data.items["export"]
    client.force_login(world.agent_a)

    response = client.post(_row_url(item), {"action": "assign_me", "next": "/inbox/?status=new"})

    assert response.status_code == 302
    assert response["Location"] == "/inbox/?status=new"
    item.refresh_from_db()
    assert item.assignee == world.agent_a
    assert _messages(response) == [f"#{item.pk} is assigned to you."]


def test_resolve_through_htmx_answers_the_row(client, world, data):
    item = data.items["export"]
    client.force_login(world.agent_a)

    response = client.post(_row_url(item), {"action": "resolve", "next": INBOX}, **HTMX)

    body = response.content.decode()
    assert response.status_code == 200
    assert body.startswith(f'<tr id="item-{item.pk}"')
    assert "<html" not in body
    assert '<span class="status-tag status-resolved">Resolved</span>' in body
    # Resolved: no SLA due any more, and no "Resolve" button.
    assert 'data-row-action="resolve"' not in body
    item.refresh_from_db()
    assert item.status == ItemStatus.RESOLVED and item.resolved_at is not None


def test_a_refused_status_comes_back_in_the_row(client, world, data):
    item = data.items["export"]
    client.force_login(world.agent_a)

    htmx = client.post(_row_url(item), {"action": "status", "status": "lost"}, **HTMX)
    plain = client.post(_row_url(item), {"action": "status", "status": "lost"})

    message = STATUS_UNKNOWN.format(value="lost", choices=", ".join(ItemStatus.values))
    assert htmx.status_code == 200
    # The row is Jinja2's, which writes a quote as &#39; where Django's engine writes &#x27;.
    assert f'<p class="row-error" role="alert">status: {message}</p>' in html.unescape(
        htmx.content.decode()
    )
    assert plain.status_code == 302
    assert _messages(plain) == [f"#{item.pk}: status: {message}"]
    item.refresh_from_db()
    assert item.status == ItemStatus.NEW


def test_row_actions_refuse_viewers_and_other_teams(client, world, data):
    item = data.items["export"]

    client.force_login(world.viewer_a)
    viewer = client.post(_row_url(item), {"action": "resolve"}, **HTMX)
    client.force_login(world.member_b)
    stranger = client.post(_row_url(item), {"action": "resolve"})

    assert viewer.status_code == 403
    assert stranger.status_code == 404
    item.refresh_from_db()
    assert item.status == ItemStatus.NEW


def test_a_next_address_elsewhere_is_not_followed(client, world, data):
    client.force_login(world.agent_a)

    response = client.post(
        _row_url(data.items["export"]), {"action": "resolve", "next": "https://evil.test/"}
    )

    assert response["Location"] == INBOX


# Bulk ----------------------------------------------------------------------------------------


def test_bulk_status_as_a_plain_form_reports_each_item(client, world, data):
    items = data.items
    theirs = FeedbackItemFactory(team=world.team_b, subject="Team B's")
    client.force_login(world.agent_a)

    response = client.post(
        BULK,
        {
            "items": [items["export"].pk, items["darkmode"].pk, theirs.pk],
            "action": "status",
            "status": "resolved",
            "next": "/inbox/?status=new",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/inbox/?status=new"
    assert _messages(response) == [
        BULK_DONE.format(done=2, total=3),
        f"#{theirs.pk}: " + NO_SUCH_ITEM.format(team=world.team_a),
    ]
    statuses = dict(FeedbackItem.objects.values_list("pk", "status"))
    assert statuses[items["export"].pk] == statuses[items["darkmode"].pk] == "resolved"
    assert statuses[theirs.pk] == "new"


def test_bulk_through_htmx_answers_the_results_with_one_line_per_item(client, world, data):
    items = data.items
    tag = data.tags["billing"]
    theirs = FeedbackItemFactory(team=world.team_b)
    client.force_login(world.agent_a)

    response = client.post(
        BULK,
        {
            "items": [items["export"].pk, theirs.pk],
            "action": "tag",
            "tag": tag.pk,
            "next": "/inbox/?tag=" + str(tag.pk),
        },
        **HTMX,
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="inbox-results"')
    assert BULK_DONE.format(done=1, total=2) in body
    assert f'<li class="ok">#{items["export"].pk} ✓ done</li>' in body
    assert f"#{theirs.pk} ✗ {NO_SUCH_ITEM.format(team=world.team_a)}" in body
    # The list is the one in ``next``: the billing tag's items, now with the export item.
    assert f'id="item-{items["export"].pk}"' in body
    assert f'id="item-{items["darkmode"].pk}"' not in body
    assert set(items["export"].tags.all()) >= {tag}
    assert not theirs.tags.exists()


def test_bulk_assign_untag_and_a_missing_choice(client, world, data):
    items = data.items
    client.force_login(world.agent_a)
    selected = [items["invoice"].pk, items["export"].pk]

    client.post(BULK, {"items": selected, "action": "assign", "assignee": world.lead_a.pk})
    client.post(BULK, {"items": selected, "action": "untag", "tag": data.tags["bug"].pk})
    no_tag = client.post(BULK, {"items": selected, "action": "tag", "tag": ""})

    for key in ("invoice", "export"):
        items[key].refresh_from_db()
        assert items[key].assignee == world.lead_a
        assert data.tags["bug"] not in items[key].tags.all()
    assert _messages(no_tag)[-1] == f"tag: {CHOOSE_TAG.format(team=world.team_a)}"


def test_bulk_merge_moves_every_message_into_the_oldest(client, world, data):
    items = data.items
    MessageFactory(item=items["export"], text="second message")
    client.force_login(world.agent_a)

    response = client.post(
        BULK,
        {"items": [items["darkmode"].pk, items["export"].pk], "action": "merge", "confirm": "1"},
    )

    assert response.status_code == 302
    assert not FeedbackItem.objects.filter(pk=items["export"].pk).exists()
    kept = FeedbackItem.objects.get(pk=items["darkmode"].pk)
    assert kept.messages.count() == 3
    assert _messages(response) == [f"1 of 1 selected items merged into #{kept.pk}."]


def test_bulk_with_nothing_selected_says_so(client, world, data):
    client.force_login(world.agent_a)

    response = client.post(BULK, {"action": "status", "status": "open"}, **HTMX)

    assert "Select at least one item." in response.content.decode()


def test_bulk_is_refused_to_viewers(client, world, data):
    client.force_login(world.viewer_a)

    response = client.post(
        BULK, {"items": [data.items["export"].pk], "action": "status", "status": "spam"}
    )

    assert response.status_code == 403
    data.items["export"].refresh_from_db()
    assert data.items["export"].status == ItemStatus.NEW


# CSV export ----------------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def test_the_export_streams_the_current_view(client, world, data):
    FeedbackItemFactory(team=world.team_a, subject='=HYPERLINK("http://evil.test")')
    client.force_login(world.agent_a)

    response = client.get(reverse("feedback:inbox_export") + "?priority=urgent&priority=high")
    everything = _csv(client.get(reverse("feedback:inbox_export")))

    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="inbox-team-a-')
    rows = _csv(response)
    header = rows[0]
    assert header[:6] == ["id", "team", "status", "priority", "priority_reason", "subject"]
    subjects = [row[header.index("subject")] for row in rows[1:]]
    assert subjects == ["Invoice shows the wrong VAT", "CSV export stops at 10,000 rows"]
    first = dict(zip(header, rows[1], strict=True))
    assert first["customer_email"] == "alice@acme.test"
    assert first["tags"] == "billing, bug"
    assert first["channel"] == "imap"
    # A cell that would start a formula in a spreadsheet is made text.
    assert '\'=HYPERLINK("http://evil.test")' in [row[5] for row in everything]


def test_the_export_refuses_a_bad_filter_with_its_message(client, world, data):
    client.force_login(world.agent_a)

    response = client.get(reverse("feedback:inbox_export") + "?priority=soon")

    assert response.status_code == 400
    text = response.content.decode()
    assert text.startswith(FILTERS_REFUSED)
    assert "'soon' is not a priority" in text


def test_the_page_links_the_export_of_its_view(client, world, data):
    client.force_login(world.agent_a)

    page = client.get(f"{INBOX}?status=open&q=vat").content.decode()

    assert 'href="/inbox/export.csv?status=open&amp;q=vat"' in page


# Saved views ---------------------------------------------------------------------------------


def test_save_the_current_view_then_choose_it(client, world, data):
    client.force_login(world.agent_a)

    response = client.post(
        reverse("feedback:saved_view_save"),
        {"name": "Urgent ones", "next": "/inbox/?priority=urgent&cursor=abc"},
    )

    view = SavedView.objects.get(name="Urgent ones")
    assert view.owner == world.agent_a and view.params == {"priority": ["urgent"]}
    assert response["Location"] == f"/inbox/?view={view.pk}"
    assert _messages(response) == [VIEW_SAVED.format(name="Urgent ones")]
    page = client.get(f"{INBOX}?view={view.pk}").content.decode()
    assert f'<option value="{view.pk}" selected>Urgent ones</option>' in page
    assert [int(pk) for pk in re.findall(r'<tr id="item-(\d+)"', page)] == [
        data.items["invoice"].pk
    ]


def test_a_lead_shares_a_view_and_an_agent_may_not(client, world, data):
    url = reverse("feedback:saved_view_save")
    client.force_login(world.lead_a)
    client.post(url, {"name": "Team's new", "shared": "1", "next": "/inbox/?status=new"})
    client.force_login(world.agent_a)
    refused = client.post(url, {"name": "Mine shared", "shared": "1", "next": INBOX})

    shared = SavedView.objects.get(name="Team's new")
    assert shared.owner is None
    assert refused.status_code == 403
    # The team's view is offered to its agents; nobody else's personal views are.
    SavedView.objects.create(team=world.team_a, owner=world.lead_a, name="Lead's own")
    page = html.unescape(client.get(INBOX).content.decode())
    assert "Team's new" in page and "Lead's own" not in page
    assert 'optgroup label="Shared with Team A"' in page


def test_saving_without_a_name_answers_the_form_with_the_error(client, world, data):
    client.force_login(world.agent_a)

    response = client.post(
        reverse("feedback:saved_view_save"), {"name": " ", "next": INBOX}, **HTMX
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert body.startswith('<details id="inbox-save-view"')
    assert "Give the view a name." in body
    assert not SavedView.objects.exists()


def test_another_teams_view_is_not_offered(client, world, data):
    theirs = SavedView.objects.create(
        team=world.team_b, owner=None, name="B view", params={"status": ["open"]}
    )
    client.force_login(world.agent_a)

    response = client.get(f"{INBOX}?view={theirs.pk}")

    assert "That saved view is gone or belongs to another team" in response.content.decode()
    assert "B view" not in response.content.decode()


def test_delete_a_view(client, world, data):
    view = SavedView.objects.create(team=world.team_a, owner=world.agent_a, name="Old")
    client.force_login(world.agent_a)

    page = client.get(f"{INBOX}?{urlencode({'view': view.pk})}").content.decode()
    response = client.post(reverse("feedback:saved_view_delete", args=[view.pk]))

    assert "Delete “Old”" in page
    assert response.status_code == 302
    assert not SavedView.objects.filter(pk=view.pk).exists()


def test_a_view_gone_or_of_another_team_shows_the_whole_inbox_and_says_so(client, world):
    theirs = SavedView.objects.create(team=world.team_b, owner=None, name="B's", params={})
    client.force_login(world.agent_a)

    for view in ("99999", str(theirs.pk), "abc"):
        page = html.unescape(client.get(INBOX, {"view": view}).content.decode())
        assert SAVED_VIEW_GONE in page, view


def test_a_bulk_action_on_a_later_page_comes_back_to_that_page(client, world, data):
    FeedbackItemFactory.create_batch(30, team=world.team_a, status=ItemStatus.NEW)
    client.force_login(world.agent_a)
    first = client.get(INBOX).content.decode()
    later_url = html.unescape(re.search(r'href="(/inbox/\?[^"]*cursor=[^"]+)"', first).group(1))
    later = client.get(later_url).content.decode()
    on_first = set(re.findall(r'id="item-(\d+)"', first))
    on_later = set(re.findall(r'id="item-(\d+)"', later))
    assert on_later and not on_first & on_later
    # Every action on the later page names that page as the place to come back to.
    nexts = {html.unescape(value) for value in re.findall(r'name="next" value="([^"]*)"', later)}
    assert nexts == {later_url}

    picked = sorted(on_later)[0]
    response = client.post(
        BULK, {"items": [picked], "action": "status", "status": "open", "next": later_url}, **HTMX
    )

    shown = set(re.findall(r'id="item-(\d+)"', response.content.decode()))
    assert shown == on_later
