"""The reply composer, notes and retry on the item page, and the team's response template
settings pages: plain requests and htmx, team scoping, roles."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse

from feedback.models import (
    DeliveryStatus,
    FeedbackItem,
    ItemPresence,
    Message,
    PresenceActivity,
    ResponseTemplate,
)
from feedback.services.templates import template_create
from feedback.templating import UNKNOWN_PLACEHOLDER, placeholder_names
from feedback.views.replies import NOTE_ADDED
from portal.models import Role
from tests.factories import CustomerFactory, MembershipFactory, TeamFactory, UserFactory
from tests.feedback.factories import (
    SUPPORT_ADDRESS,
    ChannelFactory,
    FeedbackItemFactory,
    MessageFactory,
)

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def item():
    channel = ChannelFactory(kind="imap", address=SUPPORT_ADDRESS)
    customer = CustomerFactory(name="Omar Haddad", email="omar@haddad.example")
    item = FeedbackItemFactory(team=channel.team, channel=channel, customer=customer)
    MessageFactory(item=item, channel=channel, sender="omar@haddad.example")
    return item


def member(item, role: Role, **fields):
    user = UserFactory(**fields)
    MembershipFactory(user=user, team=item.team, role=role)
    return user


@pytest.fixture
def agent_client(client, item):
    client.force_login(member(item, Role.AGENT, first_name="Sam", last_name="Agent"))
    return client


@pytest.fixture
def lead_client(client, item):
    client.force_login(member(item, Role.LEAD))
    return client


def compose_url(item) -> str:
    return reverse("feedback:reply_compose", args=[item.pk])


# --- the composer -----------------------------------------------------------------------------


def test_the_composer_is_a_page_or_for_htmx_its_fragment(agent_client, item):
    page = agent_client.get(compose_url(item))
    fragment = agent_client.get(compose_url(item), **HTMX)

    assert page.status_code == fragment.status_code == 200
    assert "<html" in page.content.decode()
    assert "<html" not in fragment.content.decode()
    assert fragment.content.decode().lstrip().startswith(("{% comment", '<section id="reply"'))
    assert 'id="reply"' in fragment.content.decode()
    assert fragment.headers["Vary"].count("HX-Request") == 1


def test_choosing_a_template_fills_the_reply_personalised_for_the_customer(agent_client, item):
    lead = member(item, Role.LEAD)
    template = template_create(
        actor=lead,
        team=item.team,
        name="Hello",
        body="Hi {{ customer.first_name }}, {{ agent.name }}",
    )
    other_team = template_create(
        actor=UserFactory(is_superuser=True), team=TeamFactory(), name="Theirs", body="x"
    )

    response = agent_client.get(compose_url(item), {"template": template.pk}, **HTMX)
    body = response.content.decode()

    assert "Hi Omar, Sam Agent</textarea>" in body
    assert "Theirs" not in body
    refused = agent_client.get(compose_url(item), {"template": other_team.pk})
    assert "Choose one of the templates offered." in refused.content.decode()
    # "²" passes str.isdigit() but not int(): once a 500.
    assert agent_client.get(compose_url(item), {"template": "²"}).status_code == 200


def test_sending_a_reply_plainly_redirects_and_sends(
    agent_client, item, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(compose_url(item), {"text": "We are on it."})

    assert response.status_code == 302
    reply = Message.objects.get(item=item, direction="out")
    assert (reply.text, reply.delivery) == ("We are on it.", DeliveryStatus.SENT)
    assert len(mail.outbox) == 1


def test_sending_a_reply_through_htmx_redirects_the_page(
    agent_client, item, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(compose_url(item), {"text": "On it."}, **HTMX)

    assert response.status_code == 200
    assert response.headers["HX-Redirect"]


def test_an_empty_reply_shows_the_form_again_with_the_error(agent_client, item):
    response = agent_client.post(compose_url(item), {"text": ""}, **HTMX)

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not Message.objects.filter(direction="out").exists()


def test_a_feed_item_says_it_takes_no_replies(agent_client, item):
    feed = ChannelFactory(team=item.team, kind="feed", address="", name="Reviews")
    feed_item = FeedbackItemFactory(team=item.team, channel=feed)
    MessageFactory(item=feed_item, channel=feed, sender="")

    response = agent_client.post(compose_url(feed_item), {"text": "Thanks!"})

    assert response.status_code == 200
    assert "This channel takes no replies" in response.content.decode()


def test_notes_plain_and_htmx(agent_client, item):
    url = reverse("feedback:note_create", args=[item.pk])

    plain = agent_client.post(url, {"text": "Called them."}, follow=True)
    htmx = agent_client.post(url, {"text": "Again."}, **HTMX)
    empty = agent_client.post(url, {"text": ""}, **HTMX)

    assert NOTE_ADDED in plain.content.decode()
    assert htmx.headers["HX-Redirect"]
    assert empty.status_code == 200 and '<details class="note-composer" open>' in (
        empty.content.decode()
    )
    assert Message.objects.filter(item=item, is_note=True).count() == 2
    assert mail.outbox == []


def test_a_failed_reply_is_retried(agent_client, item, django_capture_on_commit_callbacks):
    reply = MessageFactory(
        item=item,
        author=member(item, Role.AGENT),
        direction="out",
        delivery=DeliveryStatus.FAILED,
        delivery_error="Sending failed",
        to=["omar@haddad.example"],
        sender=SUPPORT_ADDRESS,
    )
    url = reverse("feedback:reply_retry", args=[item.pk, reply.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(url)
    again = agent_client.post(url, follow=True)

    assert response.status_code == 302
    reply.refresh_from_db()
    assert reply.delivery == DeliveryStatus.SENT
    assert (
        "Only a reply whose sending failed or stalled can be sent again" in again.content.decode()
    )


def test_a_message_of_another_item_is_not_retried_through_this_one(agent_client, item):
    other = MessageFactory(item__team=item.team, direction="out", delivery=DeliveryStatus.FAILED)

    response = agent_client.post(reverse("feedback:reply_retry", args=[item.pk, other.pk]))

    assert response.status_code == 404


def test_viewers_get_403_and_other_teams_404(client, item):
    client.force_login(member(item, Role.VIEWER))
    assert client.get(compose_url(item)).status_code == 403
    assert client.post(compose_url(item), {"text": "x"}).status_code == 403

    outsider = UserFactory()
    MembershipFactory(user=outsider, team=TeamFactory(), role=Role.ADMIN)
    client.force_login(outsider)
    assert client.get(compose_url(item)).status_code == 404


# --- template settings ------------------------------------------------------------------------


def templates_url(item, name="feedback:template_list", *args) -> str:
    return reverse(name, args=[item.team.slug, *args])


def test_leads_create_a_template_and_it_is_listed(lead_client, item):
    response = lead_client.post(
        templates_url(item, "feedback:template_new"),
        {"name": "Thanks", "subject": "", "body": "Hi {{ customer.first_name }}"},
    )

    assert response.status_code == 302
    listing = lead_client.get(templates_url(item)).content.decode()
    assert "Thanks" in listing
    assert ResponseTemplate.objects.get().team == item.team


def test_an_unknown_placeholder_is_named_on_the_form(lead_client, item):
    response = lead_client.post(
        templates_url(item, "feedback:template_new"),
        {"name": "Bad", "body": "Hi {{ customer.shoe_size }}"},
        **HTMX,
    )

    known = ", ".join(placeholder_names())
    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assert "{{ customer.shoe_size }}" in response.content.decode()
    assert UNKNOWN_PLACEHOLDER.format(name="customer.shoe_size", known=known).split(";")[0] in (
        response.content.decode()
    )
    assert not ResponseTemplate.objects.exists()


def test_the_preview_renders_for_the_latest_item_or_names_problems(lead_client, item):
    url = templates_url(item, "feedback:template_preview")

    fine = lead_client.post(url, {"body": "Dear {{ customer.name }}"}, **HTMX).content.decode()
    bad = lead_client.post(url, {"body": "{% load x %}"}, **HTMX).content.decode()
    plain = lead_client.post(url, {"name": "N", "body": "Dear {{ customer.name }}"})
    odd_template = lead_client.post(url, {"template": "²", "body": "Hi"}, **HTMX)

    assert "Dear Omar Haddad" in fine and "<html" not in fine
    assert "Template tags such as" in bad
    assert plain.status_code == 200 and "<html" in plain.content.decode()
    assert "Dear Omar Haddad" in plain.content.decode()
    assert odd_template.status_code == 200


def test_a_refused_form_previews_the_text_it_shows_again(lead_client, item):
    # Without JavaScript there is no live preview: the page the form comes back on shows it.
    response = lead_client.post(
        templates_url(item, "feedback:template_new"),
        {"name": "", "body": "Dear {{ customer.name }}"},
    )

    page = response.content.decode()
    assert response.status_code == 200 and "<html" in page
    assert "Dear Omar Haddad" in page
    assert "Write the text to see it" not in page


def test_the_preview_is_written_to_the_customer_of_the_latest_item(lead_client, item):
    # Not the first in the inbox's order: an escalated or urgent older item came first.
    newer = FeedbackItemFactory(
        team=item.team,
        customer=CustomerFactory(name="Lena Park"),
        priority="normal",
        last_message_at=item.last_message_at + timedelta(hours=1),
    )
    FeedbackItem.objects.filter(pk=item.pk).update(priority="urgent")
    url = templates_url(item, "feedback:template_preview")

    preview = lead_client.post(url, {"body": "Dear {{ customer.name }}"}, **HTMX).content.decode()

    assert "Dear Lena Park" in preview and newer.subject in preview


def test_leads_edit_and_delete_their_teams_templates_but_not_shared_ones(lead_client, item):
    own = template_create(actor=member(item, Role.LEAD), team=item.team, name="Own", body="A")
    shared = template_create(actor=UserFactory(is_superuser=True), team=None, name="All", body="B")

    edited = lead_client.post(
        templates_url(item, "feedback:template_edit", own.pk), {"name": "Own", "body": "C"}
    )
    refused = lead_client.get(templates_url(item, "feedback:template_edit", shared.pk))
    asked = lead_client.get(templates_url(item, "feedback:template_delete", own.pk))
    kept = list(ResponseTemplate.objects.order_by("name").values_list("name", flat=True))
    deleted = lead_client.post(templates_url(item, "feedback:template_delete", own.pk))

    assert (edited.status_code, refused.status_code, deleted.status_code) == (302, 403, 302)
    # Deleting is asked first (a page that works without JavaScript), done by its button.
    assert asked.status_code == 200
    assert "Delete the template “Own”?" in asked.content.decode()
    assert kept == ["All", "Own"]
    assert list(ResponseTemplate.objects.values_list("name", flat=True)) == ["All"]


def test_agents_read_the_list_but_may_not_open_the_form(agent_client, item):
    own = template_create(actor=member(item, Role.LEAD), team=item.team, name="Own", body="A")

    assert agent_client.get(templates_url(item)).status_code == 200
    assert agent_client.get(templates_url(item, "feedback:template_new")).status_code == 403
    delete = templates_url(item, "feedback:template_delete", own.pk)
    assert agent_client.get(delete).status_code == 403


def test_another_teams_template_is_404_under_this_team(lead_client, item):
    theirs = template_create(
        actor=UserFactory(is_superuser=True), team=TeamFactory(), name="Theirs", body="x"
    )

    response = lead_client.get(templates_url(item, "feedback:template_edit", theirs.pk))

    assert response.status_code == 404


def test_opening_the_composer_tells_other_agents_someone_is_replying(agent_client, item):
    agent_client.get(compose_url(item), **HTMX)

    presence = ItemPresence.objects.get(item=item)
    assert (presence.activity, presence.user.first_name) == (PresenceActivity.REPLYING, "Sam")


def test_the_item_page_includes_the_composer_for_agents_only(client, item):
    template_create(actor=member(item, Role.LEAD), team=item.team, name="Greeting", body="Hi")
    page = reverse("feedback:item", args=[item.pk])

    client.force_login(member(item, Role.AGENT))
    agent_page = client.get(page).content.decode()
    client.force_login(member(item, Role.VIEWER))
    viewer_page = client.get(page).content.decode()

    assert '<section id="reply"' in agent_page and "Greeting" in agent_page
    assert '<section id="reply"' not in viewer_page


def test_the_composer_says_where_the_reply_goes_or_why_there_is_none(agent_client, item):
    feed = ChannelFactory(team=item.team, kind="feed", address="", name="Reviews")
    feed_item = FeedbackItemFactory(team=item.team, channel=feed)
    MessageFactory(item=feed_item, channel=feed, sender="")

    mail_composer = agent_client.get(compose_url(item), **HTMX).content.decode()
    feed_composer = agent_client.get(compose_url(feed_item), **HTMX).content.decode()

    assert "To <strong>omar@haddad.example</strong>" in mail_composer
    assert "This channel takes no replies" in feed_composer
    assert "Send reply" not in feed_composer and "Add note" in feed_composer
