"""One way to turn a ValidationError into text (portal/validation.py), the adapters that lay
it out for forms and the API, and messages that state the limits the code enforces."""

from decimal import Decimal

import pytest
from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from portal import services
from portal.api.exceptions import exception_handler
from portal.forms import MemberRoleForm, add_service_errors
from portal.models import Role, Segment, Tier
from portal.validation import (
    EXACT_DIGITS,
    ID_INVALID,
    MAX_ID,
    MAX_SEARCH_LENGTH,
    MAX_SEARCH_WORDS,
    NOT_A_NUMBER,
    NUL_CHARACTER,
    NUMBER_HAS_COMMA,
    SEARCH_TOO_LONG,
    TOO_MANY_DIGITS,
    contains_nul,
    is_id,
    parse_decimal,
    parse_id,
    reject_nul,
    validate_search,
    validation_messages,
)

# validation_messages -----------------------------------------------------------------------


def test_a_single_message_is_a_list_of_one():
    assert validation_messages(ValidationError("Too late.")) == ["Too late."]


def test_a_list_keeps_every_message_in_order():
    error = ValidationError([ValidationError("First."), "Second."])
    assert validation_messages(error) == ["First.", "Second."]


def test_field_messages_name_their_field_and_whole_object_messages_do_not():
    error = ValidationError(
        {
            "mrr": [services.MRR_NEGATIVE],
            NON_FIELD_ERRORS: ["Nothing was saved."],
            "email": ["Taken.", "Too long."],
        }
    )
    assert validation_messages(error) == [
        f"mrr: {services.MRR_NEGATIVE}",
        "Nothing was saved.",
        "email: Taken.",
        "email: Too long.",
    ]


def test_parameters_are_filled_in():
    error = ValidationError("At most %(limit)s.", params={"limit": 20})
    assert validation_messages(error) == ["At most 20."]
    assert validation_messages(ValidationError({"tags": [error]})) == ["tags: At most 20."]


# Its adapters ------------------------------------------------------------------------------


class _NameForm(forms.Form):
    name = forms.CharField()


def test_form_adapter_puts_field_messages_on_the_field_and_the_rest_on_the_form():
    form = _NameForm({"name": "x"})
    assert form.is_valid()
    error = ValidationError({"name": ["Taken."], "slug": ["Also taken."]})
    add_service_errors(form, error)
    assert form.errors["name"] == ["Taken."]
    assert form.non_field_errors() == ["Also taken."]


def test_form_adapter_puts_a_message_without_a_field_on_the_form():
    form = _NameForm({"name": "x"})
    assert form.is_valid()
    add_service_errors(form, ValidationError(["One.", "Two."]))
    assert form.non_field_errors() == ["One.", "Two."]


def test_api_answers_field_messages_by_field_and_others_as_detail():
    by_field = exception_handler(
        ValidationError({"name": ["Taken."], "mrr": [services.MRR_NEGATIVE]}), {}
    )
    assert by_field.status_code == 400
    assert by_field.data == {"name": ["Taken."], "mrr": [services.MRR_NEGATIVE]}
    detail = exception_handler(ValidationError(["One.", "Two."]), {})
    assert detail.status_code == 400
    assert detail.data == {"detail": "One. Two."}


# Messages built from the limits they state -------------------------------------------------


def test_attributes_message_states_the_limits_that_are_enforced():
    for limit in (
        services.MAX_ATTRIBUTES,
        services.MAX_ATTRIBUTE_KEY_LENGTH,
        services.MAX_ATTRIBUTE_TEXT_LENGTH,
    ):
        assert f" {limit} " in services.ATTRIBUTES_INVALID


def test_attributes_at_each_limit_are_accepted():
    keys = {f"k{n}": n for n in range(services.MAX_ATTRIBUTES)}
    assert services.validate_attributes(keys) == keys
    longest = {"k" * services.MAX_ATTRIBUTE_KEY_LENGTH: "v" * services.MAX_ATTRIBUTE_TEXT_LENGTH}
    assert services.validate_attributes(longest) == longest


@pytest.mark.parametrize(
    "attributes",
    [
        {f"k{n}": n for n in range(services.MAX_ATTRIBUTES + 1)},
        {"k" * (services.MAX_ATTRIBUTE_KEY_LENGTH + 1): 1},
        {"k": "v" * (services.MAX_ATTRIBUTE_TEXT_LENGTH + 1)},
    ],
    ids=["too-many-keys", "key-too-long", "text-too-long"],
)
def test_attributes_past_a_limit_are_refused_with_the_message(attributes):
    with pytest.raises(ValidationError) as raised:
        services.validate_attributes(attributes)
    assert raised.value.messages == [services.ATTRIBUTES_INVALID]


def test_other_emails_message_states_the_limit():
    assert f"at most {services.MAX_OTHER_EMAILS} " in services.TOO_MANY_OTHER_EMAILS


@pytest.mark.parametrize(
    ("message", "choices"),
    [
        (services.INVALID_TIER, Tier),
        (services.INVALID_SEGMENT, Segment),
        (services.INVALID_ROLE, Role),
    ],
    ids=["tier", "segment", "role"],
)
def test_choice_messages_list_every_choice_the_model_has(message, choices):
    assert f": {', '.join(choices.values)}" in message


def test_member_role_form_refuses_an_unknown_role_with_the_service_message():
    form = MemberRoleForm({"role": "boss"})
    assert not form.is_valid()
    assert form.errors["role"] == [services.INVALID_ROLE]


# Numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("1250.50", Decimal("1250.50")),
        (" -3 ", Decimal("-3")),
        (".5", Decimal("0.5")),
        ("7.", Decimal("7")),
        (12, Decimal("12")),
        (0.1, Decimal("0.1")),
        (Decimal("2.25"), Decimal("2.25")),
        ("123456789012345", Decimal("123456789012345")),
    ],
)
def test_plain_numbers_are_read_exactly(value, number):
    assert parse_decimal(value) == number


@pytest.mark.parametrize("value", ["1,5", "1,250", "1.250,00", " 1,25 "])
def test_a_number_with_a_comma_is_refused_as_ambiguous(value):
    with pytest.raises(ValidationError) as raised:
        parse_decimal(value)
    assert raised.value.messages == [NUMBER_HAS_COMMA.format(value=value.strip())]


@pytest.mark.parametrize(
    "value", ["", "abc", "1_000", "1e3", "١٢", "²", "1 250", "NaN", "-Infinity", True, None]
)
def test_what_is_not_plainly_a_number_is_refused(value):
    with pytest.raises(ValidationError) as raised:
        parse_decimal(value)
    shown = value.strip() if isinstance(value, str) else str(value)
    assert raised.value.messages == [NOT_A_NUMBER.format(value=shown)]


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_float_that_is_not_finite_is_refused(value):
    with pytest.raises(ValidationError):
        parse_decimal(value)


@pytest.mark.parametrize(
    "value", ["1234567890123456", "12345678901234.5678", 99999999999999.99, 10**15]
)
def test_more_significant_digits_than_sqlite_keeps_are_refused(value):
    with pytest.raises(ValidationError) as raised:
        parse_decimal(value)
    assert raised.value.messages == [TOO_MANY_DIGITS.format(value=str(value))]


def test_a_very_long_text_is_refused_and_not_echoed_in_full():
    with pytest.raises(ValidationError) as raised:
        parse_decimal("9" * 10_000)
    assert len(raised.value.messages[0]) < 200


def test_digit_message_states_the_limit():
    assert f" {EXACT_DIGITS} digits" in TOO_MANY_DIGITS


def test_services_name_the_field_of_a_refused_number():
    with pytest.raises(ValidationError) as raised:
        services.to_decimal("1,5", "mrr")
    assert raised.value.message_dict == {"mrr": [NUMBER_HAS_COMMA.format(value="1,5")]}


# Ids ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "number"), [("1", 1), (" 42 ", 42), (7, 7), (str(MAX_ID), MAX_ID), (MAX_ID, MAX_ID)]
)
def test_ids_are_ascii_digits_up_to_64_bits(value, number):
    assert parse_id(value) == number
    assert is_id(value)


@pytest.mark.parametrize(
    "value",
    [
        *("", "0", "-1", "1.0", "1e3", "0x10", "1" * 30, str(MAX_ID + 1), "²", "\u0661"),
        *(0, -1, MAX_ID + 1, 1.0, True, None),
    ],
)
def test_what_is_no_id_is_refused(value):
    with pytest.raises(ValidationError) as raised:
        parse_id(value)
    assert raised.value.messages == [ID_INVALID]
    assert not is_id(value)


def test_id_message_states_the_largest_id():
    assert str(MAX_ID) in ID_INVALID


# Text --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["a\x00", {"a": "\x00"}, {"\x00": 1}, ["ok", "\x00"], {"a": {"b": ["\x00"]}}]
)
def test_a_nul_character_is_found_in_text_and_anywhere_in_json(value):
    assert contains_nul(value)
    with pytest.raises(ValidationError) as raised:
        reject_nul(value)
    assert raised.value.messages == [NUL_CHARACTER]


@pytest.mark.parametrize("value", ["plain", {"a": "b", "n": 1}, ["x"], 0, None, "\\u0000"])
def test_text_without_a_nul_character_passes(value):
    assert not contains_nul(value)
    reject_nul(value)


# Searches ----------------------------------------------------------------------------------


def test_a_search_within_the_limits_is_kept_trimmed():
    words = " ".join(["w"] * MAX_SEARCH_WORDS)
    assert validate_search(f"  {words} ") == words
    assert validate_search("x" * MAX_SEARCH_LENGTH) == "x" * MAX_SEARCH_LENGTH


@pytest.mark.parametrize(
    "text",
    [
        " ".join(["w"] * (MAX_SEARCH_WORDS + 1)),
        ",".join(["w"] * (MAX_SEARCH_WORDS + 1)),
        "x" * (MAX_SEARCH_LENGTH + 1),
    ],
    ids=["words", "comma-separated-words", "characters"],
)
def test_a_search_past_a_limit_is_refused_with_the_limits(text):
    with pytest.raises(ValidationError) as raised:
        validate_search(text)
    assert raised.value.messages == [SEARCH_TOO_LONG]


def test_search_message_states_both_limits():
    assert f"{MAX_SEARCH_WORDS} words" in SEARCH_TOO_LONG
    assert f"{MAX_SEARCH_LENGTH} characters" in SEARCH_TOO_LONG
