"""The API of service levels and priority customers: ``feedback/sla-policies`` (a team's SLA
policy per priority) and ``feedback/inbox-settings/{team}`` (its rules for priority customers).

Every member of the team reads them; its leads create, change and delete. Another team's policy
or settings answer 404, a member below lead who writes 403, bad values 400 with field errors
(the services' messages, through ``portal.api.exceptions``).
"""

from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated

from feedback.models import InboxSettings, ItemPriority, SlaPolicy
from feedback.services import sla_settings
from feedback.services.sla_settings import MAX_HOURS
from portal import selectors as portal_selectors
from portal.api.base import PortalViewSet
from portal.api.filters import IdFilter
from portal.api.permissions import TeamRoleChanges
from portal.api.serializers import NumberField, SelectorRelatedField
from portal.models import Role, Team
from portal.validation import is_id

TEAM_NOT_FOUND = "No such team."
LEAD_WRITES = {
    "create": Role.LEAD,
    "update": Role.LEAD,
    "partial_update": Role.LEAD,
    "destroy": Role.LEAD,
}


def sla_policy_list(*, user: Any) -> QuerySet[SlaPolicy]:
    """The SLA policies of the teams the user belongs to (every team for a superuser)."""
    return SlaPolicy.objects.filter(portal_selectors.team_scope(user)).select_related("team")


class SlaPolicyFilter(filters.FilterSet):
    team = IdFilter(field_name="team", help_text="Team id.")
    priority = filters.ChoiceFilter(choices=ItemPriority.choices)

    class Meta:
        model = SlaPolicy
        fields = ["team", "priority"]


class SlaPolicySerializer(serializers.ModelSerializer):
    """Hours are whole calendar hours from the customer's first message; the resolution no
    sooner than the first response. The service checks them and names the field it refuses."""

    team = SelectorRelatedField(selector=portal_selectors.team_list, queryset=Team.objects.all())
    # Plain input, checked by the service so that the page and the API refuse alike.
    priority = serializers.CharField(max_length=20)
    first_response_hours = serializers.IntegerField(min_value=1, max_value=MAX_HOURS)
    resolution_hours = serializers.IntegerField(min_value=1, max_value=MAX_HOURS)

    class Meta:
        model = SlaPolicy
        fields = ["id", "team", "priority", "first_response_hours", "resolution_hours"]
        # The service refuses a second policy of a priority, on the priority field.
        validators: list = []

    def validate_team(self, team: Team) -> Team:
        if self.instance is not None and team.pk != self.instance.team_id:
            raise serializers.ValidationError("A policy stays in its team.")
        return team


@extend_schema_view(
    list=extend_schema(description="The SLA policies of your teams, one per team and priority."),
    create=extend_schema(
        description="A team's SLA policy for one priority (its leads). Items of that priority "
        "arriving afterwards are due for a first response and a resolution so many calendar "
        "hours after their first message."
    ),
    destroy=extend_schema(
        description="Items of that priority arriving afterwards get no due times."
    ),
)
class SlaPolicyViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    PortalViewSet,
):
    serializer_class = SlaPolicySerializer
    permission_classes = [IsAuthenticated, TeamRoleChanges]
    team_roles = LEAD_WRITES
    filterset_class = SlaPolicyFilter
    ordering_fields = ["priority", "first_response_hours", "resolution_hours"]

    def get_queryset(self):
        return sla_policy_list(user=self.request.user).order_by("team_id", "pk")

    def perform_create(self, serializer) -> None:
        data = serializer.validated_data
        serializer.instance = sla_settings.sla_policy_create(
            actor=self.request.user,
            team=data["team"],
            priority=data["priority"],
            first_response_hours=data["first_response_hours"],
            resolution_hours=data["resolution_hours"],
        )

    def perform_update(self, serializer) -> None:
        data = {
            name: value
            for name, value in serializer.validated_data.items()
            if name in ("priority", "first_response_hours", "resolution_hours")
        }
        serializer.instance = sla_settings.sla_policy_update(
            actor=self.request.user, policy=serializer.instance, **data
        )

    def perform_destroy(self, instance: SlaPolicy) -> None:
        sla_settings.sla_policy_delete(actor=self.request.user, policy=instance)


class InboxSettingsSerializer(serializers.ModelSerializer):
    """A team's rules for priority customers. A VIP customer's items are urgent and a priority
    customer's high in every team; these rules make further customers' items high."""

    team = serializers.IntegerField(source="team_id", read_only=True)
    priority_plans = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=200),
        max_length=sla_settings.MAX_PLANS,
        help_text="Plan names (as on the accounts, compared without case) whose customers' "
        "items are high priority.",
    )
    priority_mrr_threshold = NumberField.for_model_field(
        InboxSettings,
        "priority_mrr_threshold",
        allow_null=True,
        help_text="Customers of accounts with at least this MRR are high priority; null for "
        "no threshold.",
    )

    updated_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When the rules were last saved; null while the team has the defaults.",
    )

    class Meta:
        model = InboxSettings
        fields = ["team", "priority_plans", "priority_mrr_threshold", "updated_at"]


@extend_schema_view(
    retrieve=extend_schema(
        description="A team's rules for priority customers (defaults when none were saved)."
    ),
    update=extend_schema(description="Replace the team's rules (its leads)."),
    partial_update=extend_schema(description="Change what is given of the team's rules."),
)
@extend_schema(
    parameters=[OpenApiParameter("team", int, OpenApiParameter.PATH, description="Team id.")]
)
class InboxSettingsViewSet(mixins.RetrieveModelMixin, mixins.UpdateModelMixin, PortalViewSet):
    serializer_class = InboxSettingsSerializer
    permission_classes = [IsAuthenticated, TeamRoleChanges]
    team_roles = LEAD_WRITES
    lookup_field = "team"
    lookup_url_kwarg = "team"
    filter_backends: list = []
    queryset = InboxSettings.objects.none()

    def get_object(self) -> InboxSettings:
        team_id = self.kwargs["team"]
        if not is_id(team_id):
            raise NotFound(TEAM_NOT_FOUND)
        team = portal_selectors.team_get(user=self.request.user, pk=int(team_id))
        settings = sla_settings.inbox_settings_for(team)
        self.check_object_permissions(self.request, settings)
        return settings

    def perform_update(self, serializer) -> None:
        settings = serializer.instance
        serializer.instance = sla_settings.inbox_settings_update(
            actor=self.request.user, team=settings.team, **serializer.validated_data
        )
