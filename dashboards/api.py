"""The dashboards API for the front end: list, one dashboard's content, favorites, refresh.

Thin: parse -> selector/service -> respond. A dashboard under an instance the user cannot see
is a 404, the same as one that does not exist.
"""

from __future__ import annotations

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from dashboards import selectors
from dashboards.models import Dashboard, ReportConfiguration
from dashboards.services import actions
from dashboards.widgets import DataPlan
from recomamp.errors import FieldError, ValidationFailed
from reports.models import DashboardType


class _ErrorItem(serializers.Serializer):
    field = serializers.CharField(help_text="Dotted path of the field, or non_field_errors.")
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorEnvelopeSerializer(serializers.Serializer):
    errors = _ErrorItem(many=True)


def error_responses(*codes: int) -> dict:
    descriptions = {
        400: "Invalid input; each error names its field.",
        401: "Not signed in.",
        403: "Read-only access: viewers may look and favorite, not refresh or rebuild.",
        404: "No such dashboard, or not under an instance you may see.",
    }
    return {code: ErrorEnvelopeSerializer for code in codes if code in descriptions}


class DashboardListSerializer(serializers.ModelSerializer):
    instance_name = serializers.CharField(source="instance.instance_name", read_only=True)
    report_id = serializers.SerializerMethodField()
    is_favorite = serializers.BooleanField(read_only=True)

    class Meta:
        model = Dashboard
        fields = [
            "id",
            "name",
            "description",
            "instance",
            "instance_name",
            "dashboard_type",
            "report_id",
            "is_favorite",
            "data_refreshed_at",
            "created_at",
        ]

    def get_report_id(self, dashboard) -> str | None:
        configuration = getattr(dashboard, "configuration", None)
        report = configuration.report if configuration else None
        return report.report_id if report else None


class InsightSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.CharField()
    text = serializers.CharField()
    confidence = serializers.FloatField(help_text="Calibrated probability, 0 to 1.")
    confidence_word = serializers.CharField(help_text="very likely, likely, possible, unlikely")
    method = serializers.CharField()
    generated_at = serializers.DateTimeField()


class ViewSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="view_id")
    name = serializers.CharField(source="title")
    type = serializers.CharField()
    width = serializers.CharField()
    config = serializers.JSONField(help_text="The widget as the template defines it.")
    data = serializers.JSONField(help_text="What the widget shows over the period.")
    spec = serializers.JSONField(allow_null=True, help_text="Vega-Lite spec (charts).")
    display = serializers.JSONField(help_text="Values formatted as the page shows them.")
    insights = InsightSerializer(many=True)


class DashboardContentSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="dashboard.pk")
    name = serializers.CharField(source="dashboard.name")
    dashboard_type = serializers.CharField(source="dashboard.dashboard_type")
    instance = serializers.UUIDField(source="dashboard.instance_id")
    status = serializers.ChoiceField(choices=["ready", "building", "empty"])
    refreshing = serializers.BooleanField()
    as_of = serializers.DateTimeField(allow_null=True, help_text="Data as of.")
    window = serializers.JSONField(help_text="The AMC window shown (dates, report timezone).")
    period = serializers.JSONField(help_text="The period and the one compared with.")
    filters = serializers.SerializerMethodField()
    filter_options = serializers.JSONField()
    views = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_filters(self, content) -> dict:
        return content.filters.as_query()

    @extend_schema_field(ViewSerializer(many=True))
    def get_views(self, content) -> list[dict]:
        include_svg = self.context.get("include_svg", False)
        views = []
        for widget in content.widgets:
            item = ViewSerializer(widget).data
            if include_svg:
                item["svg"] = widget.svg
            views.append(item)
        return views


FILTER_PARAMETERS = [
    OpenApiParameter("start", OpenApiTypes.DATE, description="First day shown (YYYY-MM-DD)."),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last day shown (YYYY-MM-DD)."),
    OpenApiParameter("campaign", str, description="Only this campaign (where the data has it)."),
    OpenApiParameter(
        "ad_product", str, description="Only this ad product (where the data has it)."
    ),
    OpenApiParameter("svg", bool, description="Include each chart's server-rendered SVG."),
]


class DashboardViewSet(viewsets.GenericViewSet):
    serializer_class = DashboardListSerializer
    queryset = Dashboard.objects.none()
    filter_backends: list = []

    def get_queryset(self):
        params = self.request.query_params
        return selectors.dashboards_for_user(
            user=self.request.user,
            instance_id=params.get("instance") or None,
            dashboard_type=params.get("dashboard_type") or None,
            favorites_only=params.get("favorite", "").lower() in {"1", "true", "yes"},
            search=params.get("search") or None,
        )

    def get_object(self):
        return selectors.dashboard_for_user(user=self.request.user, pk=self.kwargs["pk"])

    @extend_schema(
        parameters=[
            OpenApiParameter("instance", OpenApiTypes.UUID, description="Only this instance."),
            OpenApiParameter("dashboard_type", str, enum=DashboardType.values),
            OpenApiParameter("favorite", bool, description="Only your favorites."),
            OpenApiParameter("search", str, description="Name contains."),
        ],
        responses={200: DashboardListSerializer(many=True), **error_responses(400, 401)},
        description="Your dashboards (instances you may see), favorites first, then by name.",
    )
    def list(self, request):
        params = request.query_params
        if params.get("instance"):
            try:
                uuid.UUID(params["instance"])
            except ValueError:
                raise ValidationFailed(
                    [FieldError("instance", "invalid", "Must be an instance id (a UUID).")]
                ) from None
        if params.get("dashboard_type") and params["dashboard_type"] not in DashboardType.values:
            raise ValidationFailed(
                [
                    FieldError(
                        "dashboard_type",
                        "invalid_choice",
                        f"Must be one of {', '.join(DashboardType.values)}.",
                    )
                ]
            )
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(DashboardListSerializer(page, many=True).data)

    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={200: DashboardContentSerializer, **error_responses(400, 401, 404)},
        description=(
            "Everything the dashboard shows: per view its Vega-Lite spec, data and insights, "
            "the data-as-of time and the AMC window. Filters narrow it (from the precomputed "
            "daily aggregates). `status` is building while the first refresh runs."
        ),
    )
    def retrieve(self, request, pk=None):
        dashboard = self.get_object()
        configuration = ReportConfiguration.objects.get(dashboard=dashboard)
        plan = DataPlan.from_dict(configuration.data_aggregation_settings)
        filters = selectors.parse_filters(request.query_params, plan=plan)
        content = selectors.dashboard_content(dashboard=dashboard, filters=filters)
        include_svg = request.query_params.get("svg", "").lower() in {"1", "true", "yes"}
        return Response(
            DashboardContentSerializer(content, context={"include_svg": include_svg}).data
        )

    @extend_schema(
        methods=["POST"],
        request=None,
        responses={
            201: inline_serializer("Favorite", {"is_favorite": serializers.BooleanField()}),
            **error_responses(401, 404),
        },
        description="Add to your favorites (idempotent). Viewers may favorite.",
    )
    @extend_schema(
        methods=["DELETE"],
        request=None,
        responses={204: None, **error_responses(401, 404)},
        description="Remove from your favorites (idempotent).",
    )
    @action(detail=True, methods=["post", "delete"])
    def favorite(self, request, pk=None):
        dashboard = self.get_object()
        if request.method == "DELETE":
            actions.remove_favorite(user=request.user, dashboard=dashboard)
            return Response(status=status.HTTP_204_NO_CONTENT)
        actions.add_favorite(user=request.user, dashboard=dashboard)
        return Response({"is_favorite": True}, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=inline_serializer(
            "RefreshRequest",
            {
                "rebuild": serializers.BooleanField(
                    required=False, default=False, help_text="Rebuild the views from the template."
                ),
                "force": serializers.BooleanField(
                    required=False, default=False, help_text="Rebuild even a customised layout."
                ),
            },
        ),
        responses={
            202: inline_serializer(
                "RefreshQueued",
                {
                    "queued": serializers.BooleanField(
                        help_text="False when a refresh was queued already (coalesced)."
                    ),
                    "rebuilt": serializers.BooleanField(),
                    "detail": serializers.CharField(),
                },
            ),
            **error_responses(400, 401, 403, 404),
        },
        description="Recompute the dashboard in the background (analysts and admins only).",
    )
    @action(detail=True, methods=["post"])
    def refresh(self, request, pk=None):
        dashboard = self.get_object()
        body = _RefreshBody(data=request.data)
        body.is_valid(raise_exception=True)
        if body.validated_data["rebuild"]:
            result = actions.rebuild(
                user=request.user, dashboard=dashboard, force=body.validated_data["force"]
            )
            return Response(
                {
                    "queued": True,
                    "rebuilt": result.rebuilt or result.created,
                    "detail": result.skipped_reason or "rebuilt",
                },
                status=status.HTTP_202_ACCEPTED,
            )
        queued = actions.refresh(user=request.user, dashboard=dashboard)
        return Response(
            {"queued": queued, "rebuilt": False, "detail": "queued" if queued else "coalesced"},
            status=status.HTTP_202_ACCEPTED,
        )


class _RefreshBody(serializers.Serializer):
    rebuild = serializers.BooleanField(required=False, default=False)
    force = serializers.BooleanField(required=False, default=False)
