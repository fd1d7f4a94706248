"""``manage.py inbox_reindex``: rebuild the search documents of every feedback item (or of one
team's, ``--team <slug>``) from their subjects and customer-visible messages, a batch of ids at
a time. Run it once after migration 0006 on a database that had items before the inbox's
full-text search; safe to run again (the documents come out the same). It prints how many
items it wrote."""

from django.core.management.base import BaseCommand, CommandError

from feedback.models import FeedbackItem
from feedback.services import item_search_document_refresh
from portal.models import Team

REINDEXED = "Rebuilt the search documents of {count} item(s)."
NO_SUCH_TEAM = "No team with the slug {slug!r}."
BATCH = 1000


class Command(BaseCommand):
    help = "Rebuild the full-text search documents of feedback items."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--team", help="Only this team's items (its slug).")

    def handle(self, *args, **options) -> None:
        items = FeedbackItem.objects.order_by("pk")
        if options.get("team"):
            team = Team.objects.filter(slug=options["team"]).first()
            if team is None:
                raise CommandError(NO_SUCH_TEAM.format(slug=options["team"]))
            items = items.filter(team=team)
        count, after = 0, 0
        while True:
            ids = list(items.filter(pk__gt=after).values_list("pk", flat=True)[:BATCH])
            if not ids:
                break
            count += item_search_document_refresh(ids)
            after = ids[-1]
        self.stdout.write(REINDEXED.format(count=count))
