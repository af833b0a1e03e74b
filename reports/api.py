"""REST API of templates, reports and executions. Thin: parse, call a service, respond."""

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from instances.selectors import (
    instances_for_user,
    remember_role,
)
from recomamp.api import FieldsBuiltOnce, UTCDateTimeFilter
from recomamp.errors import Conflict, NotFound
from recomamp.openapi import error_responses
from reports.models import (
    ExecutionEvent,
    ExecutionResultRow,
    ExecutionStatus,
    Frequency,
    QueryTemplate,
    ReportExecution,
    TriggeredBy,
)
from reports.parameters import preview_sql
from reports.selectors import (
    executions_for_user,
    report_overview,
    report_to_run,
    reports_for_user,
)
from reports.services import executions as execution_services
from reports.services import reports as report_services
from reports.windows import today_in


class TemplateSerializer(serializers.ModelSerializer):
    class Meta:
        model = QueryTemplate
        fields = [
            "id",
            "template_id",
            "name",
            "description",
            "category",
            "report_type",
            "sql_query",
            "parameter_definitions",
            "report_config",
            "ui_schema",
            "default_dashboard_type",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TemplateViewSet(viewsets.ReadOnlyModelViewSet):
    """The agency's catalogue of AMC SQL templates (shared by every instance)."""

    serializer_class = TemplateSerializer
    queryset = QueryTemplate.objects.filter(is_active=True)
    lookup_field = "template_id"
    filterset_fields = ["category", "report_type", "default_dashboard_type"]
    search_fields = ["name", "description", "template_id"]
    ordering_fields = ["name", "category", "created_at"]
    ordering = ["category", "name"]


class ExecutionSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    report = serializers.SlugRelatedField(slug_field="report_id", read_only=True)
    instance = serializers.UUIDField(source="instance_id", read_only=True)
    schedule = serializers.SlugRelatedField(
        slug_field="schedule_id", read_only=True, allow_null=True
    )

    class Meta:
        model = ReportExecution
        fields = [
            "execution_id",
            "report",
            "instance",
            "triggered_by",
            "schedule",
            "scheduled_for",
            "collection",
            "status",
            "phase",
            "amc_execution_id",
            "amc_status",
            "row_count",
            "size_bytes",
            "error_message",
            "error_details",
            "parameters_snapshot",
            "rendered_sql",
            "time_window_start",
            "time_window_end",
            "cancel_requested",
            "started_at",
            "completed_at",
            "created_at",
        ]
        read_only_fields = fields


# -- reports ---------------------------------------------------------------------------------


class ReportSerializer(serializers.ModelSerializer):
    template = serializers.SlugRelatedField(slug_field="template_id", read_only=True)
    owner = serializers.CharField(source="owner.username", read_only=True)
    last_execution = serializers.SlugRelatedField(
        slug_field="execution_id", read_only=True, allow_null=True
    )
    state = serializers.CharField(read_only=True)
    latest_status = serializers.CharField(read_only=True, allow_null=True)
    last_run_at = serializers.DateTimeField(read_only=True, allow_null=True)
    next_run_at = serializers.DateTimeField(read_only=True, allow_null=True)
    is_favorite = serializers.BooleanField(read_only=True)

    class Meta:
        model = report_services.ReportDefinition
        fields = [
            "report_id",
            "name",
            "description",
            "template",
            "instance",
            "owner",
            "parameters",
            "frequency",
            "timezone",
            "lookback_days",
            "is_active",
            "dashboard",
            "execution_count",
            "last_execution",
            "state",
            "latest_status",
            "last_run_at",
            "next_run_at",
            "is_favorite",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ParametersField(serializers.DictField):
    """A JSON object of parameter values (validated against the template by the service)."""

    child = serializers.JSONField()


class ReportCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    template = serializers.SlugRelatedField(
        slug_field="template_id", queryset=QueryTemplate.objects.filter(is_active=True)
    )
    instance = serializers.PrimaryKeyRelatedField(queryset=instances_for_user(user=None))
    parameters = ParametersField(required=False, default=dict)
    frequency = serializers.ChoiceField(choices=Frequency.choices, default=Frequency.ONCE)
    timezone = serializers.CharField(max_length=64, required=False)
    lookback_days = serializers.IntegerField(min_value=1, max_value=365, default=7)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only instances the user may see: any other id reads as "does not exist".
        request = self.context.get("request")
        self.fields["instance"].queryset = instances_for_user(user=request and request.user)


class ReportUpdateSerializer(serializers.Serializer):
    instance = serializers.UUIDField(
        required=False, help_text="Fixed at creation: only the report's own instance is accepted."
    )
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    parameters = ParametersField(required=False)
    frequency = serializers.ChoiceField(choices=Frequency.choices, required=False)
    timezone = serializers.CharField(max_length=64, required=False)
    lookback_days = serializers.IntegerField(min_value=1, max_value=365, required=False)

    def validate_instance(self, value):
        if value != self.context["report"].instance_id:
            raise serializers.ValidationError(
                "A report's instance cannot be changed; create a report on the other instance.",
                code="immutable",
            )
        return value


class RunSerializer(serializers.Serializer):
    parameters = ParametersField(required=False, default=dict)
    time_window_start = serializers.DateTimeField(required=False)
    time_window_end = serializers.DateTimeField(required=False)


class PreviewSerializer(serializers.Serializer):
    parameters = ParametersField(required=False, default=dict)


class ReportFilter(filters.FilterSet):
    template = filters.CharFilter(field_name="template__template_id")
    instance = filters.UUIDFilter(field_name="instance_id")

    class Meta:
        model = report_services.ReportDefinition
        fields = ["template", "instance", "frequency", "is_active"]


class ReportViewSet(viewsets.ModelViewSet):
    """Reports on the instances you can see, with their overview (state, last and next run)."""

    lookup_field = "report_id"
    filterset_class = ReportFilter
    search_fields = ["name", "description", "report_id"]
    ordering_fields = ["name", "created_at", "updated_at", "execution_count"]
    ordering = ["-created_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if self.action in ("list", "retrieve"):
            return report_overview(user=self.request.user)
        return reports_for_user(user=self.request.user)

    def get_object(self):
        if self.action != "run":
            return super().get_object()
        # What a run reads (template, instance), with the user's role: the write check asks
        # nothing more.
        report = report_to_run(report_id=self.kwargs["report_id"], user=self.request.user)
        if report is None:
            raise Http404
        self.check_object_permissions(self.request, report)
        return report

    def get_serializer_class(self):
        return {
            "create": ReportCreateSerializer,
            "partial_update": ReportUpdateSerializer,
            "run": RunSerializer,
            "preview": PreviewSerializer,
        }.get(self.action, ReportSerializer)

    def _respond(self, report, status_code=status.HTTP_200_OK):
        report = report_overview(user=self.request.user).get(pk=report.pk)
        return Response(ReportSerializer(report).data, status=status_code)

    @extend_schema(request=ReportCreateSerializer, responses={201: ReportSerializer})
    def create(self, request):
        serializer = ReportCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        report = report_services.create_report(user=request.user, **serializer.validated_data)
        return self._respond(report, status.HTTP_201_CREATED)

    @extend_schema(request=ReportUpdateSerializer, responses=ReportSerializer)
    def partial_update(self, request, report_id=None):
        report = self.get_object()
        serializer = ReportUpdateSerializer(data=request.data, context={"report": report})
        serializer.is_valid(raise_exception=True)
        changes = {k: v for k, v in serializer.validated_data.items() if k != "instance"}
        report_services.update_report(report=report, user=request.user, **changes)
        return self._respond(report)

    def destroy(self, request, report_id=None):
        report_services.delete_report(report=self.get_object(), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=ReportSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request, report_id=None):
        report = report_services.set_report_active(
            report=self.get_object(), user=request.user, active=True
        )
        return self._respond(report)

    @extend_schema(request=None, responses=ReportSerializer)
    @action(detail=True, methods=["post"])
    def deactivate(self, request, report_id=None):
        report = report_services.set_report_active(
            report=self.get_object(), user=request.user, active=False
        )
        return self._respond(report)

    @extend_schema(
        request=RunSerializer, responses={202: ExecutionSerializer, **error_responses(429)}
    )
    @action(detail=True, methods=["post"])
    def run(self, request, report_id=None):
        """Run the report now: 202 with the pending execution."""
        report = self.get_object()
        if not request.user.is_superuser:
            remember_role(instance=report.instance, user=request.user, role=report.user_role)
        options = {}
        if request.data != {}:  # an empty body: the saved parameters, the default window
            serializer = RunSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            options = serializer.validated_data
        execution = execution_services.run_report(
            report=report,
            user=request.user,
            triggered_by=TriggeredBy.API if request.auth else TriggeredBy.MANUAL,
            **options,
        )
        return Response(ExecutionSerializer(execution).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=PreviewSerializer,
        responses=inline_serializer(
            "SqlPreview",
            {
                "sql": serializers.CharField(),
                "complete": serializers.BooleanField(),
                "errors": serializers.ListField(child=serializers.DictField()),
                "issues": serializers.ListField(child=serializers.DictField()),
            },
        ),
    )
    @action(detail=True, methods=["post"])
    def preview(self, request, report_id=None):
        """The SQL a run would send, with the saved parameters overridden by these."""
        report = self.get_object()
        serializer = PreviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        report_services.validate_timezone(report.timezone)
        preview = preview_sql(
            sql=report.template.sql_query,
            definitions=report.template.parameter_definitions,
            values={**report.parameters, **serializer.validated_data["parameters"]},
            today=today_in(report.timezone),
        )
        return Response(
            {
                "sql": preview.sql,
                "complete": preview.complete,
                "errors": [
                    {"field": f"parameters.{e.field}", "code": e.code, "message": e.message}
                    for e in preview.errors
                ],
                "issues": [issue.as_dict() for issue in preview.issues],
            }
        )


# -- executions ------------------------------------------------------------------------------


class ExecutionFilter(filters.FilterSet):
    report = filters.CharFilter(field_name="report__report_id")
    instance = filters.UUIDFilter(field_name="instance_id")
    status = filters.MultipleChoiceFilter(choices=ExecutionStatus.choices)
    triggered_by = filters.MultipleChoiceFilter(choices=TriggeredBy.choices)
    created_after = UTCDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UTCDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = ReportExecution
        fields = ["report", "instance", "status", "triggered_by"]


class ExecutionEventSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = ExecutionEvent
        fields = [
            "at",
            "from_status",
            "from_phase",
            "to_status",
            "to_phase",
            "worker",
            "user",
            "detail",
        ]
        read_only_fields = fields


class ResultRowSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExecutionResultRow
        fields = ["row_number", "data"]


class ExecutionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Executions on the instances you can see."""

    serializer_class = ExecutionSerializer
    lookup_field = "execution_id"
    filterset_class = ExecutionFilter
    ordering_fields = ["created_at", "started_at", "completed_at"]
    ordering = ["-created_at"]
    search_fields = ["execution_id", "amc_execution_id"]

    def get_queryset(self):
        return executions_for_user(user=self.request.user).select_related("schedule")

    @extend_schema(request=None, responses=ExecutionSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, execution_id=None):
        execution = execution_services.cancel_execution(
            execution=self.get_object(), user=request.user
        )
        return Response(ExecutionSerializer(execution).data)

    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            **error_responses(409, d409="The execution has not completed: no result yet."),
        }
    )
    @action(detail=True, methods=["get"])
    def results(self, request, execution_id=None):
        """The stored CSV result."""
        execution = self.get_object()
        if execution.status != ExecutionStatus.COMPLETED or not execution.output_location:
            raise Conflict(f"No result: the execution is {execution.status}.", field="status")
        try:
            stored = default_storage.open(execution.output_location, "rb")
        except OSError:
            raise NotFound(
                "The stored result file is missing; run the report again.", code="result_missing"
            ) from None
        return FileResponse(
            stored,
            as_attachment=True,
            filename=f"{execution.execution_id}.csv",
            content_type="text/csv",
        )

    @extend_schema(responses=ExecutionEventSerializer(many=True))
    @action(detail=True, methods=["get"], filterset_class=None, ordering=None, search_fields=[])
    def events(self, request, execution_id=None):
        """The execution's lifecycle, oldest first: every move of its status and phase, when,
        by which worker or user, with details (AMC status, error, retry number)."""
        execution = self.get_object()
        events = execution.events.select_related("user").order_by("at", "id")
        page = self.paginate_queryset(events)
        return self.get_paginated_response(ExecutionEventSerializer(page, many=True).data)

    @extend_schema(responses=ResultRowSerializer(many=True))
    @action(detail=True, methods=["get"], filterset_class=None, ordering=None, search_fields=[])
    def rows(self, request, execution_id=None):
        """The result rows as JSON, paginated."""
        execution = self.get_object()
        rows = ExecutionResultRow.objects.filter(execution=execution).order_by("row_number")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(ResultRowSerializer(page, many=True).data)
