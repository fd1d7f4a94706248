"""Thin Celery entry points for the portal app."""

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from portal import services

HEARTBEAT_CACHE_KEY = "portal:background:heartbeat"


@shared_task(soft_time_limit=10, time_limit=20)
def record_heartbeat() -> str:
    """Run by beat: proves to /readyz and the dashboard that scheduled work is running."""
    now = timezone.now().isoformat()
    cache.set(HEARTBEAT_CACHE_KEY, now, timeout=None)
    return now


@shared_task(soft_time_limit=10, time_limit=20)
def ping(payload: str) -> str:
    """Echo: a round trip through the broker and the result backend."""
    return f"pong:{payload}"


@shared_task(soft_time_limit=240, time_limit=300)
def send_notification_digests() -> int:
    """Run hourly by beat: one e-mail per person with their new unread notifications. Safe to
    run twice or concurrently: each notification is claimed once before its mail is sent."""
    return services.notification_digests_send()


# A slice of an import is at most TIME_SLICE_SECONDS plus one chunk; the limits leave room.
@shared_task(soft_time_limit=240, time_limit=300, acks_late=True, reject_on_worker_lost=True)
def import_job_run(job_id: int) -> str:
    """Work through an import job; a job larger than one time slice queues itself again."""
    from portal import imports

    outcome = imports.import_job_run(job_id=job_id)
    if outcome == "continue":
        import_job_run.delay(job_id)
    return outcome


@shared_task(soft_time_limit=30, time_limit=60)
def resume_import_jobs() -> int:
    """Run by beat: queue again the import jobs whose task was lost (a worker died)."""
    from portal import imports

    job_ids = imports.import_jobs_resume()
    for job_id in job_ids:
        import_job_run.delay(job_id)
    return len(job_ids)
