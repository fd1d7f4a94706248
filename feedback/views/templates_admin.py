"""A team's response templates, under its settings (``/settings/teams/<slug>/templates/``):
the list (the team's and the shared ones), create, edit with a live preview, delete.

Every member of the team reads the list (agents pick from these); the team's leads create,
change and delete its templates, and superusers the shared ones (``team`` empty), which show
in every team's list. Another team's slug or template answers 404, a member below lead who
opens a form or posts 403. The preview renders the text for the team's latest item (or a
sample customer when the team has none yet) and names any unknown placeholder; htmx asks for
it as the lead types, and without JavaScript the "Preview" button posts the form to it.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from feedback import selectors
from feedback.models import ResponseTemplate
from feedback.services.replies import reply_render
from feedback.services.templates import (
    can_manage_templates,
    require_template_manager,
    template_create,
    template_delete,
    template_update,
)
from feedback.templating import PLACEHOLDERS, template_problems, template_render
from portal import access
from portal import selectors as portal_selectors
from portal.actors import person_name
from portal.models import Role, Team
from portal.validation import is_id, parse_id
from portal.views.common import bound_on_post, form_page, redirect_after_post, vary_on_htmx

TEMPLATE_CREATED = "Template {template} created."
TEMPLATE_SAVED = "Template {template} saved."
TEMPLATE_DELETED = "Template {template} deleted."
# The customer a preview is written to when the team has no item yet.
SAMPLE_CONTEXT = {
    "customer.first_name": "Alex",
    "customer.name": "Alex Example",
    "customer.email": "alex@example.com",
    "account.name": "Example Ltd",
    "account.plan": "Business",
    "item.subject": "The export stops halfway",
    "item.id": "1234",
}


class TemplateForm(forms.Form):
    name = forms.CharField(max_length=ResponseTemplate._meta.get_field("name").max_length)
    subject = forms.CharField(
        required=False,
        max_length=ResponseTemplate._meta.get_field("subject").max_length,
        help_text="Optional, for your list; a reply keeps the conversation's subject (Re: …).",
    )
    body = forms.CharField(
        label="Text",
        max_length=ResponseTemplate._meta.get_field("body").max_length,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text='Placeholders such as {{ customer.first_name|default:"there" }} are filled '
        "for each customer.",
    )
    shared = forms.BooleanField(
        required=False,
        label="Shared with every team",
        help_text="Only portal administrators manage shared templates.",
    )

    def __init__(self, *args: Any, allow_shared: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not allow_shared:
            del self.fields["shared"]


def _team(request: HttpRequest, slug: str) -> Team:
    """The team of the URL for its members (404 for another team)."""
    team = portal_selectors.team_get(user=request.user, slug=slug)
    access.require_team_role(request.user, team, Role.VIEWER)
    return team


def _template(request: HttpRequest, team: Team, pk: int) -> ResponseTemplate:
    """A template of the team or a shared one; another team's is 404."""
    template = selectors.response_template_get(user=request.user, pk=pk)
    if template.team_id not in (None, team.pk):
        raise Http404(selectors.NO_SUCH_TEMPLATE)
    return template


def _require_manager(request: HttpRequest, team: Team | None) -> None:
    """Leads of the team for its templates, superusers for shared ones (403 otherwise)."""
    require_template_manager(request.user, team)


def _list_url(team: Team) -> str:
    return reverse("feedback:template_list", args=[team.slug])


def _context(request: HttpRequest, team: Team, **extra: Any) -> dict[str, Any]:
    return {
        "section": "settings",
        "team": team,
        "placeholders": sorted(PLACEHOLDERS.values(), key=lambda p: p.name),
        "preview_url": reverse("feedback:template_preview", args=[team.slug]),
        **extra,
    }


@login_required
def template_list(request: HttpRequest, slug: str) -> HttpResponse:
    team = _team(request, slug)
    templates = selectors.response_template_list(user=request.user, team=team)
    rows = [(t, can_manage_templates(request.user, t.team)) for t in templates]
    context = _context(
        request,
        team,
        rows=rows,
        can_create=can_manage_templates(request.user, team),
    )
    return render(request, "feedback/templates_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def template_new(request: HttpRequest, slug: str) -> HttpResponse:
    team = _team(request, slug)
    _require_manager(request, team)
    allow_shared = request.user.is_superuser
    form = TemplateForm(bound_on_post(request), allow_shared=allow_shared)
    return form_page(
        request,
        form=form,
        save=lambda data: template_create(
            actor=request.user,
            team=None if data.get("shared") else team,
            name=data["name"],
            subject=data["subject"],
            body=data["body"],
        ),
        success=lambda template: (TEMPLATE_CREATED.format(template=template), _list_url(team)),
        template="feedback/templates_form.html",
        fragment_template="feedback/partials/templates_form.html",
        context=_context(
            request,
            team,
            form_url=reverse("feedback:template_new", args=[team.slug]),
            preview=_preview(request, team, _posted_body(request, "")),
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = _team(request, slug)
    template = _template(request, team, pk)
    _require_manager(request, template.team)
    initial = {"name": template.name, "subject": template.subject, "body": template.body}
    form = TemplateForm(bound_on_post(request), initial=initial)
    return form_page(
        request,
        form=form,
        save=lambda data: template_update(
            actor=request.user,
            template=template,
            name=data["name"],
            subject=data["subject"],
            body=data["body"],
        ),
        success=lambda saved: (TEMPLATE_SAVED.format(template=saved), _list_url(team)),
        template="feedback/templates_form.html",
        fragment_template="feedback/partials/templates_form.html",
        context=_context(
            request,
            team,
            template=template,
            form_url=reverse("feedback:template_edit", args=[team.slug, template.pk]),
            preview=_preview(request, team, _posted_body(request, template.body)),
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def template_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """GET asks whether to delete the template (a delete is not undone), POST deletes it."""
    team = _team(request, slug)
    template = _template(request, team, pk)
    _require_manager(request, template.team)
    if request.method == "GET":
        context = {"section": "settings", "team": team, "template": template}
        return render(request, "feedback/template_confirm_delete.html", context)
    name = str(template)
    template_delete(actor=request.user, template=template)
    messages.success(request, TEMPLATE_DELETED.format(template=name))
    return redirect_after_post(request, _list_url(team))


def _posted_body(request: HttpRequest, default: str) -> str:
    """The text a refused form shows again is the text to preview (a page without JavaScript
    gets no live preview)."""
    return request.POST.get("body", default) if request.method == "POST" else default


def _preview(request: HttpRequest, team: Team, body: str) -> dict[str, Any]:
    """The text as the team's latest customer would get it, or the problems with it."""
    item = (
        selectors.item_list(user=request.user, team=team)
        .order_by("-last_message_at", "-pk")
        .first()
    )
    problems = template_problems(body)
    if not body.strip() or problems:
        return {"problems": problems, "text": "", "item": item}
    if item is not None:
        text = reply_render(item=item, agent=request.user, body=body)
    else:
        name = person_name(request.user)
        sample = {
            **SAMPLE_CONTEXT,
            "agent.name": name,
            "agent.first_name": request.user.first_name or name.split()[0],
            "team.name": team.name,
        }
        text = template_render(body, sample)
    return {"problems": [], "text": text, "item": item}


@login_required
@require_POST
def template_preview(request: HttpRequest, slug: str) -> HttpResponse:
    """The preview fragment for the body posted (htmx as the lead types; plain with the form's
    "Preview" button, which shows the form again with the preview)."""
    team = _team(request, slug)
    access.require_team_role(request.user, team, Role.LEAD)
    body = request.POST.get("body", "")[: ResponseTemplate._meta.get_field("body").max_length]
    context = _context(request, team, preview=_preview(request, team, body))
    if getattr(request, "htmx", None):
        return vary_on_htmx(render(request, "feedback/partials/templates_preview.html", context))
    form = TemplateForm(
        initial={key: request.POST.get(key, "") for key in ("name", "subject", "body")},
        allow_shared=request.user.is_superuser,
    )
    pk = request.POST.get("template", "")
    template = _template(request, team, parse_id(pk)) if is_id(pk) else None
    form_url = (
        reverse("feedback:template_edit", args=[team.slug, template.pk])
        if template
        else reverse("feedback:template_new", args=[team.slug])
    )
    context.update(form=form, template=template, form_url=form_url)
    return vary_on_htmx(render(request, "feedback/templates_form.html", context))
