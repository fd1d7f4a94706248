"""Response template placeholders: checked when a template is saved, filled when a reply is
written. Pure: no ORM, no Django template engine.

A template is plain text with placeholders in Django's spelling, ``{{ customer.first_name }}``,
optionally with one filter, ``{{ customer.first_name|default:"there" }}`` (used when the value
is empty). Nothing else is syntax: there are no tags, no other filters and no attribute access.
Rendering replaces each known name by its value from a flat ``{name: text}`` dict, so a
template can reach nothing but the values put into that dict; ``{% ... %}`` is refused when a
template is saved and left as literal text if it ever reaches rendering. The result is the
text of a plain-text mail, so nothing is escaped here; pages that show it autoescape it.

The names come from an explicit registry: this module declares the ones every reply has (the
customer, the account, the item, the agent, the team) with what they mean, and
``feedback.services.replies`` reads them from an item and an agent. A later
capability adds its own with :func:`placeholder_register` (the backlog, say,
``backlog.status``) from its ``AppConfig.ready()``; nothing registers itself on import.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

UNKNOWN_PLACEHOLDER = "Unknown placeholder {{{{ {name} }}}}; known: {known}."
UNKNOWN_FILTER = (
    'Unknown filter in {{{{ {expression} }}}}: only |default:"text" is supported, '
    'as in {{{{ customer.first_name|default:"there" }}}}.'
)
MALFORMED_BRACES = (
    "Unbalanced braces near “{excerpt}”: write a placeholder as {{{{ customer.first_name }}}}."
)
TAGS_NOT_SUPPORTED = (
    "Template tags such as “{excerpt}” are not supported: use placeholders such as "
    "{{{{ customer.first_name }}}} only."
)
PLACEHOLDER_TAKEN = "The placeholder {name} is already registered."
PLACEHOLDER_NAME_INVALID = (
    "A placeholder name is lower-case words joined by dots, such as backlog.status (got {name!r})."
)

# ``{{ name }}`` or ``{{ name|default:"text" }}`` (single quotes too); the text has no quotes.
_PLACEHOLDER = re.compile(r"\{\{(?P<inner>[^{}]*)\}\}")
_EXPRESSION = re.compile(
    r"""^\s*(?P<name>[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*)\s*"""
    r"""(?:\|\s*default\s*:\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'))?\s*$"""
)
_NAME = re.compile(r"^[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)+$")
_TAG = re.compile(r"\{%.*?(?:%\}|$)|\{#.*?(?:#\}|$)", re.DOTALL)
_EXCERPT = 40

# How a value is read for a reply: from the item and the agent who writes it (ORM objects;
# this module never calls the resolver itself).
Resolver = Callable[[Any, Any], str]


@dataclass(frozen=True)
class Placeholder:
    name: str
    description: str
    resolver: Resolver | None = None


# The names every reply has, described here so that validation needs nothing else; how each
# is read is ``feedback.services.replies.reply_context``'s business (it has the ORM objects).
# Later capabilities add names with their resolvers through ``placeholder_register``.
PLACEHOLDERS: dict[str, Placeholder] = {
    name: Placeholder(name, description)
    for name, description in (
        ("customer.first_name", "The customer's first name"),
        ("customer.name", "The customer's full name"),
        ("customer.email", "The customer's e-mail address"),
        ("account.name", "The customer's account (company)"),
        ("account.plan", "The account's plan"),
        ("item.subject", "The conversation's subject"),
        ("item.id", "The conversation's number"),
        ("agent.name", "Your full name"),
        ("agent.first_name", "Your first name"),
        ("team.name", "The team's name"),
    )
}


def placeholder_register(
    name: str, resolver: Resolver, *, description: str = "", replace: bool = False
) -> None:
    """Make ``{{ name }}`` known, filled by ``resolver(item, agent)`` (a string; "" when there
    is nothing). A name that is already known is refused unless ``replace``."""
    if not _NAME.match(name or ""):
        raise ValueError(PLACEHOLDER_NAME_INVALID.format(name=name))
    known = PLACEHOLDERS.get(name)
    if known is not None and not replace:
        raise ValueError(PLACEHOLDER_TAKEN.format(name=name))
    PLACEHOLDERS[name] = Placeholder(
        name, description or (known.description if known else name), resolver
    )


def placeholder_names() -> list[str]:
    return sorted(PLACEHOLDERS)


def _excerpt(text: str, start: int) -> str:
    piece = text[start : start + _EXCERPT]
    return piece if len(text) <= start + _EXCERPT else f"{piece}…"


def template_problems(body: str) -> list[str]:
    """Every problem of ``body`` in words, in order; [] for a usable template."""
    body = body or ""
    problems: list[str] = []
    # Each tag quoted on its own (not the text that follows it), each distinct tag once.
    for tag in dict.fromkeys(_excerpt(tag.group(), 0) for tag in _TAG.finditer(body)):
        problems.append(TAGS_NOT_SUPPORTED.format(excerpt=tag))
    unknown: list[str] = []
    for match in _PLACEHOLDER.finditer(body):
        expression = _EXPRESSION.match(match.group("inner"))
        if expression is None:
            inner = match.group("inner").strip()
            if "|" in inner:
                problems.append(UNKNOWN_FILTER.format(expression=inner))
            else:
                unknown.append(inner)
            continue
        name = expression.group("name")
        if name not in PLACEHOLDERS and name not in unknown:
            unknown.append(name)
    known = ", ".join(placeholder_names())
    problems += [UNKNOWN_PLACEHOLDER.format(name=name, known=known) for name in unknown]
    # Braces left once the placeholders and tags are taken out belong to nothing.
    rest = _TAG.sub(lambda m: " " * len(m.group()), _PLACEHOLDER.sub(" ", body))
    stray = re.search(r"\{\{|\}\}", rest)
    if stray is not None:
        problems.append(MALFORMED_BRACES.format(excerpt=_excerpt(body, stray.start())))
    return problems


def template_validate(body: str) -> None:
    """Raise ``ValidationError`` naming every unknown placeholder, filter, tag and stray
    brace of ``body``."""
    problems = template_problems(body)
    if problems:
        raise ValidationError(problems)


def template_render(body: str, context: Mapping[str, str]) -> str:
    """``body`` with each placeholder replaced by ``context[name]`` (or its default when that
    is empty). A name the context lacks renders as its default or nothing; anything that is
    not a placeholder (tags, stray braces) stays as it is, never evaluated."""

    def fill(match: re.Match) -> str:
        expression = _EXPRESSION.match(match.group("inner"))
        if expression is None:
            return match.group()
        value = context.get(expression.group("name"), "")
        value = "" if value is None else str(value)
        if value.strip():
            return value
        return expression.group("dq") or expression.group("sq") or ""

    return _PLACEHOLDER.sub(fill, body or "")


def template_context(item: Any, agent: Any) -> dict[str, str]:
    """The value of every registered placeholder that has a resolver, for ``item`` and
    ``agent``."""
    return {
        name: placeholder.resolver(item, agent) or ""
        for name, placeholder in PLACEHOLDERS.items()
        if placeholder.resolver is not None
    }
