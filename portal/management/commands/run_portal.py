"""The embedded default in one command: a Celery worker with beat beside the web server.

``make run`` ends here. The worker (solo pool, beat embedded) is a child process on the broker
that settings chose (kombu's filesystem transport under ``.local/`` when ``REDIS_URL`` is
unset); the web server is Django's runserver without the autoreloader, in this process. When
the server stops, for whatever reason, the worker is asked to stop and killed if it does not.
"""

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
from types import FrameType

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

DEFAULT_ADDRPORT = "127.0.0.1:8000"
WORKER_STOP_TIMEOUT_SECONDS = 15
SCALED_OUT_MESSAGE = (
    "REDIS_URL is set, so this is the scaled-out setup, where exactly one beat must run: "
    "start the processes separately (`make web`, `make worker`, and one `make beat`; see "
    "docs/operations.md), or pass --no-worker to serve only the web from here."
)
PORT_IN_USE_MESSAGE = "{addrport} is already in use; pass another address, e.g. 127.0.0.1:8001."
_PR_SET_PDEATHSIG = 1


def worker_command() -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "portal",
        "worker",
        "--beat",
        "--pool",
        "solo",
        "--loglevel",
        "info",
        "--schedule",
        str(settings.CELERY_BEAT_SCHEDULE_FILENAME),
    ]


def _die_with_parent() -> None:
    """Runs in the worker child before exec: on Linux, the kernel sends it SIGTERM if this
    process dies without cleaning up (runserver calls os._exit on some errors)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _split_addrport(addrport: str) -> tuple[str, int]:
    host, _, port = addrport.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not (port.isascii() and port.isdigit()):
        raise CommandError(f"{addrport!r} is not an address and port such as {DEFAULT_ADDRPORT}.")
    return host, int(port)


def _port_is_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def stop_process(process: subprocess.Popen, timeout: float = WORKER_STOP_TIMEOUT_SECONDS) -> None:
    """SIGTERM (Celery's warm shutdown) to the child's process group, SIGKILL after timeout."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        # The embedded beat is the worker's own child: kill the whole group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # SystemExit unwinds through runserver to the finally block that stops the worker.
    raise SystemExit(0)


class Command(BaseCommand):
    help = (
        "Serve the portal and run its background work (one Celery worker with beat) in one "
        "command: the embedded default that `make run` starts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "addrport",
            nargs="?",
            default=DEFAULT_ADDRPORT,
            help=f"Where to serve HTTP (default {DEFAULT_ADDRPORT}).",
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Serve the web only; background work then needs a separate worker and beat.",
        )

    def handle(self, *args, addrport: str, no_worker: bool, **options) -> None:
        if settings.REDIS_URL and not no_worker:
            raise CommandError(SCALED_OUT_MESSAGE)
        host, port = _split_addrport(addrport)
        # Checked before the worker starts, so that a taken port leaves no worker behind.
        if not _port_is_free(host, port):
            raise CommandError(PORT_IN_USE_MESSAGE.format(addrport=addrport))

        worker = None
        previous_handler = signal.signal(signal.SIGTERM, _exit_on_sigterm)
        try:
            if no_worker:
                self.stdout.write("No background worker: run `make worker` and one `make beat`.")
            else:
                worker = subprocess.Popen(  # noqa: S603 - a fixed command line.
                    worker_command(),
                    start_new_session=True,
                    preexec_fn=_die_with_parent if sys.platform == "linux" else None,
                )
                self.stdout.write(
                    f"Background work: Celery worker with beat, pid {worker.pid} "
                    f"(broker {settings.CELERY_BROKER_URL.split('://')[0]})."
                )
            shown_host = f"[{host}]" if ":" in host else host
            self.stdout.write(
                self.style.SUCCESS(f"The portal is served at http://{shown_host}:{port}/")
            )
            call_command("runserver", addrport, use_reloader=False)
        finally:
            signal.signal(signal.SIGTERM, previous_handler)
            if worker is not None:
                self.stdout.write("Stopping the background worker…")
                stop_process(worker)
