"""Import jobs in the API: ``POST <resource>/import/`` answers 202 with a job to poll at
``/api/v1/import-jobs/{id}/``; the list shows the caller's jobs (superusers: everyone's)."""

from rest_framework import mixins

from portal import selectors
from portal.api.base import PortalViewSet
from portal.api.import_serializers import ImportJobDetailSerializer, ImportJobSerializer


class ImportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PortalViewSet):
    """Background CSV imports: ``status`` is queued, running, done or failed."""

    serializer_class = ImportJobSerializer
    ordering_fields = ["created_at", "finished_at"]
    filterset_fields = ["kind", "status"]

    def get_serializer_class(self):
        if self.action == "retrieve":
            return ImportJobDetailSerializer
        return ImportJobSerializer

    def get_queryset(self):
        jobs = selectors.import_job_list(user=self.request.user)
        if self.action == "retrieve":
            return jobs.prefetch_related("rejections")
        return jobs
