"""What agents do with quarantined payloads: parse again (after a parser fix, say) or give up.

The raw bytes stay either way: a discarded payload is still there to download.
"""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from feedback.models import PayloadStatus, Quarantine, QuarantineStatus, RawPayload
from feedback.services.parsing import ParseOutcome, payload_parse
from portal import access
from portal.actors import SystemActor, person_or_none
from portal.models import Role
from portal.services import audit

Actor = AbstractBaseUser | SystemActor

QUARANTINE_CLOSED = "This payload is no longer in quarantine ({status})."


def _lock(quarantine: Quarantine) -> Quarantine:
    locked = (
        Quarantine.objects.select_for_update()
        .select_related("payload__channel__team")
        .get(pk=quarantine.pk)
    )
    if locked.status != QuarantineStatus.OPEN:
        raise ValidationError(QUARANTINE_CLOSED.format(status=locked.get_status_display().lower()))
    return locked


@transaction.atomic
def quarantine_retry(
    *, actor: Actor, quarantine: Quarantine, now: datetime | None = None
) -> ParseOutcome:
    """Parse the payload again; it leaves quarantine when it parses, else stays with the new
    error. Agents of the channel's team."""
    access.require_team_role(actor, quarantine.payload.channel.team, Role.AGENT)
    now = now or timezone.now()
    quarantine = _lock(quarantine)
    quarantine.retry_count += 1
    quarantine.save(update_fields=["retry_count", "updated_at"])
    RawPayload.objects.filter(pk=quarantine.payload_id).update(status=PayloadStatus.PENDING)
    outcome = payload_parse(payload=quarantine.payload, now=now)
    quarantine.refresh_from_db()
    if quarantine.status == QuarantineStatus.RESOLVED:
        quarantine.closed_by = person_or_none(actor)
        quarantine.save(update_fields=["closed_by", "updated_at"])
    audit(
        actor=actor,
        action="quarantine.retried",
        target=quarantine,
        team=quarantine.payload.channel.team,
        changes={
            "status": {"before": QuarantineStatus.OPEN.value, "after": quarantine.status},
            "retry_count": {"before": quarantine.retry_count - 1, "after": quarantine.retry_count},
        },
    )
    return ParseOutcome(outcome.payload, outcome.message, outcome.created, quarantine)


@transaction.atomic
def quarantine_discard(
    *, actor: Actor, quarantine: Quarantine, now: datetime | None = None
) -> Quarantine:
    """Give up on the payload: it leaves the quarantine list, its raw bytes stay."""
    access.require_team_role(actor, quarantine.payload.channel.team, Role.AGENT)
    quarantine = _lock(quarantine)
    quarantine.status = QuarantineStatus.DISCARDED
    quarantine.closed_at = now or timezone.now()
    quarantine.closed_by = person_or_none(actor)
    quarantine.save(update_fields=["status", "closed_at", "closed_by", "updated_at"])
    audit(
        actor=actor,
        action="quarantine.discarded",
        target=quarantine,
        team=quarantine.payload.channel.team,
        changes={"status": {"before": QuarantineStatus.OPEN.value, "after": quarantine.status}},
    )
    return quarantine
