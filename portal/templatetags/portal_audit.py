"""The "History" section of a detail page, from the audit log.

A tag rather than a line in each view, because every app's detail pages show the same
section: a page adds ``{% audit_history object %}`` and the history is read through the one
scoped selector, ``selectors.audit_list_for``, for the person viewing the page."""

import re
from datetime import datetime
from typing import Any

from django import template
from django.db.models import Model
from django.utils import dateformat, timezone

from portal import selectors

register = template.Library()

HISTORY_SHOWN = 20
# How the audit log records a moment (datetime.isoformat, portal.services.audit).
_RECORDED_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@register.inclusion_tag("portal/partials/audit_history.html", takes_context=True)
def audit_history(context: template.Context, target: Model) -> dict[str, Any]:
    entries = list(
        selectors.audit_list_for(user=context["request"].user, target=target)[: HISTORY_SHOWN + 1]
    )
    # People by the name the rest of the page gives them (the log records the username).
    names, _ = selectors.user_names_find(
        ids=[entry.actor_id for entry in entries if entry.actor_id]
    )
    for entry in entries:
        entry.actor_name = names.get(entry.actor_id, entry.actor_label)
    return {
        "request": context["request"],
        "entries": entries[:HISTORY_SHOWN],
        "more_than_shown": len(entries) > HISTORY_SHOWN,
        "history_shown": HISTORY_SHOWN,
    }


@register.filter
def audit_action(action: str) -> str:
    """``"north_star_measurement.updated"`` as "North star measurement updated"."""
    return action.replace(".", " ").replace("_", " ").capitalize()


@register.filter
def audit_value(value: Any) -> str:
    """A value recorded in ``changes`` as a person reads it."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key}: {item}" for key, item in value.items())
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and _RECORDED_MOMENT.match(value):
        return _moment(value)
    return str(value)


def _moment(value: str) -> str:
    """A recorded moment in the reader's time zone, like the page's other times, instead of
    "2026-12-07T05:50:53.838798+00:00"."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return dateformat.format(moment, "j M Y, H:i T" if timezone.is_aware(moment) else "j M Y, H:i")
