"""The inbox list shows each item's sentiment as a badge and marks a likely duplicate with a
link to the other item's page (its row may not be listed); a dismissed pair is not marked; the
page reads the pairs in one query whatever the number of items."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from feedback.models import ItemStatus, LikelyDuplicate, Sentiment
from tests.feedback.factories import FeedbackItemFactory

pytestmark = pytest.mark.django_db


def test_the_inbox_shows_sentiment_badges_and_likely_duplicates(client, world):
    team = world.team_a
    mail = FeedbackItemFactory(
        team=team, subject="Export fails", sentiment=Sentiment.NEGATIVE, sentiment_score=-0.6
    )
    post = FeedbackItemFactory(team=team, subject="CSV export broken")
    other = FeedbackItemFactory(team=team, subject="Unrelated", sentiment=Sentiment.POSITIVE)
    LikelyDuplicate.objects.create(team=team, item=mail, other=post, score=0.81)
    LikelyDuplicate.objects.create(
        team=team, item=mail, other=other, score=0.7, dismissed_at=timezone.now()
    )
    client.force_login(world.viewer_a)

    page = client.get(reverse("feedback:inbox")).content.decode()

    assert 'class="status-tag sentiment-negative"' in page
    assert ">Negative</span>" in page and ">Positive</span>" in page
    assert f'Possible duplicate of <a href="/inbox/{post.pk}/">#{post.pk}</a>' in page
    assert f'Possible duplicate of <a href="/inbox/{mail.pk}/">#{mail.pk}</a>' in page
    assert f'Possible duplicate of <a href="/inbox/{other.pk}/">' not in page
    assert f'id="item-{post.pk}"' in page


def test_a_duplicate_mark_leads_to_the_other_items_page_when_its_row_is_not_listed(client, world):
    team = world.team_a
    mail = FeedbackItemFactory(team=team, subject="Export fails", status=ItemStatus.OPEN)
    post = FeedbackItemFactory(team=team, subject="CSV export broken", status=ItemStatus.RESOLVED)
    LikelyDuplicate.objects.create(team=team, item=mail, other=post, score=0.81)
    client.force_login(world.viewer_a)

    page = client.get(reverse("feedback:inbox"), {"status": "open"}).content.decode()

    assert f'id="item-{post.pk}"' not in page
    assert (
        f'Possible duplicate of <a href="{reverse("feedback:item", args=[post.pk])}">#{post.pk}</a>'
        in page
    )


def test_the_inbox_reads_duplicates_in_one_query_however_many_items(client, world):
    team = world.team_a
    client.force_login(world.agent_a)

    def add_pairs(count: int) -> None:
        for _ in range(count):
            item, other = FeedbackItemFactory(team=team), FeedbackItemFactory(team=team)
            LikelyDuplicate.objects.create(team=team, item=item, other=other, score=0.9)

    add_pairs(1)
    client.get(reverse("feedback:inbox"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("feedback:inbox"))
    add_pairs(8)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("feedback:inbox"))

    assert len(many) == len(few)
