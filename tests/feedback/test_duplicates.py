"""Likely duplicates: a constructed set of cross-channel pairs and non-pairs with the flags each
should get, on the database the suite runs on (pg_trgm on PostgreSQL, rapidfuzz on SQLite);
the check queued after a new item's commit, safe to run twice; dismissing a pair; and, on
PostgreSQL, the candidate look-up's plan using ``item_customer_idx``."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from feedback import tasks
from feedback.models import FeedbackItem, LikelyDuplicate
from feedback.services import ItemRow, customer_items_move, duplicates, items_import_rows
from feedback.services.duplicates import (
    DUPLICATE_ALREADY_DISMISSED,
    candidates,
    item_duplicates_find,
    likely_duplicate_dismiss,
    text_similarity,
)
from feedback.services.items import item_ingest
from portal.actors import SYSTEM
from portal.models import AuditEntry
from portal.services import customers_merge
from tests.conftest import require_service
from tests.factories import CustomerFactory
from tests.feedback.factories import ChannelFactory, FeedbackItemFactory, MessageFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

CSV_MAIL = (
    "Export to CSV fails",
    "When I export the report to CSV the download stops at 50% with a timeout error.",
)
# The same request told again in other words, as a forum post.
CSV_POST = (
    "CSV export broken",
    "Exporting the report to CSV stops at 50 percent with a timeout error every time.",
)
# The same words with a typo and punctuation, as a toot (no subject).
CSV_TOOT = (
    "",
    "Export to CSV fails: when I export the report to CSV the download stops at 50% with a "
    "timeout error!!",
)
DARK_MODE = ("Dark mode please", "Would be nice to have a dark mode for the dashboard at night.")
INVOICE = ("Invoice question", "Can you send me a copy of the March invoice?")


def item_with(team, customer, channel, text: tuple[str, str], at: datetime) -> FeedbackItem:
    subject, body = text
    item = FeedbackItemFactory(
        team=team,
        customer=customer,
        channel=channel,
        subject=subject,
        first_message_at=at,
        last_message_at=at,
    )
    MessageFactory(item=item, channel=channel, subject=subject, text=body, sent_at=at)
    return item


def pairs() -> set[tuple[int, int]]:
    return set(LikelyDuplicate.objects.values_list("item_id", "other_id"))


@pytest.fixture
def setting(world):
    team = world.team_a
    return {
        "team": team,
        "customer": CustomerFactory(),
        "mail": ChannelFactory(team=team, kind="imap"),
        "forum": ChannelFactory(team=team, kind="discourse"),
        "social": ChannelFactory(team=team, kind="mastodon"),
    }


def test_the_portable_score_ignores_case_punctuation_and_word_order():
    assert text_similarity("Export fails, CSV!", "csv export FAILS") == 1.0
    assert text_similarity("thanks", "thanks, but the export to CSV still fails") < 0.5


def test_the_same_customer_repeating_a_request_in_another_channel_is_flagged_on_both(setting):
    s = setting
    mail = item_with(s["team"], s["customer"], s["mail"], CSV_MAIL, T0)
    post = item_with(s["team"], s["customer"], s["forum"], CSV_POST, T0 + timedelta(hours=5))

    found = item_duplicates_find(item_id=post.pk)

    assert [(pair.item_id, pair.other_id) for pair in found] == [(mail.pk, post.pk)]
    assert 0.5 <= found[0].score <= 1
    assert found[0].team_id == s["team"].pk


def test_the_constructed_pairs_and_non_pairs_get_their_expected_flags(setting, world):
    s = setting
    team, customer = s["team"], s["customer"]
    mail = item_with(team, customer, s["mail"], CSV_MAIL, T0)
    cases = {
        # label: (item, flagged with ``mail``)
        "rephrased in the forum": (
            item_with(team, customer, s["forum"], CSV_POST, T0 + timedelta(hours=2)),
            True,
        ),
        "repeated on Mastodon": (
            item_with(team, customer, s["social"], CSV_TOOT, T0 + timedelta(hours=70)),
            True,
        ),
        "pushed through the API the day before": (
            item_with(team, customer, None, CSV_MAIL, T0 - timedelta(hours=20)),
            True,
        ),
        "another customer": (
            item_with(team, CustomerFactory(), s["forum"], CSV_MAIL, T0 + timedelta(hours=1)),
            False,
        ),
        "no customer": (item_with(team, None, s["forum"], CSV_MAIL, T0), False),
        "the same channel": (
            item_with(team, customer, s["mail"], CSV_MAIL, T0 + timedelta(hours=1)),
            False,
        ),
        "outside the window": (
            item_with(team, customer, s["forum"], CSV_POST, T0 + timedelta(hours=73)),
            False,
        ),
        "something else": (
            item_with(team, customer, s["forum"], DARK_MODE, T0 + timedelta(hours=1)),
            False,
        ),
        "another thing again": (
            item_with(team, customer, s["social"], INVOICE, T0 + timedelta(hours=1)),
            False,
        ),
        "another team": (
            item_with(
                world.team_b,
                customer,
                ChannelFactory(team=world.team_b),
                CSV_MAIL,
                T0 + timedelta(hours=1),
            ),
            False,
        ),
    }

    item_duplicates_find(item_id=mail.pk)

    flagged = {
        label for label, (item, _) in cases.items() if tuple(sorted((mail.pk, item.pk))) in pairs()
    }
    assert flagged == {label for label, (_, expected) in cases.items() if expected}
    assert LikelyDuplicate.objects.filter(team=team).count() == len(flagged)
    assert LikelyDuplicate.objects.exclude(team=team).count() == 0


def test_two_api_pushes_count_as_one_channel(setting):
    s = setting
    first = item_with(s["team"], s["customer"], None, CSV_MAIL, T0)
    second = item_with(s["team"], s["customer"], None, CSV_MAIL, T0 + timedelta(hours=1))

    assert item_duplicates_find(item_id=second.pk) == []
    assert first.pk not in pairs()


def test_a_check_run_twice_stores_each_pair_once_and_keeps_a_dismissal(setting, world):
    s = setting
    mail = item_with(s["team"], s["customer"], s["mail"], CSV_MAIL, T0)
    post = item_with(s["team"], s["customer"], s["forum"], CSV_POST, T0 + timedelta(hours=1))
    item_duplicates_find(item_id=post.pk)
    pair = LikelyDuplicate.objects.get()
    likely_duplicate_dismiss(actor=world.agent_a, pair=pair)

    item_duplicates_find(item_id=post.pk)
    item_duplicates_find(item_id=mail.pk)

    again = LikelyDuplicate.objects.get()
    assert (again.pk, again.score) == (pair.pk, pair.score)
    assert again.dismissed_at is not None
    assert again.dismissed_by == world.agent_a


def test_an_item_gone_or_without_text_finds_nothing(setting):
    s = setting
    item_with(s["team"], s["customer"], s["mail"], CSV_MAIL, T0)
    empty = FeedbackItemFactory(
        team=s["team"], customer=s["customer"], channel=s["forum"], first_message_at=T0
    )

    assert item_duplicates_find(item_id=empty.pk) == []
    assert item_duplicates_find(item_id=10**9) == []
    assert pairs() == set()


def test_a_new_item_is_checked_after_its_commit(setting, world, django_capture_on_commit_callbacks):
    s = setting
    s["customer"].email = "omar@haddad.example"
    s["customer"].save()
    mail = item_with(s["team"], s["customer"], s["mail"], CSV_MAIL, T0)

    with django_capture_on_commit_callbacks(execute=True):
        pushed, _ = item_ingest(
            actor=world.agent_a,
            team=s["team"],
            customer_email="omar@haddad.example",
            subject=CSV_POST[0],
            text=CSV_POST[1],
            received_at=T0 + timedelta(hours=3),
            now=T0 + timedelta(hours=4),
        )

    assert pushed.customer_id == s["customer"].pk
    assert pairs() == {(mail.pk, pushed.pk)}


def test_an_import_checks_its_items_a_task_per_chunk_not_one_each(
    setting, world, django_capture_on_commit_callbacks, monkeypatch
):
    s = setting
    s["customer"].email = "omar@haddad.example"
    s["customer"].save()
    mail = item_with(s["team"], s["customer"], s["mail"], CSV_MAIL, T0)
    monkeypatch.setattr(duplicates, "DUPLICATE_CHUNK", 2)
    batches = []
    batch_task = tasks.find_likely_duplicates_of_items
    monkeypatch.setattr(
        batch_task, "delay", lambda ids: batches.append(ids) or batch_task(list(ids))
    )
    rows = [
        ItemRow(line=n + 2, team=s["team"], customer_email="omar@haddad.example", subject=subject,
                text=text, received_at=T0 + timedelta(hours=n + 1))
        for n, (subject, text) in enumerate([DARK_MODE, CSV_POST, INVOICE])
    ]  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        result = items_import_rows(actor=world.agent_a, rows=rows, now=T0 + timedelta(hours=5))

    assert result.created == 3
    imported = sorted(FeedbackItem.objects.exclude(pk=mail.pk).values_list("pk", flat=True))
    assert batches == [imported[:2], imported[2:]]
    csv_post = FeedbackItem.objects.get(subject=CSV_POST[0])
    assert pairs() == {(mail.pk, csv_post.pk)}


def test_a_merge_checks_the_moved_items_against_the_customers_own(
    setting, world, django_capture_on_commit_callbacks
):
    s = setting
    known = s["customer"]
    by_handle = CustomerFactory(email="")
    mail = item_with(s["team"], known, s["mail"], CSV_MAIL, T0)
    post = item_with(s["team"], by_handle, s["forum"], CSV_POST, T0 + timedelta(hours=2))
    # Two people until the merge: nothing to compare.
    assert item_duplicates_find(item_id=post.pk) == []

    with django_capture_on_commit_callbacks(execute=True):
        customers_merge(actor=SYSTEM, source=by_handle, target=known)

    post.refresh_from_db()
    assert post.customer_id == known.pk
    assert pairs() == {(mail.pk, post.pk)}
    # Moved again (the event handled twice): nothing moves, nothing is stored twice.
    with django_capture_on_commit_callbacks(execute=True):
        assert customer_items_move(source_id=by_handle.pk, target_id=known.pk) == 0
    assert LikelyDuplicate.objects.count() == 1


def test_dismissing_is_for_agents_of_the_team_audited_and_once(setting, world):
    s = setting
    item_with(s["team"], s["customer"], s["mail"], CSV_MAIL, T0)
    post = item_with(s["team"], s["customer"], s["forum"], CSV_POST, T0)
    [pair] = item_duplicates_find(item_id=post.pk)

    for refused in (world.viewer_a, world.member_b):
        with pytest.raises(PermissionDenied):
            likely_duplicate_dismiss(actor=refused, pair=pair)
    likely_duplicate_dismiss(actor=world.agent_a, pair=pair)
    with pytest.raises(ValidationError) as refused_twice:
        likely_duplicate_dismiss(actor=SYSTEM, pair=pair)

    assert refused_twice.value.messages == [DUPLICATE_ALREADY_DISMISSED]
    entry = AuditEntry.objects.get(action="likely_duplicate.dismissed")
    assert (entry.actor, entry.team, entry.target_id) == (world.agent_a, s["team"], pair.pk)


def test_on_postgresql_the_candidate_look_up_uses_the_customer_index(setting):
    require_service(
        connection.vendor == "postgresql", "this test runs on PostgreSQL: set DATABASE_URL"
    )
    s = setting
    customers = [CustomerFactory() for _ in range(50)]
    FeedbackItem.objects.bulk_create(
        FeedbackItem(
            team=s["team"],
            customer=customers[n % len(customers)],
            channel=s["mail"],
            first_message_at=T0 + timedelta(minutes=n),
            last_message_at=T0 + timedelta(minutes=n),
        )
        for n in range(5000)
    )
    item = item_with(s["team"], s["customer"], s["forum"], CSV_POST, T0)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE feedback_feedbackitem")

    plan = candidates(item, window=timedelta(hours=72)).explain()

    assert "item_customer_idx" in plan
    assert "Seq Scan on feedback_feedbackitem" not in plan
