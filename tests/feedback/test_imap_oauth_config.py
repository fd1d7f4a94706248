"""IMAP OAuth settings: what the connector takes, fills in and refuses (each error naming its
field), and the same through the channel form and the channels API, secrets write-only."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from feedback.channels.base import ConfigError
from feedback.channels.imap import ImapConnector
from feedback.channels.imap.config import (
    AUTH_INVALID,
    FIELD_NOT_TEXT,
    FIELD_REQUIRED,
    PROVIDER_INVALID,
    PROVIDERS,
    SASL_INVALID,
    TOKEN_URL_INVALID,
)
from feedback.models import Channel

CONNECTOR = ImapConnector()
REFRESH_TOKEN = "0.AXEAq-refresh-token-never-shown"
CLIENT_SECRET = "client-secret-never-shown"


def config(**overrides: object) -> dict:
    values = {
        "host": "outlook.office365.com",
        "username": "support@example.com",
        "auth": "oauth2",
        "provider": "microsoft",
        "client_id": "11111111-2222-3333-4444-555555555555",
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def config_error(values: dict) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        CONNECTOR.validate_config(values)
    return raised.value


def test_microsoft_fills_in_its_token_endpoint_and_scope():
    cleaned = CONNECTOR.validate_config(config())

    assert cleaned == {
        "host": "outlook.office365.com",
        "port": 993,
        "username": "support@example.com",
        "folder": "INBOX",
        "security": "tls",
        "move_to": None,
        "address": "support@example.com",
        "verify_certificate": True,
        "ca_certificate": None,
        "timeout": 30.0,
        "auth": "oauth2",
        "provider": "microsoft",
        "token_url": "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        "client_id": "11111111-2222-3333-4444-555555555555",
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
        "scope": "https://outlook.office.com/IMAP.AccessAsUser.All offline_access",
        "sasl": "xoauth2",
    }


def test_google_fills_in_its_token_endpoint_and_scope():
    cleaned = CONNECTOR.validate_config(config(host="imap.gmail.com", provider="google"))

    assert (cleaned["token_url"], cleaned["scope"]) == PROVIDERS["google"]


def test_a_tenant_endpoint_and_a_scope_given_are_kept():
    tenant = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"

    cleaned = CONNECTOR.validate_config(
        config(token_url=tenant, scope="  https://outlook.office.com/IMAP.AccessAsUser.All  ")
    )

    assert cleaned["token_url"] == tenant
    assert cleaned["scope"] == "https://outlook.office.com/IMAP.AccessAsUser.All"


def test_a_public_client_needs_no_secret_and_oauthbearer_may_be_chosen():
    cleaned = CONNECTOR.validate_config(config(client_secret=None, sasl="oauthbearer"))

    assert (cleaned["client_secret"], cleaned["sasl"]) == ("", "oauthbearer")


def test_an_oauth_mailbox_keeps_no_password_and_a_password_one_no_oauth_settings():
    oauth = CONNECTOR.validate_config(config(password="an old password"))
    password = CONNECTOR.validate_config(config(auth="password", password="s3cret"))

    assert "password" not in oauth
    assert password["password"] == "s3cret"
    assert not {"auth", "provider", "client_id", "refresh_token"} & set(password)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"auth": "kerberos"}, "auth", AUTH_INVALID),
        ({"provider": None}, "provider", FIELD_REQUIRED.format(field="provider")),
        ({"provider": "yahoo"}, "provider", PROVIDER_INVALID),
        ({"provider": "custom"}, "token_url", FIELD_REQUIRED.format(field="token_url")),
        ({"token_url": "http://login.example.com/token"}, "token_url", TOKEN_URL_INVALID),
        ({"token_url": "ftp://login.example.com/token"}, "token_url", TOKEN_URL_INVALID),
        ({"token_url": "https:///token"}, "token_url", TOKEN_URL_INVALID),
        ({"client_id": " "}, "client_id", FIELD_REQUIRED.format(field="client_id")),
        ({"refresh_token": None}, "refresh_token", FIELD_REQUIRED.format(field="refresh_token")),
        ({"refresh_token": 42}, "refresh_token", FIELD_NOT_TEXT.format(field="refresh_token")),
        ({"sasl": "plain"}, "sasl", SASL_INVALID),
        ({"auth": "password"}, "password", FIELD_REQUIRED.format(field="password")),
    ],
)
def test_bad_oauth_settings_are_refused_naming_the_field(overrides, field, message):
    error = config_error(config(**overrides))

    assert (error.field, error.message) == (field, message)


def test_a_loopback_token_endpoint_may_be_plain_http():
    cleaned = CONNECTOR.validate_config(
        config(provider="custom", token_url="http://127.0.0.1:8080/token")
    )

    assert (cleaned["token_url"], cleaned["scope"]) == ("http://127.0.0.1:8080/token", "")


# --- the channel form ---------------------------------------------------------------------


def form_data(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Office 365 mailbox",
        "host": "outlook.office365.com",
        "security": "tls",
        "port": "",
        "username": "support@example.com",
        "auth": "oauth2",
        "password": "",
        "provider": "microsoft",
        "token_url": "",
        "client_id": "11111111-2222-3333-4444-555555555555",
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
        "scope": "",
        "sasl": "xoauth2",
        "folder": "INBOX",
        "move_to": "",
        "address": "",
        "poll_interval": "60",
    }
    return {**data, **overrides}


def create_url(team) -> str:
    return reverse("feedback:channel_create", kwargs={"slug": team.slug}) + "?kind=imap"


@pytest.mark.django_db
def test_an_admin_sets_up_an_oauth_mailbox_through_the_form(client, world):
    client.force_login(world.admin_a)

    response = client.post(create_url(world.team_a), form_data())

    assert response.status_code == 302
    channel = Channel.objects.get(team=world.team_a)
    stored = channel.read_config()
    assert (stored["auth"], stored["refresh_token"], stored["client_secret"]) == (
        "oauth2",
        REFRESH_TOKEN,
        CLIENT_SECRET,
    )
    page = client.get(response["Location"]).content.decode()
    assert REFRESH_TOKEN not in page and CLIENT_SECRET not in page
    assert "11111111-2222-3333-4444-555555555555" in page

    # Saved again with the secrets left empty: the stored ones are kept.
    client.post(response["Location"], form_data(client_secret="", refresh_token=""))
    channel.refresh_from_db()
    assert channel.read_config()["refresh_token"] == REFRESH_TOKEN


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"refresh_token": ""}, "refresh_token", FIELD_REQUIRED.format(field="refresh_token")),
        ({"provider": ""}, "provider", FIELD_REQUIRED.format(field="provider")),
        ({"provider": "custom"}, "token_url", FIELD_REQUIRED.format(field="token_url")),
        ({"auth": "password"}, "password", FIELD_REQUIRED.format(field="password")),
    ],
)
def test_the_form_shows_what_is_missing_on_its_field(client, world, overrides, field, message):
    client.force_login(world.admin_a)

    response = client.post(create_url(world.team_a), form_data(**overrides))

    assert response.status_code in (200, 400)
    form = response.context["form"]
    assert form.errors[field] == [message]
    assert not Channel.objects.exists()
    assert CLIENT_SECRET not in response.content.decode()


# --- the channels API ---------------------------------------------------------------------


def api_create(user, team, channel_config: dict):
    client = APIClient()
    client.force_authenticate(user)
    body = {"team": team.pk, "kind": "imap", "name": "Gmail", "config": channel_config}
    return client.post(reverse("api:feedback-channel-list"), body, format="json")


@pytest.mark.django_db
def test_the_api_takes_an_oauth_config_and_never_returns_its_secrets(world):
    response = api_create(world.admin_a, world.team_a, config(provider="google"))

    assert response.status_code == 201
    body = response.json()
    assert body["config"]["auth"] == "oauth2"
    assert body["config"]["token_url"] == PROVIDERS["google"][0]
    assert REFRESH_TOKEN not in str(body) and CLIENT_SECRET not in str(body)
    assert {"client_secret", "refresh_token"} <= set(body["secrets_set"])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"refresh_token": None}, FIELD_REQUIRED.format(field="refresh_token")),
        ({"provider": "custom"}, FIELD_REQUIRED.format(field="token_url")),
        ({"token_url": "http://login.example.com/token"}, TOKEN_URL_INVALID),
        ({"sasl": "cram-md5"}, SASL_INVALID),
    ],
)
def test_the_api_answers_400_for_bad_oauth_settings(world, overrides, message):
    response = api_create(world.admin_a, world.team_a, config(**overrides))

    assert response.status_code == 400
    assert response.json() == {"config": [message]}
    assert not Channel.objects.exists()
