"""The Jinja2 environment of the portal's second template engine (``settings.TEMPLATES``)."""

from typing import Any

from jinja2 import Environment, StrictUndefined


def environment(**options: Any) -> Environment:
    """Django's options (the template folders, reload while debugging), always autoescaping,
    and with an undefined name an error rather than an empty string."""
    options = {name: value for name, value in options.items() if name != "autoescape"}
    return Environment(autoescape=True, **{**options, "undefined": StrictUndefined})
