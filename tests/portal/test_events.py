"""The event registry: handlers run after commit, never on rollback, and only for declared
events with their declared payload."""

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from portal import events, services
from portal.models import Role


class Recorder:
    """A handler that remembers each payload it was called with."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, payload: dict[str, Any]) -> None:
        self.calls.append(payload)


@pytest.fixture
def listen() -> Iterator:
    """Register recorders for events and unregister them afterwards."""
    registered: list[tuple[str, Recorder]] = []

    def subscribe(name: str) -> Recorder:
        recorder = Recorder()
        events.register(name, recorder)
        registered.append((name, recorder))
        return recorder

    yield subscribe
    for name, recorder in registered:
        events.unregister(name, recorder)


class Boom(Exception):
    pass


def test_emit_runs_handlers_only_after_commit(db, listen, django_capture_on_commit_callbacks):
    saved = listen("portal.customer_saved")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        events.emit("portal.customer_saved", customer_id=7)
        assert saved.calls == []
    # One callback per handler: other apps handle the event too (the feedback app
    # re-evaluates the customer's open items in a batch handler), each in a callback of its own.
    handlers = events._handlers["portal.customer_saved"]
    batch_handlers = events._batch_handlers.get("portal.customer_saved", [])
    assert len(callbacks) == len(handlers) + len(batch_handlers)
    assert saved.calls == [{"customer_id": 7}]


def test_emit_runs_nothing_when_the_transaction_rolls_back(
    db, listen, django_capture_on_commit_callbacks
):
    saved = listen("portal.customer_saved")
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Boom),
        transaction.atomic(),
    ):
        events.emit("portal.customer_saved", customer_id=7)
        raise Boom
    assert callbacks == []
    assert saved.calls == []


def test_emit_calls_every_handler_once_even_if_registered_twice(
    db, django_capture_on_commit_callbacks
):
    first, second = Recorder(), Recorder()
    try:
        events.register("portal.membership_changed", first)
        events.register("portal.membership_changed", first)
        events.register("portal.membership_changed", second)
        with django_capture_on_commit_callbacks(execute=True):
            events.emit("portal.membership_changed", team_id=1, user_id=2)
    finally:
        events.unregister("portal.membership_changed", first)
        events.unregister("portal.membership_changed", second)
    assert first.calls == [{"team_id": 1, "user_id": 2}]
    assert second.calls == [{"team_id": 1, "user_id": 2}]


def test_an_unregistered_handler_is_not_called(db, django_capture_on_commit_callbacks):
    recorder = Recorder()
    events.register("portal.customer_saved", recorder)
    events.unregister("portal.customer_saved", recorder)
    with django_capture_on_commit_callbacks(execute=True):
        events.emit("portal.customer_saved", customer_id=1)
    assert recorder.calls == []


def test_a_failing_handler_does_not_stop_the_others(db, listen, django_capture_on_commit_callbacks):
    def failing(payload: dict[str, Any]) -> None:
        raise Boom

    events.register("portal.customer_saved", failing)
    try:
        after = listen("portal.customer_saved")
        with django_capture_on_commit_callbacks(execute=True):
            events.emit("portal.customer_saved", customer_id=3)
    finally:
        events.unregister("portal.customer_saved", failing)
    assert after.calls == [{"customer_id": 3}]


def test_each_handler_gets_its_own_copy_of_the_payload(db, django_capture_on_commit_callbacks):
    def meddler(payload: dict[str, Any]) -> None:
        payload["customer_id"] = "changed"

    recorder = Recorder()
    events.register("portal.customer_saved", meddler)
    events.register("portal.customer_saved", recorder)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            events.emit("portal.customer_saved", customer_id=5)
    finally:
        events.unregister("portal.customer_saved", meddler)
        events.unregister("portal.customer_saved", recorder)
    assert recorder.calls == [{"customer_id": 5}]


def test_emit_of_an_unknown_event_raises_key_error():
    with pytest.raises(KeyError) as raised:
        events.emit("portal.no_such_event", x=1)
    assert raised.value.args == (events.UNKNOWN_EVENT.format(name="portal.no_such_event"),)


def test_register_of_an_unknown_event_raises_key_error():
    with pytest.raises(KeyError) as raised:
        events.register("portal.typo", Recorder())
    assert raised.value.args == (events.UNKNOWN_EVENT.format(name="portal.typo"),)


def test_emit_without_a_declared_payload_key_raises_type_error():
    with pytest.raises(TypeError, match="user_id"):
        events.emit("portal.membership_changed", team_id=1)


def test_customer_create_emits_customer_saved_after_commit(
    world, listen, django_capture_on_commit_callbacks
):
    saved = listen("portal.customer_saved")
    with django_capture_on_commit_callbacks(execute=True):
        customer = services.customer_create(actor=world.agent_a, email="a@example.com")
        assert saved.calls == []
    assert saved.calls == [{"customer_id": customer.pk}]


def test_customer_update_emits_customer_saved(world, listen, django_capture_on_commit_callbacks):
    customer = services.customer_create(actor=world.agent_a, email="a@example.com")
    saved = listen("portal.customer_saved")
    with django_capture_on_commit_callbacks(execute=True):
        services.customer_update(actor=world.agent_a, customer=customer, name="Ann")
    assert saved.calls == [{"customer_id": customer.pk}]


def test_a_rejected_customer_write_emits_nothing(world, listen, django_capture_on_commit_callbacks):
    saved = listen("portal.customer_saved")
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(ValidationError),
    ):
        services.customer_create(
            actor=world.agent_a, email="a@example.com", other_emails=["not an address"]
        )
    assert callbacks == []
    assert saved.calls == []


def test_membership_services_emit_membership_changed(
    world, listen, django_capture_on_commit_callbacks
):
    changed = listen("portal.membership_changed")
    with django_capture_on_commit_callbacks(execute=True):
        membership = services.membership_create(
            actor=world.admin_a, team=world.team_a, user=world.outsider, role=Role.VIEWER
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.membership_update(actor=world.admin_a, membership=membership, role=Role.AGENT)
    with django_capture_on_commit_callbacks(execute=True):
        services.membership_delete(actor=world.admin_a, membership=membership)
    expected = {"team_id": world.team_a.pk, "user_id": world.outsider.pk}
    assert changed.calls == [expected, expected, expected]


def test_north_star_measurement_emits_north_star_measured(
    world, listen, django_capture_on_commit_callbacks
):
    services.north_star_set(actor=world.superuser, name="Weekly active teams")
    measured = listen("portal.north_star_measured")
    with django_capture_on_commit_callbacks(execute=True):
        measurement, _ = services.north_star_measurement_record(
            actor=world.lead_a, measured_on=date(2025, 1, 6), value=3
        )
    assert measured.calls == [{"measurement_id": measurement.pk}]


@pytest.fixture
def listen_batches() -> Iterator:
    """Register batch recorders (each call: the list of payloads) and unregister them."""
    registered: list[tuple[str, Recorder]] = []

    def subscribe(name: str) -> Recorder:
        recorder = Recorder()
        events.register_batch(name, recorder)
        registered.append((name, recorder))
        return recorder

    yield subscribe
    for name, recorder in registered:
        events.unregister_batch(name, recorder)


@pytest.mark.django_db(transaction=True)
def test_a_batch_handler_gets_a_transactions_payloads_once_after_commit(listen_batches):
    batches = listen_batches("feedback.item_created")

    with transaction.atomic():
        for item_id in (1, 2, 3):
            events.emit("feedback.item_created", item_id=item_id)
        assert batches.calls == []

    assert batches.calls == [[{"item_id": 1}, {"item_id": 2}, {"item_id": 3}]]
    # The next transaction is a batch of its own; outside one, a batch of one at once.
    with transaction.atomic():
        events.emit("feedback.item_created", item_id=4)
    events.emit("feedback.item_created", item_id=5)
    assert batches.calls[1:] == [[{"item_id": 4}], [{"item_id": 5}]]


@pytest.mark.django_db(transaction=True)
def test_a_batch_loses_the_payloads_of_a_rolled_back_savepoint_and_of_a_rollback(
    listen_batches,
):
    batches = listen_batches("feedback.item_created")

    with transaction.atomic():
        events.emit("feedback.item_created", item_id=1)
        try:
            with transaction.atomic():
                events.emit("feedback.item_created", item_id=2)
                raise RuntimeError("the savepoint is rolled back")
        except RuntimeError:
            pass
        events.emit("feedback.item_created", item_id=3)
    assert sorted(p["item_id"] for batch in batches.calls for p in batch) == [1, 3]

    batches.calls.clear()
    with pytest.raises(RuntimeError), transaction.atomic():
        events.emit("feedback.item_created", item_id=6)
        raise RuntimeError("the transaction is rolled back")
    with transaction.atomic():
        events.emit("feedback.item_created", item_id=7)
    assert batches.calls == [[{"item_id": 7}]]
