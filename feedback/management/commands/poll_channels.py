"""``manage.py poll_channels [--channel ID]``: one complete poll (fetch, store, parse) in the
foreground, for cron or debugging, printing what it stored.

It takes each channel's lease as a worker does, so it never polls a channel at the same time
as a worker; a channel whose lease another process holds is skipped and said so. Without
``--channel`` it polls every enabled channel; a channel named by ``--channel`` is polled even
when it is disabled. It exits non-zero when a poll failed.

The crash tests stop this process at a chosen point of the poll: with
``PORTAL_POLL_PAUSE=fetched`` (after a fetch) or ``stored`` (inside the store's transaction,
before its commit), and ``PORTAL_POLL_PAUSE_FDS=<write fd>:<read fd>`` (pipes the test passes
in), the poll writes the point's name and a newline to the first descriptor and waits for one
byte on the second. Nothing reads these variables otherwise.
"""

import os

from django.core.management.base import BaseCommand, CommandError
from django.http import Http404

from feedback import selectors, services
from feedback.services import PollReport
from portal.actors import SYSTEM

PAUSE_POINT_VARIABLE = "PORTAL_POLL_PAUSE"
PAUSE_FDS_VARIABLE = "PORTAL_POLL_PAUSE_FDS"

NO_SUCH_CHANNEL = "There is no channel with the id {id}."
NO_CHANNELS = "No enabled channels to poll."
SKIPPED = "{channel}: skipped, another worker is polling it now."
FAILED = "{channel}: failed after {fetched} fetched, {stored} stored: {error}"
POLLED = (
    "{channel}: fetched {fetched} in {batches} batch(es); stored {stored} new payload(s) "
    "({duplicates} stored before); {created} new message(s), {already} already stored, "
    "{quarantined} quarantined{more}"
)
MORE_LEFT = "; more to fetch on the next poll"
SOME_FAILED = "{count} of {total} channel(s) failed."


def _pause_from_environment():
    point = os.environ.get(PAUSE_POINT_VARIABLE, "")
    fds = os.environ.get(PAUSE_FDS_VARIABLE, "")
    if not point or not fds:
        return None
    write_fd, read_fd = (int(fd) for fd in fds.split(":", 1))

    def pause(reached: str) -> None:
        if reached == point:
            os.write(write_fd, f"{reached}\n".encode())
            os.read(read_fd, 1)

    return pause


def describe(channel: object, report: PollReport) -> str:
    if not report.claimed:
        return SKIPPED.format(channel=channel)
    if report.error:
        return FAILED.format(
            channel=channel, fetched=report.fetched, stored=report.stored, error=report.error
        )
    return POLLED.format(
        channel=channel,
        fetched=report.fetched,
        batches=report.batches,
        stored=report.stored,
        duplicates=report.duplicates,
        created=report.messages_created,
        already=report.already_stored,
        quarantined=report.quarantined,
        more=MORE_LEFT if report.more else "",
    )


class Command(BaseCommand):
    help = (
        "Poll channels once in the foreground (fetch, store, parse) and print what was "
        "stored: every enabled channel, or the one given with --channel."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--channel", type=int, help="The id of the one channel to poll.")

    def handle(self, *args, channel: int | None = None, **options) -> None:
        if channel is not None:
            try:
                channels = [selectors.channel_get(user=SYSTEM, pk=channel)]
            except Http404 as error:
                raise CommandError(NO_SUCH_CHANNEL.format(id=channel)) from error
        else:
            channels = list(selectors.channel_list(user=SYSTEM, enabled=True))
            if not channels:
                self.stdout.write(NO_CHANNELS)
                return
        pause = _pause_from_environment()
        failed = 0
        for target in channels:
            report = services.channel_poll_now(channel_id=target.pk, pause=pause)
            failed += 0 if report.ok or not report.claimed else 1
            self.stdout.write(describe(target, report))
        if failed:
            raise CommandError(SOME_FAILED.format(count=failed, total=len(channels)))
