"""Notifications: the one ``notify`` service, the bell, the page, marking read, the digest."""

import smtplib
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse

from portal import selectors, services
from portal.actors import SYSTEM
from portal.models import Notification, UserProfile
from portal.services.notifications import DIGEST_MAX_ITEMS, DIGEST_SUBJECT, DIGEST_SUBJECT_ONE
from portal.tasks import send_notification_digests
from portal.views.notifications import ALL_MARKED_READ
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
MONDAY = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def tell(*users, subject="Feedback assigned to you", url="/customers/", now=None):
    return services.notify(users=users, kind="feedback-assigned", subject=subject, url=url, now=now)


# notify ------------------------------------------------------------------------------------


def test_notify_tells_each_person_once_and_skips_inactive_accounts_and_the_system(world):
    world.viewer_a.is_active = False
    world.viewer_a.save()
    created = tell(world.agent_a, world.agent_a.pk, world.lead_a, world.viewer_a, SYSTEM)
    assert [n.user_id for n in created] == [world.agent_a.pk, world.lead_a.pk]
    assert all(n.pk for n in created)
    assert Notification.objects.count() == 2
    assert Notification.objects.filter(user=world.agent_a).get().kind == "feedback-assigned"


def test_notify_without_anyone_to_tell_stores_nothing(world):
    assert tell() == []
    assert Notification.objects.count() == 0


def test_notify_uses_the_clock_it_is_given(world):
    (notification,) = tell(world.agent_a, now=MONDAY)
    notification.refresh_from_db()
    assert notification.created_at == MONDAY
    assert notification.read_at is None
    assert notification.emailed_at is None


def test_notify_puts_a_long_multiline_subject_on_one_line_cut_to_fit(world):
    (notification,) = tell(world.agent_a, subject="Printer\n  on fire " + "x" * 300)
    assert notification.subject.startswith("Printer on fire xxx")
    assert len(notification.subject) == 200
    assert notification.subject.endswith("…")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("kind", "Feedback assigned", services.NOTIFICATION_KIND_INVALID),
        ("kind", "k" * 51, services.NOTIFICATION_KIND_INVALID),
        ("subject", "  \n ", services.NOTIFICATION_SUBJECT_EMPTY),
        ("url", "customers/", services.NOTIFICATION_URL_INVALID),
        ("url", "//evil.test/", services.NOTIFICATION_URL_INVALID),
        ("url", "javascript:alert(1)", services.NOTIFICATION_URL_INVALID),
        ("url", "/" + "a" * 500, services.NOTIFICATION_URL_INVALID),
    ],
)
def test_notify_refuses_a_bad_kind_subject_or_url(world, field, value, message):
    arguments = {"kind": "feedback-assigned", "subject": "Hello", "url": "/customers/"}
    arguments[field] = value
    with pytest.raises(ValidationError) as raised:
        services.notify(users=[world.agent_a], **arguments)
    assert raised.value.messages == [message.format(**{field: value.strip()})]
    assert Notification.objects.count() == 0


def test_notify_accepts_an_absolute_https_link(world):
    (notification,) = tell(world.agent_a, url="https://tracker.example.test/browse/P-1")
    assert notification.url == "https://tracker.example.test/browse/P-1"


def test_notify_inside_a_rolled_back_write_tells_nobody(world):
    with pytest.raises(RuntimeError), transaction.atomic():
        tell(world.agent_a)
        raise RuntimeError("the caller's write failed")
    assert Notification.objects.count() == 0


# Reading and marking read ------------------------------------------------------------------


def test_unread_count_is_one_count_query_over_the_persons_own_unread(
    world, django_assert_num_queries
):
    first, _second = tell(world.agent_a), tell(world.agent_a)
    tell(world.lead_a)
    services.notification_mark_read(actor=world.agent_a, notification=first[0])
    with django_assert_num_queries(1):
        assert selectors.notification_unread_count(user=world.agent_a) == 1


def test_the_unread_count_is_kept_until_a_notification_is_made_or_read(
    world, django_assert_num_queries, django_capture_on_commit_callbacks
):
    def count() -> int:
        return selectors.notification_unread_count(user=world.agent_a)

    with django_capture_on_commit_callbacks(execute=True):
        first, _second = tell(world.agent_a), tell(world.agent_a)
    assert count() == 2
    with django_assert_num_queries(0):
        assert count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        tell(world.lead_a)  # someone else's: this count stays kept
    with django_assert_num_queries(0):
        assert count() == 2

    with django_capture_on_commit_callbacks(execute=True):
        services.notification_mark_read(actor=world.agent_a, notification=first[0])
    after_one = count()
    with django_capture_on_commit_callbacks(execute=True):
        tell(world.agent_a)
    after_new = count()
    with django_capture_on_commit_callbacks(execute=True):
        services.notification_mark_all_read(actor=world.agent_a)

    assert (after_one, after_new, count()) == (1, 2, 0)


def test_the_bell_shows_the_unread_count_on_every_page(client, world):
    tell(world.agent_a)
    tell(world.agent_a)
    client.force_login(world.agent_a)
    content = client.get(reverse("portal:customer_list")).content.decode()
    assert 'id="notification-bell"' in content
    assert '<span class="notification-count" aria-hidden="true">2</span>' in content
    assert "Notifications, 2 unread" in content


def test_the_bell_shows_no_count_when_everything_is_read(client, world):
    client.force_login(world.agent_a)
    content = client.get(reverse("portal:home")).content.decode()
    assert 'id="notification-bell"' in content
    assert "notification-count" not in content


def test_the_page_lists_only_ones_own_notifications_newest_first(client, world):
    tell(world.agent_a, subject="Older", now=MONDAY)
    tell(world.agent_a, subject="Newer", now=MONDAY + timedelta(hours=1))
    tell(world.lead_a, subject="Someone else's")
    client.force_login(world.agent_a)
    response = client.get(reverse("portal:notification_list"))
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" in content
    assert content.index("Newer") < content.index("Older")
    assert "Someone else" not in content


def test_a_superuser_sees_only_their_own_notifications_too(world):
    tell(world.agent_a)
    assert list(selectors.notification_list(user=world.superuser)) == []


def test_the_page_filters_unread_and_answers_htmx_with_the_fragment(client, world):
    (read,) = tell(world.agent_a, subject="Already seen")
    tell(world.agent_a, subject="Still new")
    services.notification_mark_read(actor=world.agent_a, notification=read)
    client.force_login(world.agent_a)
    response = client.get(reverse("portal:notification_list"), {"unread": "1"}, **HX)
    content = response.content.decode()
    assert "<html" not in content
    assert content.startswith('<section id="notification-list">')
    assert "Still new" in content
    assert "Already seen" not in content
    assert "HX-Request" in response.headers["Vary"]


def test_marking_read_without_javascript_redirects_back(client, world):
    (notification,) = tell(world.agent_a)
    client.force_login(world.agent_a)
    url = reverse("portal:notification_read", args=[notification.pk])
    response = client.post(url, {"next": "/notifications/?unread=1"})
    assert response.status_code == 302
    assert response.url == "/notifications/?unread=1"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_marking_read_with_htmx_returns_the_list_and_a_fresh_bell(client, world):
    (notification,) = tell(world.agent_a, subject="Read me")
    tell(world.agent_a, subject="Later")
    client.force_login(world.agent_a)
    response = client.post(
        reverse("portal:notification_read", args=[notification.pk]), {"unread": "1"}, **HX
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert 'id="notification-list"' in content
    assert "Read me" not in content
    assert 'id="notification-bell"' in content
    assert 'hx-swap-oob="true"' in content
    assert '<span class="notification-count" aria-hidden="true">1</span>' in content


def test_forms_in_a_fragment_after_an_htmx_post_return_to_the_list_without_javascript(
    client, world
):
    first, _second = tell(world.agent_a), tell(world.agent_a)
    client.force_login(world.agent_a)
    response = client.post(
        reverse("portal:notification_read", args=[first[0].pk]), {"unread": "1"}, **HX
    )
    assert 'name="next" value="/notifications/?unread=1"' in response.content.decode()


def test_marking_someone_elses_notification_answers_404_and_changes_nothing(client, world):
    (notification,) = tell(world.lead_a)
    for person in (world.agent_a, world.superuser):
        client.force_login(person)
        response = client.post(reverse("portal:notification_read", args=[notification.pk]))
        assert response.status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_the_service_refuses_to_mark_someone_elses_notification(world):
    (notification,) = tell(world.lead_a)
    with pytest.raises(PermissionDenied) as raised:
        services.notification_mark_read(actor=world.agent_a, notification=notification)
    assert str(raised.value) == services.NOT_YOUR_NOTIFICATION


def test_marking_read_twice_keeps_the_first_time(world):
    (notification,) = tell(world.agent_a)
    services.notification_mark_read(actor=world.agent_a, notification=notification, now=MONDAY)
    later = MONDAY + timedelta(days=1)
    services.notification_mark_read(actor=world.agent_a, notification=notification, now=later)
    assert notification.read_at == MONDAY


def test_mark_all_read_marks_only_ones_own(client, world):
    tell(world.agent_a)
    tell(world.agent_a)
    (other,) = tell(world.lead_a)
    client.force_login(world.agent_a)
    response = client.post(reverse("portal:notification_read_all"), follow=True)
    assert ALL_MARKED_READ.format(count=2) in response.content.decode()
    assert selectors.notification_unread_count(user=world.agent_a) == 0
    other.refresh_from_db()
    assert other.read_at is None


def test_mark_all_read_with_htmx_returns_the_fragment(client, world):
    tell(world.agent_a)
    client.force_login(world.agent_a)
    response = client.post(reverse("portal:notification_read_all"), **HX)
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert "No notifications yet." not in content
    assert "notification-count" not in content


def test_the_list_and_mark_read_need_the_right_methods(client, world):
    (notification,) = tell(world.agent_a)
    client.force_login(world.agent_a)
    assert client.post(reverse("portal:notification_list")).status_code == 405
    url = reverse("portal:notification_read", args=[notification.pk])
    assert client.get(url).status_code == 405


# The digest --------------------------------------------------------------------------------


@pytest.fixture
def digest_people(world, settings):
    settings.PORTAL_BASE_URL = "https://portal.example.test"
    for person in (world.agent_a, world.lead_a):
        services.profile_update(actor=person, email_digest=True)
    return world


def run_digest(django_capture_on_commit_callbacks) -> int:
    with django_capture_on_commit_callbacks(execute=True):
        return send_notification_digests.delay().get()


def test_the_digest_sends_one_mail_per_person_with_absolute_links(
    digest_people, mailoutbox, django_capture_on_commit_callbacks
):
    world = digest_people
    tell(world.agent_a, subject="Feedback from Acme", url="/customers/1/")
    tell(world.agent_a, subject="Jira issue moved", url="https://jira.example.test/P-1")
    tell(world.lead_a, subject="Objective accepted", url="/backlog/objectives/")
    tell(world.viewer_a, subject="No digest for me")
    assert run_digest(django_capture_on_commit_callbacks) == 2
    assert len(mailoutbox) == 2
    by_recipient = {mail.to[0]: mail for mail in mailoutbox}
    agent_mail = by_recipient[world.agent_a.email]
    assert agent_mail.subject == DIGEST_SUBJECT.format(count=2)
    assert "- Feedback from Acme (" in agent_mail.body
    assert "https://portal.example.test/customers/1/" in agent_mail.body
    assert "https://jira.example.test/P-1" in agent_mail.body
    assert "https://portal.example.test/notifications/" in agent_mail.body
    assert "https://portal.example.test/settings/profile/" in agent_mail.body
    assert by_recipient[world.lead_a.email].subject == DIGEST_SUBJECT_ONE
    assert world.viewer_a.email not in by_recipient


def test_running_the_digest_twice_sends_nothing_more(
    digest_people, mailoutbox, django_capture_on_commit_callbacks
):
    world = digest_people
    tell(world.agent_a, subject="First")
    run_digest(django_capture_on_commit_callbacks)
    assert run_digest(django_capture_on_commit_callbacks) == 0
    assert len(mailoutbox) == 1
    tell(world.agent_a, subject="Second")
    run_digest(django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 2
    assert "Second" in mailoutbox[1].body
    assert "First" not in mailoutbox[1].body


def test_the_digest_leaves_out_read_notifications_and_marks_what_it_sent(
    digest_people, mailoutbox, django_capture_on_commit_callbacks
):
    world = digest_people
    (read,) = tell(world.agent_a, subject="Seen already")
    (unread,) = tell(world.agent_a, subject="Not seen yet")
    services.notification_mark_read(actor=world.agent_a, notification=read)
    with django_capture_on_commit_callbacks(execute=True):
        services.notification_digests_send(now=MONDAY)
    assert "Seen already" not in mailoutbox[0].body
    unread.refresh_from_db()
    read.refresh_from_db()
    assert unread.emailed_at == MONDAY
    assert read.emailed_at is None


def test_the_digest_skips_people_without_an_address_or_no_longer_active(
    digest_people, mailoutbox, django_capture_on_commit_callbacks
):
    world = digest_people
    world.agent_a.email = ""
    world.agent_a.save()
    world.lead_a.is_active = False
    world.lead_a.save()
    Notification.objects.create(user=world.lead_a, kind="k", subject="s", url="/")
    tell(world.agent_a)
    assert run_digest(django_capture_on_commit_callbacks) == 0
    assert mailoutbox == []


def test_the_digest_shows_times_in_the_persons_time_zone(
    digest_people, mailoutbox, django_capture_on_commit_callbacks
):
    world = digest_people
    services.profile_update(actor=world.agent_a, time_zone="Asia/Tokyo", email_digest=True)
    tell(world.agent_a, subject="Morning", now=MONDAY)
    run_digest(django_capture_on_commit_callbacks)
    assert "- Morning (02 Mar 2026 18:30)" in mailoutbox[0].body


def test_a_long_digest_lists_the_newest_and_links_the_rest(
    digest_people, mailoutbox, django_capture_on_commit_callbacks
):
    world = digest_people
    for minute in range(DIGEST_MAX_ITEMS + 3):
        tell(world.lead_a, subject=f"Item {minute}", now=MONDAY + timedelta(minutes=minute))
    run_digest(django_capture_on_commit_callbacks)
    body = mailoutbox[0].body
    assert f"Item {DIGEST_MAX_ITEMS + 2} (" in body
    assert "Item 2 (" not in body
    assert "And 3 more: https://portal.example.test/notifications/" in body
    assert not Notification.objects.filter(user=world.lead_a, emailed_at__isnull=True).exists()


def test_a_digest_the_mail_server_refuses_is_retried_by_the_next_run(
    digest_people, mailoutbox, django_capture_on_commit_callbacks, monkeypatch
):
    world = digest_people
    (notification,) = tell(world.agent_a)

    def refuse(message, fail_silently=False):
        raise smtplib.SMTPServerDisconnected("connection lost")

    monkeypatch.setattr("django.core.mail.message.EmailMessage.send", refuse)
    run_digest(django_capture_on_commit_callbacks)
    notification.refresh_from_db()
    assert notification.emailed_at is None
    monkeypatch.undo()
    run_digest(django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 1


def test_a_rolled_back_digest_sends_no_mail(
    digest_people, mailoutbox, django_capture_on_commit_callbacks
):
    tell(digest_people.agent_a)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        assert services.notification_digests_send() == 1
        raise RuntimeError("rolled back")
    assert callbacks == []
    assert mailoutbox == []
    assert Notification.objects.filter(emailed_at__isnull=True).count() == 1


def test_the_digest_is_on_the_beat_schedule_hourly(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["portal-notification-digests"]
    assert entry["task"] == "portal.tasks.send_notification_digests"
    assert entry["schedule"] == 3600


def test_people_without_a_profile_get_no_digest(
    world, settings, mailoutbox, django_capture_on_commit_callbacks
):
    person = UserFactory(username="newcomer")
    tell(person)
    assert not UserProfile.objects.filter(user=person).exists()
    assert run_digest(django_capture_on_commit_callbacks) == 0
