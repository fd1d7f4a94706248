"""The password views of ``django.contrib.auth`` and of the admin, each revoking the person's
API tokens once the new password is saved: a token must not outlive the password that it was
exchanged for."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse

from portal import services


class PasswordChangeView(auth_views.PasswordChangeView):
    """``auth/password_change/``: a signed-in person changes their own password."""

    def form_valid(self, form) -> HttpResponse:
        response = super().form_valid(form)
        services.api_token_revoke(actor=form.user, user=form.user)
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """``auth/reset/<uidb64>/<token>/``: the person proved the reset link is theirs, so they
    act for themselves even when nobody is signed in."""

    def form_valid(self, form) -> HttpResponse:
        response = super().form_valid(form)
        services.api_token_revoke(actor=form.user, user=form.user)
        return response


def password_saved(request: HttpRequest, response: HttpResponse) -> bool:
    """Whether one of the admin's password views saved a new password: they redirect only
    then, and show a refused form again with 200."""
    return request.method == "POST" and response.status_code == 302


def admin_password_change(request: HttpRequest) -> HttpResponse:
    """The admin's own ``password_change/``, mounted in its place by ``portal/urls.py``."""
    # Wrapped as the admin wraps its own views: staff only, CSRF-protected, never cached.
    response = admin.site.admin_view(admin.site.password_change)(request)
    if password_saved(request, response):
        services.api_token_revoke(actor=request.user, user=request.user)
    return response
