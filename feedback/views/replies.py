"""Replying on the item page: the composer (a response template personalised for the item,
edited, then sent), internal notes and the retry of a failed send.

``/inbox/<id>/reply/``: GET shows the composer (``?template=<id>`` fills it with that template
personalised for the item: the agent previews and edits the text before sending); POST sends.
``/inbox/<id>/note/``: POST adds an internal note. ``/inbox/<id>/messages/<mid>/retry/``: POST
queues a failed reply again. The item page includes the composer's fragment
(``feedback/partials/reply_form.html``) with :func:`composer_context`; an htmx request gets
the fragment alone, a plain one the composer's own page, and a successful POST of either kind
goes back to the item page (post/redirect/get). Agents of the item's team; a viewer is
answered 403, another team's item 404.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from feedback import selectors
from feedback.models import FeedbackItem, PresenceActivity, ResponseTemplate
from feedback.services.items import MAX_TEXT_LENGTH
from feedback.services.presence import presence_touch
from feedback.services.replies import (
    note_add,
    reply_recipient,
    reply_render,
    reply_retry,
    reply_send,
)
from portal import access
from portal.forms import add_service_errors
from portal.models import Role
from portal.validation import is_id, parse_id
from portal.views.common import redirect_after_post, render_page_or_fragment

REPLY_QUEUED = "Reply to {to} queued: it is sent in a moment, and shown below once it is."
NOTE_ADDED = "Internal note added. It is never sent to the customer."
RETRY_QUEUED = "Sending the reply to {to} again."
NO_SUCH_TEMPLATE_CHOICE = "Choose one of the templates offered."


class ReplyForm(forms.Form):
    text = forms.CharField(
        label="Reply",
        max_length=MAX_TEXT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Sent by e-mail to the customer as you see it here.",
    )


class NoteForm(forms.Form):
    text = forms.CharField(
        label="Internal note",
        max_length=MAX_TEXT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Seen by your team only; never sent.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Its own ids: it shares the page (and the field name) with the reply form.
        kwargs.setdefault("auto_id", "id_note_%s")
        super().__init__(*args, **kwargs)


def item_page_url(item: FeedbackItem) -> str:
    return reverse("feedback:item", args=[item.pk]) + "#reply"


def _agent_item(request: HttpRequest, pk: int) -> FeedbackItem:
    item = selectors.item_get(user=request.user, pk=pk)
    access.require_team_role(request.user, item.team, Role.AGENT)
    return item


def _templates(request: HttpRequest, item: FeedbackItem) -> list[ResponseTemplate]:
    return list(selectors.response_template_list(user=request.user, team=item.team))


def composer_context(
    request: HttpRequest,
    item: FeedbackItem,
    *,
    reply_form: ReplyForm | None = None,
    note_form: NoteForm | None = None,
) -> dict[str, Any]:
    """What ``feedback/partials/reply_form.html`` needs, for the item page to include it:
    the template choice, the reply form (filled from ``?template=``) and the note form.
    Empty for a user who may not reply (the page then shows no composer)."""
    if not access.has_team_role(request.user, item.team, Role.AGENT):
        return {"can_reply": False}
    templates = _templates(request, item)
    chosen = None
    wanted = request.GET.get("template", "")
    if is_id(wanted):
        chosen = next((t for t in templates if t.pk == parse_id(wanted)), None)
    if reply_form is None:
        initial = {}
        if chosen is not None:
            initial["text"] = reply_render(item=item, agent=request.user, body=chosen.body)
        reply_form = ReplyForm(initial=initial)
    recipient, refusal = reply_recipient(item)
    return {
        "reply_to_address": recipient,
        "reply_refusal": refusal,
        "template_error": NO_SUCH_TEMPLATE_CHOICE if wanted and chosen is None else "",
        "can_reply": True,
        "item": item,
        "reply_templates": templates,
        "chosen_template": chosen,
        "reply_form": reply_form,
        "note_form": note_form or NoteForm(),
    }


def _composer(
    request: HttpRequest, item: FeedbackItem, status: int = 200, **forms_: Any
) -> HttpResponse:
    context = {"section": "inbox", **composer_context(request, item, **forms_)}
    return render_page_or_fragment(
        request,
        "feedback/reply_page.html",
        "feedback/partials/reply_form.html",
        context,
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def reply_compose(request: HttpRequest, pk: int) -> HttpResponse:
    item = _agent_item(request, pk)
    if request.method == "GET":
        # Opening the composer (or choosing a template in it) is replying: other agents on
        # the item see "… is replying" (the item page's collision notice).
        presence_touch(
            user=request.user, item=item, activity=PresenceActivity.REPLYING, now=timezone.now()
        )
        return _composer(request, item)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            message = reply_send(actor=request.user, item=item, text=form.cleaned_data["text"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, REPLY_QUEUED.format(to=", ".join(message.to)))
            return redirect_after_post(request, item_page_url(item))
    return _composer(request, item, reply_form=form)


@login_required
@require_POST
def note_create(request: HttpRequest, pk: int) -> HttpResponse:
    item = _agent_item(request, pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            note_add(actor=request.user, item=item, text=form.cleaned_data["text"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, NOTE_ADDED)
            return redirect_after_post(request, item_page_url(item))
    return _composer(request, item, note_form=form)


@login_required
@require_POST
def reply_retry_view(request: HttpRequest, pk: int, message_pk: int) -> HttpResponse:
    item = selectors.item_get(user=request.user, pk=pk)
    message = selectors.message_get(user=request.user, pk=message_pk)
    if message.item_id != item.pk:
        raise Http404(selectors.NO_SUCH_MESSAGE)
    try:
        reply_retry(actor=request.user, message=message)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, RETRY_QUEUED.format(to=", ".join(message.to)))
    return redirect_after_post(request, item_page_url(item))
