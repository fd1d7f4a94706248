"""A person's own settings: display time zone and the notification digest."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from portal import selectors, services
from portal.forms import ProfileForm
from portal.views.common import bound_on_post, form_page

PROFILE_SAVED = "Your profile is saved."


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    current = selectors.profile_get(user=request.user)
    return form_page(
        request,
        form=ProfileForm(bound_on_post(request), initial=ProfileForm.initial_for(current)),
        save=lambda data: services.profile_update(actor=request.user, **data),
        success=lambda saved: (PROFILE_SAVED, reverse("portal:profile")),
        template="portal/profile.html",
        fragment_template="portal/partials/profile_form.html",
        context={"section": "settings"},
    )
