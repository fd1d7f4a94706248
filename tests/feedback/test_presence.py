"""The collision notice's presence records, with a clock passed in: a touch lasts a minute,
the latest activity wins, and others' presence is listed replying first."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from feedback.models import ItemPresence, PresenceActivity
from feedback.services.presence import (
    ACTIVITY_UNKNOWN,
    PRESENCE_SECONDS,
    presence_others,
    presence_touch,
)
from portal.models import Role
from tests.factories import MembershipFactory, UserFactory
from tests.feedback.factories import FeedbackItemFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def item():
    return FeedbackItemFactory()


def agent(item, first_name: str):
    user = UserFactory(first_name=first_name, last_name="Agent")
    MembershipFactory(user=user, team=item.team, role=Role.AGENT)
    return user


def test_a_touch_is_seen_by_others_until_it_expires(item):
    sam, ada = agent(item, "Sam"), agent(item, "Ada")
    presence_touch(user=sam, item=item, activity=PresenceActivity.REPLYING, now=NOW)
    assert presence_others(user=ada, item=item, now=NOW) == [(sam, "replying")]
    assert presence_others(user=sam, item=item, now=NOW) == []
    just_before = NOW + timedelta(seconds=PRESENCE_SECONDS - 1)
    assert presence_others(user=ada, item=item, now=just_before) == [(sam, "replying")]
    expired = NOW + timedelta(seconds=PRESENCE_SECONDS)
    assert presence_others(user=ada, item=item, now=expired) == []


def test_touching_again_extends_and_the_latest_activity_wins(item):
    sam, ada = agent(item, "Sam"), agent(item, "Ada")
    presence_touch(user=sam, item=item, activity="replying", now=NOW)
    later = NOW + timedelta(seconds=45)
    presence_touch(user=sam, item=item, activity="viewing", now=later)
    assert ItemPresence.objects.filter(item=item, user=sam).count() == 1
    assert presence_others(user=ada, item=item, now=NOW + timedelta(seconds=90)) == [
        (sam, "viewing")
    ]


def test_others_replying_come_first_and_expired_rows_are_cleared(item):
    me, sam, ada, old = (agent(item, name) for name in ("Me", "Sam", "Ada", "Old"))
    presence_touch(user=old, item=item, activity="viewing", now=NOW - timedelta(minutes=5))
    presence_touch(user=ada, item=item, activity="viewing", now=NOW)
    presence_touch(user=sam, item=item, activity="replying", now=NOW)
    assert presence_others(user=me, item=item, now=NOW) == [(sam, "replying"), (ada, "viewing")]
    assert not ItemPresence.objects.filter(user=old).exists()


def test_presence_is_per_item(item):
    sam, ada = agent(item, "Sam"), agent(item, "Ada")
    other = FeedbackItemFactory(team=item.team)
    presence_touch(user=sam, item=other, activity="viewing", now=NOW)
    assert presence_others(user=ada, item=item, now=NOW) == []


def test_an_unknown_activity_is_refused(item):
    with pytest.raises(ValidationError) as refused:
        presence_touch(user=agent(item, "Sam"), item=item, activity="typing", now=NOW)
    assert refused.value.message_dict["activity"] == [ACTIVITY_UNKNOWN.format(value="typing")]


def test_the_page_notice_appears_and_expires_with_the_clock(client, item, monkeypatch):
    sam, ada = agent(item, "Sam"), agent(item, "Ada")
    clock = {"now": NOW}
    monkeypatch.setattr("feedback.views.item.timezone.now", lambda: clock["now"])
    client.force_login(sam)
    client.post(reverse("feedback:item_presence", args=[item.pk]), {"activity": "replying"})
    client.force_login(ada)
    url = reverse("feedback:item", args=[item.pk])
    clock["now"] = NOW + timedelta(seconds=30)
    assert "Sam Agent</strong> is replying" in client.get(url).content.decode()
    clock["now"] = NOW + timedelta(seconds=PRESENCE_SECONDS + 1)
    assert "Sam Agent</strong>" not in client.get(url).content.decode()
