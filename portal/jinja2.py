"""The Jinja2 environment of the portal's second template engine (``settings.TEMPLATES``)."""

from typing import Any

from jinja2 import Environment, StrictUndefined


def environment(**options: Any) -> Environment:
    """Django's options (autoescape on, the template folders, reload while debugging), with
    an undefined name an error rather than an empty string."""
    return Environment(**{**options, "undefined": StrictUndefined})
