"""Imports in the background: an upload becomes an :class:`ImportJob`, a Celery task works
through it in chunks, and the job's page and API resource show its progress and report.

The task is safe to run twice. It claims the job with a guarded UPDATE (queued, or running
under a lease that has run out because its worker died), and commits each chunk of rows in
one transaction together with the job's progress, guarded by the progress it started from: a
chunk is committed once or not at all, and a second worker that finds the job claimed does
nothing. Rows are upserts by external id or normalised key, so even a chunk repeated by hand
would update rather than duplicate. Chunks keep each write transaction short, so on SQLite the
web requests waiting for the write lock never wait past the busy timeout.
"""

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from time import monotonic
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from portal.imports.csvfile import Record, read_csv, read_upload, write_csv
from portal.imports.importers import Importer, importer_get
from portal.models import ImportJob, ImportRejection, ImportStatus, Team
from portal.services.directory_bulk import RowsResult, row_message

logger = logging.getLogger(__name__)


def chunk_rows() -> int:
    """Rows per transaction (``PORTAL_IMPORT_CHUNK_ROWS``, at least one)."""
    return max(1, settings.PORTAL_IMPORT_CHUNK_ROWS)


# A worker that holds a job renews its lease with every chunk; a lease this old means the
# worker died, and the job may be taken over.
LEASE = timedelta(minutes=5)
# A task gives the worker back after this long and queues the rest of the job, so that one
# large file neither hits the task's time limit nor holds the only worker of the embedded
# default for minutes.
TIME_SLICE_SECONDS = 60.0

JOB_FILE_UNREADABLE = "The uploaded file could not be read again: {error}"
JOB_CRASHED = (
    "The import stopped at line {line} because of an internal error; rows before it were saved."
)
REPORT_HEADER = ("line", "reason")


@dataclass
class RowError:
    line: int
    message: str


@dataclass
class ImportReport:
    """The outcome of an import run in the request (the API's and pages' jobs keep theirs)."""

    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.created + self.updated + len(self.errors)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "errors": [{"line": e.line, "message": e.message} for e in self.errors],
        }


def _import_chunk(
    importer: Importer, actor: AbstractBaseUser, records: Sequence[Record]
) -> RowsResult:
    """Refuse the records that could not be read (a NUL) and import the others."""
    result = RowsResult()
    readable = []
    for record in records:
        if record.error:
            result.rejections.append((record.line, record.error))
        else:
            readable.append(record)
    if readable:
        try:
            result.add(importer.import_records(actor=actor, records=readable))
        except PermissionDenied as error:
            result.rejections.extend((r.line, row_message(error)) for r in readable)
    result.rejections.sort()
    return result


def import_now(*, actor: AbstractBaseUser, kind: str, upload: IO[bytes]) -> ImportReport:
    """Import a file within the caller's process, chunk by chunk as a job would (scripts, the
    benchmark and tests). Raises ValidationError for problems with the file as a whole."""
    importer = importer_get(kind)
    importer.require(actor)
    parsed = read_csv(read_upload(upload), importer.required)
    report = ImportReport()
    size = chunk_rows()
    for start in range(0, len(parsed.records), size):
        with transaction.atomic():
            result = _import_chunk(importer, actor, parsed.records[start : start + size])
        report.created += result.created
        report.updated += result.updated
        report.errors.extend(RowError(line, message) for line, message in result.rejections)
    return report


def import_job_create(
    *,
    actor: AbstractBaseUser,
    kind: str,
    upload: IO[bytes],
    filename: str = "",
    team: Team | None = None,
) -> ImportJob:
    """Check the file as a whole (size, encoding, header) at once, so that the person who
    uploads it hears of those problems on the spot, then store it and queue its job."""
    from portal import tasks

    importer = importer_get(kind)
    importer.require(actor)
    raw = read_upload(upload)
    parsed = read_csv(raw, importer.required)
    with transaction.atomic():
        job = ImportJob(
            kind=kind,
            actor=actor,
            team=team,
            filename=(filename or getattr(upload, "name", "") or "")[:255],
            rows_total=len(parsed.records),
        )
        job.file.save(f"{uuid.uuid4().hex}.csv", ContentFile(raw), save=False)
        job.save()
        transaction.on_commit(lambda: tasks.import_job_run.delay(job.pk))
    return job


def _claim(job_id: int) -> bool:
    now = timezone.now()
    claimable = Q(status=ImportStatus.QUEUED) | Q(
        status=ImportStatus.RUNNING, lease_expires_at__lt=now
    )
    return bool(
        ImportJob.objects.filter(claimable, pk=job_id).update(
            status=ImportStatus.RUNNING,
            lease_expires_at=now + LEASE,
            started_at=Coalesce(F("started_at"), Value(now)),
        )
    )


def _finish(job: ImportJob, status: ImportStatus, error: str = "") -> None:
    ImportJob.objects.filter(pk=job.pk, status=ImportStatus.RUNNING).update(
        status=status, error=error, finished_at=timezone.now(), lease_expires_at=None
    )


def import_job_run(*, job_id: int, time_slice: float | None = None) -> str:
    """Work on a job for up to ``time_slice`` seconds (default ``TIME_SLICE_SECONDS``).
    Returns ``"done"``, ``"failed"``, ``"continue"`` (the rest is queued again: run me once
    more) or ``"skipped"`` (another worker holds it, or it is finished)."""
    if not _claim(job_id):
        return "skipped"
    job = ImportJob.objects.select_related("actor").get(pk=job_id)
    importer = importer_get(job.kind)
    try:
        importer.require(job.actor)
        with job.file.open("rb") as stored:
            raw = stored.read()
        parsed = read_csv(raw, importer.required)
    except (PermissionDenied, ValidationError) as error:
        _finish(job, ImportStatus.FAILED, row_message(error))
        return "failed"
    except OSError as error:
        _finish(job, ImportStatus.FAILED, JOB_FILE_UNREADABLE.format(error=error))
        return "failed"
    records = parsed.records
    deadline = monotonic() + (TIME_SLICE_SECONDS if time_slice is None else time_slice)
    size = chunk_rows()
    while job.rows_processed < len(records):
        chunk = records[job.rows_processed : job.rows_processed + size]
        try:
            with transaction.atomic():
                result = _import_chunk(importer, job.actor, chunk)
                ImportRejection.objects.bulk_create(
                    ImportRejection(job=job, line=line, reason=reason)
                    for line, reason in result.rejections
                )
                progressed = ImportJob.objects.filter(
                    pk=job.pk, status=ImportStatus.RUNNING, rows_processed=job.rows_processed
                ).update(
                    rows_total=len(records),
                    rows_processed=F("rows_processed") + len(chunk),
                    created_count=F("created_count") + result.created,
                    updated_count=F("updated_count") + result.updated,
                    rejected_count=F("rejected_count") + len(result.rejections),
                    lease_expires_at=timezone.now() + LEASE,
                )
                if not progressed:
                    # Another worker took the job over; this chunk is theirs to write.
                    transaction.set_rollback(True)
                    return "skipped"
        except Exception:
            logger.exception("Import job %s failed at line %s", job.pk, chunk[0].line)
            _finish(job, ImportStatus.FAILED, JOB_CRASHED.format(line=chunk[0].line))
            return "failed"
        job.rows_processed += len(chunk)
        if job.rows_processed < len(records) and monotonic() > deadline:
            ImportJob.objects.filter(pk=job.pk, status=ImportStatus.RUNNING).update(
                status=ImportStatus.QUEUED, lease_expires_at=None
            )
            return "continue"
    _finish(job, ImportStatus.DONE)
    return "done"


def import_jobs_resume() -> list[int]:
    """The ids of jobs whose task was lost: queued for a minute without a worker taking
    them, or running under a lease that ran out. Run by beat, which queues each again."""
    now = timezone.now()
    stalled = Q(status=ImportStatus.QUEUED, created_at__lt=now - timedelta(minutes=1)) | Q(
        status=ImportStatus.RUNNING, lease_expires_at__lt=now
    )
    return list(ImportJob.objects.filter(stalled).values_list("pk", flat=True))


def import_job_report_csv(job: ImportJob) -> str:
    """The job's refused rows as CSV, safe to open in a spreadsheet."""
    rows = job.rejections.order_by("line", "pk").values_list("line", "reason")
    return write_csv(REPORT_HEADER, rows.iterator())
