"""Notifications: the one way any app tells people that something needs them.

``notify`` stores notifications and sends nothing: people see them under the bell, and those
who chose the digest get them by e-mail from the hourly ``send_notification_digests`` task.
"""

import logging
import smtplib
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_slug
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from portal.actors import is_system
from portal.links import absolute_url
from portal.models import Notification, UserProfile
from portal.selectors import UNREAD_KEY

logger = logging.getLogger(__name__)

NOTIFICATION_KIND_INVALID = (
    "A notification's kind is a short slug of at most 50 characters, such as "
    "'feedback-assigned' (got {kind!r})."
)
NOTIFICATION_SUBJECT_EMPTY = "A notification needs a subject."
NOTIFICATION_URL_INVALID = (
    "A notification links to a path in the portal (starting with one '/') or to an http or "
    "https address of at most 500 characters (got {url!r})."
)
NOT_YOUR_NOTIFICATION = "This notification belongs to someone else."

DIGEST_SUBJECT = "{count} new notifications in the Portal"
DIGEST_SUBJECT_ONE = "1 new notification in the Portal"
# One mail lists this many, newest first, and links the page for the rest.
DIGEST_MAX_ITEMS = 50

_KIND_MAX = Notification._meta.get_field("kind").max_length
_SUBJECT_MAX = Notification._meta.get_field("subject").max_length
_URL_MAX = Notification._meta.get_field("url").max_length


def _check_kind(kind: str) -> str:
    try:
        validate_slug(kind)
    except ValidationError as error:
        raise ValidationError(NOTIFICATION_KIND_INVALID.format(kind=kind)) from error
    if len(kind) > _KIND_MAX:
        raise ValidationError(NOTIFICATION_KIND_INVALID.format(kind=kind))
    return kind


def _clean_subject(subject: str) -> str:
    """One line, cut to fit: subjects often quote what a customer wrote, which may be long
    or span lines, and should not be refused for it."""
    subject = " ".join((subject or "").split())
    if not subject:
        raise ValidationError(NOTIFICATION_SUBJECT_EMPTY)
    if len(subject) > _SUBJECT_MAX:
        subject = subject[: _SUBJECT_MAX - 1].rstrip() + "…"
    return subject


def _check_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    relative = url.startswith("/") and not url.startswith("//")
    absolute = parts.scheme in ("http", "https") and bool(parts.netloc)
    if len(url) > _URL_MAX or not (relative or absolute) or any(c in url for c in " \r\n\t"):
        raise ValidationError(NOTIFICATION_URL_INVALID.format(url=url))
    return url


def _user_ids(users: Iterable[AbstractBaseUser | int]) -> list[int]:
    """Each person once, in the order given; the system actor has nobody to tell."""
    ids: list[int] = []
    for user in users:
        pk = user if isinstance(user, int) else user.pk
        if pk is not None and pk not in ids:
            ids.append(pk)
    return ids


@transaction.atomic
def notify(
    *,
    users: Iterable[AbstractBaseUser | int],
    kind: str,
    subject: str,
    url: str,
    now: datetime | None = None,
) -> list[Notification]:
    """Tell each of ``users`` (people or their ids) once; inactive accounts are skipped.

    Runs inside the caller's transaction, so a rolled-back write notifies nobody."""
    kind, subject, url = _check_kind(kind), _clean_subject(subject), _check_url(url)
    ids = _user_ids(users)
    if not ids:
        return []
    active = set(
        get_user_model().objects.filter(pk__in=ids, is_active=True).values_list("pk", flat=True)
    )
    created_at = now or timezone.now()
    _unread_changed([pk for pk in ids if pk in active])
    return Notification.objects.bulk_create(
        [
            Notification(user_id=pk, kind=kind, subject=subject, url=url, created_at=created_at)
            for pk in ids
            if pk in active
        ]
    )


def _unread_changed(user_ids: list[int]) -> None:
    """These people's unread counts (the bell's, kept in the cache) are stale once the
    transaction commits."""
    keys = [UNREAD_KEY.format(user_id=pk) for pk in user_ids]
    if keys:
        transaction.on_commit(lambda: cache.delete_many(keys))


def _require_owner(actor: AbstractBaseUser, notification: Notification) -> None:
    if is_system(actor) or notification.user_id != actor.pk:
        raise PermissionDenied(NOT_YOUR_NOTIFICATION)


@transaction.atomic
def notification_mark_read(
    *, actor: AbstractBaseUser, notification: Notification, now: datetime | None = None
) -> Notification:
    """Mark one of the actor's own notifications read; reading it again changes nothing."""
    _require_owner(actor, notification)
    now = now or timezone.now()
    if Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now):
        _unread_changed([actor.pk])
    notification.refresh_from_db(fields=["read_at"])
    return notification


@transaction.atomic
def notification_mark_all_read(*, actor: AbstractBaseUser, now: datetime | None = None) -> int:
    """Mark every unread notification of the actor read; returns how many there were."""
    if is_system(actor) or not actor.is_authenticated:
        raise PermissionDenied(NOT_YOUR_NOTIFICATION)
    marked = Notification.objects.filter(user=actor, read_at__isnull=True).update(
        read_at=now or timezone.now()
    )
    if marked:
        _unread_changed([actor.pk])
    return marked


# The e-mail digest -----------------------------------------------------------------------


def _absolute(url: str) -> str:
    return absolute_url(url) if url.startswith("/") else url


def _digest_message(user: AbstractBaseUser, pending: list[Notification]) -> EmailMessage:
    profile = UserProfile.objects.filter(user=user).first() or UserProfile(user=user)
    zone = ZoneInfo(profile.effective_time_zone)
    newest = sorted(pending, key=lambda n: (n.created_at, n.pk), reverse=True)
    lines = [f"Hello {user.get_username()},", "", "New in the Portal since the last digest:", ""]
    for notification in newest[:DIGEST_MAX_ITEMS]:
        when = timezone.localtime(notification.created_at, zone).strftime("%d %b %Y %H:%M")
        lines += [f"- {notification.subject} ({when})", f"  {_absolute(notification.url)}"]
    more = len(newest) - DIGEST_MAX_ITEMS
    list_url = absolute_url(reverse("portal:notification_list"))
    lines += ["", f"And {more} more: {list_url}" if more > 0 else f"All of them: {list_url}"]
    lines += [
        "",
        "You get this e-mail because you chose the digest in your profile; change that at",
        absolute_url(reverse("portal:profile")),
    ]
    subject = DIGEST_SUBJECT_ONE if len(pending) == 1 else DIGEST_SUBJECT.format(count=len(pending))
    return EmailMessage(
        subject=subject,
        body="\n".join(lines) + "\n",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
    )


def _deliver(message: EmailMessage, ids: list[int], emailed_at: datetime) -> None:
    """Send after commit. A mail the backend refuses hands its notifications back to the
    next run, rather than losing them."""
    try:
        message.send()
    except (smtplib.SMTPException, OSError):
        logger.exception("Notification digest to %s failed; the next run retries.", message.to)
        Notification.objects.filter(pk__in=ids, emailed_at=emailed_at).update(emailed_at=None)


@transaction.atomic
def _digest_send_one(user: AbstractBaseUser, now: datetime) -> bool:
    # Locked and claimed under a guard, so that two runs at once (a retried task beside the
    # next beat) e-mail each notification once.
    pending = list(
        Notification.objects.select_for_update(skip_locked=True)
        .filter(user=user, read_at__isnull=True, emailed_at__isnull=True)
        .order_by("created_at", "pk")
    )
    ids = [notification.pk for notification in pending]
    if not ids:
        return False
    claimed = Notification.objects.filter(pk__in=ids, emailed_at__isnull=True).update(
        emailed_at=now
    )
    if claimed != len(ids):
        # Another run claimed some of them between the read and the update: let it send.
        transaction.set_rollback(True)
        return False
    message = _digest_message(user, pending)
    transaction.on_commit(lambda: _deliver(message, ids, now))
    return True


def notification_digests_send(*, now: datetime | None = None) -> int:
    """E-mail each person who chose the digest their unread notifications not yet e-mailed,
    in one mail each; returns the number of mails. Safe to run twice: the second run finds
    nothing left to send."""
    now = now or timezone.now()
    recipients = (
        get_user_model()
        .objects.filter(
            is_active=True,
            portal_profile__email_digest=True,
            notifications__read_at__isnull=True,
            notifications__emailed_at__isnull=True,
        )
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )
    return sum(_digest_send_one(user, now) for user in recipients)
