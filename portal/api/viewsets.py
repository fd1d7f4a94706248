"""The portal app's own endpoints: teams, memberships, the directory, the North Star and tokens.
Viewsets stay thin: ``get_queryset`` calls a selector, writes call a service, and the exception
handler turns the services' errors into 400, 403 and 404. The shared base is in ``base.py``."""

from typing import Any

from django.contrib.auth import authenticate
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from portal import selectors, services
from portal.api import filters
from portal.api.base import ExternalIdCreateMixin, ImportMixin, PortalViewSet
from portal.api.permissions import (
    DirectoryEditorWrites,
    NorthStarRecorderWrites,
    SuperuserCreatesAndDeletes,
    SuperuserWrites,
    TeamRoleChanges,
)
from portal.api.serializers import (
    AccountSerializer,
    CustomerSerializer,
    DetailSerializer,
    MembershipRoleSerializer,
    MembershipSerializer,
    NorthStarMeasurementSerializer,
    NorthStarSerializer,
    TeamSerializer,
    TokenRequestSerializer,
    TokenSerializer,
    ValueStreamSerializer,
)
from portal.models import Role
from portal.selectors import get_or_404
from portal.validation import ID_INVALID, MAX_ID, is_id, parse_id

INVALID_CREDENTIALS = "Unable to log in with that username and password."
NORTH_STAR_NOT_DEFINED = "No North Star metric is defined yet."

# A delete answers 204, or 400 naming what still depends on the object (portal.services.deletion).
DELETE_RESPONSES = {
    204: OpenApiResponse(description="Deleted, with what goes with it."),
    400: OpenApiResponse(DetailSerializer, description="Refused: something depends on it."),
}
NO_SUCH_USER_ID = "No active user has that id."


# Teams and memberships -----------------------------------------------------------------------


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


# The directory -------------------------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(
        responses={201: CustomerSerializer, 200: CustomerSerializer},
        description="Creates a customer (201); an existing `external_id` answers 200 with "
        "the existing customer, unchanged.",
    ),
    destroy=extend_schema(
        responses=DELETE_RESPONSES,
        description="Deletes the customer and their further addresses; their history is kept "
        "(`erase` removes their personal data from it).",
    ),
)
class CustomerViewSet(
    ExternalIdCreateMixin,
    ImportMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    PortalViewSet,
):
    """The organisation's customers: every member reads, agents of any team edit."""

    serializer_class = CustomerSerializer
    permission_classes = [IsAuthenticated, DirectoryEditorWrites]
    filterset_class = filters.CustomerFilter
    search_fields = ["name", "email", "account__name"]
    ordering_fields = ["name", "email", "created_at", "updated_at"]
    import_kind = "customers"

    def get_queryset(self):
        return selectors.customer_list(user=self.request.user)

    def perform_create(self, serializer) -> None:
        customer = services.customer_create(actor=self.request.user, **serializer.validated_data)
        serializer.instance = selectors.customer_get(user=self.request.user, pk=customer.pk)

    def perform_update(self, serializer) -> None:
        fields = dict(serializer.validated_data)
        customer = services.customer_update(
            actor=self.request.user,
            customer=serializer.instance,
            other_emails=fields.pop("other_emails", None),
            **fields,
        )
        serializer.instance = selectors.customer_get(user=self.request.user, pk=customer.pk)

    def perform_destroy(self, instance) -> None:
        services.customer_delete(actor=self.request.user, customer=instance)

    @extend_schema(
        request=None,
        responses={200: CustomerSerializer},
        description="Erases the customer's personal data (the right to erasure): name, e-mail "
        "(replaced by a placeholder), further addresses, attributes and external id. The "
        "customer stays with their tier and account; erasing again is harmless.",
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def erase(self, request: Request, pk: str | None = None) -> Response:
        customer = services.customer_erase(actor=request.user, customer=self.get_object())
        customer = selectors.customer_get(user=request.user, pk=customer.pk)
        return Response(self.get_serializer(customer).data)


@extend_schema_view(
    create=extend_schema(
        responses={201: AccountSerializer, 200: AccountSerializer},
        description="Creates an account (201); an existing `external_id` answers 200 with "
        "the existing account, unchanged.",
    ),
    destroy=extend_schema(
        responses=DELETE_RESPONSES,
        description="Deletes the account and its domains; refused (400) while customers "
        "belong to it.",
    ),
)
class AccountViewSet(
    ExternalIdCreateMixin,
    ImportMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    PortalViewSet,
):
    """The organisation's accounts: every member reads, agents of any team edit."""

    serializer_class = AccountSerializer
    permission_classes = [IsAuthenticated, DirectoryEditorWrites]
    filterset_class = filters.AccountFilter
    search_fields = ["name", "domains__domain"]
    ordering_fields = ["name", "mrr", "created_at"]
    import_kind = "accounts"

    def get_queryset(self):
        return selectors.account_list(user=self.request.user)

    def perform_create(self, serializer) -> None:
        account = services.account_create(actor=self.request.user, **serializer.validated_data)
        serializer.instance = selectors.account_get(user=self.request.user, pk=account.pk)

    def perform_update(self, serializer) -> None:
        fields = dict(serializer.validated_data)
        account = services.account_update(
            actor=self.request.user,
            account=serializer.instance,
            domains=fields.pop("domains", None),
            **fields,
        )
        serializer.instance = selectors.account_get(user=self.request.user, pk=account.pk)

    def perform_destroy(self, instance) -> None:
        services.account_delete(actor=self.request.user, account=instance)


# North Star ----------------------------------------------------------------------------------


class NorthStarView(APIView):
    """The one metric the organisation steers by; superusers define it."""

    permission_classes = [IsAuthenticated, SuperuserWrites]
    serializer_class = NorthStarSerializer

    @extend_schema(responses={200: NorthStarSerializer, 404: DetailSerializer})
    def get(self, request: Request) -> Response:
        metric = selectors.north_star_get(user=request.user)
        if metric is None:
            raise NotFound(NORTH_STAR_NOT_DEFINED)
        return Response(NorthStarSerializer(metric, context={"request": request}).data)

    @extend_schema(request=NorthStarSerializer, responses={200: NorthStarSerializer})
    def put(self, request: Request) -> Response:
        return self._set(request, partial=False)

    @extend_schema(request=NorthStarSerializer, responses={200: NorthStarSerializer})
    def patch(self, request: Request) -> Response:
        return self._set(request, partial=True)

    def _set(self, request: Request, *, partial: bool) -> Response:
        metric = selectors.north_star_get(user=request.user)
        serializer = NorthStarSerializer(
            metric, data=request.data, partial=partial, context={"request": request}
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        metric = services.north_star_set(
            actor=request.user,
            name=data.get("name", metric.name if metric else ""),
            definition=data.get("definition", metric.definition if metric else ""),
            unit=data.get("unit", metric.unit if metric else ""),
        )
        return Response(NorthStarSerializer(metric, context={"request": request}).data)


@extend_schema_view(
    create=extend_schema(
        responses={
            201: NorthStarMeasurementSerializer,
            200: OpenApiResponse(
                NorthStarMeasurementSerializer, description="Replaced that day's value."
            ),
        }
    )
)
class NorthStarMeasurementViewSet(
    ImportMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    PortalViewSet,
):
    """One value per day; recording a day again replaces its value. Leads of any team write."""

    serializer_class = NorthStarMeasurementSerializer
    permission_classes = [IsAuthenticated, NorthStarRecorderWrites]
    filterset_class = filters.NorthStarMeasurementFilter
    ordering_fields = ["measured_on", "value", "created_at"]
    import_kind = "north_star"

    def get_queryset(self):
        return selectors.north_star_measurement_list(user=self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        measurement, created = services.north_star_measurement_record(
            actor=request.user,
            measured_on=data["measured_on"],
            value=data["value"],
            note=data.get("note", ""),
        )
        return Response(
            self.get_serializer(measurement).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def perform_destroy(self, instance) -> None:
        services.north_star_measurement_delete(actor=self.request.user, measurement=instance)


# Authentication ------------------------------------------------------------------------------


class TokenView(APIView):
    """Exchange a username and password for an API token (``Authorization: Token <key>``), or
    revoke one. A password change or reset revokes the person's token too."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    def get_authenticators(self) -> list:
        # Asking for a token authenticates with the password in the body alone: an old token or
        # a session (whose CSRF check would refuse a script) must not stand in its way.
        # Revoking one needs to know who asks. (The schema generator asks before any request.)
        if getattr(self.request, "method", None) == "POST":
            return []
        return super().get_authenticators()

    def get_permissions(self) -> list:
        if getattr(self.request, "method", None) == "POST":
            return [AllowAny()]
        return [IsAuthenticated()]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: TokenSerializer, 400: DetailSerializer},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        credentials = TokenRequestSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        user = authenticate(
            request=request._request,
            username=credentials.validated_data["username"],
            password=credentials.validated_data["password"],
        )
        if user is None or not user.is_active:
            raise ValidationError({"detail": INVALID_CREDENTIALS})
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "user",
                {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                required=False,
                description="Whose token to revoke: a superuser may name anyone; without it, "
                "the caller's own.",
            )
        ],
        request=None,
        responses={
            204: OpenApiResponse(description="Revoked, or there was no token to revoke."),
            400: OpenApiResponse(
                inline_serializer(
                    "TokenRevokeError",
                    {"user": serializers.ListField(child=serializers.CharField())},
                ),
                description="`user` is no id.",
            ),
            403: OpenApiResponse(
                DetailSerializer, description="Another person's token, not as a superuser."
            ),
            404: OpenApiResponse(DetailSerializer, description="No such user."),
        },
    )
    def delete(self, request: Request) -> Response:
        """Revoke the caller's token (``Authorization: Token`` or a session), or with
        ``?user=<id>`` a superuser revokes anyone's."""
        user = request.user
        raw = request.query_params.get("user")
        if raw is not None:
            if not is_id(raw):
                raise ValidationError({"user": [ID_INVALID]})
            user = get_or_404(
                selectors.user_lookup_list(user=request.user), NO_SUCH_USER_ID, pk=parse_id(raw)
            )
        services.api_token_revoke(actor=request.user, user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)
