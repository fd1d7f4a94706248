"""``{% inbox_rows %}``: the inbox list's rows, rendered by the Jinja2 engine (see
``templates/jinja2/feedback/partials/inbox_row.html``) from the page's context."""

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

ROWS_TEMPLATE = "feedback/partials/inbox_rows.html"


@register.simple_tag(takes_context=True)
def inbox_rows(context: template.Context) -> SafeString:
    """The context's ``rows`` (``InboxRow``), with its ``can_write``, ``current_url`` and
    CSRF token: the page's one token, read once (the engine's own ``csrf_token`` would be
    masked anew at each row)."""
    values = {
        "rows": context["rows"],
        "can_write": context.get("can_write", False),
        "current_url": context.get("current_url", ""),
        "csrf_token": str(context.get("csrf_token", "")),
    }
    # The engine escaped every value itself: its output is HTML.
    return mark_safe(render_to_string(ROWS_TEMPLATE, values, using="jinja2"))  # noqa: S308
