from django.contrib import admin

from portal import services
from portal.models import (
    Account,
    AccountDomain,
    Customer,
    CustomerEmail,
    Membership,
    NorthStarMeasurement,
    NorthStarMetric,
    Team,
    ValueStream,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(ValueStream)
class ValueStreamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "value_stream", "created_at"]
    list_filter = ["value_stream"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "user__email", "team__name"]
    list_select_related = ["user", "team"]
    autocomplete_fields = ["user", "team"]


class AccountDomainInline(admin.TabularInline):
    model = AccountDomain
    extra = 0


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "plan", "segment", "mrr", "owner", "external_id"]
    list_filter = ["segment", "plan"]
    search_fields = ["name", "external_id", "domains__domain"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]
    inlines = [AccountDomainInline]


class CustomerEmailInline(admin.TabularInline):
    model = CustomerEmail
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "account", "tier", "external_id", "updated_at"]
    list_filter = ["tier"]
    search_fields = ["email", "name", "external_id", "other_emails__email", "account__name"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]
    inlines = [CustomerEmailInline]

    def save_model(self, request, obj, form, change):
        # The same normal form as the services store, so that look-ups by address match.
        obj.email = services.normalize_email(obj.email)
        super().save_model(request, obj, form, change)


class NorthStarMeasurementInline(admin.TabularInline):
    model = NorthStarMeasurement
    extra = 0
    fields = ["measured_on", "value", "note", "recorded_by"]
    readonly_fields = ["recorded_by"]


@admin.register(NorthStarMetric)
class NorthStarMetricAdmin(admin.ModelAdmin):
    list_display = ["name", "unit", "updated_at"]
    inlines = [NorthStarMeasurementInline]
