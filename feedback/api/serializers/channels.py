"""Channel serializers. Secrets are write-only: a channel's ``config`` is shown without the
connector's secret fields (``secrets_set`` says which of them hold a value), and a change that
leaves a secret out keeps it."""

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from feedback import selectors as feedback_selectors
from feedback.api.serializers.common import require_team_role
from feedback.channels import CONNECTORS, ConfigError, get_connector
from feedback.models import Channel
from feedback.services import (
    CHANNEL_NAME_TOO_LONG,
    CONFIG_NOT_OBJECT,
    MAX_POLL_INTERVAL,
    MIN_POLL_INTERVAL,
    POLL_INTERVAL_INVALID,
)
from portal import access
from portal import selectors as portal_selectors
from portal.api.serializers import AsciiIntegerField, SelectorRelatedField, TextField
from portal.crypto import DecryptionError
from portal.models import Role, Team

UNKNOWN_KIND = "Choose a channel kind: {kinds}."
CONFIG_HAS_NUL = "The config may not contain NUL characters."
CONFIG_TOO_LARGE = "The config may be at most {limit} characters of JSON."
MAX_CONFIG_LENGTH = 20_000
CONFIG_DESCRIPTION = (
    "The connector's settings, as an object. IMAP (`imap`): `host`, `port`, `username`, "
    "`password`, `folder` (INBOX unless given), `security` (`tls`, `starttls` or `none`; `none` "
    "only for a loopback host), `move_to`, `address` (the mailbox's public address), "
    "`verify_certificate`, `ca_certificate`, `timeout`; with OAuth 2.0 (Microsoft 365, Gmail) "
    "`auth` `oauth2` instead of a password, `provider` (`microsoft`, `google` or `custom`), "
    "`token_url` (filled in for microsoft and google), `client_id`, `client_secret`, "
    "`refresh_token`, `scope`, `sasl` (`xoauth2` or `oauthbearer`). "
    "Inbound e-mail webhook (`webhook`): "
    "`address`, `secret` (the signing secret). Zendesk (`zendesk`): `subdomain` (or "
    "`base_url`), `email` (an admin's), `api_token`, `start_time` (a date), `timeout`. "
    "RSS / Atom feed (`feed`): `url` (the feed's own address), `username` and `password` "
    "(HTTP basic authentication, only for a feed behind a login), `timeout`. "
    "Discourse forum (`discourse`): `base_url`, `api_key`, `api_username`, `categories` (slugs "
    "or ids; empty: all), `timeout`. Mastodon (`mastodon`): `base_url` (the instance), "
    "`access_token`, `source` (`mentions` or `hashtag`), `hashtag`, `timeout`; see "
    "docs/channels.md. Secrets (`password`, `client_secret`, `refresh_token`, `secret`, "
    "`api_token`, `api_key`, `access_token`) are write-only: "
    "never shown, and a change that leaves them out or empty keeps them. A change is merged "
    "into the stored settings; a key set to null or empty clears it."
)
_CHANNEL_NAME_MAX = Channel._meta.get_field("name").max_length


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(key) or _contains_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_contains_nul(item) for item in value)
    return False


# What a member below admin sees instead of a feed address's query values.
HIDDEN = "…"


@extend_schema_field(
    {"type": "object", "additionalProperties": {}, "description": CONFIG_DESCRIPTION}
)
class ChannelConfigField(serializers.Field):
    """Writes take an object; reads show the stored config without its secrets."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("source", "*")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise serializers.ValidationError(CONFIG_NOT_OBJECT)
        if _contains_nul(data):
            raise serializers.ValidationError(CONFIG_HAS_NUL)
        # Stored encrypted in one column: a config is a few settings, not a payload.
        if len(json.dumps(data)) > MAX_CONFIG_LENGTH:
            raise serializers.ValidationError(CONFIG_TOO_LARGE.format(limit=MAX_CONFIG_LENGTH))
        return {"config": data}

    def to_representation(self, channel: Channel) -> dict[str, Any]:
        try:
            config = feedback_selectors.channel_public_config(channel)
        except DecryptionError:
            # A key that changed cannot open the stored settings; the check says so.
            return {}
        request = self.context.get("request")
        admin = request is not None and access.has_team_role(request.user, channel.team, Role.ADMIN)
        if not admin and isinstance(config.get("url"), str):
            # A private feed's address often carries its token in the query: the members
            # who cannot change the channel see which parameters it has, not their values.
            config["url"] = _query_values_hidden(config["url"])
        return config


def _query_values_hidden(url: str) -> str:
    parts = urlsplit(url)
    if not parts.query:
        return url
    hidden = "&".join(
        f"{name}={HIDDEN}" for name, _ in parse_qsl(parts.query, keep_blank_values=True)
    )
    return urlunsplit(parts._replace(query=hidden))


def _secrets_set(channel: Channel) -> list[str]:
    try:
        connector = get_connector(channel.kind)
        stored = channel.read_config()
    except (ConfigError, DecryptionError):
        return []
    return sorted(key for key in connector.secret_fields if stored.get(key))


class ChannelSerializer(serializers.ModelSerializer):
    team = SelectorRelatedField(selector=portal_selectors.team_list, queryset=Team.objects.all())
    kind = serializers.ChoiceField(
        choices=sorted(CONNECTORS),
        error_messages={"invalid_choice": UNKNOWN_KIND.format(kinds=", ".join(sorted(CONNECTORS)))},
    )
    name = TextField(
        max_length=_CHANNEL_NAME_MAX,
        error_messages={"max_length": CHANNEL_NAME_TOO_LONG.format(limit=_CHANNEL_NAME_MAX)},
    )
    config = ChannelConfigField()
    secrets_set = serializers.SerializerMethodField(
        help_text="The secret settings that hold a value (their values are never shown)."
    )
    poll_interval = AsciiIntegerField(
        min_value=MIN_POLL_INTERVAL,
        max_value=MAX_POLL_INTERVAL,
        required=False,
        help_text="Seconds between two polls of a healthy channel.",
        error_messages={
            "min_value": POLL_INTERVAL_INVALID,
            "max_value": POLL_INTERVAL_INVALID,
            "invalid": POLL_INTERVAL_INVALID,
            "max_string_length": POLL_INTERVAL_INVALID,
        },
    )
    enabled = serializers.BooleanField(required=False)

    class Meta:
        model = Channel
        fields = [
            "id",
            "team",
            "kind",
            "name",
            "config",
            "secrets_set",
            "address",
            # The web widget's key for its public URLs (docs/widget.md); "" for other kinds.
            "public_key",
            "poll_interval",
            "enabled",
            "healthy",
            "last_polled_at",
            "last_success_at",
            "error_streak",
            "last_error",
            "last_error_at",
            "next_poll_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "address",
            "public_key",
            "healthy",
            "last_polled_at",
            "last_success_at",
            "error_streak",
            "last_error",
            "last_error_at",
            "next_poll_at",
            "created_at",
            "updated_at",
        ]
        validators: list = []

    def validate_team(self, team: Team) -> Team:
        return require_team_role(self, team, Role.ADMIN)

    @extend_schema_field({"type": "array", "items": {"type": "string"}})
    def get_secrets_set(self, channel: Channel) -> list[str]:
        return _secrets_set(channel)


class ChannelUpdateSerializer(ChannelSerializer):
    """A channel stays in its team and keeps its kind; a new one is made for another."""

    team = serializers.IntegerField(source="team_id", read_only=True)
    kind = serializers.CharField(read_only=True)


class ChannelCheckSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="Whether the connection works as configured.")
    message = serializers.CharField(help_text="What the check found, in words to act on.")
