"""The Django admin for the organisation. Every write here calls ``portal.services``, so the
services' checks (roles, the last admin of a team, unique names), their normalisation and their
events and audit entries hold in the admin as they do on the pages and in the API. Deleting a
team, value stream, account or customer goes through ``portal.services.deletion`` (the admin's
own confirmation lists what goes with it, and refuses what its PROTECT relations refuse). What
no service writes (deleting the North Star; editing measurements) the admin does not offer
either."""

import re
from collections.abc import Callable
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from portal import services
from portal.forms import identities_parse
from portal.models import (
    Account,
    AuditEntry,
    Customer,
    Membership,
    NorthStarMeasurement,
    NorthStarMetric,
    Notification,
    Team,
    ValueStream,
)
from portal.validation import validation_messages
from portal.views.auth import password_saved


def _adopt(obj: models.Model, saved: models.Model) -> None:
    """Copy what a service saved into the admin's own instance, which the admin goes on to
    log and redirect to."""
    for field in obj._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False
    obj._state.db = saved._state.db


def _stored(obj: models.Model) -> models.Model:
    """The row as it is in the database. The admin's form has already written the new values
    into its instance; a service handed that instance could not tell what changed (for the
    audit log and for its own checks), so it gets the stored row and the new values."""
    return type(obj)._default_manager.get(pk=obj.pk)


def _split_list(text: str) -> list[str]:
    """Addresses or domains typed one per line (commas and spaces separate them too)."""
    return [part for part in re.split(r"[\s,;]+", text or "") if part]


class ServiceWritesAdmin(admin.ModelAdmin):
    """An admin whose ``save_model`` and ``delete_*`` call services. A service's refusal
    (``ValidationError``) comes back as an error message on the page, and the whole request is
    rolled back, including the admin's log entries for a bulk delete that failed half-way."""

    def _refusals_as_messages(
        self, request: HttpRequest, view: Callable[[], HttpResponse], back_to: str
    ) -> HttpResponse:
        try:
            with transaction.atomic():
                return view()
        except ValidationError as error:
            for message in validation_messages(error):
                self.message_user(request, message, messages.ERROR)
            return HttpResponseRedirect(back_to)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        view = partial(super().changeform_view, request, object_id, form_url, extra_context)
        if request.method != "POST":
            return view()
        return self._refusals_as_messages(request, view, request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        view = partial(super().delete_view, request, object_id, extra_context)
        if request.method != "POST":
            return view()
        info = (self.opts.app_label, self.opts.model_name)
        back_to = reverse(f"admin:{info[0]}_{info[1]}_change", args=[object_id])
        return self._refusals_as_messages(request, view, back_to)

    def changelist_view(self, request, extra_context=None):
        # Bulk actions (the delete action among them) run inside the changelist's POST.
        view = partial(super().changelist_view, request, extra_context)
        if request.method != "POST":
            return view()
        return self._refusals_as_messages(request, view, request.get_full_path())


class NoDeleteMixin:
    """For models that no service deletes: deleting them would skip the services' events and
    cascade into data the admin does not show."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# Teams ---------------------------------------------------------------------------------------


class MembershipInline(admin.TabularInline):
    """Shown on the team; each membership is changed on its own page, through the services."""

    model = Membership
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ValueStream)
class ValueStreamAdmin(ServiceWritesAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    fields = ["name", "slug", "description"]

    def get_readonly_fields(self, request, obj=None):
        # The services set the short name once, when the value stream is created.
        return ["slug"] if obj else []

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj else {"slug": ["name"]}

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            saved = services.value_stream_update(
                actor=request.user,
                value_stream=_stored(obj),
                name=data["name"],
                description=data["description"],
            )
        else:
            saved = services.value_stream_create(
                actor=request.user,
                name=data["name"],
                slug=data["slug"],
                description=data["description"],
            )
        _adopt(obj, saved)

    def delete_model(self, request, obj):
        services.value_stream_delete(actor=request.user, value_stream=obj)

    def delete_queryset(self, request, queryset):
        for stream in queryset:
            services.value_stream_delete(actor=request.user, value_stream=stream)


@admin.register(Team)
class TeamAdmin(ServiceWritesAdmin):
    list_display = ["name", "slug", "value_stream", "created_at"]
    list_filter = ["value_stream"]
    search_fields = ["name", "slug"]
    fields = ["name", "slug", "mission", "value_stream"]
    inlines = [MembershipInline]

    def get_readonly_fields(self, request, obj=None):
        # The short name is in every URL of the team: the services set it once.
        return ["slug"] if obj else []

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj else {"slug": ["name"]}

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            saved = services.team_update(
                actor=request.user,
                team=_stored(obj),
                name=data["name"],
                mission=data["mission"],
                value_stream=data["value_stream"],
            )
        else:
            saved = services.team_create(
                actor=request.user,
                name=data["name"],
                slug=data["slug"],
                mission=data["mission"],
                value_stream=data["value_stream"],
            )
        _adopt(obj, saved)

    def delete_model(self, request, obj):
        services.team_delete(actor=request.user, team=obj)

    def delete_queryset(self, request, queryset):
        for team in queryset:
            services.team_delete(actor=request.user, team=team)


@admin.register(Membership)
class MembershipAdmin(ServiceWritesAdmin):
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "user__email", "team__name"]
    list_select_related = ["user", "team"]
    autocomplete_fields = ["user", "team"]
    fields = ["team", "user", "role"]

    def get_readonly_fields(self, request, obj=None):
        # A membership changes only its role; moving someone is a removal and an addition.
        return ["team", "user"] if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            saved = services.membership_update(
                actor=request.user, membership=_stored(obj), role=obj.role
            )
        else:
            saved = services.membership_create(
                actor=request.user, team=obj.team, user=obj.user, role=obj.role
            )
        _adopt(obj, saved)

    def delete_model(self, request, obj):
        services.membership_delete(actor=request.user, membership=obj)

    def delete_queryset(self, request, queryset):
        # One service call each, so the last-admin guard sees the memberships already removed:
        # removing every admin of a team at once is refused, and nothing is removed.
        for membership in queryset.select_related("team", "user"):
            services.membership_delete(actor=request.user, membership=membership)


# The directory -------------------------------------------------------------------------------

ACCOUNT_FIELDS = ["name", "plan", "segment", "mrr", "owner", "external_id"]
CUSTOMER_FIELDS = ["email", "name", "account", "tier", "attributes", "external_id"]


class AccountAdminForm(forms.ModelForm):
    domains = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The account's e-mail domains, one per line, e.g. example.com.",
    )

    class Meta:
        model = Account
        fields = ACCOUNT_FIELDS

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            domains = self.instance.domains.values_list("domain", flat=True)
            self.fields["domains"].initial = "\n".join(domains)


@admin.register(Account)
class AccountAdmin(ServiceWritesAdmin):
    form = AccountAdminForm
    list_display = ["name", "plan", "segment", "mrr", "owner", "external_id"]
    list_filter = ["segment", "plan"]
    search_fields = ["name", "external_id", "domains__domain"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]
    fields = [*ACCOUNT_FIELDS, "domains"]

    def save_model(self, request, obj, form, change):
        values = {name: form.cleaned_data[name] for name in ACCOUNT_FIELDS}
        domains = _split_list(form.cleaned_data["domains"])
        if change:
            saved = services.account_update(
                actor=request.user, account=_stored(obj), domains=domains, **values
            )
        else:
            saved = services.account_create(actor=request.user, domains=domains, **values)
        _adopt(obj, saved)

    def delete_model(self, request, obj):
        services.account_delete(actor=request.user, account=obj)

    def delete_queryset(self, request, queryset):
        for account in queryset:
            services.account_delete(actor=request.user, account=account)


class CustomerAdminForm(forms.ModelForm):
    other_emails = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Further addresses of the customer, one per line.",
    )
    identities = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Handles on other channels, one per line as kind: handle, for example "
        "mastodon: alice@mastodon.social.",
    )

    class Meta:
        model = Customer
        fields = CUSTOMER_FIELDS

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            emails = self.instance.other_emails.values_list("email", flat=True)
            self.fields["other_emails"].initial = "\n".join(emails)
            held = self.instance.identities.values_list("kind", "handle")
            self.fields["identities"].initial = "\n".join(f"{k}: {h}" for k, h in held)

    def clean_identities(self) -> list[tuple[str, str]]:
        return identities_parse(self.cleaned_data["identities"])


@admin.register(Customer)
class CustomerAdmin(ServiceWritesAdmin):
    form = CustomerAdminForm
    list_display = ["email", "name", "account", "tier", "external_id", "merged_into", "updated_at"]
    list_filter = ["tier"]
    search_fields = [
        "email",
        "name",
        "external_id",
        "other_emails__email",
        "identities__handle",
        "account__name",
    ]
    list_select_related = ["account", "merged_into"]
    autocomplete_fields = ["account"]
    fields = [*CUSTOMER_FIELDS, "other_emails", "identities", "merged_into"]
    # Merging is a directory action (the customer page, the API), which moves what belongs.
    readonly_fields = ["merged_into"]

    def save_model(self, request, obj, form, change):
        values = {name: form.cleaned_data[name] for name in CUSTOMER_FIELDS}
        other_emails = _split_list(form.cleaned_data["other_emails"])
        identities = form.cleaned_data["identities"]
        if change:
            saved = services.customer_update(
                actor=request.user,
                customer=_stored(obj),
                other_emails=other_emails,
                identities=identities,
                **values,
            )
        else:
            saved = services.customer_create(
                actor=request.user, other_emails=other_emails, identities=identities, **values
            )
        _adopt(obj, saved)

    def delete_model(self, request, obj):
        services.customer_delete(actor=request.user, customer=obj)

    def delete_queryset(self, request, queryset):
        for customer in queryset:
            services.customer_delete(actor=request.user, customer=customer)


# The North Star ------------------------------------------------------------------------------


class NorthStarMeasurementInline(admin.TabularInline):
    """Shown only: measurements are recorded on the North Star page, in the API or by a CSV
    import, where a second value for a day replaces the first."""

    model = NorthStarMeasurement
    extra = 0
    fields = ["measured_on", "value", "note", "recorded_by"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(NorthStarMetric)
class NorthStarMetricAdmin(NoDeleteMixin, ServiceWritesAdmin):
    list_display = ["name", "unit", "updated_at"]
    fields = ["name", "definition", "unit"]
    inlines = [NorthStarMeasurementInline]

    def has_add_permission(self, request) -> bool:
        # There is one North Star; once it exists it is changed, not added again.
        return not NorthStarMetric.objects.exists() and super().has_add_permission(request)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = services.north_star_set(
            actor=request.user, name=data["name"], definition=data["definition"], unit=data["unit"]
        )
        _adopt(obj, saved)


# Read-only records -----------------------------------------------------------------------


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that only services write: staff look them up, nobody edits or deletes them
    here (an audit log that its readers could change would prove nothing)."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_label", "action", "target_label", "team"]
    list_filter = ["action", "target_type", "team", "created_at"]
    search_fields = ["actor_label", "action", "target_label"]
    date_hierarchy = "created_at"
    list_select_related = ["team"]
    fields = [
        "created_at",
        "actor",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "target_label",
        "team",
        "changes",
    ]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "kind", "subject", "read_at", "emailed_at"]
    list_filter = ["kind", "created_at"]
    search_fields = ["user__username", "user__email", "subject", "kind"]
    date_hierarchy = "created_at"
    list_select_related = ["user"]
    fields = ["created_at", "user", "kind", "subject", "url", "read_at", "emailed_at"]


# People --------------------------------------------------------------------------------------

admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class PortalUserAdmin(UserAdmin):
    """Django's user admin, whose "change password" page also revokes the user's API tokens: a
    superuser sets a new password when the old one may be known to someone else."""

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        response = super().user_change_password(request, id, form_url)
        if password_saved(request, response):
            services.api_token_revoke(actor=request.user, user=self.get_object(request, id))
        return response
