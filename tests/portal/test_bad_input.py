"""Bad input answers 400 with field errors (a page: the form again, with its errors), on SQLite
and on PostgreSQL, and changes nothing: the defects of issue 7, each with its regression test."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from portal import services
from portal.api.serializers import NO_SUCH_USER
from portal.forms import CustomerFilterForm
from portal.models import (
    Account,
    Customer,
    NorthStarMeasurement,
    NorthStarMetric,
    Team,
    ValueStream,
)
from portal.validation import (
    ID_INVALID,
    MAX_ID,
    MAX_SEARCH_LENGTH,
    MAX_SEARCH_WORDS,
    NOT_A_NUMBER,
    NUL_CHARACTER,
    NUMBER_HAS_COMMA,
    SEARCH_TOO_LONG,
    TOO_MANY_DIGITS,
    one_line,
)
from tests.factories import CustomerFactory


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def metric(db) -> NorthStarMetric:
    return NorthStarMetric.objects.create(pk=NorthStarMetric.SINGLETON_ID, name="Weekly users")


# Numbers: exact on both databases, or refused ------------------------------------------------


@pytest.mark.parametrize("value", ["99999999999999.99", "12345678901234.5678", 99999999999999.99])
def test_api_refuses_a_north_star_value_it_could_not_store_exactly(world, metric, value):
    response = api_for(world.lead_a).post(
        reverse("api:north-star-measurement-list"),
        {"measured_on": "2024-01-08", "value": value},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["value"]
    assert not NorthStarMeasurement.objects.exists()


def test_api_stores_a_15_digit_north_star_value_exactly(world, metric):
    response = api_for(world.lead_a).post(
        reverse("api:north-star-measurement-list"),
        {"measured_on": "2024-01-08", "value": "12345678901.2345"},
        format="json",
    )
    assert response.status_code == 201
    assert NorthStarMeasurement.objects.get().value == Decimal("12345678901.2345")


def test_service_refuses_more_than_15_significant_digits(world, metric):
    with pytest.raises(ValidationError) as refused:
        services.north_star_measurement_record(
            actor=world.lead_a, measured_on=date(2024, 1, 8), value="1234567890.123456"
        )
    assert refused.value.message_dict == {
        "value": [TOO_MANY_DIGITS.format(value="1234567890.123456")]
    }


@pytest.mark.parametrize("value", ["1,5", "1,25", "1.250,00"])
def test_api_refuses_a_north_star_value_with_a_comma(world, metric, value):
    response = api_for(world.lead_a).post(
        reverse("api:north-star-measurement-list"),
        {"measured_on": "2024-01-08", "value": value},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"value": [NUMBER_HAS_COMMA.format(value=value)]}


@pytest.mark.parametrize(
    "value", ["1_000", "1e3", "\u0661\u0662", "²", "12 500", "NaN", "Infinity"]
)
def test_api_refuses_numbers_written_other_than_plainly(world, value):
    response = api_for(world.agent_a).post(
        reverse("api:account-list"), {"name": "Acme", "mrr": value}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"mrr": [NOT_A_NUMBER.format(value=value)]}
    assert not Account.objects.exists()


def test_api_refuses_mrr_with_a_comma_and_stores_nothing(world):
    response = api_for(world.agent_a).post(
        reverse("api:account-list"), {"name": "Acme", "mrr": "1,25"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"mrr": [NUMBER_HAS_COMMA.format(value="1,25")]}
    assert not Account.objects.exists()


def test_account_form_refuses_mrr_with_a_comma(world, client):
    client.force_login(world.agent_a)
    response = client.post(
        reverse("portal:account_create"), {"name": "Acme", "mrr": "1,25", "segment": ""}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["mrr"] == [NUMBER_HAS_COMMA.format(value="1,25")]
    assert not Account.objects.exists()


def test_measurement_form_refuses_a_value_with_a_comma(world, metric, client):
    client.force_login(world.lead_a)
    response = client.post(
        reverse("portal:north_star_record"), {"measured_on": "2024-01-08", "value": "1,5"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["value"] == [NUMBER_HAS_COMMA.format(value="1,5")]
    assert not NorthStarMeasurement.objects.exists()


def test_measurement_form_refuses_a_value_it_could_not_store_exactly(world, metric, client):
    client.force_login(world.lead_a)
    response = client.post(
        reverse("portal:north_star_record"),
        {"measured_on": "2024-01-08", "value": "99999999999999.99"},
    )
    assert response.status_code == 200
    assert "value" in response.context["form"].errors
    assert not NorthStarMeasurement.objects.exists()


# Ids: ASCII digits from 1 to 2**63 - 1 ------------------------------------------------------

BEYOND_64_BITS = str(10**30)
JUST_BEYOND = str(MAX_ID + 1)


@pytest.mark.parametrize("user", ["²", "\u0661\u0662", "\uff11"])
def test_membership_with_a_user_in_other_digits_is_looked_up_as_a_username(world, user):
    response = api_for(world.admin_a).post(
        reverse("api:membership-list"),
        {"team": world.team_a.pk, "user": user, "role": "viewer"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"user": [NO_SUCH_USER.format(value=user)]}


@pytest.mark.parametrize("user", ["agent_a\x00", "\x00"])
def test_membership_with_a_user_holding_a_nul_answers_400(world, user):
    # PostgreSQL cannot compare a string holding NUL: it was a 500 there.
    response = api_for(world.admin_a).post(
        reverse("api:membership-list"),
        {"team": world.team_a.pk, "user": user, "role": "viewer"},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["user"]


def test_a_json_body_beyond_the_upload_cap_answers_413(world, settings):
    body = b'[{"subject": "x", "text": "' + b"y" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b'"}]'

    response = api_for(world.admin_a).post(
        reverse("api:feedback-item-list"), body, content_type="application/json"
    )

    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is larger than this server takes."}


def test_a_query_with_more_fields_than_django_takes_answers_400(world, settings):
    query = "&".join(f"tag=t{n}" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))

    response = api_for(world.admin_a).get(f"{reverse('api:feedback-item-list')}?{query}")

    assert response.status_code == 400
    assert "DATA_UPLOAD_MAX_NUMBER_FIELDS" in response.json()["detail"]


@pytest.mark.parametrize("user", [10**30, MAX_ID + 1, BEYOND_64_BITS, 0, -3])
def test_membership_with_a_user_id_beyond_64_bits_answers_400(world, user):
    response = api_for(world.admin_a).post(
        reverse("api:membership-list"),
        {"team": world.team_a.pk, "user": user, "role": "viewer"},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["user"]


@pytest.mark.parametrize("team", [10**30, BEYOND_64_BITS, "²", 0, 1.5, True])
def test_membership_with_a_team_that_is_no_id_answers_400(world, team):
    response = api_for(world.admin_a).post(
        reverse("api:membership-list"),
        {"team": team, "user": world.outsider.pk, "role": "viewer"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"team": [ID_INVALID]}


@pytest.mark.parametrize("account", [10**30, "²"])
def test_customer_with_an_account_that_is_no_id_answers_400(world, account):
    response = api_for(world.agent_a).post(
        reverse("api:customer-list"), {"email": "x@example.test", "account": account}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"account": [ID_INVALID]}


@pytest.mark.parametrize(
    ("list_name", "parameter"),
    [
        ("api:customer-list", "account"),
        ("api:membership-list", "team"),
        ("api:membership-list", "user"),
    ],
)
@pytest.mark.parametrize("value", [BEYOND_64_BITS, JUST_BEYOND, "0", "-1", "²", "\u0661", "1.5"])
def test_an_id_filter_refuses_what_is_no_id_with_400(world, list_name, parameter, value):
    response = api_for(world.superuser).get(reverse(list_name), {parameter: value})
    assert response.status_code == 400
    assert response.json() == {parameter: [ID_INVALID]}


def test_an_id_filter_at_the_largest_id_finds_nothing(world):
    response = api_for(world.superuser).get(reverse("api:customer-list"), {"account": MAX_ID})
    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize("pk", [BEYOND_64_BITS, JUST_BEYOND, "0"])
@pytest.mark.parametrize(
    "basename", ["customer", "account", "team", "membership", "north-star-measurement"]
)
def test_an_api_url_id_beyond_64_bits_answers_404(world, basename, pk):
    client = api_for(world.superuser)
    path = reverse(f"api:{basename}-list") + f"{pk}/"
    assert client.get(path).status_code == 404
    assert client.delete(path).status_code in (404, 405)


@pytest.mark.parametrize(
    "path",
    [
        f"/customers/{BEYOND_64_BITS}/",
        f"/customers/{JUST_BEYOND}/edit/",
        f"/accounts/{JUST_BEYOND}/",
        f"/settings/value-streams/{JUST_BEYOND}/",
        "/customers/0/",
    ],
)
def test_a_page_url_id_beyond_64_bits_answers_404(world, client, path):
    client.force_login(world.superuser)
    assert client.get(path).status_code == 404


def test_a_notification_id_beyond_64_bits_answers_404(world, client):
    client.force_login(world.viewer_a)
    assert client.post(f"/notifications/{JUST_BEYOND}/read/").status_code == 404


@pytest.mark.parametrize("team", [BEYOND_64_BITS, JUST_BEYOND, "²", "\u0661", ""])
def test_the_team_switcher_answers_404_for_what_is_no_id(world, client, team):
    client.force_login(world.viewer_a)
    assert client.post(reverse("portal:team_switch"), {"team": team}).status_code == 404


def test_a_page_filter_id_beyond_64_bits_is_ignored_like_any_invalid_filter(world, client):
    client.force_login(world.viewer_a)
    response = client.get(reverse("portal:customer_list"), {"account": BEYOND_64_BITS})
    assert response.status_code == 200


@pytest.mark.parametrize("account", [BEYOND_64_BITS, JUST_BEYOND, "²"])
def test_a_form_select_with_an_id_beyond_64_bits_is_a_field_error(world, client, account):
    client.force_login(world.agent_a)
    response = client.post(
        reverse("portal:customer_create"),
        {"email": "x@example.test", "tier": "standard", "account": account},
    )
    assert response.status_code == 200
    assert "account" in response.context["form"].errors


# NUL characters: PostgreSQL stores none, so none is accepted anywhere ---------------------

NUL_TEXT = "x\x00y"


@pytest.mark.parametrize("attributes", [{"a": NUL_TEXT}, {NUL_TEXT: 1}])
def test_api_refuses_a_customer_attribute_with_a_nul_character(world, attributes):
    response = api_for(world.agent_a).post(
        reverse("api:customer-list"),
        {"email": "x@example.test", "attributes": attributes},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"attributes": [NUL_CHARACTER]}
    assert not Customer.objects.exists()


def test_customer_form_refuses_an_attribute_with_a_nul_character(world, client):
    client.force_login(world.agent_a)
    response = client.post(
        reverse("portal:customer_create"),
        {"email": "x@example.test", "tier": "standard", "attributes": '{"a": "x\\u0000y"}'},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["attributes"] == [NUL_CHARACTER]
    assert not Customer.objects.exists()


@pytest.mark.parametrize("raw", ['{"a": NaN}', '{"a": Infinity}'])
def test_customer_form_refuses_attributes_that_json_cannot_hold(world, client, raw):
    client.force_login(world.agent_a)
    response = client.post(
        reverse("portal:customer_create"),
        {"email": "x@example.test", "tier": "standard", "attributes": raw},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["attributes"] == [services.ATTRIBUTES_INVALID]


@pytest.mark.parametrize(
    ("method", "name", "payload", "field"),
    [
        ("post", "api:team-list", {"name": NUL_TEXT}, "name"),
        ("post", "api:value-stream-list", {"name": "Grow", "description": NUL_TEXT}, "description"),
        ("post", "api:customer-list", {"email": "x@example.test", "name": NUL_TEXT}, "name"),
        ("post", "api:customer-list", {"email": "x@example.test", "external_id": NUL_TEXT}, None),
        ("post", "api:account-list", {"name": "Acme", "plan": NUL_TEXT}, "plan"),
        ("post", "api:account-list", {"name": "Acme", "domains": [NUL_TEXT]}, "domains"),
        ("put", "api:north-star", {"name": "Users", "definition": NUL_TEXT}, "definition"),
        (
            "post",
            "api:north-star-measurement-list",
            {"measured_on": "2024-01-08", "value": "1", "note": NUL_TEXT},
            "note",
        ),
    ],
)
def test_api_refuses_text_with_a_nul_character_with_a_field_error(
    world, metric, method, name, payload, field
):
    response = getattr(api_for(world.superuser), method)(reverse(name), payload, format="json")
    assert response.status_code == 400
    if field is not None:
        assert field in response.json()


def test_token_request_with_a_nul_character_answers_400(world):
    response = APIClient().post(
        reverse("api:api-token"), {"username": NUL_TEXT, "password": "x"}, format="json"
    )
    assert response.status_code == 400
    assert "username" in response.json()


@pytest.mark.parametrize(
    ("name", "parameter"),
    [("api:customer-list", "email"), ("api:account-list", "plan"), ("api:team-list", "search")],
)
def test_api_filters_with_a_nul_character_answer_400(world, name, parameter):
    response = api_for(world.superuser).get(reverse(name), {parameter: NUL_TEXT})
    assert response.status_code == 400


def test_a_page_search_with_a_nul_character_is_refused_not_run(world, client):
    client.force_login(world.viewer_a)
    assert client.get(reverse("portal:customer_list"), {"q": NUL_TEXT}).status_code == 200
    assert client.get(reverse("portal:account_list"), {"q": NUL_TEXT}).status_code == 200


@pytest.mark.parametrize(
    "write",
    [
        lambda w: services.customer_create(actor=w.agent_a, email="x@example.test", name=NUL_TEXT),
        lambda w: services.account_create(actor=w.agent_a, name="Acme", plan=NUL_TEXT),
        lambda w: services.team_create(actor=w.superuser, name="Ops", mission=NUL_TEXT),
        lambda w: services.value_stream_create(actor=w.superuser, name=NUL_TEXT),
        lambda w: services.north_star_set(actor=w.superuser, name="Users", definition=NUL_TEXT),
    ],
    ids=["customer", "account", "team", "value-stream", "north-star"],
)
def test_services_refuse_text_with_a_nul_character_naming_the_field(world, write):
    with pytest.raises(ValidationError) as refused:
        write(world)
    assert list(refused.value.message_dict.values()) == [[NUL_CHARACTER]]


# Searches: at most 10 words and 200 characters ---------------------------------------------

SEARCHED_LISTS = [
    "api:customer-list",
    "api:account-list",
    "api:team-list",
    "api:value-stream-list",
    "api:membership-list",
]


@pytest.mark.parametrize("name", SEARCHED_LISTS)
def test_api_search_of_600_words_answers_400_with_the_limits(world, name):
    words = " ".join(f"w{n}" for n in range(600))
    response = api_for(world.superuser).get(reverse(name), {"search": words})
    assert response.status_code == 400
    assert response.json() == {"search": [SEARCH_TOO_LONG]}


@pytest.mark.parametrize("name", SEARCHED_LISTS)
def test_api_search_of_the_most_words_allowed_runs(world, name):
    words = ",".join(f"w{n}" for n in range(MAX_SEARCH_WORDS))
    response = api_for(world.superuser).get(reverse(name), {"search": words})
    assert response.status_code == 200


def test_api_search_longer_than_the_limit_answers_400(world):
    response = api_for(world.superuser).get(
        reverse("api:customer-list"), {"search": "x" * (MAX_SEARCH_LENGTH + 1)}
    )
    assert response.status_code == 400
    assert response.json() == {"search": [SEARCH_TOO_LONG]}


def test_api_search_counts_a_quoted_phrase_as_one_word(world):
    CustomerFactory(name="Ada Lovelace")
    search = " ".join(['"Ada Lovelace"', *["Ada"] * (MAX_SEARCH_WORDS - 1)])
    response = api_for(world.superuser).get(reverse("api:customer-list"), {"search": search})
    assert response.status_code == 200
    assert [row["name"] for row in response.json()["results"]] == ["Ada Lovelace"]


def test_api_search_with_a_nul_character_names_the_parameter(world):
    response = api_for(world.superuser).get(reverse("api:customer-list"), {"search": NUL_TEXT})
    assert response.status_code == 400
    assert list(response.json()) == ["search"]


def test_the_schema_documents_the_search_limits(world):
    schema = api_for(world.superuser).get("/api/schema/", {"format": "json"}).json()
    parameters = schema["paths"]["/api/v1/customers/"]["get"]["parameters"]
    search = next(p for p in parameters if p["name"] == "search")
    assert search["schema"]["maxLength"] == MAX_SEARCH_LENGTH
    assert f"{MAX_SEARCH_WORDS} words" in search["description"]


@pytest.mark.parametrize("name", ["portal:customer_list", "portal:account_list"])
def test_a_page_search_of_600_words_answers_200(world, client, name):
    client.force_login(world.viewer_a)
    words = " ".join(f"w{n}" for n in range(600))
    assert client.get(reverse(name), {"q": words}).status_code == 200


def test_the_page_search_form_refuses_more_words_than_the_api(world):
    form = CustomerFilterForm({"q": " ".join(["w"] * (MAX_SEARCH_WORDS + 1))}, user=world.viewer_a)
    assert not form.is_valid()
    assert form.errors["q"] == [SEARCH_TOO_LONG]


# Slugs: derived in any script, made unique, never a person's problem ------------------------


def test_value_streams_whose_slugs_would_clash_both_save_from_the_page(world, client):
    client.force_login(world.superuser)
    for name in ("Retain expand", "Retain, expand"):
        response = client.post(reverse("portal:value_stream_list"), {"name": name})
        assert response.status_code == 302, response.context["form"].errors
    slugs = dict(ValueStream.objects.filter(name__startswith="Retain").values_list("name", "slug"))
    assert slugs == {"Retain expand": "retain-expand", "Retain, expand": "retain-expand-2"}


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Поддержка", "поддержка"),
        ("日本チーム", "日本チーム"),
        ("🚀", "team"),
        ("Ünïcode Team", "ünïcode-team"),
    ],
)
def test_a_team_named_without_ascii_letters_is_created_from_the_page(world, client, name, slug):
    client.force_login(world.superuser)
    response = client.post(reverse("portal:team_create"), {"name": name})
    assert response.status_code == 302, response.context["form"].errors
    team = Team.objects.get(name=name)
    assert team.slug == slug
    assert response["Location"] == reverse("portal:team_settings", args=[slug])
    assert client.get(response["Location"]).status_code == 200


def test_names_with_nothing_a_slug_holds_get_numbered_fallbacks(world):
    first = services.team_create(actor=world.superuser, name="🚀")
    second = services.team_create(actor=world.superuser, name="🚀🚀")
    stream = services.value_stream_create(actor=world.superuser, name="✨")
    assert (first.slug, second.slug, stream.slug) == ("team", "team-2", "value-stream")


def test_a_derived_slug_stays_within_its_length_with_its_suffix(world):
    name = "Customer success " * 6
    first = services.team_create(actor=world.superuser, name=name)
    second = services.team_create(actor=world.superuser, name=name + "!")
    assert len(first.slug) <= 60 and len(second.slug) <= 60
    assert second.slug == first.slug[: 60 - 2].rstrip("-") + "-2"


def test_a_short_name_a_person_chose_that_is_taken_is_their_field_error(world, client):
    client.force_login(world.superuser)
    response = client.post(reverse("portal:team_create"), {"name": "Other", "slug": "team-a"})
    assert response.status_code == 200
    assert response.context["form"].errors["slug"] == [
        services.TEAM_SLUG_TAKEN.format(slug="team-a")
    ]


def test_api_value_stream_with_a_taken_slug_names_the_slug(world):
    services.value_stream_create(actor=world.superuser, name="Grow", slug="grow")
    response = api_for(world.superuser).post(
        reverse("api:value-stream-list"), {"name": "Growth", "slug": "grow"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"slug": [services.VALUE_STREAM_SLUG_TAKEN.format(slug="grow")]}


def test_api_creates_a_value_stream_named_in_cyrillic(world):
    response = api_for(world.superuser).post(
        reverse("api:value-stream-list"), {"name": "Поддержка"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["slug"] == "поддержка"


@pytest.mark.parametrize("slug", ["a%00b", "a%20b", "a.b"])
def test_a_team_address_with_what_no_slug_holds_answers_404(world, client, slug):
    client.force_login(world.superuser)
    assert client.get(f"/settings/teams/{slug}/").status_code == 404


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("Refund please\r\nBcc: evil@x.example", "Refund please Bcc: evil@x.example"),
        ("a\x0bb\x0cc\x1cd\x1de\x1ef\x85g\u2028h\u2029i", "a b c d e f g h i"),
        ("bell\x07esc\x1b[31mred", "bell esc [31mred"),
        # A direction override would turn "#314" beside it into "413#".
        ("Invoice \u202eexe.pdf", "Invoice exe.pdf"),
        ("\u2066isolated\u2069 \u202aembedded\u202c", "isolated embedded"),
        ("  Łódź — 東京 ✓  ", "Łódź — 東京 ✓"),
        (None, ""),
    ],
)
def test_one_line_text_loses_controls_and_direction_overrides(text, line):
    assert one_line(text) == line
