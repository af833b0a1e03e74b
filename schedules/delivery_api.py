"""REST API of delivery subscribers: who gets a report after each successful scheduled run.

`/api/delivery-subscribers/` (filter `?report=rpt_...`): list, create {report, channel, target},
retrieve, `PATCH` {is_active}, `DELETE`.
"""

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from instances.selectors import restrict_to_user
from recomamp.errors import NotFound
from recomamp.openapi import error_responses
from reports.selectors import reports_for_user
from schedules import delivery
from schedules.models import DeliveryChannel, DeliverySubscriber


class SubscriberSerializer(serializers.ModelSerializer):
    report = serializers.SlugRelatedField(slug_field="report_id", read_only=True)

    class Meta:
        model = DeliverySubscriber
        fields = ["id", "report", "channel", "target", "is_active", "created_at"]
        read_only_fields = fields


class SubscriberCreateSerializer(serializers.Serializer):
    report = serializers.CharField(max_length=12)
    channel = serializers.ChoiceField(choices=DeliveryChannel.choices)
    target = serializers.CharField(max_length=500)


class SubscriberUpdateSerializer(serializers.Serializer):
    is_active = serializers.BooleanField()


class SubscriberFilter(filters.FilterSet):
    report = filters.CharFilter(field_name="report__report_id")

    class Meta:
        model = DeliverySubscriber
        fields = ["report", "channel", "is_active"]


@extend_schema(tags=["subscribers"])
class SubscriberViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Email and webhook recipients of a report's scheduled runs, on instances you can see."""

    serializer_class = SubscriberSerializer
    filterset_class = SubscriberFilter
    ordering_fields = ["created_at", "channel"]
    ordering = ["created_at"]
    search_fields = ["target"]

    def get_queryset(self):
        return restrict_to_user(
            DeliverySubscriber.objects.all(),
            user=self.request.user,
            instance_path="report__instance",
        ).select_related("report", "report__instance")

    @extend_schema(
        request=SubscriberCreateSerializer,
        responses={201: SubscriberSerializer, **error_responses(400, 403, 404, 409)},
    )
    def create(self, request):
        """Deliver a report after each successful scheduled run: email (PDF) or webhook."""
        serializer = SubscriberCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        report = reports_for_user(user=request.user).filter(report_id=data["report"]).first()
        if report is None:
            raise NotFound(f"No report {data['report']!r} on your instances.", field="report")
        subscriber = delivery.add_subscriber(
            report=report, user=request.user, channel=data["channel"], target=data["target"]
        )
        return Response(SubscriberSerializer(subscriber).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=SubscriberUpdateSerializer,
        responses={200: SubscriberSerializer, **error_responses(400, 403, 404)},
    )
    def partial_update(self, request, pk=None):
        """Pause or resume one recipient."""
        serializer = SubscriberUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscriber = delivery.update_subscriber(
            subscriber=self.get_object(),
            user=request.user,
            is_active=serializer.validated_data["is_active"],
        )
        return Response(SubscriberSerializer(subscriber).data)

    @extend_schema(responses={204: None, **error_responses(403, 404)})
    def destroy(self, request, pk=None):
        delivery.remove_subscriber(subscriber=self.get_object(), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
