"""Serializers shape the data; the services validate and write it. Where a service has a
message for a field, the serializer passes the same message through."""

import decimal
import functools
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import Model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal import access, selectors, services
from portal.fields import ExactDecimalField
from portal.models import (
    Account,
    Customer,
    IdentityKind,
    Membership,
    NorthStarMeasurement,
    NorthStarMetric,
    Role,
    Segment,
    Team,
    Tier,
    ValueStream,
)
from portal.validation import ID_INVALID, is_id, parse_decimal, parse_id

NO_SUCH_USER = "No active user has the id or username {value!r}."
MAX_DOMAINS = 100


# Fields --------------------------------------------------------------------------------------


class AsciiIntegerField(serializers.IntegerField):
    """An integer written in ASCII digits (a JSON number, or text): Python's ``int()`` also
    reads "٣" (Arabic-Indic three) as 3, which the portal's ids and numbers refuse everywhere else
    (``portal.validation.parse_id``)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, str) and not data.isascii():
            self.fail("invalid")
        return super().to_internal_value(data)


class SelectorRelatedField(serializers.PrimaryKeyRelatedField):
    """A related id looked up through a selector, so that an object the requesting user may not
    see is answered like one that does not exist. ``queryset`` only names the model."""

    def __init__(self, *, selector, **kwargs: Any) -> None:
        self.selector = selector
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.selector(user=self.context["request"].user)

    def to_internal_value(self, data: Any) -> Any:
        # Checked before the query: SQLite cannot compare with an id beyond 64 bits.
        if not is_id(data):
            raise serializers.ValidationError(ID_INVALID, code="invalid")
        return super().to_internal_value(data)


@extend_schema_field(
    {"oneOf": [{"type": "integer"}, {"type": "string"}], "description": "User id or username."}
)
class UserIdOrUsernameField(serializers.Field):
    """Accepts a user id or a username; answers with the id."""

    default_error_messages = {"does_not_exist": NO_SUCH_USER, "invalid": "Give a user id or name."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        users = selectors.user_lookup_list(user=self.context["request"].user)
        text = str(data).strip()
        if not text or len(text) > 150 or "\x00" in text:
            # No username is that long or holds a NUL (which PostgreSQL cannot even compare).
            self.fail("does_not_exist", value=text[:150].replace("\x00", ""))
        if isinstance(data, int) or (text.isascii() and text.isdigit()):
            # Digits are an id (of at most 64 bits); anything else, "²" included, a username.
            user = users.filter(pk=parse_id(data)).first() if is_id(data) else None
        else:
            user = users.filter(username=text).first()
        if user is None:
            self.fail("does_not_exist", value=text)
        return user

    def to_representation(self, value) -> int:
        return value.pk


class NumberField(serializers.DecimalField):
    """A number as JSON (``1250.5``) or text (``"1250.50"``), read by the portal's one rule
    (``validation.parse_decimal``): a comma is refused as ambiguous, not read as a separator,
    and no more than 15 digits are taken, all of which both databases store exactly. Answers
    with a JSON number."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("coerce_to_string", False)
        super().__init__(**kwargs)

    @classmethod
    def for_model_field(cls, model: type[Model], name: str, **kwargs: Any) -> "NumberField":
        """A field with the model field's digit limits, so the two cannot drift apart."""
        field = model._meta.get_field(name)
        return cls(max_digits=field.max_digits, decimal_places=field.decimal_places, **kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        try:
            number = parse_decimal(data)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from error
        return super().to_internal_value(number)

    def quantize(self, value: Decimal) -> Decimal:
        # DRF rounds within max_digits, which fails on a stored value beyond them (a row an
        # earlier version let through on SQLite: see ExactDecimalField). Input has been checked
        # against max_digits before it is rounded, so the wider context changes only that.
        if self.decimal_places is None:
            return value
        context = decimal.Context(prec=ExactDecimalField.READ_PRECISION + self.decimal_places)
        return value.quantize(Decimal(1).scaleb(-self.decimal_places), context=context)


class RelatedStringListField(serializers.ListField):
    """A list of strings stored as related rows (``attribute`` of each row)."""

    def __init__(self, *, attribute: str, **kwargs: Any) -> None:
        self.attribute = attribute
        super().__init__(**kwargs)

    def to_representation(self, data) -> list[str]:
        if hasattr(data, "all"):
            return [getattr(row, self.attribute) for row in data.all()]
        return super().to_representation(data)


# Teams and memberships -----------------------------------------------------------------------


class ValueStreamSerializer(serializers.ModelSerializer):
    team_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = ValueStream
        fields = ["id", "name", "slug", "description", "team_count"]
        # The services check names and slugs, with their own messages.
        extra_kwargs = {
            "name": {"validators": []},
            "slug": {"validators": [], "required": False, "allow_blank": True},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            self.fields["slug"].read_only = True


class TeamSerializer(serializers.ModelSerializer):
    value_stream = SelectorRelatedField(
        selector=selectors.value_stream_list,
        queryset=ValueStream.objects.all(),
        allow_null=True,
        required=False,
    )
    member_count = serializers.IntegerField(read_only=True, default=0)
    my_role = serializers.SerializerMethodField()

    class Meta:
        model = Team
        fields = ["id", "name", "slug", "mission", "value_stream", "member_count", "my_role"]
        extra_kwargs = {
            "name": {"validators": []},
            "slug": {"validators": [], "required": False, "allow_blank": True},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            self.fields["slug"].read_only = True

    @extend_schema_field(
        {
            "type": "string",
            "nullable": True,
            "description": "The requesting user's role: viewer, agent, lead or admin.",
        }
    )
    def get_my_role(self, team: Team) -> str | None:
        role = access.role_in(self.context["request"].user, team)
        return None if role is None else role.value


class MembershipSerializer(serializers.ModelSerializer):
    team = SelectorRelatedField(selector=selectors.team_list, queryset=Team.objects.all())
    user = UserIdOrUsernameField()
    username = serializers.CharField(source="user.username", read_only=True)
    role = serializers.ChoiceField(
        choices=Role.choices, error_messages={"invalid_choice": services.INVALID_ROLE}
    )

    class Meta:
        model = Membership
        fields = ["id", "team", "user", "username", "role", "created_at"]
        read_only_fields = ["created_at"]
        validators: list = []


class MembershipRoleSerializer(MembershipSerializer):
    """A membership changes only its role."""

    class Meta(MembershipSerializer.Meta):
        read_only_fields = ["team", "user", "created_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].read_only = True
        self.fields["user"].read_only = True


# The directory -------------------------------------------------------------------------------


class AccountSerializer(serializers.ModelSerializer):
    external_id = serializers.CharField(max_length=100, allow_blank=True, required=False)
    domains = RelatedStringListField(
        attribute="domain",
        child=serializers.CharField(max_length=253),
        max_length=MAX_DOMAINS,
        required=False,
    )
    segment = serializers.ChoiceField(
        choices=Segment.choices,
        allow_blank=True,
        required=False,
        error_messages={"invalid_choice": services.INVALID_SEGMENT},
    )
    mrr = NumberField.for_model_field(
        Account,
        "mrr",
        min_value=0,
        required=False,
        error_messages={"min_value": services.MRR_NEGATIVE},
    )
    owner = SelectorRelatedField(
        selector=selectors.user_lookup_list,
        queryset=get_user_model().objects.all(),
        allow_null=True,
        required=False,
    )
    customer_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Account
        fields = [
            "id",
            "external_id",
            "name",
            "domains",
            "plan",
            "segment",
            "mrr",
            "owner",
            "customer_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {"name": {"validators": []}}
        validators: list = []

    def validate_domains(self, domains: list[str]) -> list[str]:
        return [services.normalize_domain(domain) for domain in domains if domain.strip()]


class CustomerIdentitySerializer(serializers.Serializer):
    """A handle on another channel, qualified by its instance."""

    kind = serializers.ChoiceField(
        choices=IdentityKind.choices,
        error_messages={"invalid_choice": services.IDENTITY_KIND_INVALID},
    )
    handle = serializers.CharField(
        max_length=services.MAX_HANDLE_LENGTH,
        help_text="alice@mastodon.social, forum.example.com/alice or acme.zendesk.com/12345.",
        trim_whitespace=False,
        allow_blank=True,
    )

    def validate(self, data: dict[str, str]) -> dict[str, str]:
        try:
            kind, handle = services.identity_clean(data["kind"], data["handle"])
        except DjangoValidationError as error:
            raise serializers.ValidationError({"handle": error.messages}) from error
        return {"kind": kind, "handle": handle}


class CustomerSerializer(serializers.ModelSerializer):
    external_id = serializers.CharField(max_length=100, allow_blank=True, required=False)
    email = serializers.CharField(
        max_length=254,
        allow_blank=True,
        required=False,
        help_text="Empty for a customer known only by a handle on another channel; unique "
        "when present.",
    )
    identities = CustomerIdentitySerializer(
        many=True,
        required=False,
        max_length=services.MAX_IDENTITIES,
        error_messages={"max_length": services.TOO_MANY_IDENTITIES},
        help_text="Handles on other channels; on a write, replaces the customer's handles.",
    )
    other_emails = RelatedStringListField(
        attribute="email",
        child=serializers.CharField(max_length=254),
        max_length=services.MAX_OTHER_EMAILS,
        required=False,
        error_messages={"max_length": services.TOO_MANY_OTHER_EMAILS},
    )
    account = SelectorRelatedField(
        selector=selectors.account_list,
        queryset=Account.objects.all(),
        allow_null=True,
        required=False,
    )
    account_name = serializers.CharField(source="account.name", read_only=True, allow_null=True)
    tier = serializers.ChoiceField(
        choices=Tier.choices,
        required=False,
        error_messages={"invalid_choice": services.INVALID_TIER},
    )
    attributes = serializers.JSONField(required=False, help_text="A JSON object.")

    class Meta:
        model = Customer
        fields = [
            "id",
            "external_id",
            "name",
            "email",
            "other_emails",
            "identities",
            "account",
            "account_name",
            "tier",
            "attributes",
            "erased_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["erased_at", "created_at", "updated_at"]
        validators: list = []

    def validate_email(self, email: str) -> str:
        return services.normalize_email(email) if email.strip() else ""

    def validate_identities(self, identities: list[dict[str, str]]) -> list[tuple[str, str]]:
        return [(identity["kind"], identity["handle"]) for identity in identities]

    def validate_other_emails(self, emails: list[str]) -> list[str]:
        return [services.normalize_email(email) for email in emails if email.strip()]

    def validate_attributes(self, attributes: Any) -> dict[str, Any]:
        return services.validate_attributes(attributes)


class CustomerMergeSerializer(serializers.Serializer):
    into = SelectorRelatedField(
        # Merged customers included, so that the service names the refusal.
        selector=functools.partial(selectors.customer_list, include_merged=True),
        queryset=Customer.objects.all(),
        help_text="The id of the customer that the one in the URL is merged into.",
    )


# North Star ----------------------------------------------------------------------------------


class NorthStarLatestSerializer(serializers.ModelSerializer):
    value = NumberField.for_model_field(NorthStarMeasurement, "value")

    class Meta:
        model = NorthStarMeasurement
        fields = ["measured_on", "value"]


class TextField(serializers.CharField):
    """Text only: DRF's own field would read the JSON number ``0`` as ``"0"``, which the schema,
    saying ``string``, does not promise."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class NorthStarSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: TextField,
        models.TextField: TextField,
    }
    latest = serializers.SerializerMethodField()

    class Meta:
        model = NorthStarMetric
        fields = ["id", "name", "definition", "unit", "updated_at", "latest"]
        read_only_fields = ["id", "updated_at"]

    @extend_schema_field(NorthStarLatestSerializer(allow_null=True))
    def get_latest(self, metric: NorthStarMetric) -> dict[str, Any] | None:
        latest = selectors.north_star_measurement_list(user=self.context["request"].user).first()
        return None if latest is None else NorthStarLatestSerializer(latest).data


class NorthStarMeasurementSerializer(serializers.ModelSerializer):
    value = NumberField.for_model_field(NorthStarMeasurement, "value")

    class Meta:
        model = NorthStarMeasurement
        fields = ["id", "measured_on", "value", "note", "recorded_by", "created_at"]
        read_only_fields = ["recorded_by", "created_at"]
        validators: list = []


# Authentication, imports and errors ----------------------------------------------------------


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A UTF-8 CSV file.")


class ImportRowErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    message = serializers.CharField()


class ImportReportSerializer(serializers.Serializer):
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    errors = ImportRowErrorSerializer(many=True)


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()
