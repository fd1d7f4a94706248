"""``ordering`` on every API list through ``StrictOrderingFilter`` (portal/api/filters.py): a
declared field orders ascending or descending, an unknown one answers 400 on every list."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from feedback import services as feedback_services
from feedback.models import (
    DeliveryStatus,
    Direction,
    ItemPriority,
    Quarantine,
    ResponseTemplate,
    SavedView,
    SlaPolicy,
)
from portal.api.base import PortalViewSet
from portal.api.filters import (
    ECHOED_FIELD_LENGTH,
    ORDERING_BLANK,
    UNKNOWN_ORDERING,
    StrictOrderingFilter,
)
from portal.api.urls import APP_URLCONFS
from portal.models import ImportJob, NorthStarMetric
from tests.factories import AccountFactory, CustomerFactory, ValueStreamFactory
from tests.feedback.factories import (
    ChannelFactory,
    FeedbackItemFactory,
    MessageFactory,
    TagFactory,
)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def list_routes() -> dict[str, type]:
    """Every list route of every app's router, by URL name, with its viewset."""
    return {
        f"api:{basename}-list": viewset
        for urlconf in APP_URLCONFS
        for _prefix, viewset, basename in urlconf.router.registry
        if hasattr(viewset, "list")
    }


def declared_fields(viewset: type) -> list[str]:
    return list(StrictOrderingFilter().ordering_paths(viewset()))


# One field per list whose values differ among the objects of the ``listed`` fixture.
ORDERING_CASES = [
    ("api:team-list", "member_count"),
    ("api:value-stream-list", "name"),
    ("api:membership-list", "username"),
    ("api:customer-list", "name"),
    ("api:account-list", "mrr"),
    ("api:north-star-measurement-list", "measured_on"),
    ("api:import-job-list", "created_at"),
    ("api:feedback-channel-list", "name"),
    ("api:feedback-item-list", "last_message_at"),
    ("api:feedback-message-list", "sent_at"),
    ("api:feedback-quarantine-list", "retry_count"),
    ("api:feedback-tag-list", "name"),
    ("api:feedback-template-list", "name"),
    ("api:feedback-reply-list", "sent_at"),
    ("api:feedback-saved-view-list", "name"),
    ("api:feedback-sla-policy-list", "first_response_hours"),
]


@pytest.fixture
def listed(world):
    """At least two different values of each ordered field, seen by the superuser."""
    ValueStreamFactory(name="Alpha")
    ValueStreamFactory(name="Beta")
    CustomerFactory(name="Ada")
    CustomerFactory(name="Bob")
    AccountFactory(name="Small", mrr=Decimal("10"))
    AccountFactory(name="Large", mrr=Decimal("20"))
    metric = NorthStarMetric.objects.create(pk=NorthStarMetric.SINGLETON_ID, name="Weekly users")
    for day in (3, 1, 2):
        metric.measurements.create(measured_on=date(2026, 5, day), value=Decimal(day))
    for day in (2, 1):
        job = ImportJob.objects.create(kind="customers", actor=world.agent_a, file="a.csv")
        # created_at is set on insert; two inserts in one test could share a timestamp.
        ImportJob.objects.filter(pk=job.pk).update(created_at=datetime(2026, 5, day, tzinfo=UTC))
    for day in (2, 1):
        when = datetime(2026, 5, day, tzinfo=UTC)
        channel = ChannelFactory(team=world.team_a, name=f"Mailbox {day}")
        item = FeedbackItemFactory(team=world.team_a, first_message_at=when, last_message_at=when)
        MessageFactory(item=item, sent_at=when)
        MessageFactory(
            item=item, direction=Direction.OUT, delivery=DeliveryStatus.SENT, sent_at=when
        )
        TagFactory(team=world.team_a, name=f"tag {day}")
        ResponseTemplate.objects.create(team=world.team_a, name=f"template {day}", body="Hi")
        SavedView.objects.create(team=world.team_a, name=f"view {day}")
        SlaPolicy.objects.create(
            team=world.team_a,
            priority=(ItemPriority.HIGH, ItemPriority.URGENT)[day - 1],
            first_response_hours=day,
            resolution_hours=10 * day,
        )
        payload, _ = feedback_services.payload_receive(
            channel=channel, raw=f"broken {day}\r\n".encode(), queue_parse=False
        )
        feedback_services.payload_parse(payload=payload)
        Quarantine.objects.filter(payload=payload).update(retry_count=day)
    return world


def ordered_values(client: APIClient, url_name: str, ordering: str, field: str) -> list:
    response = client.get(reverse(url_name), {"ordering": ordering})
    assert response.status_code == 200, response.json()
    return [row[field] for row in response.json()["results"]]


@pytest.mark.parametrize(("url_name", "field"), ORDERING_CASES)
def test_every_list_orders_by_a_declared_field_ascending_and_descending(listed, url_name, field):
    client = client_for(listed.superuser)
    ascending = ordered_values(client, url_name, field, field)
    descending = ordered_values(client, url_name, f"-{field}", field)
    assert ascending == sorted(ascending)
    assert descending == sorted(ascending, reverse=True)
    assert ascending != descending


def test_the_ordering_cases_name_every_list_route():
    assert {url_name for url_name, _field in ORDERING_CASES} == set(list_routes())


@pytest.mark.parametrize("url_name", sorted(list_routes()))
def test_every_list_refuses_an_unknown_ordering_field_with_400(world, url_name):
    response = client_for(world.superuser).get(reverse(url_name), {"ordering": "-secret"})
    assert response.status_code == 400
    choices = ", ".join(declared_fields(list_routes()[url_name]))
    assert response.json() == {
        "ordering": [UNKNOWN_ORDERING.format(field="-secret", choices=choices)]
    }


@pytest.mark.parametrize("url_name", sorted(list_routes()))
def test_every_declared_ordering_field_orders_a_list(world, url_name):
    client = client_for(world.superuser)
    for field in declared_fields(list_routes()[url_name]):
        for ordering in (field, f"-{field}"):
            response = client.get(reverse(url_name), {"ordering": ordering})
            assert response.status_code == 200, f"{url_name}?ordering={ordering}"


def test_every_list_viewset_declares_its_ordering_fields():
    undeclared = sorted(
        name for name, viewset in list_routes().items() if not viewset.ordering_fields
    )
    assert not undeclared


def test_a_known_field_beside_an_unknown_one_still_answers_400(world):
    response = client_for(world.viewer_a).get(reverse("api:customer-list"), {"ordering": "name,x"})
    assert response.status_code == 400
    assert list(response.json()) == ["ordering"]


def test_a_long_unknown_field_is_cut_in_the_message(world):
    field = "x" * 500
    response = client_for(world.viewer_a).get(reverse("api:team-list"), {"ordering": field})
    assert response.status_code == 400
    message = response.json()["ordering"][0]
    assert message == UNKNOWN_ORDERING.format(
        field=field[:ECHOED_FIELD_LENGTH], choices="name, slug, member_count"
    )


def test_a_lone_minus_is_an_unknown_field(world):
    response = client_for(world.viewer_a).get(reverse("api:team-list"), {"ordering": "-"})
    assert response.status_code == 400


def test_several_fields_order_in_turn(world):
    AccountFactory(name="B", mrr=Decimal("10"))
    AccountFactory(name="A", mrr=Decimal("10"))
    AccountFactory(name="C", mrr=Decimal("5"))
    response = client_for(world.viewer_a).get(
        reverse("api:account-list"), {"ordering": "-mrr,name"}
    )
    assert [a["name"] for a in response.json()["results"]] == ["A", "B", "C"]


def test_rows_that_tie_on_the_asked_field_come_in_id_order(world):
    accounts = [AccountFactory(name=name, mrr=Decimal("10")) for name in ("C", "A", "B")]
    response = client_for(world.viewer_a).get(reverse("api:account-list"), {"ordering": "-mrr"})
    assert [a["id"] for a in response.json()["results"]] == [a.pk for a in accounts]


def test_an_alias_orders_by_its_orm_path(world):
    response = client_for(world.admin_a).get(
        reverse("api:membership-list"), {"ordering": "-username"}
    )
    usernames = [m["username"] for m in response.json()["results"]]
    assert usernames == ["viewer_a", "lead_a", "agent_a", "admin_a"]


def test_without_ordering_the_selectors_order_stands(listed):
    response = client_for(listed.viewer_a).get(reverse("api:north-star-measurement-list"))
    days = [m["measured_on"] for m in response.json()["results"]]
    assert days == ["2026-05-03", "2026-05-02", "2026-05-01"]


@pytest.mark.parametrize("ordering", ["measured_on,", ",,,", "measured_on,,-value"])
def test_a_blank_ordering_term_answers_400(listed, ordering):
    # A trailing comma was once ignored; the schema promises a list of field names, and a
    # fuzzer sending an empty one rightly expects it refused.
    response = client_for(listed.viewer_a).get(
        reverse("api:north-star-measurement-list"), {"ordering": ordering}
    )
    assert response.status_code == 400
    choices = "measured_on, value, created_at"
    assert response.json() == {"ordering": [ORDERING_BLANK.format(choices=choices)]}


def test_an_empty_ordering_keeps_the_default_order(listed):
    # "ordering=" is the schema's empty list of fields.
    response = client_for(listed.viewer_a).get(
        reverse("api:north-star-measurement-list"), {"ordering": ""}
    )
    days = [m["measured_on"] for m in response.json()["results"]]
    assert days == ["2026-05-03", "2026-05-02", "2026-05-01"]


def test_a_detail_route_ignores_ordering(world):
    response = client_for(world.viewer_a).get(
        reverse("api:team-detail", args=[world.team_a.pk]), {"ordering": "secret"}
    )
    assert response.status_code == 200


def test_the_browsable_api_answers_an_unknown_ordering_with_400(world):
    client = APIClient()
    client.force_login(world.viewer_a)
    response = client.get(
        reverse("api:customer-list"), {"ordering": "secret"}, HTTP_ACCEPT="text/html"
    )
    assert response.status_code == 400
    assert b"<html" in response.content


def test_a_listing_viewset_without_ordering_fields_is_a_configuration_error():
    with pytest.raises(ImproperlyConfigured):
        StrictOrderingFilter().ordering_paths(PortalViewSet())


def test_the_schema_documents_ordering_with_its_fields_on_every_list():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for url_name, viewset in list_routes().items():
        parameters = schema["paths"][reverse(url_name)]["get"]["parameters"]
        (ordering,) = [p for p in parameters if p["name"] == "ordering"]
        names = declared_fields(viewset)
        assert ordering["schema"]["items"]["enum"] == [*names, *(f"-{n}" for n in names)]
        assert (ordering["style"], ordering["explode"]) == ("form", False)
