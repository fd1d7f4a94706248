"""Run django-helpdesk's ``get_email`` once and print what it did as JSON (one line).

Runs inside the helpdesk virtualenv:
``python run_get_email.py HOST PORT USER PASSWORD WARM_USER WARM_PASSWORD``.
Migrates its database and empties the helpdesk tables (as our poll starts on a new database),
then warms up as ours does: ``get_email`` on the small WARM mailbox, and ``ANALYZE``, so that
the planner has statistics (autovacuum is off on the benchmark machine). Then it configures
one Queue reading the measured mailbox and times ``call_command("get_email")`` alone:
Django's start-up, the migration and the warm-up are outside the timed part.
"""

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from helpdesk.models import FollowUp, FollowUpAttachment, Queue, Ticket  # noqa: E402


def _queue(slug: str, host: str, port: str, user: str, password: str) -> Queue:
    return Queue.objects.create(
        title=slug.title(),
        slug=slug,
        email_address=f"{slug}@acme.example",
        allow_email_submission=True,
        email_box_type="imap",
        email_box_host=host,
        email_box_port=int(port),
        email_box_ssl=False,
        email_box_user=user,
        email_box_pass=password,
        email_box_imap_folder="INBOX",
        email_box_interval=0,
    )


def main() -> None:
    host, port, user, password, warm_user, warm_password = sys.argv[1:7]
    call_command("migrate", verbosity=0)
    names = connection.introspection.table_names()
    tables = [name for name in names if name.startswith("helpdesk_")]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        # Each queue adds a permission of its own on save.
        cursor.execute("DELETE FROM auth_permission WHERE codename LIKE 'queue_access_%%'")
    warm_queue = _queue("warm", host, port, warm_user, warm_password)
    call_command("get_email", quiet=True)
    warm_queue.allow_email_submission = False
    warm_queue.save()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    warm = (Ticket.objects.count(), FollowUp.objects.count(), FollowUpAttachment.objects.count())
    _queue("support", host, port, user, password)
    started = time.perf_counter()
    call_command("get_email", quiet=True)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "tickets": Ticket.objects.count() - warm[0],
                "followups": FollowUp.objects.count() - warm[1],
                "attachments": FollowUpAttachment.objects.count() - warm[2],
                "django": django.get_version(),
            }
        )
    )


if __name__ == "__main__":
    main()
