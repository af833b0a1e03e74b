"""REST API of exports. Thin: parse, call a service, respond.

- `POST /api/dashboards/{id}/exports/` {format} -> 202 with the export (a reused one if an
  identical request has a valid file or is in flight).
- `GET /api/exports/` (yours), `GET /api/exports/{id}/` (status),
  `GET /api/exports/{id}/download/` (owner only; 404 for anyone else, 410 once expired).
"""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from dashboards.exports import services
from dashboards.models import ExportFormat, ExportStatus, ReportExport
from recomamp.errors import NotFound
from recomamp.openapi import error_responses


class ExportSerializer(serializers.ModelSerializer):
    dashboard = serializers.UUIDField(source="report_configuration.dashboard_id", read_only=True)
    format = serializers.CharField(source="export_format", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ReportExport
        fields = [
            "id",
            "dashboard",
            "format",
            "status",
            "file_size",
            "error_message",
            "expires_at",
            "created_at",
            "completed_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, export: ReportExport) -> str | None:
        if export.status != ExportStatus.COMPLETED or not export.file:
            return None
        return reverse("export-download", args=[export.pk], request=self.context.get("request"))


class ExportRequestSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=ExportFormat.choices)


class DashboardExportView(APIView):
    """Export a dashboard you can see as PDF, PNG, CSV or Excel, built in the background."""

    @extend_schema(
        operation_id="dashboards_exports_create",
        request=ExportRequestSerializer,
        responses={
            202: ExportSerializer,
            **error_responses(
                400,
                404,
                d400="Bad format (field `format`).",
                d404="No such dashboard on your instances.",
            ),
        },
        tags=["exports"],
    )
    def post(self, request, dashboard_id):
        serializer = ExportRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        dashboard = services.dashboards_for_user(user=request.user).filter(pk=dashboard_id).first()
        if dashboard is None:
            raise NotFound("No such dashboard on your instances.", field="dashboard")
        export, _queued = services.request_export(
            dashboard=dashboard,
            user=request.user,
            export_format=serializer.validated_data["format"],
        )
        body = ExportSerializer(export, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["exports"])
class ExportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your exports and their status. Nobody else's are visible (404)."""

    serializer_class = ExportSerializer
    filterset_fields = ["status", "export_format"]
    ordering_fields = ["created_at"]
    ordering = ["-created_at"]
    search_fields = []

    def get_queryset(self):
        return services.exports_for_user(user=self.request.user)

    @extend_schema(
        responses={200: ExportSerializer, **error_responses(404, d404="Not your export.")}
    )
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            **error_responses(
                404,
                409,
                410,
                d404="Not your export.",
                d409="Still being built, or failed.",
                d410="Expired: request a new export.",
            ),
        }
    )
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        """The file, as an attachment: only to the user who requested it, until it expires."""
        export = self.get_object()
        handle = services.open_download(export=export)
        return FileResponse(
            handle,
            as_attachment=True,
            filename=services.download_name(export),
            content_type=services.CONTENT_TYPES[export.export_format],
        )
