"""API tokens (portal/services/tokens.py and the views that call it): a password change or
reset revokes the person's token, the caller revokes their own with DELETE /api/v1/auth/token/,
and a superuser revokes anyone's with ?user=<id>."""

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from portal import services
from portal.actors import SYSTEM
from portal.models import AuditEntry
from portal.validation import ID_INVALID, MAX_ID
from tests.factories import TEST_PASSWORD

NEW_PASSWORD = "another-horse-battery-9"
TOKEN_URL = "/api/v1/auth/token/"


def token_client(token: Token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def token_works(token: Token) -> bool:
    return token_client(token).get(reverse("api:team-list")).status_code == 200


# The service ---------------------------------------------------------------------------------


def test_revoking_deletes_the_token_and_audits_it(world):
    Token.objects.create(user=world.agent_a)
    assert services.api_token_revoke(actor=world.agent_a, user=world.agent_a) is True
    assert not Token.objects.filter(user=world.agent_a).exists()
    entry = AuditEntry.objects.get(action="api_token.revoked")
    assert (entry.actor, entry.target_id) == (world.agent_a, world.agent_a.pk)


def test_revoking_when_there_is_no_token_is_no_error_and_audits_nothing(world):
    assert services.api_token_revoke(actor=world.agent_a, user=world.agent_a) is False
    assert not AuditEntry.objects.filter(action="api_token.revoked").exists()


@pytest.mark.parametrize("actor", ["superuser", "system"])
def test_a_superuser_and_the_portal_revoke_anyones_token(world, actor):
    Token.objects.create(user=world.agent_a)
    who = SYSTEM if actor == "system" else world.superuser
    assert services.api_token_revoke(actor=who, user=world.agent_a)


def test_a_person_may_not_revoke_another_persons_token(world):
    Token.objects.create(user=world.agent_a)
    with pytest.raises(PermissionDenied):
        services.api_token_revoke(actor=world.admin_a, user=world.agent_a)
    assert Token.objects.filter(user=world.agent_a).exists()


# Password changes and resets -----------------------------------------------------------------


def test_changing_ones_password_revokes_ones_token(world, client):
    token = Token.objects.create(user=world.agent_a)
    client.force_login(world.agent_a)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert not token_works(token)
    # Django keeps the session of the person who changed their password.
    assert client.get(reverse("portal:home")).status_code == 200


def test_a_refused_password_change_keeps_the_token(world, client):
    token = Token.objects.create(user=world.agent_a)
    client.force_login(world.agent_a)
    response = client.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert token_works(token)


def test_resetting_a_password_revokes_the_token(world, client):
    user = world.agent_a
    token = Token.objects.create(user=user)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    link = reverse("password_reset_confirm", args=[uid, default_token_generator.make_token(user)])
    set_password = client.get(link)
    assert set_password.status_code == 302
    response = client.post(
        set_password["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert not token_works(token)
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_the_admins_own_password_change_revokes_the_token(world, client):
    token = Token.objects.create(user=world.superuser)
    client.force_login(world.superuser)
    response = client.post(
        reverse("admin:password_change"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert not token_works(token)


def test_the_admins_password_change_needs_staff(world, client):
    client.force_login(world.agent_a)
    response = client.get(reverse("admin:password_change"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_a_superuser_setting_someones_password_revokes_their_token(world, client):
    token = Token.objects.create(user=world.agent_a)
    client.force_login(world.superuser)
    response = client.post(
        reverse("admin:auth_user_password_change", args=[world.agent_a.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302
    assert not token_works(token)


# DELETE /api/v1/auth/token/ -------------------------------------------------------------------


def test_delete_revokes_the_callers_token(world):
    token = Token.objects.create(user=world.agent_a)
    response = token_client(token).delete(TOKEN_URL)
    assert response.status_code == 204
    assert not token_works(token)


def test_delete_with_a_session_revokes_the_session_users_token(world):
    token = Token.objects.create(user=world.agent_a)
    client = APIClient()
    client.force_authenticate(world.agent_a)
    assert client.delete(TOKEN_URL).status_code == 204
    assert not token_works(token)


def test_delete_twice_answers_204_both_times(world):
    client = APIClient()
    client.force_authenticate(world.agent_a)
    assert client.delete(TOKEN_URL).status_code == 204
    assert client.delete(TOKEN_URL).status_code == 204


def test_delete_without_credentials_answers_401(world):
    assert APIClient().delete(TOKEN_URL).status_code == 401


def test_a_superuser_revokes_anyones_token(world):
    token = Token.objects.create(user=world.agent_a)
    client = APIClient()
    client.force_authenticate(world.superuser)
    assert client.delete(f"{TOKEN_URL}?user={world.agent_a.pk}").status_code == 204
    assert not token_works(token)


def test_a_person_revoking_another_persons_token_gets_403(world):
    token = Token.objects.create(user=world.agent_a)
    client = APIClient()
    client.force_authenticate(world.admin_a)
    response = client.delete(f"{TOKEN_URL}?user={world.agent_a.pk}")
    assert response.status_code == 403
    assert response.json() == {"detail": services.NOT_YOUR_TOKEN}
    assert token_works(token)


def test_a_person_may_name_themselves(world):
    client = APIClient()
    client.force_authenticate(world.agent_a)
    assert client.delete(f"{TOKEN_URL}?user={world.agent_a.pk}").status_code == 204


@pytest.mark.parametrize("user", ["abc", "²", str(10**30), str(MAX_ID + 1), "0"])
def test_a_user_that_is_no_id_answers_400(world, user):
    client = APIClient()
    client.force_authenticate(world.superuser)
    response = client.delete(TOKEN_URL, QUERY_STRING=f"user={user}")
    assert response.status_code == 400
    assert response.json() == {"user": [ID_INVALID]}


def test_an_unknown_user_answers_404(world):
    client = APIClient()
    client.force_authenticate(world.superuser)
    assert client.delete(f"{TOKEN_URL}?user={MAX_ID}").status_code == 404


def test_asking_for_a_token_ignores_a_stale_authorization_header(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token revoked-long-ago")
    response = client.post(
        TOKEN_URL, {"username": "agent_a", "password": TEST_PASSWORD}, format="json"
    )
    assert response.status_code == 200


def test_the_schema_documents_revoking(world):
    client = APIClient()
    client.force_authenticate(world.superuser)
    schema = client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/auth/token/"]["delete"]
    assert {"204", "400", "403", "404"} <= set(operation["responses"])
    assert [parameter["name"] for parameter in operation["parameters"]] == ["user"]
