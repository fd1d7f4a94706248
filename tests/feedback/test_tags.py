"""Tag management (feedback.services.tags): agents create tags, leads rename, recolour and merge
them; names unique per team regardless of case; colours checked; every write audited."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from feedback.models import DEFAULT_TAG_COLOUR, Tag
from feedback.services import tag_create, tag_merge, tag_rename, tag_set_colour
from feedback.services.tags import (
    TAG_COLOUR_INVALID,
    TAG_MERGE_ACROSS_TEAMS,
    TAG_MERGE_ITSELF,
    TAG_NAME_DIGITS,
    TAG_NAME_TAKEN,
)
from portal.models import AuditEntry
from tests.feedback.factories import FeedbackItemFactory, TagFactory

pytestmark = pytest.mark.django_db


def test_an_agent_creates_a_tag_with_the_default_or_a_given_colour(world):
    plain = tag_create(actor=world.agent_a, team=world.team_a, name="  Billing   issues ")
    coloured = tag_create(actor=world.agent_a, team=world.team_a, name="Bug", colour="#1D4ED8")

    assert (plain.name, plain.colour) == ("Billing issues", DEFAULT_TAG_COLOUR)
    assert coloured.colour == "#1d4ed8"
    entry = AuditEntry.objects.get(action="feedback_tag.created", target_id=coloured.pk)
    assert entry.changes["name"] == {"before": None, "after": "Bug"}


def test_names_are_unique_per_team_regardless_of_case_and_spacing(world):
    tag_create(actor=world.agent_a, team=world.team_a, name="Bug")
    other = tag_create(actor=world.agent_a, team=world.team_a, name="Feature")

    with pytest.raises(ValidationError) as created:
        tag_create(actor=world.agent_a, team=world.team_a, name=" bug ")
    with pytest.raises(ValidationError) as renamed:
        tag_rename(actor=world.lead_a, tag=other, name="BUG")
    elsewhere = tag_create(actor=world.member_b, team=world.team_b, name="bug")

    assert created.value.message_dict == {
        "name": [TAG_NAME_TAKEN.format(team=world.team_a, name="bug")]
    }
    assert renamed.value.message_dict == {
        "name": [TAG_NAME_TAKEN.format(team=world.team_a, name="BUG")]
    }
    assert elsewhere.team == world.team_b
    assert Tag.objects.get(pk=other.pk).name == "Feature"


@pytest.mark.parametrize("colour", ["red", "#12345", "#1234567", "#ggggg0", ""])
def test_a_colour_is_hash_and_six_hex_digits(world, colour):
    tag = TagFactory(team=world.team_a)

    with pytest.raises(ValidationError) as refused:
        tag_set_colour(actor=world.lead_a, tag=tag, colour=colour)

    assert refused.value.message_dict == {"colour": [TAG_COLOUR_INVALID]}


def test_leads_rename_and_recolour_and_it_is_audited(world):
    tag = TagFactory(team=world.team_a, name="ux")

    tag_rename(actor=world.lead_a, tag=tag, name="Usability")
    tag_set_colour(actor=world.admin_a, tag=tag, colour="#FF0000")

    stored = Tag.objects.get(pk=tag.pk)
    assert (stored.name, stored.colour) == ("Usability", "#ff0000")
    actions = list(
        AuditEntry.objects.filter(target_id=tag.pk).order_by("pk").values_list("action", flat=True)
    )
    assert actions == ["feedback_tag.renamed", "feedback_tag.recoloured"]


@pytest.mark.parametrize("persona", ["viewer_a", "agent_a", "member_b"])
def test_only_leads_of_the_team_rename_recolour_and_merge(world, persona):
    tag, into = TagFactory(team=world.team_a), TagFactory(team=world.team_a)
    actor = getattr(world, persona)

    with pytest.raises(PermissionDenied):
        tag_rename(actor=actor, tag=tag, name="x")
    with pytest.raises(PermissionDenied):
        tag_set_colour(actor=actor, tag=tag, colour="#000000")
    with pytest.raises(PermissionDenied):
        tag_merge(actor=actor, source=tag, into=into)


def test_viewers_may_not_create_tags(world):
    with pytest.raises(PermissionDenied):
        tag_create(actor=world.viewer_a, team=world.team_a, name="x")


def test_merging_gives_every_item_the_target_once_and_deletes_the_source(world):
    source, into = TagFactory(team=world.team_a, name="bill"), TagFactory(team=world.team_a)
    both, only_source, only_into = (FeedbackItemFactory(team=world.team_a) for _ in range(3))
    both.tags.add(source, into)
    only_source.tags.add(source)
    only_into.tags.add(into)

    merged = tag_merge(actor=world.lead_a, source=source, into=into)

    assert merged == into
    assert not Tag.objects.filter(pk=source.pk).exists()
    for item in (both, only_source, only_into):
        assert list(item.tags.all()) == [into]
    entry = AuditEntry.objects.get(action="feedback_tag.merged")
    assert entry.changes["items_retagged"] == {"before": 0, "after": 2}


def test_a_tag_is_not_merged_into_itself_nor_across_teams(world):
    tag, foreign = TagFactory(team=world.team_a), TagFactory(team=world.team_b)

    with pytest.raises(ValidationError) as itself:
        tag_merge(actor=world.lead_a, source=tag, into=tag)
    with pytest.raises(ValidationError) as across:
        tag_merge(actor=world.superuser, source=tag, into=foreign)

    assert itself.value.message_dict == {"into": [TAG_MERGE_ITSELF]}
    assert across.value.message_dict == {"into": [TAG_MERGE_ACROSS_TEAMS.format(team=world.team_a)]}
    assert Tag.objects.filter(pk=tag.pk).exists()


def test_a_name_of_digits_only_is_refused_since_filters_read_it_as_an_id(world):
    with pytest.raises(ValidationError) as refused:
        tag_create(actor=world.agent_a, team=world.team_a, name=" 2027 ")
    assert refused.value.message_dict == {"name": [TAG_NAME_DIGITS.format(name="2027")]}
    tag = tag_create(actor=world.agent_a, team=world.team_a, name="2027 plan")
    with pytest.raises(ValidationError):
        tag_rename(actor=world.lead_a, tag=tag, name="3")
