"""``/api/v1/feedback/saved-views/``: the inbox's saved views a person sees (their own and
those shared with their teams), created, renamed, changed and deleted through
``feedback.services.saved_views`` (agents keep their own; leads share with the team). Another
person's personal view, like another team's view, answers 404; a shared view a member may not
change answers 403.
"""

from typing import Any

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from feedback import selectors
from feedback.models import SavedView
from feedback.services import saved_views as services
from portal import selectors as portal_selectors
from portal.api.base import PortalViewSet
from portal.api.filters import IdFilter, StrictBooleanFilter
from portal.api.parsers import JSONParser
from portal.api.serializers import SelectorRelatedField
from portal.models import Team

PARAMS_DESCRIPTION = (
    "The inbox's parameters, as `GET /api/v1/feedback/items/` takes them: an object of "
    'parameter names and lists of values (`{"status": ["open", "new"], "assignee": ["me"]}`) '
    "or a query string. Stored in their canonical form; `assignee=me` stays `me`."
)


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
        "description": PARAMS_DESCRIPTION,
    }
)
class ParamsField(serializers.Field):
    """The view's parameters, passed to the service as given (it reads them as the inbox
    does and refuses what the inbox would)."""

    def to_internal_value(self, data: Any) -> Any:
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class SavedViewSerializer(serializers.ModelSerializer):
    team = SelectorRelatedField(selector=portal_selectors.team_list, queryset=Team.objects.all())
    shared = serializers.BooleanField(
        default=False,
        help_text="Shared with the team (leads create these); else the creator's own.",
    )
    params = ParamsField(required=False, default=dict)

    class Meta:
        model = SavedView
        fields = ["id", "team", "name", "shared", "owner", "params", "created_at"]
        read_only_fields = ["owner", "created_at"]

    def to_representation(self, instance: SavedView) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["shared"] = instance.owner_id is None
        return data


class SavedViewUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    params = ParamsField(required=False)


class SavedViewFilter(filters.FilterSet):
    team = IdFilter(field_name="team", help_text="Team id.")
    shared = StrictBooleanFilter(field_name="owner", lookup_expr="isnull")

    class Meta:
        model = SavedView
        fields = ["team", "shared"]


@extend_schema_view(
    create=extend_schema(
        description="Save a view of a team's inbox: your own (agents and above), or shared "
        "with the team (`shared`: leads and above). Its filters are checked as the inbox "
        "checks them."
    ),
    partial_update=extend_schema(
        request=SavedViewUpdateSerializer,
        description="Rename a view or change its filters: your own, or a shared one as a lead.",
    ),
    destroy=extend_schema(description="Delete your own view, or a shared one as a lead."),
)
class SavedViewViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    PortalViewSet,
):
    """Saved views of the inbox: your own and your teams' shared ones, shared first."""

    serializer_class = SavedViewSerializer
    # A form carries the parameters as a query string; JSON as an object too.
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    filterset_class = SavedViewFilter
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.saved_view_list(user=self.request.user)

    def perform_create(self, serializer) -> None:
        data = serializer.validated_data
        view = services.saved_view_create(
            actor=self.request.user,
            team=data["team"],
            name=data["name"],
            params=data.get("params") or {},
            shared=data["shared"],
        )
        serializer.instance = view

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        view = self.get_object()
        changes = SavedViewUpdateSerializer(data=request.data)
        changes.is_valid(raise_exception=True)
        view = services.saved_view_update(actor=request.user, view=view, **changes.validated_data)
        return Response(SavedViewSerializer(view, context=self.get_serializer_context()).data)

    def perform_destroy(self, instance: SavedView) -> None:
        services.saved_view_delete(actor=self.request.user, view=instance)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.perform_destroy(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
