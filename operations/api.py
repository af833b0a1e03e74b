"""REST API of operations: alert subscriptions per report."""

from django_filters import rest_framework as filters
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from instances.selectors import restrict_to_user
from operations import services
from operations.models import AlertChannel, AlertSubscription
from recomamp.errors import NotFound
from reports.selectors import reports_for_user


class AlertSubscriptionSerializer(serializers.ModelSerializer):
    report = serializers.CharField(
        source="report.report_id", help_text="The report's report_id, e.g. rpt_ab12cd34."
    )
    channel = serializers.ChoiceField(choices=AlertChannel.choices)
    target = serializers.CharField(max_length=500, help_text="An email address or an https URL.")

    class Meta:
        model = AlertSubscription
        fields = ["id", "report", "channel", "target", "is_active", "created_at"]
        read_only_fields = ["id", "is_active", "created_at"]


class AlertSubscriptionFilter(filters.FilterSet):
    report = filters.CharFilter(field_name="report__report_id", max_length=12)

    class Meta:
        model = AlertSubscription
        fields = ["report", "channel"]


class AlertSubscriptionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Who is told when a report's schedule keeps failing, a backfill ends partial, or AMC
    refuses the instance's credentials (the report's owner is always told by email)."""

    serializer_class = AlertSubscriptionSerializer
    filterset_class = AlertSubscriptionFilter
    ordering_fields = ["created_at"]
    search_fields = []

    def get_queryset(self):
        return restrict_to_user(
            AlertSubscription.objects.select_related("report__instance"),
            user=self.request.user,
            instance_path="report__instance",
        ).order_by("created_at")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        report = (
            reports_for_user(user=request.user)
            .filter(report_id=data["report"]["report_id"])
            .select_related("instance")
            .first()
        )
        if report is None:
            raise NotFound("No such report.", field="report")
        subscription = services.subscribe(
            report=report, user=request.user, channel=data["channel"], target=data["target"]
        )
        return Response(self.get_serializer(subscription).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.unsubscribe(subscription=instance, user=self.request.user)
