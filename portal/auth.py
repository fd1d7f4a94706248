"""Signing in: Django's model backend, reading a signed-in user's portal profile in the same
query as the user (every page needs it for the reader's time zone and team)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class PortalBackend(ModelBackend):
    def get_user(self, user_id):
        users = get_user_model()._default_manager.select_related("portal_profile")
        user = users.filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
