"""The tag settings page (/settings/teams/<slug>/tags/): the list with colour swatches and
counts, adding (agents), renaming and recolouring and merging (leads), as plain POSTs with
post/redirect/get and through htmx (errors in place, HX-Redirect on success)."""

import pytest
from django.urls import reverse

from feedback.models import Tag
from feedback.services.tags import TAG_COLOUR_INVALID, TAG_NAME_TAKEN
from feedback.views.tags import TAG_CREATED
from tests.feedback.factories import FeedbackItemFactory, TagFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def page(slug="team-a"):
    return reverse("feedback:tag_list", args=[slug])


def test_members_read_the_tags_with_swatches_and_counts(client, world):
    bug = TagFactory(team=world.team_a, name="bug", colour="#ff0000")
    FeedbackItemFactory(team=world.team_a).tags.add(bug)
    TagFactory(team=world.team_b, name="theirs")
    client.force_login(world.viewer_a)

    response = client.get(page())

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" in body
    assert "background: #ff0000" in body
    assert "1 item" in body
    assert "theirs" not in body
    # A viewer sees no forms.
    assert "Add tag" not in body and "Rename, colour or merge" not in body


def test_an_htmx_get_answers_the_fragment_only(client, world):
    client.force_login(world.agent_a)

    response = client.get(page(), **HTMX)

    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assert 'id="tag-create-form"' in response.content.decode()
    assert "HX-Request" in response.headers["Vary"]


def test_an_agent_adds_a_tag_with_a_plain_post(client, world):
    client.force_login(world.agent_a)

    response = client.post(page(), {"name": "Billing", "colour": "#00aa00"}, follow=True)

    tag = Tag.objects.get(team=world.team_a, name="Billing")
    assert tag.colour == "#00aa00"
    assert response.redirect_chain[-1][0] == page()
    assert TAG_CREATED.format(tag="Billing", team=world.team_a) in response.content.decode()


def test_a_refused_tag_comes_back_in_place_through_htmx(client, world):
    TagFactory(team=world.team_a, name="Billing")
    client.force_login(world.agent_a)

    taken = client.post(page(), {"name": "billing", "colour": "#00aa00"}, **HTMX)
    colour = client.post(page(), {"name": "New", "colour": "green"}, **HTMX)

    assert taken.status_code == colour.status_code == 200
    assert "<html" not in taken.content.decode()
    assert (
        TAG_NAME_TAKEN.format(team=world.team_a, name="billing").replace("'", "&#x27;")
        in taken.content.decode()
    )
    assert TAG_COLOUR_INVALID in colour.content.decode()
    assert Tag.objects.filter(team=world.team_a).count() == 1


def test_a_lead_renames_and_recolours_plain_and_through_htmx(client, world):
    tag = TagFactory(team=world.team_a, name="ux")
    url = reverse("feedback:tag_edit", args=["team-a", tag.pk])
    client.force_login(world.lead_a)

    plain = client.post(url, {"name": "Usability", "colour": "#123456"})
    htmx = client.post(url, {"name": "UX", "colour": "#abcdef"}, **HTMX)

    assert plain.status_code == 302
    assert htmx.status_code == 200 and htmx.headers["HX-Redirect"] == page()
    stored = Tag.objects.get(pk=tag.pk)
    assert (stored.name, stored.colour) == ("UX", "#abcdef")


def test_a_refused_rename_shows_the_tags_row_with_its_error(client, world):
    TagFactory(team=world.team_a, name="bug")
    tag = TagFactory(team=world.team_a, name="ux")
    url = reverse("feedback:tag_edit", args=["team-a", tag.pk])
    client.force_login(world.lead_a)

    response = client.post(url, {"name": "BUG", "colour": "#123456"}, **HTMX)

    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<article id="tag-{tag.pk}"')
    assert "already has a tag named" in body
    assert Tag.objects.get(pk=tag.pk).name == "ux"


def test_a_lead_merges_a_tag_into_another(client, world):
    source, into = TagFactory(team=world.team_a), TagFactory(team=world.team_a)
    item = FeedbackItemFactory(team=world.team_a)
    item.tags.add(source)
    client.force_login(world.lead_a)

    response = client.post(
        reverse("feedback:tag_merge", args=["team-a", source.pk]), {"into": into.pk}
    )

    assert response.status_code == 302
    assert list(item.tags.all()) == [into]
    assert not Tag.objects.filter(pk=source.pk).exists()


def test_agents_may_not_manage_and_another_teams_tag_is_not_found(client, world):
    tag = TagFactory(team=world.team_a)
    foreign = TagFactory(team=world.team_b)
    client.force_login(world.agent_a)

    refused = client.post(
        reverse("feedback:tag_edit", args=["team-a", tag.pk]), {"name": "x", "colour": "#000000"}
    )
    client.force_login(world.superuser)
    wrong_team = client.post(
        reverse("feedback:tag_edit", args=["team-a", foreign.pk]),
        {"name": "x", "colour": "#000000"},
    )
    other_into = client.post(
        reverse("feedback:tag_merge", args=["team-a", tag.pk]), {"into": foreign.pk}
    )

    assert refused.status_code == 403
    assert wrong_team.status_code == 404
    # A tag of another team is no choice: the form says so and nothing is merged.
    assert other_into.status_code == 200
    assert Tag.objects.filter(pk=tag.pk).exists()


def test_the_team_settings_page_links_the_tags(client, world):
    client.force_login(world.viewer_a)

    response = client.get(reverse("portal:team_settings", args=["team-a"]))

    assert page() in response.content.decode()
