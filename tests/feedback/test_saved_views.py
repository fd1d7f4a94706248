"""Saved views of the inbox: agents keep their own, leads share with the team; a personal view
is its owner's alone; parameters are checked as the inbox checks them and stored canonical
("me" stays "me"); the API (/api/v1/feedback/saved-views/) answers 201/200/204, 400 with field
errors, 403 for a role too low and 404 for what the user does not see."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils.http import urlencode
from rest_framework.test import APIClient

from feedback import selectors
from feedback.inbox.params import NO_SUCH_TAG, UNKNOWN_CHOICE
from feedback.models import SavedView
from feedback.services.saved_views import (
    NAME_REQUIRED,
    NAME_TAKEN_PERSONAL,
    NAME_TAKEN_SHARED,
    NOT_YOUR_VIEW,
    saved_view_create,
    saved_view_delete,
    saved_view_rename,
    saved_view_update,
)
from portal.models import AuditEntry
from tests.feedback.factories import FeedbackItemFactory, TagFactory

pytestmark = pytest.mark.django_db
LIST = "api:feedback-saved-view-list"


def detail(view) -> str:
    return reverse("api:feedback-saved-view-detail", args=[view.pk])


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def personal(world, user=None, name="Mine", **params):
    return saved_view_create(
        actor=user or world.agent_a, team=world.team_a, name=name, params=params or {}
    )


def shared(world, name="Urgent", **params):
    return saved_view_create(
        actor=world.lead_a, team=world.team_a, name=name, params=params or {}, shared=True
    )


# Services ------------------------------------------------------------------------------------


def test_an_agent_saves_a_view_of_their_own_with_canonical_params(world):
    tag = TagFactory(team=world.team_a, name="Billing")

    view = personal(world, status=["open", "new"], tag=["billing"], assignee="me", q=" refund ")

    assert view.owner == world.agent_a
    assert view.params == {
        "status": ["open", "new"],
        "assignee": ["me"],
        "tag": [str(tag.pk)],
        "q": ["refund"],
    }
    assert not AuditEntry.objects.filter(action__startswith="saved_view").exists()


def test_a_query_string_is_taken_and_visit_parameters_are_dropped(world):
    view = personal(world)
    view = saved_view_update(
        actor=world.agent_a, view=view, params="?status=waiting&cursor=abc&page_size=5&team=9"
    )

    assert view.params == {"status": ["waiting"]}


def test_a_view_the_inbox_would_refuse_is_refused_with_the_inboxs_message(world):
    foreign = TagFactory(team=world.team_b)

    with pytest.raises(ValidationError) as refused:
        personal(world, status=["closed"], tag=[str(foreign.pk)])

    messages = refused.value.message_dict["params"]
    assert NO_SUCH_TAG.format(value=str(foreign.pk), where="this team") in messages
    assert any("'closed'" in message for message in messages)
    assert not SavedView.objects.exists()


def test_leads_share_views_agents_and_viewers_may_not(world):
    view = shared(world)

    assert view.owner is None
    assert AuditEntry.objects.filter(action="saved_view.created", target_id=view.pk).count() == 1
    with pytest.raises(PermissionDenied):
        saved_view_create(actor=world.agent_a, team=world.team_a, name="X", params={}, shared=True)
    with pytest.raises(PermissionDenied):
        personal(world, user=world.viewer_a)
    with pytest.raises(PermissionDenied):
        saved_view_create(actor=world.member_b, team=world.team_a, name="X", params={})


def test_names_are_unique_per_owner_and_per_teams_shared_views(world):
    personal(world, name="Refunds")
    shared(world, name="Refunds")
    personal(world, user=world.lead_a, name="refunds")

    with pytest.raises(ValidationError) as mine:
        personal(world, name=" REFUNDS ")
    with pytest.raises(ValidationError) as theirs:
        shared(world, name="refunds")
    with pytest.raises(ValidationError) as blank:
        personal(world, name="  ")

    assert mine.value.message_dict == {"name": [NAME_TAKEN_PERSONAL.format(name="REFUNDS")]}
    assert theirs.value.message_dict == {
        "name": [NAME_TAKEN_SHARED.format(team=world.team_a, name="refunds")]
    }
    assert blank.value.message_dict == {"name": [NAME_REQUIRED]}


def test_only_the_owner_changes_a_personal_view_and_leads_a_shared_one(world):
    mine = personal(world)
    theirs = shared(world)

    with pytest.raises(PermissionDenied, match=NOT_YOUR_VIEW):
        saved_view_rename(actor=world.lead_a, view=mine, name="Taken over")
    with pytest.raises(PermissionDenied):
        saved_view_delete(actor=world.agent_a, view=theirs)
    renamed = saved_view_rename(actor=world.admin_a, view=theirs, name="Very urgent")
    saved_view_delete(actor=world.agent_a, view=mine)

    assert renamed.name == "Very urgent"
    assert AuditEntry.objects.get(action="saved_view.updated").changes == {
        "name": {"from": "Urgent", "to": "Very urgent"}
    }
    assert list(SavedView.objects.values_list("name", flat=True)) == ["Very urgent"]


def test_a_person_sees_their_own_views_and_their_teams_shared_ones(world):
    mine = personal(world)
    personal(world, user=world.lead_a, name="Lead's own")
    team_view = shared(world)
    saved_view_create(actor=world.member_b, team=world.team_b, name="B's", params={}, shared=True)

    assert list(selectors.saved_view_list(user=world.agent_a)) == [team_view, mine]
    assert list(selectors.saved_view_list(user=world.viewer_a)) == [team_view]
    assert [v.name for v in selectors.saved_view_list(user=world.member_b)] == ["B's"]
    # Superusers see the shared ones, but nobody else's personal views.
    assert world.superuser.pk not in {
        v.owner_id for v in selectors.saved_view_list(user=world.superuser)
    }
    assert "Lead's own" not in {v.name for v in selectors.saved_view_list(user=world.superuser)}


def test_a_shared_mine_view_shows_each_person_their_own_items(world):
    view = shared(world, name="Mine", assignee="me")
    for_agent = FeedbackItemFactory(team=world.team_a, assignee=world.agent_a)
    for_lead = FeedbackItemFactory(team=world.team_a, assignee=world.lead_a)

    def shown(user):
        asked = selectors.inbox_query_from_params(view.params, user=user, team=world.team_a)
        return [i.pk for i in selectors.inbox_items(user=user, team=world.team_a, query=asked)]

    assert shown(world.agent_a) == [for_agent.pk]
    assert shown(world.lead_a) == [for_lead.pk]


# API -----------------------------------------------------------------------------------------


def test_api_lists_creates_changes_and_deletes_views(world):
    team_view = shared(world)
    client = client_for(world.agent_a)

    created = client.post(
        reverse(LIST),
        {"team": world.team_a.pk, "name": "Open", "params": {"status": ["open"]}},
        format="json",
    )
    listed = client.get(reverse(LIST), {"team": world.team_a.pk})
    changed = client.patch(detail(SavedView.objects.get(name="Open")), {"name": "Open ones"})
    deleted = client.delete(detail(SavedView.objects.get(name="Open ones")))

    assert created.status_code == 201
    assert created.json() | {"id": 0, "created_at": ""} == {
        "id": 0,
        "team": world.team_a.pk,
        "name": "Open",
        "shared": False,
        "owner": world.agent_a.pk,
        "params": {"status": ["open"]},
        "created_at": "",
    }
    assert [row["name"] for row in listed.json()["results"]] == ["Urgent", "Open"]
    assert changed.status_code == 200
    assert changed.json()["name"] == "Open ones"
    assert deleted.status_code == 204
    assert list(SavedView.objects.all()) == [team_view]


def test_api_takes_a_query_string_from_a_form(world):
    response = client_for(world.agent_a).post(
        reverse(LIST),
        urlencode({"team": world.team_a.pk, "name": "Waiting", "params": "status=waiting"}),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 201
    assert response.json()["params"] == {"status": ["waiting"]}


def test_api_refuses_bad_params_and_names_with_field_errors(world):
    client = client_for(world.agent_a)

    bad_status = client.post(
        reverse(LIST),
        {"team": world.team_a.pk, "name": "X", "params": {"status": ["closed"]}},
        format="json",
    )
    not_object = client.post(
        reverse(LIST), {"team": world.team_a.pk, "name": "X", "params": [1, 2]}, format="json"
    )
    no_name = client.post(reverse(LIST), {"team": world.team_a.pk, "name": ""}, format="json")
    # A view of a date with no day after it once stored, then failed every time it was opened.
    no_next_day = client.post(
        reverse(LIST),
        {"team": world.team_a.pk, "name": "X", "params": {"to": ["9999-12-31"]}},
        format="json",
    )

    assert bad_status.status_code == 400
    assert bad_status.json()["params"] == [
        UNKNOWN_CHOICE.format(
            value="closed", what="status", choices="new, open, waiting, resolved, spam"
        )
    ]
    assert (not_object.status_code, list(not_object.json())) == (400, ["params"])
    assert (no_name.status_code, list(no_name.json())) == (400, ["name"])
    assert (no_next_day.status_code, list(no_next_day.json())) == (400, ["params"])


def test_api_answers_403_for_a_role_too_low_and_404_for_what_is_not_seen(world):
    mine = personal(world)
    team_view = shared(world)

    viewer_creates = client_for(world.viewer_a).post(
        reverse(LIST), {"team": world.team_a.pk, "name": "X"}, format="json"
    )
    agent_shares = client_for(world.agent_a).post(
        reverse(LIST), {"team": world.team_a.pk, "name": "X", "shared": True}, format="json"
    )
    agent_renames_shared = client_for(world.agent_a).patch(detail(team_view), {"name": "Y"})
    lead_reads_personal = client_for(world.lead_a).get(detail(mine))
    other_team = client_for(world.member_b).delete(detail(team_view))

    assert viewer_creates.status_code == 403
    assert agent_shares.status_code == 403
    assert agent_renames_shared.status_code == 403
    assert lead_reads_personal.status_code == 404
    assert other_team.status_code == 404
    assert SavedView.objects.count() == 2
