"""One way to turn a ValidationError into text (portal/validation.py), the adapters that lay
it out for forms and the API, and messages that state the limits the code enforces."""

import pytest
from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from portal import services
from portal.api.exceptions import exception_handler
from portal.forms import MemberRoleForm, add_service_errors
from portal.models import Role, Segment, Tier
from portal.validation import validation_messages

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
