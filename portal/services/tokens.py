"""Writes for API tokens (``Authorization: Token <key>``): revoking them.

A token is as good as the password it was exchanged for, so changing or resetting a password
revokes the person's tokens; the views that change passwords call :func:`api_token_revoke`
after the new password is saved (no signal: the call is visible where the password changes).
"""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from rest_framework.authtoken.models import Token

from portal.actors import is_system
from portal.services.audit import audit

NOT_YOUR_TOKEN = "Only an administrator of the whole portal may revoke another person's token."


@transaction.atomic
def api_token_revoke(*, actor: AbstractBaseUser, user: AbstractBaseUser) -> bool:
    """Delete ``user``'s API token, if they have one; returns whether one was revoked. A person
    revokes their own, a superuser (or the portal itself) anyone's. Revoking what is not there
    is no error, so that a client may repeat the call."""
    own = actor.pk is not None and actor.pk == user.pk
    if not (own or is_system(actor) or (actor.is_active and actor.is_superuser)):
        raise PermissionDenied(NOT_YOUR_TOKEN)
    deleted, _per_model = Token.objects.filter(user=user).delete()
    if deleted:
        audit(actor=actor, action="api_token.revoked", target=user)
    return bool(deleted)
