"""``{% inbox_main %}``: the inbox list (saved views, filters, results and rows), rendered by the
Jinja2 engine (``templates/jinja2/feedback/partials/inbox_main.html``) from the page's context."""

from django import template
from django.utils.safestring import SafeString

from portal.jinja2 import render_fragment

register = template.Library()

MAIN_TEMPLATE = "feedback/partials/inbox_main.html"


@register.simple_tag(takes_context=True)
def inbox_main(context: template.Context) -> SafeString:
    return render_fragment(MAIN_TEMPLATE, context.flatten(), context.request)
