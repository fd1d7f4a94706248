"""The audit log: written by every service inside its transaction, shown per object to who may
see the object, searchable read-only in the admin; and the system actor."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from portal import access, selectors, services
from portal.actors import SYSTEM, SystemActor, is_system
from portal.models import AuditEntry, Customer, Membership, NorthStarMeasurement, Role, Team
from portal.services.audit import TARGET_UNSAVED, audit
from portal.templatetags.portal_audit import HISTORY_SHOWN
from tests.factories import AccountFactory, CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


def entries_for(target) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            target_type=ContentType.objects.get_for_model(target), target_id=target.pk
        ).order_by("pk")
    )


def last_entry() -> AuditEntry:
    return AuditEntry.objects.order_by("-pk").first()


# Teams, value streams, memberships ---------------------------------------------------------


def test_creating_a_team_records_who_and_its_fields(world):
    team = services.team_create(actor=world.superuser, name="Growth", mission="Grow.")
    (entry,) = entries_for(team)
    assert (entry.actor, entry.actor_label, entry.action) == (
        world.superuser,
        "root",
        "team.created",
    )
    assert entry.team == team
    assert entry.target_label == "Growth"
    assert entry.changes["name"] == {"before": None, "after": "Growth"}
    assert entry.changes["slug"] == {"before": None, "after": "growth"}
    assert "value_stream" not in entry.changes
    assert entry.created_at is not None


def test_updating_a_team_records_only_what_changed_before_and_after(world):
    team = world.team_a
    stream = team.value_stream
    services.team_update(
        actor=world.admin_a, team=team, name="Team Alpha", mission=team.mission, value_stream=None
    )
    (entry,) = entries_for(team)
    assert entry.action == "team.updated"
    assert entry.actor == world.admin_a
    assert entry.changes == {
        "name": {"before": "Team A", "after": "Team Alpha"},
        "value_stream": {"before": str(stream), "after": None},
    }


def test_saving_a_team_unchanged_records_nothing(world):
    team = world.team_a
    services.team_update(
        actor=world.admin_a,
        team=team,
        name=team.name,
        mission=team.mission,
        value_stream=team.value_stream,
    )
    assert entries_for(team) == []


def test_a_refused_write_records_nothing(world):
    with pytest.raises(ValidationError):
        services.team_update(actor=world.admin_a, team=world.team_a, name="Team B")
    with pytest.raises(PermissionDenied):
        services.team_update(actor=world.agent_a, team=world.team_a, name="Mine now")
    assert AuditEntry.objects.count() == 0


def test_value_stream_writes_are_recorded_organisation_wide(world):
    stream = services.value_stream_create(actor=world.superuser, name="Retention")
    services.value_stream_update(
        actor=world.superuser, value_stream=stream, name="Retention", description="Keep them."
    )
    created, updated = entries_for(stream)
    assert (created.action, created.team) == ("value_stream.created", None)
    assert updated.action == "value_stream.updated"
    assert updated.changes == {"description": {"before": "", "after": "Keep them."}}


def test_membership_writes_are_recorded_in_the_team(world):
    newcomer = UserFactory(username="newcomer")
    membership = services.membership_create(
        actor=world.admin_a, team=world.team_a, user=newcomer, role=Role.VIEWER
    )
    services.membership_update(actor=world.admin_a, membership=membership, role=Role.LEAD)
    membership_id = membership.pk
    services.membership_delete(actor=world.admin_a, membership=membership)
    created, updated, deleted = (
        AuditEntry.objects.filter(target_id=membership_id)
        .filter(target_type=ContentType.objects.get_for_model(Membership))
        .order_by("pk")
    )
    assert [e.action for e in (created, updated, deleted)] == [
        "membership.created",
        "membership.updated",
        "membership.deleted",
    ]
    assert {e.team for e in (created, updated, deleted)} == {world.team_a}
    assert created.changes == {
        "role": {"before": None, "after": "viewer"},
        "user": {"before": None, "after": "newcomer"},
    }
    assert updated.changes == {"role": {"before": "viewer", "after": "lead"}}
    assert deleted.changes == {
        "role": {"before": "lead", "after": None},
        "user": {"before": "newcomer", "after": None},
    }
    assert "newcomer" in deleted.target_label
    assert not Membership.objects.filter(pk=membership_id).exists()


def test_refusing_to_remove_the_last_admin_records_nothing(world):
    membership = world.team_a.memberships.get(user=world.admin_a)
    with pytest.raises(ValidationError):
        services.membership_delete(actor=world.admin_a, membership=membership)
    assert AuditEntry.objects.count() == 0


# The directory -----------------------------------------------------------------------------


def test_account_writes_record_fields_and_domains_before_and_after(world):
    account = services.account_create(
        actor=world.agent_a, name="Acme", domains=["acme.test"], mrr="250"
    )
    account = selectors.account_get(user=world.agent_a, pk=account.pk)
    services.account_update(
        actor=world.agent_a,
        account=account,
        domains=["acme.test", "acme.example"],
        mrr="250.00",
        plan="growth",
    )
    created, updated = entries_for(account)
    assert (created.action, created.team, created.actor_label) == (
        "account.created",
        None,
        "agent_a",
    )
    assert created.changes["name"] == {"before": None, "after": "Acme"}
    assert created.changes["mrr"] == {"before": None, "after": "250"}
    assert created.changes["domains"] == {"before": None, "after": ["acme.test"]}
    assert updated.action == "account.updated"
    # 250 and 250.00 are the same stored amount: no change.
    assert updated.changes == {
        "domains": {"before": ["acme.test"], "after": ["acme.example", "acme.test"]},
        "plan": {"before": "", "after": "growth"},
    }


def test_customer_writes_record_fields_and_further_addresses(world):
    account = AccountFactory(name="Globex")
    customer = services.customer_create(
        actor=world.agent_a, email="Ann@Globex.test", name="Ann", other_emails=["a@home.test"]
    )
    services.customer_update(
        actor=world.lead_a,
        customer=customer,
        account=account,
        tier="vip",
        other_emails=[],
        attributes={"seats": 3},
    )
    created, updated = entries_for(customer)
    assert created.action == "customer.created"
    assert created.changes["email"] == {"before": None, "after": "ann@globex.test"}
    assert created.changes["other_emails"] == {"before": None, "after": ["a@home.test"]}
    # A new customer's empty fields were not set: they are left out.
    assert "external_id" not in created.changes
    assert "attributes" not in created.changes
    assert updated.actor == world.lead_a
    assert updated.changes == {
        "account": {"before": None, "after": "Globex"},
        "attributes": {"before": {}, "after": {"seats": 3}},
        "other_emails": {"before": ["a@home.test"], "after": []},
        "tier": {"before": "standard", "after": "vip"},
    }


def test_a_csv_import_records_each_row_it_writes(world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from portal import imports

    upload = SimpleUploadedFile("a.csv", b"name,mrr\nInitech,10\nHooli,20\n")
    imports.accounts_import_csv(actor=world.agent_a, upload=upload)
    assert sorted(AuditEntry.objects.values_list("action", "target_label")) == [
        ("account.created", "Hooli"),
        ("account.created", "Initech"),
    ]


# The North Star ----------------------------------------------------------------------------


def test_north_star_writes_are_recorded(world):
    metric = services.north_star_set(actor=world.superuser, name="Weekly active teams")
    services.north_star_set(actor=world.superuser, name="Weekly active teams", unit="teams")
    measurement, _ = services.north_star_measurement_record(
        actor=world.lead_a, measured_on=date(2026, 1, 5), value="10"
    )
    services.north_star_measurement_record(
        actor=world.lead_a, measured_on=date(2026, 1, 5), value=Decimal("12.5"), note="Recount"
    )
    measurement_id = measurement.pk
    services.north_star_measurement_delete(actor=world.lead_a, measurement=measurement)

    created, updated = entries_for(metric)
    assert (created.action, updated.action) == ("north_star.created", "north_star.updated")
    assert updated.changes == {"unit": {"before": "", "after": "teams"}}
    recorded, rerecorded, deleted = AuditEntry.objects.filter(
        target_type=ContentType.objects.get_for_model(NorthStarMeasurement),
        target_id=measurement_id,
    ).order_by("pk")
    assert recorded.action == "north_star_measurement.created"
    assert recorded.changes["value"] == {"before": None, "after": "10"}
    assert rerecorded.action == "north_star_measurement.updated"
    assert rerecorded.changes == {
        "note": {"before": "", "after": "Recount"},
        "value": {"before": "10", "after": "12.5"},
    }
    assert deleted.action == "north_star_measurement.deleted"
    assert deleted.changes["measured_on"] == {"before": "2026-01-05", "after": None}


def test_audit_needs_a_saved_target(world):
    with pytest.raises(ValueError, match=re.escape(TARGET_UNSAVED)):
        audit(actor=world.agent_a, action="customer.created", target=Customer(email="a@b.test"))


# The system actor --------------------------------------------------------------------------


def test_the_system_actor_is_no_user_and_no_superuser():
    assert isinstance(SYSTEM, SystemActor)
    assert is_system(SYSTEM)
    assert (SYSTEM.pk, SYSTEM.is_authenticated, SYSTEM.is_active) == (None, True, True)
    assert SYSTEM.is_superuser is False
    assert str(SYSTEM) == SYSTEM.get_username() == "system"


def test_a_directory_write_by_the_system_is_recorded_as_the_system(world):
    customer = services.customer_create(actor=SYSTEM, email="widget@visitor.test")
    (entry,) = entries_for(customer)
    assert (entry.actor, entry.actor_label) == (None, "system")
    assert entry.action == "customer.created"


def test_the_system_may_do_team_writes(world):
    newcomer = UserFactory(username="newcomer")
    membership = services.membership_create(
        actor=SYSTEM, team=world.team_b, user=newcomer, role=Role.AGENT
    )
    services.team_update(actor=SYSTEM, team=world.team_b, name="Team Beta")
    assert access.role_in(SYSTEM, world.team_b) == Role.ADMIN
    assert entries_for(membership)[0].actor_label == "system"
    assert entries_for(world.team_b)[0].actor is None


def test_the_system_records_north_star_measurements_as_nobody_in_particular(world):
    services.north_star_set(actor=world.superuser, name="Weekly active teams")
    measurement, created = services.north_star_measurement_record(
        actor=SYSTEM, measured_on=date(2026, 2, 2), value="7"
    )
    assert created
    assert measurement.recorded_by is None
    assert entries_for(measurement)[0].actor_label == "system"


@pytest.mark.parametrize(
    "write",
    [
        lambda: services.team_create(actor=SYSTEM, name="Robots"),
        lambda: services.value_stream_create(actor=SYSTEM, name="Robots"),
        lambda: services.north_star_set(actor=SYSTEM, name="Robots"),
    ],
)
def test_the_system_is_no_superuser_for_teams_streams_and_the_north_star(world, write):
    with pytest.raises(PermissionDenied):
        write()
    assert AuditEntry.objects.count() == 0


def test_the_system_reads_every_team(world):
    assert set(selectors.team_list(user=SYSTEM)) == {world.team_a, world.team_b}


# Per-object history ------------------------------------------------------------------------


@pytest.fixture
def history(world):
    customer = services.customer_create(actor=world.agent_a, email="zed@acme.test", name="Zed")
    services.customer_update(actor=world.lead_a, customer=customer, tier="priority")
    newcomer = UserFactory(username="newcomer")
    services.membership_create(
        actor=world.admin_a, team=world.team_a, user=newcomer, role=Role.VIEWER
    )
    services.team_update(actor=world.admin_a, team=world.team_a, name="Team Alpha")
    services.team_update(actor=world.member_b, team=world.team_b, name="Team Beta")
    return {"customer": customer}


def test_a_teams_history_includes_its_memberships_and_is_for_its_members(world, history):
    team = Team.objects.get(pk=world.team_a.pk)
    actions = [e.action for e in selectors.audit_list_for(user=world.viewer_a, target=team)]
    assert actions == ["team.updated", "membership.created"]
    assert list(selectors.audit_list_for(user=world.member_b, target=team)) == []
    assert len(selectors.audit_list_for(user=world.superuser, target=team)) == 2


def test_an_organisation_wide_objects_history_is_for_every_user(world, history):
    for person in (world.outsider, world.member_b):
        entries = selectors.audit_list_for(user=person, target=history["customer"])
        assert [e.action for e in entries] == ["customer.updated", "customer.created"]


def test_the_customer_page_shows_its_history(client, world, history):
    client.force_login(world.outsider)
    url = reverse("portal:customer_detail", args=[history["customer"].pk])
    content = client.get(url).content.decode()
    assert 'id="history"' in content
    assert "Customer updated" in content
    assert "standard → priority" in content
    assert "lead_a" in content
    assert "Membership created" not in content


def test_the_history_names_who_acted_as_pages_name_people(client, world, history):
    # Full name, else username, as the item page's history and every other page do.
    world.lead_a.first_name, world.lead_a.last_name = "Lena", "Lead"
    world.lead_a.save()
    client.force_login(world.outsider)

    url = reverse("portal:customer_detail", args=[history["customer"].pk])
    content = client.get(url).content.decode()

    assert '<td data-label="Who">Lena Lead</td>' in content
    assert '<td data-label="Who">agent_a</td>' in content


def test_the_account_page_shows_its_history(client, world):
    account = services.account_create(actor=SYSTEM, name="Umbrella", domains=["umbrella.test"])
    client.force_login(world.viewer_a)
    content = client.get(reverse("portal:account_detail", args=[account.pk])).content.decode()
    assert "Account created" in content
    assert '<span class="status-tag">system</span>' in content
    assert "umbrella.test" in content


def test_a_long_history_shows_the_latest_and_points_staff_to_the_admin(client, world):
    customer = CustomerFactory(name="Version 0")
    for version in range(1, HISTORY_SHOWN + 2):
        services.customer_update(actor=world.agent_a, customer=customer, name=f"Version {version}")
    url = reverse("portal:customer_detail", args=[customer.pk])
    client.force_login(world.superuser)
    content = client.get(url).content.decode()
    assert content.count("Customer updated") == HISTORY_SHOWN
    assert f"Version {HISTORY_SHOWN} → Version {HISTORY_SHOWN + 1}" in content
    assert "Version 0 → Version 1" not in content
    assert reverse("admin:portal_auditentry_changelist") + "?q=" in content
    client.force_login(world.viewer_a)
    content = client.get(url).content.decode()
    assert "an administrator can search the audit log" in content


def test_a_page_without_history_says_so(client, world):
    customer = CustomerFactory()
    client.force_login(world.viewer_a)
    content = client.get(reverse("portal:customer_detail", args=[customer.pk])).content.decode()
    assert "No recorded changes yet." in content


def test_the_team_settings_page_shows_the_teams_history_to_its_members(client, world, history):
    client.force_login(world.viewer_a)
    content = client.get(reverse("portal:team_settings", args=[world.team_a.slug])).content
    content = content.decode()
    assert 'id="history"' in content
    assert "Team updated" in content
    assert "Team A → Team Alpha" in content
    assert "Membership created" in content
    assert "Team Beta" not in content


# The admin ---------------------------------------------------------------------------------


@pytest.fixture
def root(world) -> Client:
    client = Client()
    client.force_login(world.superuser)
    return client


def test_the_admin_searches_the_audit_log(root, world, history):
    changelist = reverse("admin:portal_auditentry_changelist")
    response = root.get(changelist, {"q": "membership"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    response = root.get(changelist, {"q": "lead_a"})
    assert response.context["cl"].result_count == 1


def test_the_audit_log_in_the_admin_is_read_only(root, world, history):
    entry = last_entry()
    change = reverse("admin:portal_auditentry_change", args=[entry.pk])
    assert root.get(change).status_code == 200
    assert root.post(change, {"action": "forged"}).status_code == 403
    assert root.get(reverse("admin:portal_auditentry_add")).status_code == 403
    delete = reverse("admin:portal_auditentry_delete", args=[entry.pk])
    assert root.post(delete, {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert entry.action == "team.updated"


def test_notifications_in_the_admin_are_read_only(root, world):
    (notification,) = services.notify(users=[world.agent_a], kind="k", subject="s", url="/")
    change = reverse("admin:portal_notification_change", args=[notification.pk])
    assert root.get(reverse("admin:portal_notification_changelist")).status_code == 200
    assert root.get(change).status_code == 200
    assert root.post(change, {"subject": "forged"}).status_code == 403
    assert root.get(reverse("admin:portal_notification_add")).status_code == 403
