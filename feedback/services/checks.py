"""Checking a channel's connection on an admin's request: the connector tries its stored
settings and says in words a person can act on what failed. Nothing is written but what
the connector itself changed (an OAuth provider's rotated refresh token)."""

from django.contrib.auth.models import AbstractBaseUser

from feedback.channels import CheckResult, ConfigError, get_connector
from feedback.models import Channel
from feedback.services.ingest import channel_config_updates_store
from portal import access
from portal.actors import SystemActor
from portal.crypto import DecryptionError
from portal.models import Role

Actor = AbstractBaseUser | SystemActor


def channel_check(*, actor: Actor, channel: Channel) -> CheckResult:
    """Try the channel's stored settings now. Team admins only: a check makes the portal
    connect to a host an admin chose. Failures come back as ``CheckResult(ok=False, ...)``,
    never as an exception, so that the page can show them as they are."""
    access.require_team_role(actor, channel.team, Role.ADMIN)
    try:
        connector = get_connector(channel.kind)
        config = channel.read_config()
    except ConfigError as error:
        return CheckResult(ok=False, message=error.message)
    except DecryptionError as error:
        return CheckResult(ok=False, message=str(error))
    if connector.push:
        # A push channel has nothing to connect to; its check says where to post.
        from feedback.views.widget import widget_form_url
        from feedback.webhooks import webhook_url

        # The widget's customers post to its public form; a mail provider to the webhook.
        url = widget_form_url(channel) if channel.public_key else webhook_url(channel)
        return connector.check(config, url=url)
    result = connector.check(config)
    if result.config_updates:
        channel_config_updates_store(channel, result.config_updates)
    return result
