"""The inbox query (feedback.inbox): every filter, refusals naming the value, full-text search
with word forms on PostgreSQL and its fallback on SQLite, the orders (escalated and urgent
first), keyset pages that neither skip nor repeat however deep, counts per status, CSV rows,
the reindex command and, on PostgreSQL, the plans that read the inbox's indexes."""

from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from feedback import selectors
from feedback.inbox import ordering
from feedback.inbox.keyset import CursorInvalid, Keyset
from feedback.inbox.params import (
    DATE_OUT_OF_RANGE,
    DATES_REVERSED,
    MAX_VALUES,
    NO_SUCH_ASSIGNEE,
    NO_SUCH_TAG,
    NOT_A_DATE,
    NOT_AN_ASSIGNEE,
    TOO_MANY_VALUES,
    UNKNOWN_ORDERING,
    VALUE_MISSING,
    InboxQuery,
    inbox_query_from_params,
)
from feedback.inbox.query import search_filter
from feedback.models import FeedbackItem, ItemPriority, ItemStatus, Sentiment
from feedback.services import item_search_document_refresh
from portal.models import Role, Tier, UserProfile
from portal.validation import NUL_CHARACTER
from tests.factories import AccountFactory, CustomerFactory, MembershipFactory, UserFactory
from tests.feedback.factories import (
    SENT,
    ChannelFactory,
    FeedbackItemFactory,
    MessageFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL full-text search and plans"
)


def query(user, team, text: str = "", **kwargs) -> InboxQuery:
    return inbox_query_from_params(QueryDict(text), user=user, team=team, **kwargs)


def ids(user, team, text: str = "") -> list[int]:
    found = selectors.inbox_items(user=user, team=team, query=query(user, team, text), now=NOW)
    return [item.pk for item in found]


def item(team, **fields) -> FeedbackItem:
    return FeedbackItemFactory(team=team, **fields)


# Filters -------------------------------------------------------------------------------------


def test_status_priority_sentiment_and_tier_filters_take_several_values(world):
    team, user = world.team_a, world.agent_a
    vip = CustomerFactory(tier=Tier.VIP)
    a = item(team, status=ItemStatus.OPEN, priority=ItemPriority.URGENT, customer=vip)
    b = item(team, status=ItemStatus.NEW, sentiment=Sentiment.NEGATIVE)
    c = item(team, status=ItemStatus.SPAM, priority=ItemPriority.HIGH)

    assert sorted(ids(user, team, "status=open&status=spam")) == sorted([a.pk, c.pk])
    assert sorted(ids(user, team, "priority=urgent&priority=high")) == sorted([a.pk, c.pk])
    assert ids(user, team, "sentiment=negative") == [b.pk]
    assert ids(user, team, "tier=vip") == [a.pk]


def test_assignee_me_none_and_a_member(world):
    team = world.team_a
    mine = item(team, assignee=world.agent_a)
    leads = item(team, assignee=world.lead_a)
    nobodys = item(team)

    assert ids(world.agent_a, team, "assignee=me") == [mine.pk]
    assert ids(world.agent_a, team, "mine=1") == [mine.pk]
    assert ids(world.lead_a, team, "assignee=me") == [leads.pk]
    assert ids(world.agent_a, team, "unassigned=true") == [nobodys.pk]
    assert sorted(ids(world.agent_a, team, "assignee=me&assignee=none")) == sorted(
        [mine.pk, nobodys.pk]
    )
    assert ids(world.agent_a, team, f"assignee={world.lead_a.pk}") == [leads.pk]


def test_tags_by_id_or_name_any_of_them(world):
    team = world.team_a
    billing, bugs = TagFactory(team=team, name="Billing"), TagFactory(team=team, name="Bugs")
    a, b, _ = item(team), item(team), item(team)
    a.tags.add(billing)
    b.tags.add(billing, bugs)

    assert sorted(ids(world.agent_a, team, f"tag={billing.pk}")) == sorted([a.pk, b.pk])
    assert ids(world.agent_a, team, "tag=bugs") == [b.pk]
    # Any of them, each item once.
    assert sorted(ids(world.agent_a, team, f"tag={billing.pk}&tag={bugs.pk}")) == sorted(
        [a.pk, b.pk]
    )


def test_channel_by_id_or_kind_and_api_for_none(world):
    team = world.team_a
    mailbox = ChannelFactory(team=team, kind="imap")
    widget = ChannelFactory(team=team, kind="widget")
    by_mail, by_widget, pushed = item(team, channel=mailbox), item(team, channel=widget), item(team)

    assert ids(world.agent_a, team, f"channel={mailbox.pk}") == [by_mail.pk]
    assert ids(world.agent_a, team, "channel=widget") == [by_widget.pk]
    assert sorted(ids(world.agent_a, team, "channel_kind=api&channel=imap")) == sorted(
        [pushed.pk, by_mail.pk]
    )


def test_customer_and_account(world):
    team = world.team_a
    account = AccountFactory()
    customer = CustomerFactory(account=account)
    other = CustomerFactory(account=account)
    a, b, _ = item(team, customer=customer), item(team, customer=other), item(team)

    assert ids(world.agent_a, team, f"customer={customer.pk}") == [a.pk]
    assert sorted(ids(world.agent_a, team, f"account={account.pk}")) == sorted([a.pk, b.pk])


def test_dates_are_inclusive_days_in_the_users_time_zone(world):
    team, user = world.team_a, world.agent_a
    UserProfile.objects.update_or_create(user=user, defaults={"time_zone": "Asia/Tokyo"})
    user = type(user).objects.get(pk=user.pk)
    # 23:30 UTC on the 1st is 08:30 on the 2nd in Tokyo.
    late = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    second = item(team, first_message_at=late, last_message_at=late)
    first = item(
        team,
        first_message_at=late - timedelta(hours=10),
        last_message_at=late - timedelta(hours=10),
    )

    assert ids(user, team, "from=2026-03-02&to=2026-03-02") == [second.pk]
    assert ids(user, team, "to=2026-03-01") == [first.pk]


def test_snoozed_items_wait_until_their_time_unless_asked_for(world):
    team = world.team_a
    sleeping = item(team, snoozed_until=NOW + timedelta(hours=1))
    woken = item(team, snoozed_until=NOW - timedelta(minutes=1))
    awake = item(team)

    assert sorted(ids(world.agent_a, team)) == sorted([woken.pk, awake.pk])
    assert ids(world.agent_a, team, "snoozed=only") == [sleeping.pk]
    assert len(ids(world.agent_a, team, "snoozed=include")) == 3


def test_another_teams_items_are_never_listed(world):
    item(world.team_b)
    mine = item(world.team_a)

    assert ids(world.agent_a, None) == [mine.pk]
    assert ids(world.member_b, world.team_a) == []


# Refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("status=closed", "status", "closed"),
        ("priority=meh", "priority", "meh"),
        ("sentiment=furious", "sentiment", "furious"),
        ("tier=gold", "tier", "gold"),
        ("channel=fax", "channel", "fax"),
        ("assignee=someone", "assignee", "someone"),
        ("customer=x1", "customer", "x1"),
        ("from=03/01/2026", "from", "03/01/2026"),
        ("to=2026-02-30", "to", "2026-02-30"),
        ("snoozed=forever", "snoozed", "forever"),
        ("ordering=subject", "ordering", "subject"),
        ("mine=perhaps", "mine", "perhaps"),
    ],
)
def test_a_bad_value_is_refused_naming_it_under_its_parameter(world, text, field, value):
    with pytest.raises(ValidationError) as refused:
        query(world.agent_a, world.team_a, text)

    assert list(refused.value.message_dict) == [field]
    assert value in refused.value.message_dict[field][0]


def test_a_tag_or_assignee_of_another_team_is_refused(world):
    foreign = TagFactory(team=world.team_b)

    with pytest.raises(ValidationError) as refused:
        query(world.agent_a, world.team_a, f"tag={foreign.pk}&assignee={world.member_b.pk}")

    assert refused.value.message_dict == {
        "assignee": [NO_SUCH_ASSIGNEE.format(value=str(world.member_b.pk), where="this team")],
        "tag": [NO_SUCH_TAG.format(value=str(foreign.pk), where="this team")],
    }


def test_an_assignee_that_is_no_id_says_what_may_be_given(world):
    with pytest.raises(ValidationError) as refused:
        query(world.agent_a, world.team_a, "assignee=bob&assignee=-3")

    assert refused.value.message_dict == {
        "assignee": [NOT_AN_ASSIGNEE.format(value="bob"), NOT_AN_ASSIGNEE.format(value="-3")]
    }
    assert NOT_AN_ASSIGNEE.format(value="bob") == (
        "'bob' is not an assignee; give me, none or a member's id."
    )


def test_reversed_dates_blank_values_and_orders_say_what_to_do(world):
    with pytest.raises(ValidationError) as refused:
        query(world.agent_a, world.team_a, "from=2026-03-05&to=2026-03-01&status=&ordering=-x")

    assert refused.value.message_dict == {
        "to": [DATES_REVERSED.format(start=date(2026, 3, 5), to=date(2026, 3, 1))],
        "status": [VALUE_MISSING],
        "ordering": [UNKNOWN_ORDERING.format(value="-x", choices=", ".join(ordering.ORDERINGS))],
    }
    assert NOT_A_DATE.format(value="x") == "'x' is not a date; write it as YYYY-MM-DD."
    # A page's form sends "any" as an empty value: that is no filter there.
    assert query(world.agent_a, world.team_a, "status=", ignore_blank=True).statuses == ()


def test_dates_whose_day_cannot_be_computed_are_refused_not_failed(world):
    # The day after 9999-12-31 does not exist; 0001-01-01 starts before Python's first instant
    # east of UTC. Both once raised OverflowError (a 500) in the query.
    with pytest.raises(ValidationError) as refused:
        query(world.agent_a, world.team_a, "from=0001-01-01&to=9999-12-31")

    assert refused.value.message_dict == {
        "from": [DATE_OUT_OF_RANGE.format(value="0001-01-01")],
        "to": [DATE_OUT_OF_RANGE.format(value="9999-12-31")],
    }
    assert DATE_OUT_OF_RANGE.format(value="9999-12-31") == (
        "'9999-12-31' is out of range: give a date from 1900-01-01 to 9998-12-31."
    )
    edges = query(world.agent_a, world.team_a, "from=1900-01-01&to=9998-12-31")
    assert list(selectors.inbox_items(user=world.agent_a, team=world.team_a, query=edges)) == []


def test_to_params_keeps_me_and_round_trips(world):
    tag = TagFactory(team=world.team_a)
    asked = query(
        world.agent_a,
        world.team_a,
        f"status=open&assignee=me&tag={tag.pk}&channel=widget&from=2026-03-01&q=refund"
        "&ordering=sla_due&snoozed=include",
    )

    params = asked.to_params()

    assert params["assignee"] == ["me"]
    assert inbox_query_from_params(params, user=world.lead_a, team=world.team_a) == asked


# Search --------------------------------------------------------------------------------------


def searchable(team, subject: str, text: str) -> FeedbackItem:
    found = item(team, subject=subject)
    MessageFactory(item=found, text=text)
    item_search_document_refresh([found.pk])
    return found


def test_search_finds_subjects_and_message_texts_every_word(world):
    team = world.team_a
    invoice = searchable(team, "Invoice question", "Where is my invoice for March?")
    login = searchable(team, "Cannot log in", "The password reset mail never arrives.")

    assert ids(world.agent_a, team, "q=invoice") == [invoice.pk]
    assert ids(world.agent_a, team, "search=password+mail") == [login.pk]
    assert ids(world.agent_a, team, "q=invoice+password") == []
    assert ids(world.agent_a, team, "q=mail+-password") == []


def test_search_finds_word_forms(world):
    team = world.team_a
    found = searchable(team, "Billing", "I was charged twice for the invoice.")

    assert ids(world.agent_a, team, "q=invoices") == [found.pk]


@on_postgresql
def test_postgresql_search_finds_stems_both_ways_and_phrases(world):
    team = world.team_a
    found = searchable(team, "Billing", "Both invoices were charged twice.")
    searchable(team, "Other", "Charged once, twice the invoice amount.")

    assert ids(world.agent_a, team, "q=invoice") != []
    assert found.pk in ids(world.agent_a, team, "q=charging")
    assert ids(world.agent_a, team, 'q="invoices were charged"') == [found.pk]


def test_a_search_too_long_is_refused(world):
    with pytest.raises(ValidationError) as refused:
        query(world.agent_a, world.team_a, "q=" + "+".join(["word"] * 11))

    assert list(refused.value.message_dict) == ["q"]


def test_reindex_command_fills_documents_of_existing_items(world):
    old = item(world.team_a, subject="Refund please")
    MessageFactory(item=old, text="The refund never came.")
    FeedbackItem.objects.filter(pk=old.pk).update(search_document="")
    out = StringIO()

    call_command("inbox_reindex", stdout=out)

    assert "never came" in FeedbackItem.objects.get(pk=old.pk).search_document
    assert "1 item" in out.getvalue()


# Orders and pages ----------------------------------------------------------------------------


def test_default_order_is_escalated_then_urgent_high_normal_then_latest_activity(world):
    team = world.team_a
    normal_new = item(team, last_message_at=SENT + timedelta(hours=5))
    normal_old = item(team)
    high = item(team, priority=ItemPriority.HIGH)
    urgent = item(team, priority=ItemPriority.URGENT)
    escalated = item(team, escalated_at=SENT)

    assert ids(world.agent_a, team) == [
        escalated.pk,
        urgent.pk,
        high.pk,
        normal_new.pk,
        normal_old.pk,
    ]
    assert ids(world.agent_a, team, "ordering=-priority")[0] == normal_old.pk


def test_sla_due_order_puts_the_soonest_first_and_items_without_last(world):
    team = world.team_a
    later = item(team, resolution_due_at=SENT + timedelta(hours=8))
    answered = item(
        team,
        first_response_due_at=SENT + timedelta(hours=1),
        first_responded_at=SENT,
        resolution_due_at=SENT + timedelta(hours=9),
    )
    soon = item(team, first_response_due_at=SENT + timedelta(hours=2))
    none = item(team)

    assert ids(world.agent_a, team, "ordering=sla_due") == [soon.pk, later.pk, answered.pk, none.pk]


def mixed_items(team, count: int) -> list[FeedbackItem]:
    """Items that tie in every term but the id, in groups: priorities, escalations, times."""
    priorities = [ItemPriority.NORMAL, ItemPriority.HIGH, ItemPriority.URGENT]
    return [
        item(
            team,
            priority=priorities[n % 3],
            escalated_at=SENT if n % 7 == 0 else None,
            last_message_at=SENT + timedelta(hours=n // 4),
            resolution_due_at=SENT + timedelta(hours=n // 5) if n % 2 else None,
        )
        for n in range(count)
    ]


@pytest.mark.parametrize("order", ["priority", "-priority", "-last_message_at", "sla_due"])
def test_keyset_pages_walk_every_item_once_in_order_both_ways(world, order):
    team = world.team_a
    mixed_items(team, 23)
    asked = query(world.agent_a, team, f"ordering={order}")
    everything = [i.pk for i in selectors.inbox_items(user=world.agent_a, team=team, query=asked)]

    forward, cursor = [], None
    while True:
        page = selectors.inbox_page(
            user=world.agent_a, team=team, query=asked, cursor=cursor, size=4
        )
        forward.append([i.pk for i in page.items])
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    backward, cursor = [], page.previous_cursor
    while cursor:
        page = selectors.inbox_page(
            user=world.agent_a, team=team, query=asked, cursor=cursor, size=4
        )
        backward.append([i.pk for i in page.items])
        cursor = page.previous_cursor

    assert [pk for rows in forward for pk in rows] == everything
    assert len(everything) == 23
    assert backward == forward[-2::-1]


def test_a_cursor_of_another_order_or_no_cursor_of_ours_is_refused(world):
    mixed_items(world.team_a, 3)
    asked = query(world.agent_a, world.team_a)
    first = selectors.inbox_page(
        user=world.agent_a, team=world.team_a, query=asked, cursor=None, size=1
    )
    other = query(world.agent_a, world.team_a, "ordering=created_at")

    for cursor in (first.next_cursor, "nonsense", "é"):
        with pytest.raises(CursorInvalid):
            selectors.inbox_page(
                user=world.agent_a, team=world.team_a, query=other, cursor=cursor, size=1
            )


# Counts and export ---------------------------------------------------------------------------


def test_counts_per_status_follow_every_filter_but_status(world):
    team = world.team_a
    item(team, status=ItemStatus.OPEN, priority=ItemPriority.URGENT)
    item(team, status=ItemStatus.OPEN, priority=ItemPriority.URGENT)
    item(team, status=ItemStatus.NEW, priority=ItemPriority.URGENT)
    item(team, status=ItemStatus.NEW)
    item(world.team_b, status=ItemStatus.OPEN, priority=ItemPriority.URGENT)
    asked = query(world.agent_a, team, "status=new&priority=urgent")

    with CaptureQueriesContext(connection) as queries:
        counts = selectors.inbox_counts(user=world.agent_a, team=team, query=asked)

    assert counts == {"new": 1, "open": 2, "waiting": 0, "resolved": 0, "spam": 0}
    assert len(queries) == 1


def test_export_rows_are_the_whole_view_in_order_in_the_users_zone(world):
    team = world.team_a
    UserProfile.objects.update_or_create(
        user=world.agent_a, defaults={"time_zone": "Europe/Berlin"}
    )
    user = type(world.agent_a).objects.get(pk=world.agent_a.pk)
    tag = TagFactory(team=team, name="vip")
    urgent = item(team, priority=ItemPriority.URGENT, subject="=cmd()", assignee=user)
    urgent.tags.add(tag)
    item(team)
    item(team, status=ItemStatus.SPAM)

    rows = list(
        selectors.inbox_export_rows(
            user=user, team=team, query=query(user, team, "status=new"), now=NOW
        )
    )

    header, first = rows[0], rows[1]
    assert len(rows) == 3
    assert first[header.index("id")] == urgent.pk
    assert first[header.index("tags")] == "vip"
    assert first[header.index("assignee")] == user.get_username()
    assert first[header.index("first_message_at")] == "2026-03-03T10:30:00+01:00"


# Agreement and plans -------------------------------------------------------------------------


def test_the_rank_expressions_name_the_models_priorities():
    assert (ordering.URGENT, ordering.HIGH) == (ItemPriority.URGENT, ItemPriority.HIGH)


@on_postgresql
def test_deep_pages_and_search_read_the_inbox_indexes(world):
    team = world.team_a
    mixed_items(team, 12)
    for found in FeedbackItem.objects.filter(team=team):
        FeedbackItem.objects.filter(pk=found.pk).update(search_document=f"invoice {found.pk}")
    asked = query(world.superuser, team)
    first = selectors.inbox_page(user=world.superuser, team=team, query=asked, cursor=None, size=3)
    items = selectors.inbox_items(user=world.superuser, team=team, query=asked)
    keyset = Keyset(items)
    _, values = keyset.cursor(first.next_cursor)
    deep = items.filter(keyset._beyond(values, backwards=False))[:3]
    # The search alone: with the team's filter the planner may read the team's index instead.
    searched = search_filter(FeedbackItem.objects.all(), "invoices")
    with connection.cursor() as cursor:
        # A few rows make a sequential scan cheapest; the question is which index serves.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
    deep_plan = deep.explain()
    # A member of one team listing without naming it (the API): still a range of the index.
    api_plan = selectors.inbox_items(user=world.agent_a, team=None, query=asked)[:3].explain()
    search_plan = searched.explain()

    assert "item_inbox_priority_idx" in deep_plan
    assert "ROW(" in deep_plan.split("item_inbox_priority_idx")[1].split("\n")[1]
    assert "item_search_gin_idx" in search_plan
    assert "item_inbox_priority_idx" in api_plan


def test_members_of_the_team_only_may_be_assignees_even_across_teams(world):
    outsider = UserFactory()
    MembershipFactory(user=outsider, team=world.team_b, role=Role.AGENT)

    with pytest.raises(ValidationError):
        query(world.agent_a, None, f"assignee={outsider.pk}")
    assert query(world.superuser, None, f"assignee={outsider.pk}").assignee_ids == (outsider.pk,)


def test_nul_and_too_many_values_are_refused_before_any_query(world):
    many = "&".join(f"tag={n}" for n in range(1, MAX_VALUES + 2))

    with pytest.raises(ValidationError) as refused:
        query(
            world.agent_a, world.team_a, f"tag=a%00b&channel=x%00&{many.replace('tag', 'status')}"
        )
    with pytest.raises(ValidationError) as too_many:
        query(world.agent_a, world.team_a, many)

    assert refused.value.message_dict == {
        "tag": [NUL_CHARACTER],
        "channel": [NUL_CHARACTER],
        "status": [TOO_MANY_VALUES],
    }
    assert too_many.value.message_dict == {"tag": [TOO_MANY_VALUES]}


def test_an_address_in_a_search_finds_the_customers_items(world):
    team = world.team_a
    omar = CustomerFactory(email="omar@haddad.example")
    his = searchable(team, "Refund", "Please refund me.")
    FeedbackItem.objects.filter(pk=his.pk).update(customer=omar)
    searchable(team, "Refund", "Please refund me too.")

    assert ids(world.agent_a, team, "q=Omar@Haddad.example") == [his.pk]
    assert ids(world.agent_a, team, "q=omar@haddad.example+refunds") == [his.pk]
    assert ids(world.agent_a, team, "q=omar@haddad.example+password") == []


def test_reindex_command_takes_one_team_and_refuses_an_unknown_one(world):
    ours, theirs = item(world.team_a, subject="Ours"), item(world.team_b, subject="Theirs")
    FeedbackItem.objects.update(search_document="")

    call_command("inbox_reindex", team=world.team_a.slug, stdout=StringIO())
    with pytest.raises(CommandError, match="nowhere"):
        call_command("inbox_reindex", team="nowhere", stdout=StringIO())

    documents = dict(FeedbackItem.objects.values_list("pk", "search_document"))
    assert (documents[ours.pk], documents[theirs.pk]) == ("Ours", "")
