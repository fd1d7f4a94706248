"""The unhealthy-channel notice, for pages outside the feedback app (the home page, a team's
settings page): ``{% load feedback_channels %}{% unhealthy_channels_notice %}`` shows one line
per enabled, unhealthy channel of the teams the reader administers (``team`` narrows it to
one team). Members below admin see nothing: they cannot fix a channel. One query."""

from typing import Any

from django import template

from feedback import selectors

register = template.Library()


@register.inclusion_tag("feedback/partials/channel_notice.html", takes_context=True)
def unhealthy_channels_notice(context: template.Context, team: Any = None) -> dict[str, Any]:
    request = context["request"]
    if not request.user.is_authenticated:
        return {"unhealthy": []}
    return {
        "unhealthy": list(selectors.channel_unhealthy_list(user=request.user, team=team)),
    }
