"""``manage.py score_sentiment``: score every inbound customer message not scored yet, and
their items, in the foreground (after an upgrade, or when scoring tasks were lost). Safe to
run again; it prints how many messages it scored. A worker does the same with
``feedback.tasks.score_sentiment.delay()``."""

from django.core.management.base import BaseCommand

from feedback import services

SCORED = "Scored {count} message(s)."


class Command(BaseCommand):
    help = "Score the sentiment of every inbound customer message not scored yet."

    def handle(self, *args, **options) -> None:
        count = services.messages_sentiment_score()
        self.stdout.write(SCORED.format(count=count))
