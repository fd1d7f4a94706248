"""Names and addresses are unique regardless of Unicode case and spacing, enforced by the
database through normalised key columns, the same on SQLite and PostgreSQL."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from portal import imports, services
from portal.fields import normalised_key
from portal.models import Account, Customer, CustomerEmail, Team, ValueStream
from tests.factories import AccountFactory, CustomerFactory, TeamFactory, ValueStreamFactory


def assert_refused(create) -> None:
    with transaction.atomic(), pytest.raises(IntegrityError):
        create()


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("ÖBB Probe", "öbb probe"),
        ("  öbb   Probe ", "öbb probe"),
        ("Straße", "strasse"),
        ("Équipe\tNord", "équipe nord"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalised_key_casefolds_and_collapses_whitespace(value, key):
    assert normalised_key(value) == key


@pytest.mark.parametrize(
    ("factory", "first", "second"),
    [
        (AccountFactory, "ÖBB Probe", "öbb probe"),
        (AccountFactory, "Zürich Öl GmbH", "ZÜRICH  ÖL GMBH"),
        (TeamFactory, "Équipe", "équipe"),
        (ValueStreamFactory, "Ångström", "ÅNGSTRÖM"),
    ],
)
def test_the_database_refuses_names_that_differ_only_in_unicode_case(db, factory, first, second):
    factory(name=first)
    assert_refused(lambda: factory(name=second))
    assert factory._meta.model.objects.count() == 1


def test_the_database_refuses_addresses_that_differ_only_in_unicode_case(db):
    customer = CustomerFactory(email="jörg@example.test")
    assert_refused(lambda: Customer.objects.create(email="JÖRG@example.test"))
    CustomerEmail.objects.create(customer=customer, email="ørjan@example.test")
    assert_refused(
        lambda: CustomerEmail.objects.create(customer=customer, email="ØRJAN@example.test")
    )


def test_bulk_create_fills_the_keys(db):
    Account.objects.bulk_create([Account(name="Ünïcode Ltd")])
    assert Account.objects.get().name_key == "ünïcode ltd"


def test_account_create_twice_with_unicode_case_answers_a_validation_error(world):
    services.account_create(actor=world.agent_a, name="ÖBB Probe")
    for name in ("ÖBB Probe", "öbb probe", "ÖBB  Probe"):
        with pytest.raises(ValidationError) as caught:
            services.account_create(actor=world.agent_a, name=name)
        assert caught.value.message_dict == {
            "name": [services.ACCOUNT_NAME_TAKEN.format(name=name)]
        }
    assert Account.objects.count() == 1


def test_team_and_value_stream_names_are_refused_in_another_unicode_case(world):
    services.team_create(actor=world.superuser, name="Équipe")
    with pytest.raises(ValidationError) as caught:
        services.team_create(actor=world.superuser, name="équipe", slug="equipe-2")
    assert caught.value.message_dict == {"name": [services.TEAM_NAME_TAKEN.format(name="équipe")]}
    services.value_stream_create(actor=world.superuser, name="Über Flow")
    with pytest.raises(ValidationError) as caught:
        services.value_stream_create(actor=world.superuser, name="ÜBER FLOW", slug="uber-2")
    assert caught.value.message_dict == {
        "name": [services.VALUE_STREAM_TAKEN.format(name="ÜBER FLOW")]
    }
    assert Team.objects.filter(name_key="équipe").count() == 1
    assert ValueStream.objects.filter(name_key="über flow").count() == 1


def test_customer_address_in_another_unicode_case_is_taken(world):
    # Django's validator takes international domains (not local parts) in addresses.
    services.customer_create(actor=world.agent_a, email="anna@bücher.example")
    with pytest.raises(ValidationError) as caught:
        services.customer_create(actor=world.agent_a, email="Anna@BÜCHER.example")
    assert list(caught.value.message_dict) == ["email"]


def csv_upload(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode())


def test_accounts_csv_with_a_unicode_name_twice_creates_one_and_updates_it(world):
    report = imports.accounts_import_csv(
        actor=world.agent_a, upload=csv_upload("name,mrr\nÅngström AB,10\nångström ab,20\n")
    )
    assert (report.created, report.updated, report.errors) == (1, 1, [])
    account = Account.objects.get()
    assert (account.name, account.mrr) == ("ångström ab", 20)


def test_accounts_csv_reimport_of_a_unicode_name_updates_it(world):
    upload = "name,plan\nZürich Öl GmbH,growth\n"
    imports.accounts_import_csv(actor=world.agent_a, upload=csv_upload(upload))
    report = imports.accounts_import_csv(
        actor=world.agent_a, upload=csv_upload("name,plan\nZÜRICH ÖL GMBH,scale\n")
    )
    assert (report.created, report.updated, report.errors) == (0, 1, [])
    assert Account.objects.get().plan == "scale"


def test_customers_csv_names_its_account_in_another_unicode_case(world):
    account = AccountFactory(name="Zürich Öl GmbH")
    report = imports.customers_import_csv(
        actor=world.agent_a,
        upload=csv_upload("email,account\nanna@example.test,ZÜRICH ÖL GMBH\n"),
    )
    assert (report.created, report.errors) == (1, [])
    assert Customer.objects.get(email="anna@example.test").account == account


@pytest.mark.django_db(transaction=True)
def test_the_migration_reports_existing_clashes_by_name_and_id():
    executor = MigrationExecutor(connection)
    executor.migrate([("portal", "0001_initial")])
    old_apps = executor.loader.project_state([("portal", "0001_initial")]).apps
    old_account = old_apps.get_model("portal", "Account")
    # Before the keys, SQLite's LOWER() let these two in.
    first = old_account.objects.create(name="ÖBB Probe")
    second = old_account.objects.create(name="öbb  probe")
    executor = MigrationExecutor(connection)
    with pytest.raises(RuntimeError) as caught:
        executor.migrate([("portal", "0002_normalised_keys")])
    message = str(caught.value)
    assert "rename or merge one of each pair" in message
    assert f"accounts: 'ÖBB Probe' (id {first.pk}) and 'öbb  probe' (id {second.pk})" in message
    old_account.objects.filter(pk=second.pk).update(name="ÖBB Probe (old)")
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert Account.objects.get(pk=first.pk).name_key == "öbb probe"
