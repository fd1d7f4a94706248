"""Peak memory of a worker ingesting one 12 MB message, for ``bench/ingest_imap.py``.

A child process runs what ``manage.py poll_channels --channel ID`` runs and reports its own
peak resident set size (VmHWM): ``python -m bench.ingest_memory CHANNEL_ID``, with the
benchmark's environment (its database and media folder).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIG_ATTACHMENT = 12 * 1024 * 1024


def poll_child(channel_id: int) -> None:
    """In the child: ``manage.py poll_channels --channel ID``, then this process's peak RSS.

    VmHWM belongs to the process's own address space, which starts anew at exec; the
    ``ru_maxrss`` that ``wait4`` reports would include the benchmark's own memory, which the
    child's address space was a copy of until its exec."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("poll_channels", "--channel", str(channel_id))
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            print(f"peak_kb={line.split()[1]}")


def poll_process_peak(channel_id: int) -> tuple[int, str]:
    """Peak RSS in KB of a process polling the channel as ``poll_channels`` does, its output."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.ingest_memory", str(channel_id)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines or not lines[-1].startswith("peak_kb="):
        raise RuntimeError(f"the poll failed: {completed.stdout[-1000:]}{completed.stderr[-2000:]}")
    return int(lines[-1].removeprefix("peak_kb=")), "\n".join(lines[:-1])


def measure_memory(server) -> tuple[int, int, str]:
    """(peak KB ingesting the big mail, peak KB of an idle poll, what the big poll printed)."""
    from bench.ingest_imap import _new_channel, reset_portal_database
    from bench.mailgen import big_message

    reset_portal_database()
    idle = _new_channel(server.add_user(), "Empty mailbox")
    idle_kb, _ = poll_process_peak(idle.pk)
    account = server.add_user()
    raw = big_message(BIG_ATTACHMENT)
    account.append("INBOX", raw)
    channel = _new_channel(account, "Big mail")
    peak_kb, text = poll_process_peak(channel.pk)
    return peak_kb, idle_kb, f"{len(raw) / 1e6:.1f} MB message: {text}"


if __name__ == "__main__":
    poll_child(int(sys.argv[1]))
