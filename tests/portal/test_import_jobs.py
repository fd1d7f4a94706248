"""Background imports (portal/imports/jobs.py): a job is queued after commit, claimed once,
committed chunk by chunk with its progress, resumable after a crash, and keeps its report."""

import io
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from portal import imports, services
from portal.imports import jobs
from portal.models import Customer, ImportJob, ImportStatus
from portal.tasks import resume_import_jobs


def upload(text: str, name: str = "people.csv") -> io.BytesIO:
    data = io.BytesIO(text.encode())
    data.name = name
    return data


def customers_csv(count: int, start: int = 0) -> str:
    return "email,name\n" + "".join(f"c{n}@example.com,C {n}\n" for n in range(start, count))


def test_an_upload_is_stored_and_queued_only_when_its_transaction_commits(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = imports.import_job_create(
            actor=world.agent_a, kind="customers", upload=upload(customers_csv(3))
        )
    assert (job.status, job.rows_total, job.filename) == (ImportStatus.QUEUED, 3, "people.csv")
    assert job.file.read().decode() == customers_csv(3)
    assert len(callbacks) == 1
    assert not Customer.objects.exists()
    callbacks[0]()
    job.refresh_from_db()
    assert (job.status, job.rows_processed, job.created_count) == (ImportStatus.DONE, 3, 3)
    assert job.finished_at is not None


def test_a_job_reports_refused_rows_with_line_and_reason(world, django_capture_on_commit_callbacks):
    text = "email,name\nann@example.com,Ann\nbroken,Bad\n"
    with django_capture_on_commit_callbacks(execute=True):
        job = imports.import_job_create(actor=world.agent_a, kind="customers", upload=upload(text))
    job.refresh_from_db()
    assert (job.created_count, job.updated_count, job.rejected_count) == (1, 0, 1)
    assert list(job.rejections.values_list("line", "reason")) == [
        (3, services.EMAIL_INVALID.format(email="broken"))
    ]


def test_problems_with_the_whole_file_are_refused_at_upload_without_a_job(world):
    with pytest.raises(ValidationError) as raised:
        imports.import_job_create(
            actor=world.agent_a, kind="customers", upload=upload("name\nAnn\n")
        )
    assert raised.value.messages == [imports.MISSING_COLUMNS.format(columns="email")]
    assert not ImportJob.objects.exists()


def test_only_who_may_import_can_queue_a_job(world):
    with pytest.raises(PermissionDenied):
        imports.import_job_create(
            actor=world.viewer_a, kind="customers", upload=upload(customers_csv(1))
        )
    with pytest.raises(ValidationError) as raised:
        imports.import_job_create(actor=world.agent_a, kind="teams", upload=upload("a\n"))
    assert raised.value.messages == [imports.UNKNOWN_KIND.format(kind="teams")]


def _queued(world, text: str) -> ImportJob:
    return imports.import_job_create(actor=world.agent_a, kind="customers", upload=upload(text))


def test_running_a_job_twice_imports_each_row_once(world):
    job = _queued(world, customers_csv(5))
    assert imports.import_job_run(job_id=job.pk) == "done"
    assert imports.import_job_run(job_id=job.pk) == "skipped"
    job.refresh_from_db()
    assert (job.created_count, job.updated_count, Customer.objects.count()) == (5, 0, 5)


def test_a_job_held_by_a_live_worker_is_left_alone(world):
    job = _queued(world, customers_csv(2))
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING, lease_expires_at=timezone.now() + timedelta(minutes=1)
    )
    assert imports.import_job_run(job_id=job.pk) == "skipped"
    assert not Customer.objects.exists()


def test_a_job_whose_worker_died_resumes_after_its_last_committed_chunk(
    world, monkeypatch, settings
):
    settings.PORTAL_IMPORT_CHUNK_ROWS = 2
    job = _queued(world, customers_csv(5))
    # The dead worker committed the first chunk (rows 0 and 1) and its progress, then died.
    imports.customers_import_csv(actor=world.agent_a, upload=upload(customers_csv(2)))
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING,
        rows_processed=2,
        created_count=2,
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert imports.import_jobs_resume() == [job.pk]
    assert imports.import_job_run(job_id=job.pk) == "done"
    job.refresh_from_db()
    assert (job.rows_processed, job.created_count, job.updated_count) == (5, 5, 0)
    assert Customer.objects.count() == 5


def test_a_long_job_gives_the_worker_back_and_queues_the_rest(world, monkeypatch, settings):
    settings.PORTAL_IMPORT_CHUNK_ROWS = 2
    job = _queued(world, customers_csv(5))
    assert imports.import_job_run(job_id=job.pk, time_slice=0) == "continue"
    job.refresh_from_db()
    assert (job.status, job.rows_processed, job.percent) == (ImportStatus.QUEUED, 2, 40)
    assert imports.import_job_run(job_id=job.pk) == "done"
    assert Customer.objects.count() == 5


def test_the_task_runs_a_sliced_job_to_the_end(world, monkeypatch, settings):
    settings.PORTAL_IMPORT_CHUNK_ROWS = 2
    monkeypatch.setattr(jobs, "TIME_SLICE_SECONDS", 0)
    job = _queued(world, customers_csv(5))
    from portal.tasks import import_job_run

    assert import_job_run.delay(job.pk).get() == "continue"
    job.refresh_from_db()
    assert (job.status, Customer.objects.count()) == (ImportStatus.DONE, 5)


def test_a_job_whose_file_is_gone_fails_with_a_message(world):
    job = _queued(world, customers_csv(1))
    job.file.delete(save=False)
    assert imports.import_job_run(job_id=job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.error.startswith(jobs.JOB_FILE_UNREADABLE.split("{")[0])


def test_a_job_whose_actor_lost_the_right_to_import_fails_with_the_reason(world):
    job = _queued(world, customers_csv(1))
    world.agent_a.memberships.update(role="viewer")
    assert imports.import_job_run(job_id=job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and job.error
    assert not Customer.objects.exists()


def test_an_internal_error_fails_the_job_and_keeps_the_committed_chunks(
    world, monkeypatch, settings
):
    settings.PORTAL_IMPORT_CHUNK_ROWS = 2
    job = _queued(world, customers_csv(5))
    real = jobs._import_chunk
    calls = []

    def second_chunk_breaks(importer, actor, records):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return real(importer, actor, records)

    monkeypatch.setattr(jobs, "_import_chunk", second_chunk_breaks)
    assert imports.import_job_run(job_id=job.pk) == "failed"
    job.refresh_from_db()
    assert job.error == jobs.JOB_CRASHED.format(line=4)
    assert (job.rows_processed, Customer.objects.count()) == (2, 2)


def test_beat_queues_again_jobs_whose_task_was_lost(world, django_capture_on_commit_callbacks):
    job = _queued(world, customers_csv(2))
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert resume_import_jobs.delay().get() == 1
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE


def test_the_report_csv_lists_refused_rows_safe_for_spreadsheets(world):
    job = _queued(world, "email,name\n=cmd@x,Bad\n")
    imports.import_job_run(job_id=job.pk)
    job.refresh_from_db()
    report = imports.import_job_report_csv(job)
    reason = services.EMAIL_INVALID.format(email="=cmd@x")
    assert report.splitlines()[0] == "line,reason"
    assert report.splitlines()[1] == f"2,{imports.safe_cell(reason)}"
