"""Serializers of import jobs (``portal.api.imports`` has their viewset)."""

from rest_framework import serializers

from portal.models import ImportJob, ImportRejection


class ImportRejectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportRejection
        fields = ["line", "reason"]


class ImportJobSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:import-job-detail")
    created = serializers.IntegerField(source="created_count", read_only=True)
    updated = serializers.IntegerField(source="updated_count", read_only=True)
    rejected = serializers.IntegerField(source="rejected_count", read_only=True)

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "url",
            "kind",
            "filename",
            "status",
            "rows_total",
            "rows_processed",
            "created",
            "updated",
            "rejected",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class ImportJobDetailSerializer(ImportJobSerializer):
    """A job with its report: every refused row, with its line number and reason."""

    report = ImportRejectionSerializer(source="rejections", many=True, read_only=True)

    class Meta(ImportJobSerializer.Meta):
        fields = [*ImportJobSerializer.Meta.fields, "report"]
        read_only_fields = fields
