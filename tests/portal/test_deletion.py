"""Deleting teams, value streams, accounts and customers, and erasing a customer
(portal/services/deletion.py): what goes with each, what refuses, who may, the audit entries and
the events."""

from typing import Any

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import ProtectedError

from portal import access, events, services
from portal.actors import SYSTEM
from portal.models import (
    Account,
    AccountDomain,
    AuditEntry,
    Customer,
    CustomerEmail,
    ImportJob,
    Membership,
    Role,
    Team,
    ValueStream,
)
from portal.services import DELETE_REFUSED, ERASED_EMAIL, ERASED_VALUE
from portal.services.deletion import DELETE_REFUSED_ADVICE
from tests.factories import AccountFactory, CustomerFactory, MembershipFactory, TeamFactory
from tests.feedback.factories import FeedbackItemFactory

pytestmark = pytest.mark.django_db


class Recorder:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, payload: dict[str, Any]) -> None:
        self.calls.append(payload)


@pytest.fixture
def listen():
    registered: list[tuple[str, Recorder]] = []

    def subscribe(name: str) -> Recorder:
        recorder = Recorder()
        events.register(name, recorder)
        registered.append((name, recorder))
        return recorder

    yield subscribe
    for name, recorder in registered:
        events.unregister(name, recorder)


def refusal(target: str, dependents: str) -> str:
    return DELETE_REFUSED.format(target=target, dependents=dependents, advice=DELETE_REFUSED_ADVICE)


def entries_for(model: type, pk: int) -> list[AuditEntry]:
    content_type = ContentType.objects.get_for_model(model)
    return list(AuditEntry.objects.filter(target_type=content_type, target_id=pk).order_by("pk"))


def account_with(domains: int, customers: int) -> Account:
    account = services.account_create(
        actor=SYSTEM, name="Acme", domains=[f"acme{n}.example" for n in range(domains)]
    )
    for n in range(customers):
        CustomerFactory(account=account, email=f"person{n}@acme.example")
    return account


# What goes with an object, and what refuses ------------------------------------------------


def test_the_plan_of_a_team_lists_its_memberships(world):
    plan = services.deletion_plan(world.team_a)

    assert plan.goes_with == ("4 memberships",)
    assert not plan.refused
    assert plan.refusal == ""


def test_the_plan_of_a_team_names_its_import_jobs_too(world):
    ImportJob.objects.create(kind="customers", actor=world.admin_a, team=world.team_a, file="x")

    assert services.deletion_plan(world.team_a).goes_with == ("1 import job", "4 memberships")


def test_the_plan_of_an_account_with_customers_refuses_naming_them(db):
    account = account_with(domains=5, customers=3)

    plan = services.deletion_plan(account)

    assert plan.refused
    assert plan.blocked_by == ("customers",)
    assert plan.refusal == refusal("Account Acme", "customers")


def test_the_plan_of_an_account_without_customers_lists_its_domains(db):
    plan = services.deletion_plan(account_with(domains=5, customers=0))

    assert plan.goes_with == ("5 domains",)


def test_the_plan_of_a_customer_lists_one_further_address_in_the_singular(db):
    customer = services.customer_create(
        actor=SYSTEM, email="ada@example.test", other_emails=["ada@home.example"]
    )

    assert services.deletion_plan(customer).goes_with == ("1 further address",)


def test_a_refusal_names_what_refuses_but_not_how_many(world):
    # The directory is the organisation's: the items that keep a customer belong to teams the
    # person asking may not be in, and how many is not theirs to know (outside QA report).
    customer = CustomerFactory(name="Mateo")
    FeedbackItemFactory(team=world.team_b, customer=customer)
    FeedbackItemFactory(team=world.team_b, customer=customer)

    plan = services.deletion_plan(customer)

    assert plan.blocked_by == ("feedback items",)
    assert "2" not in plan.refusal


def test_the_plan_of_a_value_stream_with_teams_refuses(world):
    stream = world.team_a.value_stream
    TeamFactory(value_stream=stream)

    plan = services.deletion_plan(stream)

    assert plan.blocked_by == ("teams",)
    assert plan.refusal == refusal(f"Value stream {stream}", "teams")


# Teams -------------------------------------------------------------------------------------


def test_deleting_a_team_deletes_its_memberships_and_keeps_its_members(
    world, listen, django_capture_on_commit_callbacks
):
    deleted = listen("portal.team_deleted")
    team_id = world.team_a.pk

    with django_capture_on_commit_callbacks(execute=True):
        services.team_delete(actor=world.superuser, team=world.team_a)

    assert not Team.objects.filter(pk=team_id).exists()
    assert not Membership.objects.filter(team_id=team_id).exists()
    assert Membership.objects.filter(team=world.team_b).count() == 1
    world.admin_a.refresh_from_db()
    assert deleted.calls == [{"team_id": team_id}]


def test_deleting_a_team_keeps_an_audit_entry_naming_its_members(world):
    team_id = world.team_a.pk

    services.team_delete(actor=world.superuser, team=world.team_a)

    entry = entries_for(Team, team_id)[-1]
    assert (entry.action, entry.actor, entry.target_label) == (
        "team.deleted",
        world.superuser,
        "Team A",
    )
    assert entry.team is None
    assert entry.changes["name"] == {"before": "Team A", "after": None}
    assert entry.changes["members"]["before"] == [
        "admin_a (admin)",
        "agent_a (agent)",
        "lead_a (lead)",
        "viewer_a (viewer)",
    ]


@pytest.mark.parametrize("persona", ["admin_a", "lead_a", "member_b"])
def test_only_a_superuser_deletes_a_team(world, persona):
    with pytest.raises(PermissionDenied, match=access.NEEDS_SUPERUSER):
        services.team_delete(actor=getattr(world, persona), team=world.team_a)

    assert Team.objects.filter(pk=world.team_a.pk).exists()


def test_the_system_actor_deletes_no_team(world):
    with pytest.raises(PermissionDenied):
        services.team_delete(actor=SYSTEM, team=world.team_a)


# Value streams -----------------------------------------------------------------------------


def test_deleting_a_value_stream_with_teams_is_refused_and_deletes_nothing(world):
    stream = world.team_a.value_stream

    with pytest.raises(ValidationError) as raised:
        services.value_stream_delete(actor=world.superuser, value_stream=stream)

    assert raised.value.messages == [refusal(f"Value stream {stream}", "teams")]
    assert ValueStream.objects.filter(pk=stream.pk).exists()
    assert not AuditEntry.objects.filter(action="value_stream.deleted").exists()


def test_deleting_an_empty_value_stream_deletes_it_with_an_audit_entry(world):
    stream = services.value_stream_create(actor=world.superuser, name="Retain")

    services.value_stream_delete(actor=world.superuser, value_stream=stream)

    assert not ValueStream.objects.filter(pk=stream.pk).exists()
    assert entries_for(ValueStream, stream.pk)[-1].action == "value_stream.deleted"


def test_only_a_superuser_deletes_a_value_stream(world):
    stream = services.value_stream_create(actor=world.superuser, name="Retain")

    with pytest.raises(PermissionDenied):
        services.value_stream_delete(actor=world.admin_a, value_stream=stream)


# Accounts ----------------------------------------------------------------------------------


def test_deleting_an_account_with_customers_is_refused_and_keeps_everything(world):
    account = account_with(domains=2, customers=3)

    with pytest.raises(ValidationError) as raised:
        services.account_delete(actor=world.agent_a, account=account)

    assert raised.value.messages == [refusal("Account Acme", "customers")]
    assert AccountDomain.objects.filter(account=account).count() == 2
    assert Customer.objects.filter(account=account).count() == 3


def test_deleting_an_account_deletes_its_domains_and_records_them(
    world, listen, django_capture_on_commit_callbacks
):
    deleted = listen("portal.account_deleted")
    account = account_with(domains=2, customers=0)
    account_id = account.pk

    with django_capture_on_commit_callbacks(execute=True):
        services.account_delete(actor=world.agent_a, account=account)

    assert not Account.objects.filter(pk=account_id).exists()
    assert not AccountDomain.objects.exists()
    entry = entries_for(Account, account_id)[-1]
    assert entry.action == "account.deleted"
    assert entry.changes["domains"] == {"before": ["acme0.example", "acme1.example"], "after": None}
    assert deleted.calls == [{"account_id": account_id}]


def test_a_viewer_deletes_no_account(world):
    account = AccountFactory()

    with pytest.raises(PermissionDenied, match=access.NEEDS_DIRECTORY_EDITOR):
        services.account_delete(actor=world.viewer_a, account=account)


def test_a_plain_delete_of_an_account_with_customers_is_refused_by_the_model(db):
    customer = CustomerFactory()

    with pytest.raises(ProtectedError):
        customer.account.delete()


# Customers ---------------------------------------------------------------------------------


def test_deleting_a_customer_deletes_their_further_addresses_and_keeps_the_account(
    world, listen, django_capture_on_commit_callbacks
):
    deleted = listen("portal.customer_deleted")
    customer = services.customer_create(
        actor=world.agent_a,
        email="ada@example.test",
        account=AccountFactory(),
        other_emails=["ada@home.example", "ada@work.example"],
    )
    customer_id, account_id = customer.pk, customer.account_id

    with django_capture_on_commit_callbacks(execute=True):
        services.customer_delete(actor=world.agent_a, customer=customer)

    assert not Customer.objects.filter(pk=customer_id).exists()
    assert not CustomerEmail.objects.exists()
    assert Account.objects.filter(pk=account_id).exists()
    entry = entries_for(Customer, customer_id)[-1]
    assert entry.action == "customer.deleted"
    assert entry.changes["email"] == {"before": "ada@example.test", "after": None}
    assert deleted.calls == [{"customer_id": customer_id}]


def test_a_viewer_deletes_no_customer(world):
    customer = CustomerFactory()

    with pytest.raises(PermissionDenied):
        services.customer_delete(actor=world.viewer_a, customer=customer)

    assert Customer.objects.filter(pk=customer.pk).exists()


# Erasure -----------------------------------------------------------------------------------


@pytest.fixture
def ada(world) -> Customer:
    customer = services.customer_create(
        actor=world.agent_a,
        email="ada@example.test",
        name="Ada Lovelace",
        account=AccountFactory(name="Analytical Engines"),
        tier="vip",
        attributes={"city": "London"},
        other_emails=["ada@home.example"],
        external_id="crm-1815",
    )
    services.customer_update(actor=world.agent_a, customer=customer, name="Ada King")
    return customer


def test_erasing_a_customer_removes_their_personal_data_and_keeps_the_row(world, ada):
    erased = services.customer_erase(actor=world.agent_a, customer=ada)

    erased.refresh_from_db()
    assert erased.name == ""
    assert erased.email == ERASED_EMAIL.format(id=ada.pk)
    assert erased.attributes == {}
    assert erased.external_id == ""
    assert erased.erased_at is not None
    assert not CustomerEmail.objects.filter(customer=erased).exists()
    assert (erased.tier, erased.account.name) == ("vip", "Analytical Engines")


def test_erasing_frees_the_customers_addresses_for_someone_new(world, ada):
    services.customer_erase(actor=world.agent_a, customer=ada)

    again = services.customer_create(
        actor=world.agent_a, email="ADA@example.test", other_emails=["ada@home.example"]
    )

    assert again.pk != ada.pk


def test_erasing_leaves_no_personal_data_in_the_customers_history(world, ada):
    services.customer_erase(actor=world.agent_a, customer=ada)

    history = entries_for(Customer, ada.pk)
    assert [entry.action for entry in history] == [
        "customer.created",
        "customer.updated",
        "customer.erased",
    ]
    text = repr([(entry.target_label, entry.changes) for entry in history])
    for personal in ("Ada", "ada@", "London", "crm-1815"):
        assert personal not in text
    assert history[1].changes["name"] == {"before": ERASED_VALUE, "after": ERASED_VALUE}
    assert history[0].changes["tier"] == {"before": None, "after": "vip"}
    last = history[-1]
    assert (last.actor, last.target_label) == (world.agent_a, ERASED_EMAIL.format(id=ada.pk))
    assert last.changes["email"] == {"before": ERASED_VALUE, "after": None}
    assert set(last.changes) == {"name", "email", "attributes", "external_id", "other_emails"}


def test_erasing_renames_the_customer_in_the_admins_log(world, ada):
    LogEntry.objects.log_actions(
        user_id=world.superuser.pk, queryset=[ada], action_flag=CHANGE, change_message="[]"
    )

    services.customer_erase(actor=world.agent_a, customer=ada)

    (entry,) = LogEntry.objects.filter(object_id=str(ada.pk))
    assert entry.object_repr == ERASED_EMAIL.format(id=ada.pk)


def test_erasing_emits_customer_erased_after_commit(
    world, ada, listen, django_capture_on_commit_callbacks
):
    erased = listen("portal.customer_erased")

    with django_capture_on_commit_callbacks(execute=True):
        services.customer_erase(actor=world.agent_a, customer=ada)

    assert erased.calls == [{"customer_id": ada.pk}]


def test_erasing_twice_tells_the_other_apps_again_and_keeps_the_first_time(
    world, ada, listen, django_capture_on_commit_callbacks
):
    erased = listen("portal.customer_erased")
    first = services.customer_erase(actor=world.agent_a, customer=ada).erased_at

    with django_capture_on_commit_callbacks(execute=True):
        again = services.customer_erase(actor=world.agent_a, customer=ada)

    assert again.erased_at == first
    assert erased.calls == [{"customer_id": ada.pk}]


def test_a_viewer_erases_no_customer(world, ada):
    with pytest.raises(PermissionDenied):
        services.customer_erase(actor=world.viewer_a, customer=ada)

    ada.refresh_from_db()
    assert ada.name == "Ada King"


def test_a_member_of_another_team_with_the_agent_role_may_erase(world, ada):
    MembershipFactory(team=world.team_b, user=world.viewer_a, role=Role.AGENT)

    services.customer_erase(actor=world.viewer_a, customer=ada)
