"""A team's tags, under its settings (``/settings/teams/<slug>/tags/``): each with its colour
swatch and how many items carry it; agents add tags, leads rename, recolour and merge them
(``feedback.services.tags``).

Every member of the team reads the page; another team's slug (or a tag of another team)
answers 404, a member whose role is too low and who posts 403. Each form posts plainly
(post/redirect/get) or through htmx, which swaps the form with its errors in place and, on
success, reloads the page (a merge or rename changes other rows).
"""

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from feedback import selectors, services
from feedback.models import DEFAULT_TAG_COLOUR, Tag
from portal import access
from portal import selectors as portal_selectors
from portal.models import Role, Team
from portal.views.common import bound_on_post, form_page

TAG_CREATED = "Tag {tag} added to {team}."
TAG_SAVED = "Tag {tag} saved."
TAG_MERGED = "Tag merged into {tag}: its items carry {tag} now."

_TAG_MAX = Tag._meta.get_field("name").max_length


def _colour_field() -> forms.CharField:
    return forms.CharField(
        label="Colour",
        max_length=7,
        initial=DEFAULT_TAG_COLOUR,
        widget=forms.TextInput(attrs={"type": "color"}),
    )


class TagCreateForm(forms.Form):
    name = forms.CharField(label="Name", max_length=_TAG_MAX)
    colour = _colour_field()


class TagEditForm(forms.Form):
    name = forms.CharField(label="Name", max_length=_TAG_MAX)
    colour = _colour_field()


class TagMergeForm(forms.Form):
    into = forms.ModelChoiceField(
        label="Merge into", queryset=Tag.objects.none(), empty_label="Choose a tag"
    )

    def __init__(self, *args: Any, tag: Tag, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["into"].queryset = Tag.objects.filter(team_id=tag.team_id).exclude(pk=tag.pk)


def _team(request: HttpRequest, slug: str, minimum: Role) -> Team:
    """The team of the URL for its members (404 for another team); a POST needs ``minimum``."""
    team = portal_selectors.team_get(user=request.user, slug=slug)
    access.require_team_role(request.user, team, Role.VIEWER)
    if request.method == "POST":
        access.require_team_role(request.user, team, minimum)
    return team


def _tag(request: HttpRequest, team: Team, pk: int) -> Tag:
    tag = selectors.tag_get(user=request.user, pk=pk)
    if tag.team_id != team.pk:
        raise Http404(selectors.NO_SUCH_TAG)
    return tag


class _Row:
    """A tag with its forms (the leads'), bound when it is the one just posted."""

    def __init__(
        self, tag: Tag, edit: TagEditForm | None = None, merge: TagMergeForm | None = None
    ):
        self.tag = tag
        self.edit_form = edit or TagEditForm(
            initial={"name": tag.name, "colour": tag.colour}, auto_id=f"id_tag{tag.pk}_%s"
        )
        self.merge_form = merge or TagMergeForm(tag=tag, auto_id=f"id_merge{tag.pk}_%s")
        self.edit_url = reverse("feedback:tag_edit", args=[tag.team.slug, tag.pk])
        self.merge_url = reverse("feedback:tag_merge", args=[tag.team.slug, tag.pk])


def _context(request: HttpRequest, team: Team, **bound: Any) -> dict[str, Any]:
    tags = selectors.tag_list(user=request.user, team=team).annotate(item_count=Count("items"))
    rows = []
    for tag in tags:
        if bound.get("tag") is not None and bound["tag"].pk == tag.pk:
            rows.append(_Row(tag, bound.get("edit_form"), bound.get("merge_form")))
        else:
            rows.append(_Row(tag))
    row = next((r for r in rows if bound.get("tag") and r.tag.pk == bound["tag"].pk), None)
    return {
        "section": "settings",
        "team": team,
        "rows": rows,
        "row": row,
        "can_create": access.has_team_role(request.user, team, Role.AGENT),
        "can_manage": access.has_team_role(request.user, team, Role.LEAD),
        "create_form": bound.get("create_form") or TagCreateForm(),
        "create_url": reverse("feedback:tag_list", args=[team.slug]),
    }


def _back_to_list(message: str, team: Team):
    url = reverse("feedback:tag_list", args=[team.slug])
    return lambda tag: (message.format(tag=tag, team=team), url)


@login_required
@require_http_methods(["GET", "POST"])
def tag_list(request: HttpRequest, slug: str) -> HttpResponse:
    """The team's tags; a POST adds one (agents and above)."""
    team = _team(request, slug, Role.AGENT)
    form = TagCreateForm(bound_on_post(request))
    return form_page(
        request,
        form=form,
        save=lambda data: services.tag_create(
            actor=request.user, team=team, name=data["name"], colour=data["colour"]
        ),
        success=_back_to_list(TAG_CREATED, team),
        template="feedback/tags.html",
        fragment_template="feedback/partials/tag_create_form.html",
        context=_context(request, team, create_form=form),
    )


@login_required
@require_POST
def tag_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Rename the tag and set its colour (leads and above)."""
    team = _team(request, slug, Role.LEAD)
    tag = _tag(request, team, pk)
    form = TagEditForm(request.POST, auto_id=f"id_tag{tag.pk}_%s")

    def save(data: dict[str, Any]) -> Tag:
        # One transaction: a refused colour keeps the old name too.
        with transaction.atomic():
            services.tag_rename(actor=request.user, tag=tag, name=data["name"])
            return services.tag_set_colour(actor=request.user, tag=tag, colour=data["colour"])

    return form_page(
        request,
        form=form,
        save=save,
        success=_back_to_list(TAG_SAVED, team),
        template="feedback/tags.html",
        fragment_template="feedback/partials/tag_row.html",
        context=_context(request, team, tag=tag, edit_form=form),
    )


@login_required
@require_POST
def tag_merge(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Merge the tag into another of the team (leads and above)."""
    team = _team(request, slug, Role.LEAD)
    tag = _tag(request, team, pk)
    form = TagMergeForm(request.POST, tag=tag, auto_id=f"id_merge{tag.pk}_%s")
    return form_page(
        request,
        form=form,
        save=lambda data: services.tag_merge(actor=request.user, source=tag, into=data["into"]),
        success=_back_to_list(TAG_MERGED, team),
        template="feedback/tags.html",
        fragment_template="feedback/partials/tag_row.html",
        context=_context(request, team, tag=tag, merge_form=form),
    )
