"""What every app's viewsets are built from: the viewset base with the portal's filters and
numeric ids, the CSV import action (202 with a job) and the create that answers 200 for an existing
``external_id``."""

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from portal import imports
from portal.api.filters import CappedSearchFilter, PortalFilterBackend, StrictOrderingFilter
from portal.api.import_serializers import ImportJobSerializer
from portal.api.serializers import DetailSerializer, ImportUploadSerializer
from portal.models import Role
from portal.validation import is_id


class PortalViewSet(GenericViewSet):
    """The base of every viewset. Lists take django-filter filters, ``search`` and ``ordering``;
    a subclass that lists declares ``ordering_fields`` (``StrictOrderingFilter`` refuses to guess)
    and, where its objects belong to a team, ``team_roles`` for ``TeamRoleChanges``."""

    permission_classes = [IsAuthenticated]
    filter_backends = [PortalFilterBackend, CappedSearchFilter, StrictOrderingFilter]
    lookup_value_regex = "[0-9]{1,19}"
    ordering_fields: ClassVar[Sequence[str] | Mapping[str, str]] = ()
    team_roles: ClassVar[Mapping[str, Role]] = {}

    def get_object(self) -> Any:
        # An id beyond 64 bits is no object's: 404 before SQLite fails on comparing with it.
        lookup = self.lookup_url_kwarg or self.lookup_field
        if lookup in self.kwargs and not is_id(self.kwargs[lookup]):
            raise NotFound()
        return super().get_object()


class ImportMixin:
    """``POST <resource>/import/`` with a multipart ``file``: the file is checked as a whole
    and its import queued; the answer is 202 with the job (``Location`` is its URL), whose
    ``status``, counts and ``report`` the caller polls. ``import_kind`` names the importer
    (``portal.imports.IMPORTERS``)."""

    import_kind: str = ""

    @extend_schema(
        request={"multipart/form-data": ImportUploadSerializer},
        responses={202: ImportJobSerializer, 400: DetailSerializer},
        description=(
            "Queue the import of a UTF-8 CSV file (comma- or semicolon-separated); poll the "
            "job's URL for its progress and its report of refused rows."
        ),
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        url_name="import",
        parser_classes=[MultiPartParser, FormParser],
        serializer_class=ImportUploadSerializer,
        filter_backends=[],
        pagination_class=None,
    )
    def import_csv(self, request: Request) -> Response:
        upload = ImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        file = upload.validated_data["file"]
        job = imports.import_job_create(
            actor=request.user, kind=type(self).import_kind, upload=file, filename=file.name
        )
        data = ImportJobSerializer(job, context={"request": request}).data
        # A str, not the serializer's Hyperlink: WSGI servers refuse other header types.
        location = str(data["url"])
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": location})


class ExternalIdCreateMixin:
    """Creating what already exists under the same ``external_id`` answers 200 with it."""

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        external_id = serializer.validated_data.get("external_id", "").strip()
        if external_id:
            existing = self.get_queryset().filter(external_id=external_id).first()
            if existing is not None:
                return Response(self.get_serializer(existing).data, status=status.HTTP_200_OK)
        self.perform_create(serializer)
        return Response(serializer.data, status=status.HTTP_201_CREATED)
