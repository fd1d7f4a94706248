"""The North Star metric and its measurements."""

from typing import Any

from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import selectors, services
from portal.api import filters
from portal.api.base import ImportMixin, PortalViewSet
from portal.api.permissions import (
    NorthStarRecorderWrites,
    SuperuserWrites,
)
from portal.api.serializers import (
    DetailSerializer,
    NorthStarMeasurementSerializer,
    NorthStarSerializer,
)

NORTH_STAR_NOT_DEFINED = "No North Star metric is defined yet."
NOTHING_TO_CHANGE = "Send at least one of name, definition and unit to change."


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
        if partial and not request.data:
            # A body that names nothing (empty, or a form whose parts did not parse) is a
            # client's mistake rather than a change of nothing.
            raise ValidationError({"detail": NOTHING_TO_CHANGE})
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
