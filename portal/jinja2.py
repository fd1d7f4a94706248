"""The Jinja2 environment of the portal's second template engine (``settings.TEMPLATES``), and
``render_fragment``, which renders one of its templates inside a Django page or as an htmx
answer."""

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template import engines
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from jinja2 import Environment, StrictUndefined
from markupsafe import Markup, escape


def environment(**options: Any) -> Environment:
    """Django's options (the template folders, reload while debugging), always autoescaping,
    with an undefined name an error rather than an empty string, and ``url`` (Django's
    ``reverse``) for links."""
    options = {name: value for name, value in options.items() if name != "autoescape"}
    env = Environment(autoescape=True, **{**options, "undefined": StrictUndefined})
    env.globals["url"] = url
    return env


def url(name: str, *args: Any, **kwargs: Any) -> str:
    """``{% url %}`` for Jinja2: ``url("feedback:item", item.pk)``."""
    return reverse(name, args=args or None, kwargs=kwargs or None)


def render_fragment(name: str, context: Mapping[str, Any], request: HttpRequest) -> SafeString:
    """The Jinja2 template ``name`` with ``context``, and the request's CSRF token read once as
    ``csrf_token`` and ``csrf_input`` (the backend's own are masked anew at each use: 25 rows'
    forms cost 2 ms)."""
    token = get_token(request)
    values = {
        **context,
        "csrf_token": token,
        "csrf_input": Markup('<input type="hidden" name="csrfmiddlewaretoken" value="{}">').format(
            escape(token)
        ),
    }
    # The engine escaped every value itself: its output is HTML.
    return mark_safe(engines["jinja2"].get_template(name).render(values))  # noqa: S308
