"""``manage.py seed_demo``: the demo company, with logins whose passwords are printed.

The logins have known passwords, so the command refuses to run with debug off unless
``--force`` is given: demo data on a production database is almost always a mistake, and a
directory without the logins would be a demo nobody can open.

Each part of the demo is built once (``portal.demo.parts``): running the command again, as
``make run`` does on every start, builds only parts added since and never puts back what
people changed or deleted.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from portal import demo
from portal.validation import validation_messages

REFUSED = (
    "Debug is off, and seed_demo creates logins whose passwords are printed for everyone to "
    "read. Nothing was written. Pass --force if this really is a demo site."
)
FAILED = "The demo data could not be written, nothing was changed: {error}"


class Command(BaseCommand):
    help = (
        "Build the demo company (logins, teams, accounts, customers, the North Star), each part "
        "once: running it again adds only new parts and never undoes what people changed. "
        "Refuses with debug off unless --force is given."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with debug off, creating logins with known passwords.",
        )

    def handle(self, *args, force: bool = False, **options) -> None:
        if not (settings.DEBUG or force):
            raise CommandError(REFUSED)
        try:
            report = demo.seed()
        except PermissionDenied as error:
            raise CommandError(FAILED.format(error=error)) from error
        except ValidationError as error:
            message = " ".join(validation_messages(error))
            raise CommandError(FAILED.format(error=message)) from error
        self.stdout.write(f"Demo company {demo.COMPANY} is in place.")
        self.stdout.write("\n".join(report.lines()))
        self.stdout.write("")
        self.stdout.write(self.style.WARNING("Demo logins (username / password as seeded):"))
        self.stdout.write("\n".join(demo.login_lines()))
        self.stdout.write(
            "Anyone who reads this can sign in: change or delete them on a shared site."
        )
