"""The API of response templates and replies: /api/v1/feedback/templates/ and /replies/."""

import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from feedback.models import DeliveryStatus, Message, ResponseTemplate
from feedback.services.templates import template_create
from feedback.templating import UNKNOWN_PLACEHOLDER, placeholder_names
from portal.models import Role
from tests.factories import CustomerFactory, MembershipFactory, TeamFactory, UserFactory
from tests.feedback.factories import (
    SUPPORT_ADDRESS,
    ChannelFactory,
    FeedbackItemFactory,
    MessageFactory,
)

pytestmark = pytest.mark.django_db
TEMPLATES = reverse("api:feedback-template-list")
REPLIES = reverse("api:feedback-reply-list")


@pytest.fixture
def item():
    channel = ChannelFactory(kind="imap", address=SUPPORT_ADDRESS)
    customer = CustomerFactory(name="Omar Haddad", email="omar@haddad.example")
    item = FeedbackItemFactory(team=channel.team, channel=channel, customer=customer)
    MessageFactory(item=item, channel=channel, sender="omar@haddad.example")
    return item


def api(item, role: Role) -> APIClient:
    user = UserFactory(first_name="Sam", last_name="Agent")
    MembershipFactory(user=user, team=item.team, role=role)
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_leads_create_templates_and_unknown_placeholders_answer_400(item):
    lead = api(item, Role.LEAD)

    created = lead.post(
        TEMPLATES, {"team": item.team.pk, "name": "Hi", "body": "Hi {{ customer.name }}"}
    )
    refused = lead.post(
        TEMPLATES, {"team": item.team.pk, "name": "Bad", "body": "{{ customer.shoe_size }}"}
    )

    assert created.status_code == 201
    assert created.json()["team"] == item.team.pk
    known = ", ".join(placeholder_names())
    assert refused.status_code == 400
    assert refused.json() == {
        "body": [UNKNOWN_PLACEHOLDER.format(name="customer.shoe_size", known=known)]
    }


def test_templates_are_team_scoped_and_shared_ones_readable_by_everyone(item):
    root = UserFactory(is_superuser=True)
    own = template_create(actor=root, team=item.team, name="Own", body="a")
    shared = template_create(actor=root, team=None, name="Shared", body="b")
    theirs = template_create(actor=root, team=TeamFactory(), name="Theirs", body="c")
    viewer = api(item, Role.VIEWER)

    listed = viewer.get(TEMPLATES).json()["results"]

    assert {row["id"] for row in listed} == {own.pk, shared.pk}
    detail = reverse("api:feedback-template-detail", args=[theirs.pk])
    assert viewer.get(detail).status_code == 404
    by_team = viewer.get(TEMPLATES, {"team": item.team.pk}).json()["results"]
    assert {row["id"] for row in by_team} == {own.pk, shared.pk}


def test_agents_may_not_change_templates_and_leads_not_shared_ones(item):
    root = UserFactory(is_superuser=True)
    own = template_create(actor=root, team=item.team, name="Own", body="a")
    shared = template_create(actor=root, team=None, name="Shared", body="b")
    agent, lead = api(item, Role.AGENT), api(item, Role.LEAD)

    own_url = reverse("api:feedback-template-detail", args=[own.pk])
    shared_url = reverse("api:feedback-template-detail", args=[shared.pk])
    assert agent.patch(own_url, {"body": "x"}).status_code == 403
    assert lead.patch(shared_url, {"body": "x"}).status_code == 403
    shared_post = {"team": None, "name": "New shared", "body": "x"}
    assert lead.post(TEMPLATES, shared_post, format="json").status_code == 403
    assert lead.patch(own_url, {"body": "Changed"}).json()["body"] == "Changed"
    assert lead.delete(own_url).status_code == 204
    assert list(ResponseTemplate.objects.values_list("name", flat=True)) == ["Shared"]


def test_a_reply_is_queued_with_202_and_sent(item, django_capture_on_commit_callbacks):
    agent = api(item, Role.AGENT)

    with django_capture_on_commit_callbacks(execute=True):
        response = agent.post(REPLIES, {"item": item.pk, "text": "On it."}, format="json")

    assert response.status_code == 202
    body = response.json()
    assert (body["delivery"], body["to"], body["is_note"]) == (
        "queued",
        ["omar@haddad.example"],
        False,
    )
    assert Message.objects.get(pk=body["id"]).delivery == DeliveryStatus.SENT
    assert len(mail.outbox) == 1
    listed = agent.get(REPLIES, {"item": item.pk}).json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]


def test_a_reply_from_a_template_is_personalised(item, django_capture_on_commit_callbacks):
    template = template_create(
        actor=UserFactory(is_superuser=True),
        team=item.team,
        name="Hello",
        body="Hi {{ customer.first_name }}, {{ agent.first_name }} here.",
    )
    agent = api(item, Role.AGENT)

    with django_capture_on_commit_callbacks(execute=True):
        response = agent.post(REPLIES, {"item": item.pk, "template": template.pk}, format="json")

    assert response.status_code == 202
    assert response.json()["text"] == "Hi Omar, Sam here."


def test_a_note_through_the_replies_endpoint_is_201_and_never_sent(item):
    agent = api(item, Role.AGENT)

    response = agent.post(
        REPLIES, {"item": item.pk, "text": "Internal", "note": True}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["is_note"] is True
    assert mail.outbox == []
    assert agent.get(REPLIES).json()["results"] == []


def test_bad_replies_answer_400_in_words(item):
    agent = api(item, Role.AGENT)
    feed = ChannelFactory(team=item.team, kind="feed", address="")
    feed_item = FeedbackItemFactory(team=item.team, channel=feed)
    MessageFactory(item=feed_item, channel=feed, sender="")
    other_team_item = FeedbackItemFactory()

    empty = agent.post(REPLIES, {"item": item.pk}, format="json")
    feed_reply = agent.post(REPLIES, {"item": feed_item.pk, "text": "Hi"}, format="json")
    foreign = agent.post(REPLIES, {"item": other_team_item.pk, "text": "Hi"}, format="json")

    assert empty.status_code == 400 and "text" in empty.json()
    assert feed_reply.status_code == 400
    assert "takes no replies" in feed_reply.json()["item"][0]
    assert foreign.status_code == 400 and foreign.json() == {"item": ["No such feedback item."]}


def test_viewers_may_not_reply(item):
    viewer = api(item, Role.VIEWER)

    response = viewer.post(REPLIES, {"item": item.pk, "text": "Hi"}, format="json")

    assert response.status_code == 403


def test_a_failed_reply_is_retried_with_202(item, django_capture_on_commit_callbacks):
    failed = MessageFactory(
        item=item,
        direction="out",
        delivery=DeliveryStatus.FAILED,
        sender=SUPPORT_ADDRESS,
        to=["omar@haddad.example"],
    )
    agent = api(item, Role.AGENT)
    url = reverse("api:feedback-reply-retry", args=[failed.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = agent.post(url)
    again = agent.post(url)

    assert response.status_code == 202
    failed.refresh_from_db()
    assert failed.delivery == DeliveryStatus.SENT
    assert again.status_code == 400
