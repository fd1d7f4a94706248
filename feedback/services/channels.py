"""Channel writes: create and change a team's channels. Team admins only.

The config is checked by the channel's connector (``validate_config``, the plaintext IMAP
policy from ``PORTAL_ALLOW_PLAINTEXT_IMAP`` included) and stored encrypted. Secrets are
write-only: an update that leaves a secret out (or empty) keeps the stored one, and the audit
log records only that a secret is set, never its value.
"""

import json
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from feedback.channels import ConfigError, Connector, get_connector, widget
from feedback.inbox.choices import team_choices_changed
from feedback.models import Channel
from portal import access, crypto
from portal.actors import SystemActor
from portal.fields import normalised_key
from portal.models import Role, Team
from portal.services import audit
from portal.services.audit import Snapshot, changes_between, snapshot

Actor = AbstractBaseUser | SystemActor

MIN_POLL_INTERVAL = 10
MAX_POLL_INTERVAL = 86_400
DEFAULT_POLL_INTERVAL = 60

CHANNEL_NAME_REQUIRED = "A channel needs a name."
CHANNEL_NAME_TOO_LONG = "A channel's name may have at most {limit} characters."
CHANNEL_NAME_TAKEN = "A channel called {name!r} already exists in {team}."
POLL_INTERVAL_INVALID = (
    f"The poll interval is a whole number of seconds from {MIN_POLL_INTERVAL} to "
    f"{MAX_POLL_INTERVAL}."
)
CONFIG_NOT_OBJECT = "The config must be a JSON object of settings."
ENABLED_INVALID = "enabled must be true or false."
SECRET_SET = "(set)"

_AUDITED = ("name", "kind", "address", "poll_interval", "enabled")
_NAME_MAX = Channel._meta.get_field("name").max_length
_UPDATABLE = ("name", "config", "poll_interval", "enabled")


def _connector(kind: str) -> Connector:
    try:
        return get_connector(kind)
    except ConfigError as error:
        raise ValidationError({"kind": error.message}) from error


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": CHANNEL_NAME_REQUIRED})
    if len(name) > _NAME_MAX:
        raise ValidationError({"name": CHANNEL_NAME_TOO_LONG.format(limit=_NAME_MAX)})
    return name


def _clean_poll_interval(value: Any) -> int:
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not MIN_POLL_INTERVAL <= value <= MAX_POLL_INTERVAL
    ):
        raise ValidationError({"poll_interval": POLL_INTERVAL_INVALID})
    return value


def _clean_enabled(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError({"enabled": ENABLED_INVALID})
    return value


def _clean_config(connector: Connector, config: Any) -> dict[str, Any]:
    if not isinstance(config, dict):
        raise ValidationError({"config": CONFIG_NOT_OBJECT})
    try:
        return connector.validate_config(
            config, allow_plaintext=settings.PORTAL_ALLOW_PLAINTEXT_IMAP
        )
    except ConfigError as error:
        raise ValidationError({"config": error.message}) from error


def _masked(config: dict[str, Any], secret_fields: frozenset[str]) -> dict[str, Any]:
    return {
        key: (SECRET_SET if key in secret_fields and value else value)
        for key, value in sorted(config.items())
    }


def _snapshot(channel: Channel, config: dict[str, Any], connector: Connector) -> Snapshot:
    return snapshot(channel, _AUDITED, config=_masked(config, connector.secret_fields))


def _store_config(channel: Channel, config: dict[str, Any]) -> None:
    channel.config_encrypted = crypto.encrypt(json.dumps(config, sort_keys=True))
    address = config.get("address") or ""
    channel.address = address.strip().lower() if isinstance(address, str) else ""


def _save(channel: Channel) -> None:
    taken = Channel.objects.filter(
        team=channel.team, name_key=normalised_key(channel.name)
    ).exclude(pk=channel.pk)
    if taken.exists():
        raise ValidationError(
            {"name": CHANNEL_NAME_TAKEN.format(name=channel.name, team=channel.team)}
        )
    try:
        with transaction.atomic():
            channel.save()
    except IntegrityError as error:
        # A concurrent writer took the name between the check and the save.
        raise ValidationError(
            {"name": CHANNEL_NAME_TAKEN.format(name=channel.name, team=channel.team)}
        ) from error


@transaction.atomic
def channel_create(
    *,
    actor: Actor,
    team: Team,
    kind: str,
    name: str,
    config: dict[str, Any],
    poll_interval: int = DEFAULT_POLL_INTERVAL,
    enabled: bool = True,
    now: datetime | None = None,
) -> Channel:
    """A new channel; an enabled one is due for its first poll at once (a push channel,
    whose connector declares ``push``, is never due)."""
    access.require_team_role(actor, team, Role.ADMIN)
    connector = _connector(kind)
    cleaned = _clean_config(connector, config)
    channel = Channel(
        team=team,
        kind=kind,
        name=_clean_name(name),
        poll_interval=_clean_poll_interval(poll_interval),
        enabled=_clean_enabled(enabled),
        next_poll_at=None if connector.push else now or timezone.now(),
        # The widget's public URL names the channel by this key, not by its id.
        public_key=widget.generate_public_key() if kind == widget.KIND else "",
    )
    _store_config(channel, cleaned)
    _save(channel)
    team_choices_changed(team.pk)
    audit(
        actor=actor,
        action="channel.created",
        target=channel,
        team=team,
        changes=changes_between(None, _snapshot(channel, cleaned, connector)),
    )
    return channel


@transaction.atomic
def channel_update(
    *, actor: Actor, channel: Channel, now: datetime | None = None, **fields: Any
) -> Channel:
    """Change ``name``, ``config``, ``poll_interval`` or ``enabled``.

    ``config`` is merged into the stored one: keys left out keep their values, a secret left
    out or empty keeps the stored secret, and a key set to null or "" clears an optional
    setting. A changed config or a channel enabled again is due for a poll at once; a shorter
    ``poll_interval`` brings the next poll forward to at most that interval from now."""
    access.require_team_role(actor, channel.team, Role.ADMIN)
    unknown = set(fields) - set(_UPDATABLE)
    if unknown:
        raise TypeError(f"channel_update() got unexpected fields: {', '.join(sorted(unknown))}")
    channel = Channel.objects.select_for_update().select_related("team").get(pk=channel.pk)
    connector = _connector(channel.kind)
    stored = channel.read_config()
    before = _snapshot(channel, stored, connector)
    named = channel.name
    now = now or timezone.now()
    poll_soon = False
    if "name" in fields:
        channel.name = _clean_name(fields["name"])
    if "poll_interval" in fields:
        channel.poll_interval = _clean_poll_interval(fields["poll_interval"])
        # The next poll was planned with the old interval: a channel set from a day to a
        # minute should not wait out the day.
        sooner = now + timedelta(seconds=channel.poll_interval)
        if channel.next_poll_at is not None and sooner < channel.next_poll_at:
            channel.next_poll_at = sooner
    if "enabled" in fields:
        enabled = _clean_enabled(fields["enabled"])
        poll_soon = enabled and not channel.enabled
        channel.enabled = enabled
    config = stored
    if "config" in fields:
        given = fields["config"]
        if not isinstance(given, dict):
            raise ValidationError({"config": CONFIG_NOT_OBJECT})
        merged = {**stored, **given}
        for key in connector.secret_fields:
            if given.get(key) in (None, "") and stored.get(key):
                merged[key] = stored[key]
        config = _clean_config(connector, merged)
        poll_soon = poll_soon or config != stored
        _store_config(channel, config)
    if poll_soon and not connector.push:
        channel.next_poll_at = now
    _save(channel)
    if channel.name != named:
        team_choices_changed(channel.team_id)
    changes = changes_between(before, _snapshot(channel, config, connector))
    if changes:
        audit(
            actor=actor,
            action="channel.updated",
            target=channel,
            team=channel.team,
            changes=changes,
        )
    return channel
