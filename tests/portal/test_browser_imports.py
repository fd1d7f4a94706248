"""A background import in a real browser, with a real Celery worker on PostgreSQL and Redis:
2,000 customers uploaded through the page, the progress bar seen advancing, the report at the
end. Larger volumes belong to ``make bench``. With PORTAL_SCREENSHOTS=1 the screenshots land
in docs/screenshots/."""

import os
import sys
import time
from urllib.parse import quote

import pytest
from django.db import connection
from kombu import pools

from portal.celery import app as celery_app
from portal.models import Customer, ImportJob, ImportStatus, Role
from tests.conftest import require_service
from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tests.portal.test_browser import DESKTOP, _log_in, browser, screenshot_dir  # noqa: F401
from tests.portal.test_processes import (
    _redis_reachable,
    _separate_redis_database,
    child_env,
    processes,
    wait_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.processes, pytest.mark.django_db(transaction=True)]

ROWS = 2_000
# Small chunks make the worker commit 400 times: the set-based import writes 2,000 rows in well
# under the page's one-second poll, so with larger chunks the page could see only 0 and the end.
CHUNK_ROWS = 5
REPORT_WAIT_SECONDS = 120


def _database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"])
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{credentials}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


def _drop_broker_connections() -> None:
    """Celery keeps the broker connection pool it made on first use in this process, whatever
    ``broker_url`` says afterwards (even an eager task acquires a producer from it): drop it,
    so that the next task is sent to the broker configured now. The pools live in kombu's
    registry too, which ``pools.reset`` closes and empties, so no later test is handed a
    closed one."""
    pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def worker_broker():
    """Redis database 14 as the broker of this process and of the worker it starts; tasks are
    sent to the worker rather than run inline, as everywhere else in the suite."""
    redis_url = os.environ.get("REDIS_URL", "")
    require_service(redis_url.startswith("redis"), "REDIS_URL is not set")
    require_service(_redis_reachable(redis_url), f"Redis unreachable at {redis_url}")
    import redis

    broker_url = _separate_redis_database(redis_url, 14)
    redis.Redis.from_url(broker_url).flushdb()
    saved = (
        celery_app.conf.task_always_eager,
        celery_app.conf.broker_url,
        celery_app.conf.result_backend,
    )
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = broker_url
    celery_app.conf.result_backend = broker_url
    _drop_broker_connections()
    yield broker_url
    _drop_broker_connections()
    (
        celery_app.conf.task_always_eager,
        celery_app.conf.broker_url,
        celery_app.conf.result_backend,
    ) = saved


def test_an_import_of_2000_customers_shows_its_progress_and_ends_on_its_report(
    browser,  # noqa: F811
    live_server,
    worker_broker,
    settings,
    tmp_path,
    screenshot_dir,  # noqa: F811
):
    require_service(
        connection.vendor == "postgresql", "this test runs on PostgreSQL: set DATABASE_URL"
    )
    user = UserFactory(username="ann", first_name="Ann")
    MembershipFactory(user=user, role=Role.AGENT)
    AccountFactory(name="Acme Corporation")
    csv_path = tmp_path / "customers.csv"
    csv_path.write_text(
        "email,name,account,tier,country\n"
        + "".join(
            f"person{n}@import.example,Person {n},Acme Corporation,standard,DE\n"
            for n in range(ROWS - 1)
        )
        + "broken-address,Broken,Acme Corporation,standard,DE\n"
    )
    env = child_env(
        DATABASE_URL=_database_url(),
        REDIS_URL=worker_broker,
        DJANGO_MEDIA_ROOT=str(settings.MEDIA_ROOT),
        PORTAL_LOCAL_DIR=str(tmp_path / "local"),
        PORTAL_IMPORT_CHUNK_ROWS=str(CHUNK_ROWS),
    )
    with processes(tmp_path) as group:
        group.start(
            "worker",
            [
                *(sys.executable, "-m", "celery", "-A", "portal", "worker"),
                *("--concurrency", "1", "--pool", "solo", "--loglevel", "info"),
            ],
            env,
        )
        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        _log_in(page, live_server.url)
        page.goto(f"{live_server.url}/customers/import/")
        page.screenshot(path=str(screenshot_dir / "import-upload.png"), full_page=True)
        page.set_input_files("input[type=file]", str(csv_path))
        page.get_by_role("button", name="Import").click()
        page.wait_for_url("**/imports/*/")

        seen: list[int] = []
        screenshot_taken = False
        deadline = time.monotonic() + REPORT_WAIT_SECONDS
        while not page.locator("#import-report").count():
            group.assert_running()
            assert time.monotonic() < deadline, f"no report after {REPORT_WAIT_SECONDS}s: {seen}"
            value = page.locator("#import-progress").get_attribute("value")
            if value is not None:
                seen.append(int(value))
                if 0 < seen[-1] < ROWS and not screenshot_taken:
                    page.screenshot(path=str(screenshot_dir / "import-progress.png"))
                    screenshot_taken = True
            time.sleep(0.1)
        page.screenshot(path=str(screenshot_dir / "import-report.png"), full_page=True)

        assert any(0 < value < ROWS for value in seen), seen
        assert seen == sorted(seen), "the progress bar went backwards"
        report = page.locator("#import-job").inner_text()
        assert f"{ROWS} of {ROWS} rows processed" in report
        assert "1999 added, 0 updated, 1 refused" in " ".join(report.split())
        assert page.locator("#import-report tbody tr td").first.inner_text() == str(ROWS + 1)
        job = wait_for(
            "the job to be done",
            lambda: ImportJob.objects.filter(status=ImportStatus.DONE).first(),
            group,
        )
        assert (job.created_count, job.rejected_count) == (ROWS - 1, 1)
        assert Customer.objects.filter(email__endswith="@import.example").count() == ROWS - 1
        context.close()
