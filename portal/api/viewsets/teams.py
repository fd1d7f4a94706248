"""Teams, value streams and memberships."""

from drf_spectacular.utils import (
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins
from rest_framework.permissions import IsAuthenticated

from portal import selectors, services
from portal.api import filters
from portal.api.base import PortalViewSet
from portal.api.permissions import (
    SuperuserCreatesAndDeletes,
    SuperuserWrites,
    TeamRoleChanges,
)
from portal.api.serializers import (
    MembershipRoleSerializer,
    MembershipSerializer,
    TeamSerializer,
    ValueStreamSerializer,
)
from portal.api.viewsets.common import DELETE_RESPONSES
from portal.models import Role


@extend_schema_view(destroy=extend_schema(responses=DELETE_RESPONSES))
class ValueStreamViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    PortalViewSet,
):
    serializer_class = ValueStreamSerializer
    permission_classes = [IsAuthenticated, SuperuserWrites]
    search_fields = ["name"]
    ordering_fields = ["name", "slug", "team_count"]

    def get_queryset(self):
        return selectors.value_stream_list(user=self.request.user)

    def perform_create(self, serializer) -> None:
        data = serializer.validated_data
        stream = services.value_stream_create(
            actor=self.request.user,
            name=data["name"],
            description=data.get("description", ""),
            slug=data.get("slug", ""),
        )
        serializer.instance = selectors.value_stream_get(user=self.request.user, pk=stream.pk)

    def perform_update(self, serializer) -> None:
        stream, data = serializer.instance, serializer.validated_data
        services.value_stream_update(
            actor=self.request.user,
            value_stream=stream,
            name=data.get("name", stream.name),
            description=data.get("description", stream.description),
        )
        serializer.instance = selectors.value_stream_get(user=self.request.user, pk=stream.pk)

    def perform_destroy(self, instance) -> None:
        services.value_stream_delete(actor=self.request.user, value_stream=instance)


@extend_schema_view(destroy=extend_schema(responses=DELETE_RESPONSES))
class TeamViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    PortalViewSet,
):
    """The teams the user belongs to (superusers: all). Another team's id answers 404."""

    serializer_class = TeamSerializer
    permission_classes = [IsAuthenticated, SuperuserCreatesAndDeletes, TeamRoleChanges]
    team_roles = {"update": Role.ADMIN, "partial_update": Role.ADMIN}
    search_fields = ["name", "slug"]
    ordering_fields = ["name", "slug", "member_count"]

    def get_queryset(self):
        return selectors.team_list(user=self.request.user)

    def perform_create(self, serializer) -> None:
        data = serializer.validated_data
        team = services.team_create(
            actor=self.request.user,
            name=data["name"],
            slug=data.get("slug", ""),
            mission=data.get("mission", ""),
            value_stream=data.get("value_stream"),
        )
        serializer.instance = selectors.team_get(user=self.request.user, pk=team.pk)

    def perform_update(self, serializer) -> None:
        team, data = serializer.instance, serializer.validated_data
        services.team_update(
            actor=self.request.user,
            team=team,
            name=data.get("name", team.name),
            mission=data.get("mission", team.mission),
            value_stream=data.get("value_stream", team.value_stream),
        )
        serializer.instance = selectors.team_get(user=self.request.user, pk=team.pk)

    def perform_destroy(self, instance) -> None:
        services.team_delete(actor=self.request.user, team=instance)


class MembershipViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    PortalViewSet,
):
    """Memberships of the user's teams; the team's admins add, change and remove them."""

    permission_classes = [IsAuthenticated, TeamRoleChanges]
    team_roles = {"update": Role.ADMIN, "partial_update": Role.ADMIN, "destroy": Role.ADMIN}
    filterset_class = filters.MembershipFilter
    search_fields = ["user__username"]
    ordering_fields = {"username": "user__username", "created_at": "created_at"}

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return MembershipRoleSerializer
        return MembershipSerializer

    def get_queryset(self):
        return selectors.membership_list(user=self.request.user)

    def perform_create(self, serializer) -> None:
        data = serializer.validated_data
        membership = services.membership_create(
            actor=self.request.user, team=data["team"], user=data["user"], role=data["role"]
        )
        serializer.instance = selectors.membership_get(user=self.request.user, pk=membership.pk)

    def perform_update(self, serializer) -> None:
        membership = serializer.instance
        services.membership_update(
            actor=self.request.user,
            membership=membership,
            role=serializer.validated_data.get("role", membership.role),
        )
        serializer.instance = selectors.membership_get(user=self.request.user, pk=membership.pk)

    def perform_destroy(self, instance) -> None:
        services.membership_delete(actor=self.request.user, membership=instance)
