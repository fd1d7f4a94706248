"""A team's channel settings, for the team's admins: the list, create (the kind chosen from the
connector registry), edit, check the connection, enable and disable.

The pages live under the team's settings (``/settings/teams/<slug>/channels/``). Another
team's slug or channel answers 404; a member who is not an admin of the team 403.
"""

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from feedback import selectors, services
from feedback.channels import kind_label, webhook, widget
from feedback.forms import (
    ChannelEnabledForm,
    ChannelForm,
    ChannelKindForm,
    channel_form_class,
    creatable_kinds,
)
from feedback.models import Channel
from feedback.selectors import ChannelState
from feedback.views.widget import embed_snippet
from feedback.webhooks import webhook_url
from portal import access
from portal import selectors as portal_selectors
from portal.crypto import DecryptionError
from portal.models import Role, Team
from portal.views.common import (
    bound_on_post,
    form_page,
    redirect_after_post,
    safe_next,
    vary_on_htmx,
    wants_fragment,
)

CHECK_PASSED = "Connection works: {message}."
CHECK_FAILED = "Connection failed: {message}."
ENABLED_CHOICE = "Choose whether to enable or disable the channel."
CHANNEL_ENABLED = "Channel {channel} enabled: it is polled again from now on."
CHANNEL_DISABLED = "Channel {channel} disabled: it is not polled until it is enabled again."
CHANNEL_CREATED = "Channel {channel} created. Check its connection below."
CHANNEL_SAVED = "Channel {channel} saved."
CONFIG_UNREADABLE = (
    "The stored settings of this channel cannot be decrypted with this deployment's key: "
    "enter its settings, secrets included, again."
)


def admin_team(request: HttpRequest, slug: str) -> Team:
    """The team of the URL, for its admins: 404 for another team, 403 for other roles."""
    team = portal_selectors.team_get(user=request.user, slug=slug)
    access.require_team_role(request.user, team, Role.ADMIN)
    return team


@dataclass(frozen=True)
class ChannelRow:
    channel: Channel
    kind_label: str
    state: ChannelState
    enabled_form: ChannelEnabledForm


def _enabled_form(channel: Channel) -> ChannelEnabledForm:
    # The button flips the state: an enabled channel's form disables it.
    return ChannelEnabledForm(initial={"enabled": "false" if channel.enabled else "true"})


@login_required
def channel_list(request: HttpRequest, slug: str) -> HttpResponse:
    team = admin_team(request, slug)
    channels = selectors.channel_list(user=request.user, team=team)
    context = {
        "section": "settings",
        "team": team,
        "rows": [
            ChannelRow(c, kind_label(c.kind), selectors.channel_state(c), _enabled_form(c))
            for c in channels
        ],
        "unhealthy": [c for c in channels if c.enabled and not c.healthy],
        "can_create": bool(creatable_kinds()),
    }
    return render(request, "feedback/channel_list.html", context)


def _kind_page(request: HttpRequest, team: Team, form: ChannelKindForm, status: int = 200):
    context = {"section": "settings", "team": team, "kind_form": form}
    return render(request, "feedback/channel_kind.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def channel_create(request: HttpRequest, slug: str) -> HttpResponse:
    """``?kind=`` chooses the kind; with only one kind on offer there is nothing to choose."""
    team = admin_team(request, slug)
    kinds = creatable_kinds()
    kind = request.GET.get("kind") or (kinds[0] if len(kinds) == 1 else "")
    if not kind:
        return _kind_page(request, team, ChannelKindForm())
    kind_form = ChannelKindForm({"kind": kind})
    if not kind_form.is_valid():
        return _kind_page(request, team, kind_form, status=400)
    form = channel_form_class(kind)(bound_on_post(request))

    def created(channel: Channel) -> tuple[str, str]:
        secrets = form.generated_secrets(channel)
        if secrets:
            # Shown once, on the next page, which takes them out of the session again.
            request.session[_secrets_key(channel)] = secrets
        return (
            CHANNEL_CREATED.format(channel=channel),
            reverse("feedback:channel_edit", args=[team.slug, channel.pk]),
        )

    return form_page(
        request,
        form=form,
        save=lambda data: services.channel_create(
            actor=request.user, team=team, kind=kind, **form.service_arguments()
        ),
        success=created,
        template="feedback/channel_form.html",
        fragment_template="feedback/partials/channel_form.html",
        context={
            "section": "settings",
            "team": team,
            "kind": kind,
            "kind_label": kind_label(kind),
            "form_url": f"{reverse('feedback:channel_create', args=[team.slug])}?kind={kind}",
        },
    )


def _secrets_key(channel: Channel) -> str:
    return f"feedback_channel_{channel.pk}_secrets"


def _channel_context(
    request: HttpRequest, team: Team, channel: Channel, form: ChannelForm | None
) -> dict[str, Any]:
    return {
        "new_secrets": request.session.pop(_secrets_key(channel), None)
        if request.method == "GET"
        else None,
        "webhook_url": webhook_url(channel) if channel.kind == webhook.KIND else None,
        "widget_embed": embed_snippet(channel) if channel.kind == widget.KIND else None,
        "section": "settings",
        "team": team,
        "channel": channel,
        "kind": channel.kind,
        "kind_label": kind_label(channel.kind),
        "form_url": reverse("feedback:channel_edit", args=[team.slug, channel.pk]),
        "enabled_form": _enabled_form(channel),
        "config_unreadable": form is not None and form.config_unreadable,
        "config_unreadable_message": CONFIG_UNREADABLE,
    }


@login_required
@require_http_methods(["GET", "POST"])
def channel_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = admin_team(request, slug)
    channel = selectors.channel_get(user=request.user, pk=pk, team=team)
    form_class = channel_form_class(channel.kind)
    if form_class is None:
        # A kind without a form here (set up through the API): shown, not edited.
        context = {
            **_channel_context(request, team, channel, None),
            "public_config": sorted(selectors.channel_public_config(channel).items()),
        }
        return render(request, "feedback/channel_form.html", context)
    form = form_class(bound_on_post(request), channel=channel)

    def save(data: dict[str, Any]) -> Channel:
        # A fresh copy: a refused write must not change the name the page shows.
        fresh = selectors.channel_get(user=request.user, pk=pk, team=team)
        try:
            return services.channel_update(
                actor=request.user, channel=fresh, **form.service_arguments()
            )
        except DecryptionError as error:
            # The service merges into the stored settings, which this key cannot open.
            raise ValidationError(str(error)) from error

    return form_page(
        request,
        form=form,
        save=save,
        success=lambda saved: (
            CHANNEL_SAVED.format(channel=saved),
            reverse("feedback:channel_edit", args=[team.slug, saved.pk]),
        ),
        template="feedback/channel_form.html",
        fragment_template="feedback/partials/channel_form.html",
        context=_channel_context(request, team, channel, form),
    )


@login_required
@require_POST
def channel_check(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Try the stored settings now. htmx gets the result in place; a plain POST gets it as a
    message on the channel's page (post/redirect/get)."""
    team = admin_team(request, slug)
    channel = selectors.channel_get(user=request.user, pk=pk, team=team)
    result = services.channel_check(actor=request.user, channel=channel)
    text = (CHECK_PASSED if result.ok else CHECK_FAILED).format(message=result.message)
    if wants_fragment(request):
        context = {"team": team, "channel": channel, "check": result, "check_text": text}
        return vary_on_htmx(render(request, "feedback/partials/channel_check.html", context))
    (messages.success if result.ok else messages.error)(request, text)
    return redirect_after_post(
        request, reverse("feedback:channel_edit", args=[team.slug, channel.pk])
    )


@login_required
@require_POST
def channel_enable(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = admin_team(request, slug)
    channel = selectors.channel_get(user=request.user, pk=pk, team=team)
    form = ChannelEnabledForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(ENABLED_CHOICE)
    enabled = form.cleaned_data["enabled"]
    channel = services.channel_update(actor=request.user, channel=channel, enabled=enabled)
    messages.success(
        request, (CHANNEL_ENABLED if enabled else CHANNEL_DISABLED).format(channel=channel)
    )
    return redirect_after_post(
        request, safe_next(request, reverse("feedback:channel_list", args=[team.slug]))
    )
