"""Query-string filters for the portal's API. Repeated parameters select several values
(``?tier=vip&tier=priority``); a value that is not allowed answers 400 with the reason."""

from django import forms
from django_filters import rest_framework as filters

from portal.models import (
    Account,
    Customer,
    Membership,
    NorthStarMeasurement,
    Role,
    Segment,
    Tier,
)


class IdFilter(filters.NumberFilter):
    """An integer id; ``1.5`` or ``abc`` answer 400 instead of matching nothing."""

    field_class = forms.IntegerField


class MembershipFilter(filters.FilterSet):
    team = IdFilter(field_name="team", help_text="Team id.")
    user = IdFilter(field_name="user", help_text="User id.")
    role = filters.MultipleChoiceFilter(choices=Role.choices, help_text="Repeat for several.")

    class Meta:
        model = Membership
        fields = ["team", "user", "role"]


class CustomerFilter(filters.FilterSet):
    tier = filters.MultipleChoiceFilter(choices=Tier.choices, help_text="Repeat for several.")
    account = IdFilter(field_name="account", help_text="Account id.")
    email = filters.CharFilter(field_name="email", lookup_expr="iexact", max_length=254)
    ordering = filters.OrderingFilter(fields=["name", "email", "created_at", "updated_at"])

    class Meta:
        model = Customer
        fields = ["tier", "account", "email"]


class AccountFilter(filters.FilterSet):
    segment = filters.MultipleChoiceFilter(choices=Segment.choices, help_text="Repeat for several.")
    plan = filters.CharFilter(field_name="plan", lookup_expr="iexact", max_length=60)
    ordering = filters.OrderingFilter(fields=["name", "mrr", "created_at"])

    class Meta:
        model = Account
        fields = ["segment", "plan"]


class NorthStarMeasurementFilter(filters.FilterSet):
    """``from`` and ``to`` are inclusive dates (YYYY-MM-DD). ``from`` is a Python keyword, so
    both are added to the filters after the class body."""

    class Meta:
        model = NorthStarMeasurement
        fields: list[str] = []


NorthStarMeasurementFilter.base_filters["from"] = filters.DateFilter(
    field_name="measured_on", lookup_expr="gte", help_text="First day, inclusive (YYYY-MM-DD)."
)
NorthStarMeasurementFilter.base_filters["to"] = filters.DateFilter(
    field_name="measured_on", lookup_expr="lte", help_text="Last day, inclusive (YYYY-MM-DD)."
)
