"""The CSV import of feedback (feedback/imports.py, feedback/services/bulk.py): rows become items
as item_ingest makes them, each bad row is reported on its line, the same file twice stores
nothing twice, and every row is scoped to a team its importer is an agent of."""

import io
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from feedback import imports as feedback_imports
from feedback import services
from feedback.models import FeedbackItem, Message, Tag, ThreadReason
from feedback.services import bulk
from feedback.services.merging import item_merge
from portal import access, events, imports
from portal.access import NEEDS_ROLE
from portal.models import AccountDomain, AuditEntry, Customer, ImportStatus, Role
from portal.services import EMAIL_INVALID
from tests.factories import AccountFactory, CustomerFactory, MembershipFactory, TeamFactory

HEADER = "team,customer_email,customer_name,subject,text,external_id,received_at,tags\n"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LONG_ADDRESS = "a" * 250 + "@example.com"


def upload(text: str, name: str = "feedback.csv") -> io.BytesIO:
    data = io.BytesIO(text.encode())
    data.name = name
    return data


def run_job(actor, text: str):
    job = imports.import_job_create(
        actor=actor, kind=feedback_imports.FEEDBACK_IMPORT_KIND, upload=upload(text)
    )
    assert imports.import_job_run(job_id=job.pk) == "done"
    job.refresh_from_db()
    return job


@pytest.fixture
def feedback_events():
    seen: list[tuple[str, dict]] = []
    names = ("feedback.item_created", "feedback.message_received")
    handlers = {name: (lambda payload, name=name: seen.append((name, payload))) for name in names}
    for name, handler in handlers.items():
        events.register(name, handler)
    yield seen
    for name, handler in handlers.items():
        events.unregister(name, handler)


def test_the_importer_is_registered_from_the_feedback_app_with_its_columns():
    importer = imports.importer_get("feedback")
    assert importer is feedback_imports.FEEDBACK_IMPORTER
    assert importer.required == ["team", "customer_email", "text"]
    assert importer.column_names == {
        "team",
        "customer_email",
        "text",
        "subject",
        "customer_name",
        "external_id",
        "received_at",
        "tags",
    }


def test_rows_become_items_with_their_first_message_customer_tags_and_events(
    world, feedback_events, django_capture_on_commit_callbacks
):
    account = AccountFactory(name="Acme")
    AccountDomain.objects.create(account=account, domain="acme.example")
    known = CustomerFactory(email="known@example.com", name="Known")
    text = HEADER + (
        "team-a,Ann@Acme.example,Ann  Smith,Slow  export,The export takes an hour.,"
        'T-1,2026-02-01T09:30:00Z,"billing; Late delivery"\n'
        f"{world.team_a.pk},known@example.com,Someone else,,Thanks!,,2026-02-02 10:00,\n"
        "team-a,bob@gmail.com,Bob,Hello,,,,billing\n"
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = run_job(world.agent_a, text)

    assert (job.status, job.created_count, job.updated_count, job.rejected_count) == (
        ImportStatus.DONE,
        3,
        0,
        0,
    )
    ann = FeedbackItem.objects.get(external_id="T-1")
    assert (ann.team, ann.subject, ann.status, ann.channel) == (
        world.team_a,
        "Slow export",
        "new",
        None,
    )
    assert ann.first_message_at == ann.last_message_at == datetime(2026, 2, 1, 9, 30, tzinfo=UTC)
    assert ann.customer.email == "ann@acme.example"
    assert ann.customer.account == account
    assert ann.customer.name == "Ann Smith"
    assert sorted(ann.tags.values_list("name", flat=True)) == ["Late delivery", "billing"]
    message = ann.messages.get()
    assert (message.sender, message.reply_to, message.sender_name) == (
        "ann@acme.example",
        "ann@acme.example",
        "Ann Smith",
    )
    assert (message.text, message.thread_reason) == ("The export takes an hour.", ThreadReason.NEW)
    assert message.identity_hash == services.items.push_identity(ann.pk, message.text)

    thanks = Message.objects.get(text="Thanks!")
    # A time without an offset is UTC; a known address keeps its customer and name.
    assert thanks.sent_at == datetime(2026, 2, 2, 10, 0, tzinfo=UTC)
    assert thanks.item.customer == known
    known.refresh_from_db()
    assert known.name == "Known"

    bob = FeedbackItem.objects.get(subject="Hello")
    assert bob.customer.account is None  # a free-mail address names no account
    # The team's tags are shared: "billing" was created once.
    assert Tag.objects.filter(team=world.team_a).count() == 2

    # New customers are created by the system, audited as customer_create audits them.
    created = AuditEntry.objects.filter(action="customer.created")
    assert sorted(created.values_list("target_id", flat=True)) == sorted(
        [ann.customer_id, bob.customer_id]
    )
    assert set(created.values_list("actor_label", flat=True)) == {AuditEntry.SYSTEM_LABEL}

    items = {item.pk: item for item in FeedbackItem.objects.all()}
    assert len(feedback_events) == 6
    for item in items.values():
        message = item.messages.get()
        announced = {"item_id": item.pk}
        assert ("feedback.item_created", announced) in feedback_events
        assert (
            "feedback.message_received",
            {"message_id": message.pk, "item_id": item.pk},
        ) in feedback_events


def test_an_imported_row_is_the_item_that_item_ingest_makes_of_it(world):
    values = {
        "customer_email": "Dora@Example.org",
        "customer_name": "  Dora   D ",
        "subject": "  A   subject ",
        "text": "  Some text  ",
        "received_at": datetime(2026, 2, 1, tzinfo=UTC),
        "tags": ("x", "X", "y"),
    }
    ingested, _ = services.item_ingest(
        actor=world.member_b, team=world.team_b, external_id="one", now=NOW, **values
    )
    result = services.items_import_rows(
        actor=world.agent_a,
        rows=[services.ItemRow(line=2, team=world.team_a, external_id="one", **values)],
        now=NOW,
    )
    assert (result.created, result.rejections) == (1, [])
    imported = FeedbackItem.objects.get(team=world.team_a)

    def shape(item: FeedbackItem) -> dict:
        message = item.messages.get()
        return {
            "subject": item.subject,
            "customer": item.customer_id,
            "status": item.status,
            "external_id": item.external_id,
            "times": (item.first_message_at, item.last_message_at),
            "tags": sorted(item.tags.values_list("name", flat=True)),
            "message": (
                message.direction,
                message.lane,
                message.sender,
                message.reply_to,
                message.sender_name,
                message.subject,
                message.text,
                message.sent_at,
                message.received_at,
                message.thread_reason,
                message.identity_hash == services.items.push_identity(item.pk, message.text),
            ),
        }

    assert shape(imported) == shape(ingested)


def test_each_bad_row_is_reported_on_its_line_and_the_good_rows_are_stored(world, settings):
    long_tag = "t" * 61
    text = HEADER + (
        "team-a,not-an-address,,Hi,text,,,\n"  # line 2
        "team-a,a@example.com,,,,,,\n"  # line 3: neither subject nor text
        "team-a,b@example.com,,Hi,text,,yesterday,\n"  # line 4
        f"team-a,c@example.com,,Hi,text,,,{long_tag}\n"  # line 5
        "team-a,d@example.com,,Hi,te\x00xt,,,\n"  # line 6
        "team-a,e@example.com,,Hi,text,,2999-01-01T00:00:00Z,\n"  # line 7
        ",f@example.com,,Hi,text,,,\n"  # line 8
        "team-a,g@example.com,,Fine,fine,,,\n"  # line 9
        "team-a,h@example.com,,Hi,text,,2026-13-01T00:00:00Z,\n"  # line 10
        f"team-a,{LONG_ADDRESS},,Hi,text,,,\n"  # line 11
    )
    job = run_job(world.agent_a, text)

    assert (job.created_count, job.rejected_count) == (1, 9)
    assert list(job.rejections.values_list("line", "reason")) == [
        (2, "customer_email: " + EMAIL_INVALID.format(email="not-an-address")),
        (3, "text: " + services.TEXT_REQUIRED),
        (4, "received_at: " + feedback_imports.RECEIVED_AT_INVALID.format(value="yesterday")),
        (5, "tags: " + services.TAG_TOO_LONG.format(limit=60)),
        (6, imports.ROW_HAS_NUL),
        (7, "received_at: " + services.RECEIVED_IN_FUTURE),
        (8, "team: " + feedback_imports.TEAM_REQUIRED),
        (
            10,
            "received_at: "
            + feedback_imports.RECEIVED_AT_INVALID.format(value="2026-13-01T00:00:00Z"),
        ),
        (11, "customer_email: " + services.ADDRESS_TOO_LONG.format(limit=254)),
    ]
    assert list(FeedbackItem.objects.values_list("subject", flat=True)) == ["Fine"]
    assert not Customer.objects.filter(email__in=["a@example.com", "c@example.com"]).exists()


def test_an_address_the_validator_passes_but_no_column_holds_is_refused_not_crashed(world):
    """Django's EmailValidator passes up to 320 characters; PostgreSQL refused more than 254
    with a DataError that crashed the push (and would have failed a whole import chunk)."""
    with pytest.raises(ValidationError) as raised:
        services.item_ingest(
            actor=world.agent_a, team=world.team_a, customer_email=LONG_ADDRESS, text="x"
        )
    assert raised.value.message_dict == {
        "customer_email": [services.ADDRESS_TOO_LONG.format(limit=254)]
    }


def test_the_same_file_twice_stores_nothing_twice(world):
    text = HEADER + (
        "team-a,ann@example.com,,Export,Slow export,T-1,,\n"
        "team-a,ann@example.com,,Export,Slow export,,2026-02-01T09:30:00Z,a\n"
        "team-a,bob@example.com,,,No subject here,,,\n"
        # The same feedback twice in one file is stored once as well.
        "team-a,Bob@Example.com,,,  No subject here ,,,\n"
        "team-a,bob@example.com,,,No subject here,T-2,,\n"
    )
    first = run_job(world.agent_a, text)
    assert (first.created_count, first.updated_count, first.rejected_count) == (4, 1, 0)
    stored = (FeedbackItem.objects.count(), Message.objects.count(), Customer.objects.count())

    second = run_job(world.agent_a, text)

    assert (second.created_count, second.updated_count, second.rejected_count) == (0, 5, 0)
    assert (FeedbackItem.objects.count(), Message.objects.count(), Customer.objects.count()) == (
        stored
    )
    assert stored[0] == 4


def test_a_row_of_an_item_merged_since_is_stored_already(world):
    text = HEADER + (
        "team-a,ann@example.com,,Export,Slow export,T-1,,\n"
        "team-a,ann@example.com,,Export,Still slow,T-2,,\n"
    )
    run_job(world.agent_a, text)
    item_merge(
        actor=world.agent_a,
        source=FeedbackItem.objects.get(external_id="T-1"),
        into=FeedbackItem.objects.get(external_id="T-2"),
    )

    again = run_job(world.agent_a, text)

    assert (again.created_count, again.updated_count) == (0, 2)
    assert list(FeedbackItem.objects.values_list("external_id", flat=True)) == ["T-2"]


def test_the_content_identity_is_per_team_and_includes_the_time(world):
    MembershipFactory(team=world.team_b, user=world.agent_a, role=Role.AGENT)
    text = HEADER + (
        "team-a,ann@example.com,,,Same text,,2026-02-01T09:30:00Z,\n"
        "team-b,ann@example.com,,,Same text,,2026-02-01T09:30:00Z,\n"
        "team-a,ann@example.com,,,Same text,,2026-02-01T09:31:00Z,\n"
        # The same instant written with another offset is the same row.
        "team-a,ann@example.com,,,Same text,,2026-02-01T10:30:00+01:00,\n"
    )
    job = run_job(world.agent_a, text)
    assert (job.created_count, job.updated_count) == (3, 1)


def test_an_agent_of_team_b_cannot_import_into_team_a(world):
    text = HEADER + (
        "team-a,ann@example.com,,Hi,by slug,,,\n"
        f"{world.team_a.pk},ann@example.com,,Hi,by id,,,\n"
        "team-b,ann@example.com,,Hi,own team,,,\n"
    )
    job = run_job(world.member_b, text)

    assert list(job.rejections.values_list("line", "reason")) == [
        (2, "team: " + feedback_imports.UNKNOWN_TEAM.format(team="team-a")),
        (3, "team: " + feedback_imports.UNKNOWN_TEAM.format(team=str(world.team_a.pk))),
    ]
    assert not FeedbackItem.objects.filter(team=world.team_a).exists()
    assert FeedbackItem.objects.get().team == world.team_b


def test_a_viewer_is_refused_the_import_and_a_viewer_row_its_team(world):
    with pytest.raises(PermissionDenied) as raised:
        imports.import_job_create(
            actor=world.viewer_a, kind="feedback", upload=upload(HEADER + "team-a,a@b.co,,,x,,,\n")
        )
    assert str(raised.value) == feedback_imports.NEEDS_AGENT

    # An agent elsewhere may import, but not into a team where they only view.
    team_c = TeamFactory(name="Team C", slug="team-c")
    MembershipFactory(team=team_c, user=world.viewer_a, role=Role.AGENT)
    access.forget_team_roles(world.viewer_a)
    job = run_job(world.viewer_a, HEADER + "team-a,a@b.co,,,x,,,\nteam-c,a@b.co,,,x,,,\n")
    assert list(job.rejections.values_list("line", "reason")) == [
        (2, NEEDS_ROLE.format(role="agent", team=world.team_a))
    ]
    assert FeedbackItem.objects.get().team == team_c


def test_a_superuser_imports_into_any_team(world):
    job = run_job(world.superuser, HEADER + "team-a,a@b.co,,,x,,,\nteam-b,a@b.co,,,x,,,\n")
    assert job.created_count == 2


def test_the_future_is_judged_by_the_injected_clock(world):
    row = services.ItemRow(
        line=2,
        team=world.team_a,
        customer_email="a@b.co",
        text="x",
        received_at=NOW + timedelta(seconds=1),
    )
    result = services.items_import_rows(actor=world.agent_a, rows=[row], now=NOW)
    assert result.rejections == [(2, "received_at: " + services.RECEIVED_IN_FUTURE)]
    result = services.items_import_rows(
        actor=world.agent_a, rows=[row], now=NOW + timedelta(seconds=1)
    )
    assert result.created == 1


@pytest.mark.parametrize("with_external_id", [True, False])
def test_a_row_stored_by_a_concurrent_writer_meanwhile_counts_as_stored(world, with_external_id):
    """The look-up misses a row another import stores just before our insert: the database's
    constraint refuses the batch, and row by row the clash means "already stored"."""
    row = services.ItemRow(
        line=2,
        team=world.team_a,
        customer_email="a@b.co",
        text="x",
        external_id="E-1" if with_external_id else "",
        received_at=NOW,
    )
    other = services.ItemRow(line=3, team=world.team_a, customer_email="c@d.co", text="new")
    assert services.items_import_rows(actor=world.agent_a, rows=[row], now=NOW).created == 1

    with mock.patch.object(bulk, "_stored_keys", side_effect=lambda checked: set()):
        result = services.items_import_rows(actor=world.agent_a, rows=[row, other], now=NOW)

    assert (result.created, result.updated, result.rejections) == (1, 1, [])
    assert FeedbackItem.objects.count() == 2


def test_a_large_file_runs_in_chunks_with_progress(world, settings):
    settings.PORTAL_IMPORT_CHUNK_ROWS = 7
    rows = "".join(f"team-a,c{n % 5}@example.com,,,Row {n},,,t{n % 3}\n" for n in range(30))
    job = run_job(world.agent_a, HEADER + rows)
    assert (job.rows_total, job.rows_processed, job.created_count) == (30, 30, 30)
    assert Customer.objects.count() == 5
    assert Tag.objects.count() == 3
