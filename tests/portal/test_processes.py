"""The real process setup: web, worker and beat as separate processes on a real broker.

The rest of the suite runs tasks eagerly; these tests start the processes an operator starts
and send work through the broker. Every wait is bounded, every process is stopped in the
end, and each process's output is printed when a test fails."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.management import CommandError, call_command

from portal.management.commands.run_portal import SCALED_OUT_MESSAGE
from tests.conftest import require_service

pytestmark = pytest.mark.processes

BASE_DIR = Path(settings.BASE_DIR)
MANAGE = str(BASE_DIR / "manage.py")
WAIT_SECONDS = 60
# Variables that would make a child process use another setup than the one a test chooses.
CHILD_ENV_DROPPED = ("DATABASE_URL", "REDIS_URL", "PORTAL_TASKS_EAGER", "DJANGO_STATIC_ROOT")

# Run in a child process with the test's environment: one round trip through the broker and
# the result backend, then the beat heartbeat as the web process would read it from the cache.
ROUND_TRIP_SCRIPT = """
import json, sys, time
import django
django.setup()
from django.core.cache import cache
from portal.tasks import HEARTBEAT_CACHE_KEY, ping
pong = ping.delay(sys.argv[1]).get(timeout=float(sys.argv[2]))
deadline = time.monotonic() + float(sys.argv[2])
heartbeat = cache.get(HEARTBEAT_CACHE_KEY)
while heartbeat is None and time.monotonic() < deadline:
    time.sleep(0.25)
    heartbeat = cache.get(HEARTBEAT_CACHE_KEY)
print("RESULT " + json.dumps({"pong": pong, "heartbeat": heartbeat}))
"""


class Processes:
    """Child processes of one test, each in its own session with its output in a file."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[tuple[str, subprocess.Popen, Path]] = []

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                cwd=BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append((name, process, log_path))
        return process

    def run(self, name: str, command: list[str], env: dict[str, str], timeout: float = 120):
        """Run to completion; output goes to the logs printed on failure."""
        log_path = self.log_dir / f"{name}.log"
        result = subprocess.run(
            command, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout
        )
        log_path.write_text(result.stdout + result.stderr)
        self.started.append((name, None, log_path))
        assert result.returncode == 0, f"{name} exited {result.returncode}:\n{result.stderr}"
        return result

    def assert_running(self) -> None:
        for name, process, _ in self.started:
            if process is not None and process.poll() is not None:
                raise AssertionError(f"{name} exited early with {process.returncode}")

    def stop_all(self) -> None:
        for _, process, _ in reversed(self.started):
            if process is not None:
                stop(process)

    def print_logs(self) -> None:
        for name, _, log_path in self.started:
            text = log_path.read_text(errors="replace") if log_path.exists() else ""
            print(f"----- {name} ({log_path}) -----\n{text[-20000:]}")


def stop(process: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM to the process group (Celery's warm shutdown), SIGKILL when it takes too long."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


@contextmanager
def processes(tmp_path: Path) -> Iterator[Processes]:
    group = Processes(tmp_path)
    try:
        yield group
    except BaseException:
        group.stop_all()
        group.print_logs()
        raise
    else:
        group.stop_all()


def child_env(**overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in CHILD_ENV_DROPPED}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings", PYTHONUNBUFFERED="1", **overrides)
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(what: str, probe: Callable[[], object], group: Processes | None, timeout=WAIT_SECONDS):
    """Poll until probe() returns something truthy; fail naming `what` after timeout, or as
    soon as one of the group's processes has exited."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if group is not None:
            group.assert_running()
        try:
            value = probe()
        except (OSError, ValueError) as error:
            last_error = error
        else:
            if value:
                return value
        time.sleep(0.25)
    raise AssertionError(
        f"timed out after {timeout}s waiting for {what} (last error: {last_error})"
    )


def http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def round_trip(group: Processes, env: dict[str, str], payload: str) -> dict:
    result = group.run(
        "round-trip",
        [sys.executable, "-c", ROUND_TRIP_SCRIPT, payload, str(WAIT_SECONDS / 2)],
        env,
        timeout=WAIT_SECONDS + 30,
    )
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def processes_matching(text: str) -> list[int]:
    """Pids of live processes whose command line mentions text (Linux /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command_line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in command_line and state != "Z":
            pids.append(int(entry.name))
    return pids


def test_embedded_worker_runs_tasks_and_beat_on_the_filesystem_broker(tmp_path):
    local_dir = tmp_path / "local"
    env = child_env(PORTAL_LOCAL_DIR=str(local_dir), PORTAL_HEARTBEAT_SECONDS="1")
    with processes(tmp_path) as group:
        group.start(
            "worker",
            [
                *(sys.executable, "-m", "celery", "-A", "portal", "worker", "--beat"),
                *("--pool", "solo", "--loglevel", "info"),
                *("--schedule", str(local_dir / "celerybeat-schedule")),
            ],
            env,
        )
        result = round_trip(group, env, "embedded")

        assert result["pong"] == "pong:embedded"
        assert result["heartbeat"] is not None
        assert (local_dir / "broker" / "queue").is_dir()
        assert (local_dir / "cache").is_dir()


def test_run_portal_serves_with_background_work_and_stops_its_worker(tmp_path):
    local_dir = tmp_path / "local"
    env = child_env(PORTAL_LOCAL_DIR=str(local_dir), PORTAL_HEARTBEAT_SECONDS="1")
    port = free_port()
    with processes(tmp_path) as group:
        portal = group.start(
            "run_portal", [sys.executable, MANAGE, "run_portal", f"127.0.0.1:{port}"], env
        )

        def heartbeat_seen() -> dict | None:
            status, body = http_get(f"http://127.0.0.1:{port}/readyz")
            ready = json.loads(body)
            return ready if status == 200 and ready["background"]["last_heartbeat"] else None

        ready = wait_for("a ready portal with a beat heartbeat", heartbeat_seen, group)
        assert all(check["ok"] for check in ready["checks"].values())
        assert processes_matching(str(local_dir)), "the worker should run beside the web server"

        portal.send_signal(signal.SIGTERM)
        assert portal.wait(timeout=WAIT_SECONDS / 2) == 0
        wait_for(
            "the worker and its beat to stop with the server",
            lambda: not processes_matching(str(local_dir)),
            None,
            timeout=5,
        )


def test_run_portal_refuses_to_embed_a_worker_in_the_scaled_out_setup(settings):
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"

    with pytest.raises(CommandError) as raised:
        call_command("run_portal")

    assert str(raised.value) == SCALED_OUT_MESSAGE


def _database_reachable(url: str) -> bool:
    import psycopg2

    try:
        psycopg2.connect(url, connect_timeout=3).close()
    except psycopg2.Error:
        return False
    return True


def _redis_reachable(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3).ping())
    except redis.RedisError:
        return False


def _separate_redis_database(url: str, number: int = 15) -> str:
    """The same server on another database number, away from other tests and from dev data."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{number}"))


def test_scaled_out_web_worker_and_beat_on_postgresql_and_redis(tmp_path):
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    require_service(
        database_url.startswith("postgres") and redis_url.startswith("redis"),
        "DATABASE_URL (PostgreSQL) and REDIS_URL are not both set",
    )
    require_service(_database_reachable(database_url), f"PostgreSQL unreachable at {database_url}")
    require_service(_redis_reachable(redis_url), f"Redis unreachable at {redis_url}")
    import redis

    test_redis_url = _separate_redis_database(redis_url)
    redis.Redis.from_url(test_redis_url).flushdb()
    port = free_port()
    local_dir = tmp_path / "local"
    env = child_env(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="scaled-out-test-" + "k" * 50,
        PORTAL_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        PORTAL_BASE_URL=f"http://127.0.0.1:{port}",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_STATIC_ROOT=str(tmp_path / "staticfiles"),
        DATABASE_URL=database_url,
        REDIS_URL=test_redis_url,
        PORTAL_LOCAL_DIR=str(local_dir),
        PORTAL_HEARTBEAT_SECONDS="1",
        WEB_CONCURRENCY="2",
    )
    with processes(tmp_path) as group:
        group.run("collectstatic", [sys.executable, MANAGE, "collectstatic", "--noinput"], env)
        group.start(
            "web",
            [
                *(sys.executable, "-m", "gunicorn", "-c", str(BASE_DIR / "gunicorn.conf.py")),
                *("--bind", f"127.0.0.1:{port}"),
            ],
            env,
        )
        group.start(
            "worker",
            [
                *(sys.executable, "-m", "celery", "-A", "portal", "worker"),
                *("--concurrency", "2", "--loglevel", "info"),
            ],
            env,
        )
        group.start(
            "beat",
            [
                *(sys.executable, "-m", "celery", "-A", "portal", "beat", "--loglevel", "info"),
                *("--schedule", str(local_dir / "celerybeat-schedule")),
            ],
            env,
        )
        base = f"http://127.0.0.1:{port}"

        def ready() -> dict | None:
            status, body = http_get(f"{base}/readyz")
            return json.loads(body) if status == 200 else None

        readiness = wait_for("/readyz to answer 200", ready, group)
        assert readiness["checks"] == {
            "database": {"ok": True},
            "cache": {"ok": True},
            "broker": {"ok": True},
        }
        assert http_get(f"{base}/healthz") == (200, b'{"status": "ok"}')
        status, body = http_get(f"{base}/static/vendor/htmx.min.js")
        assert status == 200
        assert body == (BASE_DIR / "static" / "vendor" / "htmx.min.js").read_bytes()

        result = round_trip(group, env, "scaled")
        assert result["pong"] == "pong:scaled"
        assert result["heartbeat"] is not None
        background = wait_for(
            "/readyz to report the beat heartbeat",
            lambda: (ready() or {}).get("background", {}).get("last_heartbeat") and ready(),
            group,
        )
        assert background["background"]["age_seconds"] < WAIT_SECONDS
