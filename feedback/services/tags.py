"""Managing a team's tags: creating, renaming, merging one into another and colouring them.

Who may do what (as Help Scout does it): agents tag items, and may create a tag on the fly
while they do; leads and admins keep the team's tags tidy (rename, merge, colour). Names are
unique per team regardless of case and spacing (``Tag.name_key``), checked here for a message
and held by the database's constraint against races. Every write is audited.
"""

import re

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from feedback.inbox.choices import team_choices_changed
from feedback.inbox.counts import inbox_counts_changed
from feedback.models import DEFAULT_TAG_COLOUR, FeedbackItem, Tag
from feedback.services.items import TAG_EMPTY, TAG_TOO_LONG
from portal import access
from portal.actors import SystemActor
from portal.fields import normalised_key
from portal.models import Role, Team
from portal.services import audit
from portal.validation import reject_nul

Actor = AbstractBaseUser | SystemActor

TAG_NAME_TAKEN = "{team} already has a tag named {name!r}: pick another name, or merge the two."
TAG_COLOUR_INVALID = "A colour is written as # and six hexadecimal digits, such as #1d4ed8."
TAG_NAME_DIGITS = (
    "A tag's name needs something besides digits, since a number alone names a tag by its id "
    'in the inbox\'s filters: write "{name} plan" or "v{name}", for example.'
)
TAG_MERGE_ITSELF = "A tag cannot be merged into itself: pick another tag."
TAG_MERGE_ACROSS_TEAMS = "Both tags must belong to the same team: pick a tag of {team}."

_TAG_MAX = Tag._meta.get_field("name").max_length
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


def _clean_name(name: str) -> str:
    name = " ".join(str(name or "").split())
    reject_nul(name)
    if not name:
        raise ValidationError({"name": TAG_EMPTY})
    if len(name) > _TAG_MAX:
        raise ValidationError({"name": TAG_TOO_LONG.format(limit=_TAG_MAX)})
    if name.isascii() and name.isdigit():
        raise ValidationError({"name": TAG_NAME_DIGITS.format(name=name)})
    return name


def clean_colour(colour: str) -> str:
    """``#rrggbb`` in lower case (as the database's check wants it), or ValidationError."""
    colour = str(colour or "").strip()
    if not _COLOUR.fullmatch(colour):
        raise ValidationError({"colour": TAG_COLOUR_INVALID})
    return colour.lower()


def _name_free(team: Team, name: str, tag: Tag | None = None) -> None:
    taken = Tag.objects.filter(team=team, name_key=normalised_key(name))
    if tag is not None:
        taken = taken.exclude(pk=tag.pk)
    if taken.exists():
        raise ValidationError({"name": TAG_NAME_TAKEN.format(team=team, name=name)})


def _save(tag: Tag, **kwargs) -> None:
    """Save, turning a name taken by a concurrent writer into the same message as above."""
    try:
        with transaction.atomic():
            tag.save(**kwargs)
    except IntegrityError:
        raise ValidationError(
            {"name": TAG_NAME_TAKEN.format(team=tag.team, name=tag.name)}
        ) from None
    team_choices_changed(tag.team_id)


@transaction.atomic
def tag_create(*, actor: Actor, team: Team, name: str, colour: str = DEFAULT_TAG_COLOUR) -> Tag:
    """A new tag of the team. Agents and above."""
    access.require_team_role(actor, team, Role.AGENT)
    name, colour = _clean_name(name), clean_colour(colour)
    _name_free(team, name)
    tag = Tag(team=team, name=name, colour=colour)
    _save(tag, force_insert=True)
    audit(
        actor=actor,
        action="feedback_tag.created",
        target=tag,
        team=team,
        changes={
            "name": {"before": None, "after": name},
            "colour": {"before": None, "after": colour},
        },
    )
    return tag


@transaction.atomic
def tag_rename(*, actor: Actor, tag: Tag, name: str) -> Tag:
    """Rename the tag (its items keep it). Leads and above."""
    access.require_team_role(actor, tag.team, Role.LEAD)
    name = _clean_name(name)
    if name == tag.name:
        return tag
    _name_free(tag.team, name, tag)
    before = tag.name
    tag.name = name
    _save(tag, update_fields=["name", "name_key"])
    audit(
        actor=actor,
        action="feedback_tag.renamed",
        target=tag,
        team=tag.team,
        changes={"name": {"before": before, "after": name}},
    )
    return tag


@transaction.atomic
def tag_set_colour(*, actor: Actor, tag: Tag, colour: str) -> Tag:
    """The colour of the tag's badges. Leads and above."""
    access.require_team_role(actor, tag.team, Role.LEAD)
    colour = clean_colour(colour)
    if colour == tag.colour:
        return tag
    before = tag.colour
    tag.colour = colour
    tag.save(update_fields=["colour"])
    team_choices_changed(tag.team_id)
    audit(
        actor=actor,
        action="feedback_tag.recoloured",
        target=tag,
        team=tag.team,
        changes={"colour": {"before": before, "after": colour}},
    )
    return tag


@transaction.atomic
def tag_merge(*, actor: Actor, source: Tag, into: Tag) -> Tag:
    """Give every item of ``source`` the tag ``into`` (once) and delete ``source``; ``into``.
    Leads and above of the tags' team."""
    if source.pk == into.pk:
        raise ValidationError({"into": TAG_MERGE_ITSELF})
    access.require_team_role(actor, source.team, Role.LEAD)
    if source.team_id != into.team_id:
        raise ValidationError({"into": TAG_MERGE_ACROSS_TEAMS.format(team=source.team)})
    through = FeedbackItem.tags.through
    # Set-based: the items that have the source but not the target get the target in one
    # INSERT; then the source goes (its item rows cascade).
    has_into = through.objects.filter(tag_id=into.pk).values("feedbackitem_id")
    moving = list(
        through.objects.filter(tag_id=source.pk)
        .exclude(feedbackitem_id__in=has_into)
        .values_list("feedbackitem_id", flat=True)
    )
    through.objects.bulk_create(
        [through(feedbackitem_id=item_id, tag_id=into.pk) for item_id in moving]
    )
    tagged = through.objects.filter(tag_id=source.pk).count()
    inbox_counts_changed(into.team_id)
    audit(
        actor=actor,
        action="feedback_tag.merged",
        target=into,
        team=into.team,
        changes={
            "merged_tag": {"before": source.name, "after": None},
            "items_retagged": {"before": 0, "after": tagged},
        },
    )
    source.delete()
    team_choices_changed(into.team_id)
    return into
