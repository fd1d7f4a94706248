"""Response template placeholders (feedback.templating): checked on save, rendered in a
sandbox. Pure: no database."""

import pytest
from django.core.exceptions import ValidationError

from feedback import templating
from feedback.templating import (
    PLACEHOLDER_TAKEN,
    TAGS_NOT_SUPPORTED,
    UNKNOWN_FILTER,
    placeholder_names,
    placeholder_register,
    template_problems,
    template_render,
    template_validate,
)

CONTEXT = {"customer.first_name": "Omar", "item.subject": "Leaking machine", "item.id": "42"}


def known() -> str:
    return ", ".join(placeholder_names())


def test_a_template_with_known_placeholders_is_valid():
    template_validate('Hi {{ customer.first_name|default:"there" }}, about {{item.subject}}.')


def test_an_unknown_placeholder_is_refused_by_name_with_the_known_ones():
    with pytest.raises(ValidationError) as error:
        template_validate("Hi {{ customer.shoe_size }} and {{ customer.first_name }}")

    assert error.value.messages == [
        templating.UNKNOWN_PLACEHOLDER.format(name="customer.shoe_size", known=known())
    ]
    assert "unknown placeholder {{ customer.shoe_size }}; known: account.name" in (
        error.value.messages[0].lower()
    )


def test_every_unknown_placeholder_is_named_once():
    problems = template_problems("{{ a.b }} {{ c.d }} {{ a.b }}")

    assert problems == [
        templating.UNKNOWN_PLACEHOLDER.format(name="a.b", known=known()),
        templating.UNKNOWN_PLACEHOLDER.format(name="c.d", known=known()),
    ]


def test_attribute_access_beyond_the_allow_list_is_unknown():
    problems = template_problems("{{ customer.account.owner.password }} {{ item.__class__ }}")

    assert len(problems) == 2
    assert "customer.account.owner.password" in problems[0]
    assert "item.__class__" in problems[1]


def test_template_tags_are_refused_and_never_run():
    body = "{% load static %}{% for x in customer.account.customers.all %}{{ x }}{% endfor %}"

    problems = template_problems(body)

    assert any("{% load static %}" in problem for problem in problems)
    assert template_render(body, CONTEXT) == body.replace("{{ x }}", "")


def test_each_template_tag_is_quoted_on_its_own_once():
    problems = template_problems("{% load static %}{% static 'x' %} {% load static %}")

    assert problems == [
        TAGS_NOT_SUPPORTED.format(excerpt="{% load static %}"),
        TAGS_NOT_SUPPORTED.format(excerpt="{% static 'x' %}"),
    ]


def test_other_filters_are_refused():
    assert template_problems("{{ customer.name|upper }}") == [
        UNKNOWN_FILTER.format(expression="customer.name|upper")
    ]


@pytest.mark.parametrize("body", ["Hi {{ customer.first_name }", "Hi }} there", "{{ {{ x }} }}"])
def test_unbalanced_braces_are_refused(body):
    problems = template_problems(body)

    assert any(problem.startswith("Unbalanced braces") for problem in problems)


def test_render_fills_placeholders_and_defaults_for_empty_values():
    body = "Hi {{ customer.first_name }}, #{{ item.id }}: {{ account.plan|default:'your plan' }}"

    assert template_render(body, CONTEXT) == "Hi Omar, #42: your plan"
    assert template_render('Hi {{ customer.first_name|default:"there" }}', {}) == "Hi there"


def test_render_inserts_values_as_plain_text_without_evaluating_them():
    context = {"customer.first_name": "{{ item.id }} <b>&</b> {% now 'Y' %}"}

    rendered = template_render("Hi {{ customer.first_name }}", context)

    assert rendered == "Hi {{ item.id }} <b>&</b> {% now 'Y' %}"


def test_a_registered_placeholder_becomes_known_and_is_resolved(monkeypatch):
    monkeypatch.setattr(templating, "PLACEHOLDERS", dict(templating.PLACEHOLDERS))
    placeholder_register("backlog.status", lambda item, agent: f"planned for {item}")

    template_validate("Status: {{ backlog.status }}")
    assert templating.template_context("#7", None) == {"backlog.status": "planned for #7"}
    with pytest.raises(ValueError, match="already registered"):
        placeholder_register("backlog.status", lambda item, agent: "")
    assert PLACEHOLDER_TAKEN.format(name="customer.name") == (
        "The placeholder customer.name is already registered."
    )
    with pytest.raises(ValueError, match="lower-case words joined by dots"):
        placeholder_register("Backlog", lambda item, agent: "")
