"""A person's profile: the time zone times are shown in, the digest option, the last team."""

from datetime import UTC, datetime

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal import selectors, services
from portal.actors import SYSTEM
from portal.models import Customer, Role, UserProfile
from portal.services.profiles import NOT_A_MEMBER, PROFILE_NEEDS_PERSON
from portal.views.profile import PROFILE_SAVED
from tests.factories import CustomerFactory, MembershipFactory

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


# Reading and writing the profile -----------------------------------------------------------


def test_a_profile_is_read_with_its_defaults_before_anything_is_saved(world):
    profile = selectors.profile_get(user=world.agent_a)
    assert profile.pk is None
    assert profile.time_zone == ""
    assert profile.effective_time_zone == django_settings.TIME_ZONE
    assert profile.email_digest is False
    assert profile.last_team is None
    assert not UserProfile.objects.exists()


def test_the_first_write_creates_the_profile_and_later_writes_change_it(world):
    services.profile_update(actor=world.agent_a, time_zone="Europe/Vienna", email_digest=True)
    services.profile_update(actor=world.agent_a, time_zone="", email_digest=False)
    profile = UserProfile.objects.get(user=world.agent_a)
    assert profile.time_zone == ""
    assert profile.effective_time_zone == django_settings.TIME_ZONE
    assert profile.email_digest is False
    assert UserProfile.objects.count() == 1


def test_the_default_zone_follows_the_portal_setting(world, settings):
    settings.TIME_ZONE = "America/Chicago"
    assert selectors.profile_get(user=world.agent_a).effective_time_zone == "America/Chicago"


def test_an_unknown_time_zone_is_refused(world):
    with pytest.raises(ValidationError) as raised:
        services.profile_update(actor=world.agent_a, time_zone="Mars/Olympus_Mons")
    assert raised.value.message_dict == {
        "time_zone": [services.TIME_ZONE_UNKNOWN.format(value="Mars/Olympus_Mons")]
    }


def test_the_system_has_no_profile_to_write(world):
    with pytest.raises(PermissionDenied) as raised:
        services.profile_update(actor=SYSTEM, time_zone="UTC")
    assert str(raised.value) == PROFILE_NEEDS_PERSON


def test_the_profile_page_has_both_renderings(client, world):
    client.force_login(world.viewer_a)
    page = client.get(reverse("portal:profile"))
    assert page.status_code == 200
    assert b"<html" in page.content
    assert b'<option value="Europe/Vienna">' in page.content
    fragment = client.get(reverse("portal:profile"), **HX)
    assert b"<html" not in fragment.content
    assert fragment.content.startswith(b'<form id="profile-form"')


def test_saving_the_profile_page_redirects_with_a_message(client, world):
    client.force_login(world.viewer_a)
    response = client.post(
        reverse("portal:profile"), {"time_zone": "Europe/Vienna", "email_digest": "on"}, follow=True
    )
    assert PROFILE_SAVED in response.content.decode()
    profile = UserProfile.objects.get(user=world.viewer_a)
    assert (profile.time_zone, profile.email_digest) == ("Europe/Vienna", True)
    assert b'<option value="Europe/Vienna" selected>' in response.content


def test_an_invalid_htmx_post_gets_the_form_fragment_back(client, world):
    client.force_login(world.viewer_a)
    response = client.post(reverse("portal:profile"), {"time_zone": "Nowhere/Else"}, **HX)
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert b'id="profile-form"' in response.content
    assert b"errorlist" in response.content
    assert not UserProfile.objects.exists()


def test_a_valid_htmx_post_redirects_the_browser(client, world):
    client.force_login(world.viewer_a)
    response = client.post(reverse("portal:profile"), {"time_zone": "UTC"}, **HX)
    assert response.headers["HX-Redirect"] == reverse("portal:profile")


def test_the_user_menu_links_the_profile(client, world):
    client.force_login(world.viewer_a)
    content = client.get(reverse("portal:home")).content.decode()
    assert f'href="{reverse("portal:profile")}"' in content


# The time zone on pages --------------------------------------------------------------------


@pytest.fixture
def customer_created_at_noon_utc(world):
    customer = CustomerFactory(name="Zoe")
    noon = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    Customer.objects.filter(pk=customer.pk).update(created_at=noon, updated_at=noon)
    return customer


def test_pages_show_times_in_the_persons_time_zone(client, world, customer_created_at_noon_utc):
    url = reverse("portal:customer_detail", args=[customer_created_at_noon_utc.pk])
    client.force_login(world.viewer_a)
    assert "5 Jan 2026 12:00" in client.get(url).content.decode()
    services.profile_update(actor=world.viewer_a, time_zone="Asia/Tokyo")
    assert "5 Jan 2026 21:00" in client.get(url).content.decode()


def test_the_zone_is_dropped_after_each_request(client, world, customer_created_at_noon_utc):
    services.profile_update(actor=world.viewer_a, time_zone="Asia/Tokyo")
    client.force_login(world.viewer_a)
    client.get(reverse("portal:customer_detail", args=[customer_created_at_noon_utc.pk]))
    assert timezone.get_current_timezone_name() == django_settings.TIME_ZONE


def test_the_api_keeps_answering_in_the_default_zone(client, world, customer_created_at_noon_utc):
    services.profile_update(actor=world.viewer_a, time_zone="Asia/Tokyo")
    client.force_login(world.viewer_a)
    response = client.get(f"/api/v1/customers/{customer_created_at_noon_utc.pk}/")
    assert response.json()["created_at"] in ("2026-01-05T12:00:00Z", "2026-01-05T12:00:00+00:00")


# The last team -----------------------------------------------------------------------------


def test_the_team_switcher_remembers_the_last_team_across_sessions(world):
    MembershipFactory(user=world.viewer_a, team=world.team_b, role=Role.VIEWER)
    first = Client()
    first.force_login(world.viewer_a)
    first.post(reverse("portal:team_switch"), {"team": world.team_b.pk})
    assert UserProfile.objects.get(user=world.viewer_a).last_team == world.team_b
    second = Client()
    second.force_login(world.viewer_a)
    response = second.get(reverse("portal:home"))
    assert response.context["nav_current_team"] == world.team_b


def test_a_choice_in_this_session_wins_over_the_remembered_team(client, world):
    MembershipFactory(user=world.viewer_a, team=world.team_b, role=Role.VIEWER)
    services.profile_set_last_team(actor=world.viewer_a, team=world.team_b)
    client.force_login(world.viewer_a)
    client.post(reverse("portal:team_switch"), {"team": world.team_a.pk})
    assert client.get(reverse("portal:home")).context["nav_current_team"] == world.team_a


def test_a_remembered_team_one_has_left_falls_back_to_the_first_team(client, world):
    membership = MembershipFactory(user=world.viewer_a, team=world.team_b, role=Role.VIEWER)
    services.profile_set_last_team(actor=world.viewer_a, team=world.team_b)
    membership.delete()
    client.force_login(world.viewer_a)
    assert client.get(reverse("portal:home")).context["nav_current_team"] == world.team_a


def test_the_last_team_must_be_one_of_the_persons_teams(world):
    with pytest.raises(PermissionDenied) as raised:
        services.profile_set_last_team(actor=world.viewer_a, team=world.team_b)
    assert str(raised.value) == NOT_A_MEMBER.format(team=world.team_b)


def test_a_page_reads_the_profile_once(client, world):
    services.profile_set_last_team(actor=world.viewer_a, team=world.team_a)
    client.force_login(world.viewer_a)
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("portal:home"))
    profile_reads = [q for q in queries.captured_queries if "portal_userprofile" in q["sql"]]
    assert len(profile_reads) == 1
