"""The Django admin writes through the services: their guards, normalisation and events hold
there too, and a refusal comes back as a message with nothing saved."""

from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from portal import events, services
from portal.models import (
    Account,
    AuditEntry,
    Customer,
    Membership,
    NorthStarMetric,
    Role,
    Team,
)
from portal.services import EMAIL_TAKEN, LAST_ADMIN, TEAM_NAME_TAKEN
from tests.factories import (
    AccountFactory,
    CustomerFactory,
    MembershipFactory,
    TeamFactory,
    UserFactory,
)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, payload: dict[str, Any]) -> None:
        self.calls.append(payload)


@pytest.fixture
def recorded():
    """Record the payloads of one event while the test runs."""
    registered: list[tuple[str, Recorder]] = []

    def listen(name: str) -> Recorder:
        recorder = Recorder()
        events.register(name, recorder)
        registered.append((name, recorder))
        return recorder

    yield listen
    for name, recorder in registered:
        events.unregister(name, recorder)


@pytest.fixture
def root(world) -> Client:
    client = Client()
    client.force_login(world.superuser)
    return client


def shown_messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def no_inline_rows(prefix: str) -> dict[str, str]:
    """The management form a browser posts for a read-only inline with no rows."""
    return {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}


def change_url(obj) -> str:
    return reverse(f"admin:portal_{obj._meta.model_name}_change", args=[obj.pk])


def delete_url(obj) -> str:
    return reverse(f"admin:portal_{obj._meta.model_name}_delete", args=[obj.pk])


# Memberships -------------------------------------------------------------------------------


def test_removing_the_last_admin_membership_in_the_admin_is_refused(root, world):
    last_admin = Membership.objects.get(team=world.team_a, user=world.admin_a)

    response = root.post(delete_url(last_admin), {"post": "yes"})

    assert response.status_code == 302
    assert response.headers["Location"] == change_url(last_admin)
    assert shown_messages(response) == [LAST_ADMIN.format(team=world.team_a)]
    assert Membership.objects.filter(pk=last_admin.pk).exists()
    assert not LogEntry.objects.filter(object_id=str(last_admin.pk)).exists()


def test_bulk_removal_of_every_admin_of_a_team_is_refused_and_removes_nothing(root, world):
    second_admin = MembershipFactory(team=world.team_a, role=Role.ADMIN)
    admins = Membership.objects.filter(team=world.team_a, role=Role.ADMIN)
    assert admins.count() == 2

    response = root.post(
        reverse("admin:portal_membership_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [str(pk) for pk in admins.values_list("pk", flat=True)],
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert shown_messages(response) == [LAST_ADMIN.format(team=world.team_a)]
    assert admins.count() == 2
    assert Membership.objects.filter(pk=second_admin.pk).exists()
    assert not LogEntry.objects.exists()


def test_demoting_the_last_admin_in_the_admin_is_refused(root, world):
    last_admin = Membership.objects.get(team=world.team_a, user=world.admin_a)

    response = root.post(change_url(last_admin), {"role": Role.VIEWER, "_save": "Save"})

    assert response.status_code == 302
    assert shown_messages(response) == [f"role: {LAST_ADMIN.format(team=world.team_a)}"]
    last_admin.refresh_from_db()
    assert last_admin.role == Role.ADMIN


def test_membership_changes_in_the_admin_emit_the_services_event(
    root, world, recorded, django_capture_on_commit_callbacks
):
    changed = recorded("portal.membership_changed")
    viewer = Membership.objects.get(team=world.team_a, user=world.viewer_a)
    newcomer = UserFactory(username="newcomer")

    with django_capture_on_commit_callbacks(execute=True):
        promoted = root.post(change_url(viewer), {"role": Role.AGENT, "_save": "Save"})
        added = root.post(
            reverse("admin:portal_membership_add"),
            {"team": world.team_a.pk, "user": newcomer.pk, "role": Role.VIEWER, "_save": "Save"},
        )
        removed = root.post(delete_url(viewer), {"post": "yes"})

    assert [promoted.status_code, added.status_code, removed.status_code] == [302, 302, 302]
    assert not Membership.objects.filter(pk=viewer.pk).exists()
    assert Membership.objects.get(team=world.team_a, user=newcomer).role == Role.VIEWER
    team_id = world.team_a.pk
    assert changed.calls == [
        {"team_id": team_id, "user_id": world.viewer_a.pk},
        {"team_id": team_id, "user_id": newcomer.pk},
        {"team_id": team_id, "user_id": world.viewer_a.pk},
    ]


def test_membership_admin_changes_the_role_only(root, world):
    viewer = Membership.objects.get(team=world.team_a, user=world.viewer_a)

    root.post(
        change_url(viewer),
        {"team": world.team_b.pk, "user": world.outsider.pk, "role": Role.LEAD, "_save": "Save"},
    )

    viewer.refresh_from_db()
    assert (viewer.team, viewer.user, viewer.role) == (world.team_a, world.viewer_a, Role.LEAD)


def test_staff_without_the_team_admin_role_cannot_change_memberships_in_the_admin(world):
    staff = world.lead_a
    staff.is_staff = True
    staff.save()
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_membership", "change_membership"])
    )
    client = Client()
    client.force_login(staff)
    viewer = Membership.objects.get(team=world.team_a, user=world.viewer_a)

    response = client.post(change_url(viewer), {"role": Role.ADMIN, "_save": "Save"})

    assert response.status_code == 403
    viewer.refresh_from_db()
    assert viewer.role == Role.VIEWER


def test_team_page_lists_memberships_without_editing_them(root, world):
    page = root.get(change_url(world.team_a)).content.decode()

    assert "admin_a" in page
    assert 'name="memberships-0-role"' not in page


# Teams -------------------------------------------------------------------------------------


def test_team_names_differing_only_in_case_are_refused_in_the_admin(root, world):
    TeamFactory(name="Équipe", slug="equipe")

    response = root.post(
        reverse("admin:portal_team_add"),
        {"name": "ÉQUIPE", "slug": "equipe-2", "_save": "Save", **no_inline_rows("memberships")},
    )

    assert shown_messages(response) == [f"name: {TEAM_NAME_TAKEN.format(name='ÉQUIPE')}"]
    assert not Team.objects.filter(slug="equipe-2").exists()


def test_a_team_added_in_the_admin_is_created_by_the_service(root, world):
    response = root.post(
        reverse("admin:portal_team_add"),
        {
            "name": "  Payments  ",
            "slug": "payments",
            "_save": "Save",
            **no_inline_rows("memberships"),
        },
    )

    assert response.status_code == 302
    team = Team.objects.get(slug="payments")
    assert team.name == "Payments"
    assert LogEntry.objects.filter(object_id=str(team.pk)).exists()


# Deleting went through no service before issue 7; now the admin's deletes call the services.
@pytest.mark.parametrize(
    ("model", "action"),
    [
        ("team", "team.deleted"),
        ("valuestream", "value_stream.deleted"),
        ("account", "account.deleted"),
        ("customer", "customer.deleted"),
    ],
)
def test_the_admin_deletes_through_the_delete_services(root, world, model, action):
    objects = {
        "team": lambda: world.team_a,
        "valuestream": lambda: services.value_stream_create(actor=world.superuser, name="Empty"),
        "account": AccountFactory,
        "customer": CustomerFactory,
    }
    target = objects[model]()

    response = root.post(delete_url(target), {"post": "yes"})

    assert response.status_code == 302, shown_messages(response)
    assert not type(target).objects.filter(pk=target.pk).exists()
    entry = AuditEntry.objects.filter(target_id=target.pk).order_by("-pk").first()
    assert entry.action == action


def test_the_admin_refuses_to_delete_an_account_with_customers(root, world):
    customer = CustomerFactory()

    response = root.post(delete_url(customer.account), {"post": "yes"})

    assert response.status_code == 200
    assert "protected" in response.content.decode()
    assert Account.objects.filter(pk=customer.account_id).exists()


def test_the_admins_bulk_delete_calls_the_service_for_each_customer(root, world):
    customers = [CustomerFactory(), CustomerFactory()]

    response = root.post(
        reverse("admin:portal_customer_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [str(c.pk) for c in customers],
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert not Customer.objects.filter(pk__in=[c.pk for c in customers]).exists()
    assert AuditEntry.objects.filter(action="customer.deleted").count() == 2


def test_the_admin_offers_no_delete_of_the_north_star(root, world):
    metric = NorthStarMetric.objects.create(pk=1, name="Stars")

    response = root.post(delete_url(metric), {"post": "yes"})

    assert response.status_code == 403
    assert NorthStarMetric.objects.filter(pk=1).exists()


# The directory -----------------------------------------------------------------------------


def test_a_customer_added_in_the_admin_goes_through_the_service(
    root, world, recorded, django_capture_on_commit_callbacks
):
    saved = recorded("portal.customer_saved")

    with django_capture_on_commit_callbacks(execute=True):
        response = root.post(
            reverse("admin:portal_customer_add"),
            {
                "email": "  Ada.Lovelace@Example.COM ",
                "name": "Ada",
                "tier": "vip",
                "attributes": "{}",
                "other_emails": "ada@home.example\nADA@work.example",
                "_save": "Save",
            },
        )

    assert response.status_code == 302, shown_messages(response)
    customer = Customer.objects.get(email="ada.lovelace@example.com")
    assert sorted(customer.other_emails.values_list("email", flat=True)) == [
        "ada@home.example",
        "ada@work.example",
    ]
    assert saved.calls == [{"customer_id": customer.pk}]


def test_a_customer_changed_in_the_admin_to_a_taken_address_is_refused(root, world):
    CustomerFactory(email="taken@example.test")
    customer = CustomerFactory(email="mine@example.test")

    response = root.post(
        change_url(customer),
        {"email": "TAKEN@example.test", "name": "Me", "tier": "standard", "attributes": "{}"},
    )

    assert response.status_code == 302
    assert shown_messages(response) == [f"email: {EMAIL_TAKEN.format(email='taken@example.test')}"]
    customer.refresh_from_db()
    assert customer.email == "mine@example.test"


def test_a_customer_changed_in_the_admin_is_audited_with_what_changed(root, world):
    customer = CustomerFactory(email="ada@example.test", name="Ada")

    response = root.post(
        change_url(customer),
        {"email": "ada@example.test", "name": "Ada Lovelace", "tier": "vip", "attributes": "{}"},
    )

    assert response.status_code == 302, shown_messages(response)
    entry = AuditEntry.objects.get(action="customer.updated")
    assert entry.actor == world.superuser
    assert entry.changes["name"] == {"before": "Ada", "after": "Ada Lovelace"}
    assert entry.changes["tier"] == {"before": "standard", "after": "vip"}


def test_an_account_saved_in_the_admin_stores_its_domains_through_the_service(root, world):
    response = root.post(
        reverse("admin:portal_account_add"),
        {
            "name": "Zürich Öl GmbH",
            "mrr": "120.50",
            "segment": "",
            "domains": "ZUERICH-OEL.example, @oel.example.",
            "_save": "Save",
        },
    )

    assert response.status_code == 302, shown_messages(response)
    account = Account.objects.get(name="Zürich Öl GmbH")
    assert sorted(account.domains.values_list("domain", flat=True)) == [
        "oel.example",
        "zuerich-oel.example",
    ]
    assert "zuerich-oel.example" in root.get(change_url(account)).content.decode()


# The North Star ----------------------------------------------------------------------------


def test_the_north_star_is_set_in_the_admin_once_and_then_changed(root, world):
    add_url = reverse("admin:portal_northstarmetric_add")

    created = root.post(
        add_url,
        {"name": " Weekly active teams ", "unit": "teams", **no_inline_rows("measurements")},
    )
    metric = NorthStarMetric.objects.get()

    assert created.status_code == 302
    assert metric.pk == NorthStarMetric.SINGLETON_ID
    assert metric.name == "Weekly active teams"
    assert root.get(add_url).status_code == 403

    changed = root.post(
        change_url(metric),
        {"name": "Weekly active accounts", "unit": "accounts", **no_inline_rows("measurements")},
    )

    assert changed.status_code == 302
    assert NorthStarMetric.objects.get().name == "Weekly active accounts"


def test_north_star_measurements_are_shown_in_the_admin_without_editing_them(root, world):
    metric = NorthStarMetric.objects.create(pk=1, name="Weekly active teams")
    metric.measurements.create(measured_on="2026-10-05", value=12)

    page = root.get(change_url(metric)).content.decode()

    assert "12.0000" in page
    assert 'name="measurements-0-value"' not in page
