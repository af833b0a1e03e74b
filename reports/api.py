from rest_framework import serializers, viewsets

from reports.models import QueryTemplate


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
