from rest_framework import serializers, viewsets

from instances.models import AmcInstance
from instances.selectors import instances_for_user

UUID_PATTERN = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


class InstanceSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True)
    entity_id = serializers.CharField(source="account.account_id", read_only=True)
    marketplace_id = serializers.CharField(source="account.marketplace_id", read_only=True)

    class Meta:
        model = AmcInstance
        fields = [
            "id",
            "instance_id",
            "instance_name",
            "account",
            "account_name",
            "entity_id",
            "marketplace_id",
            "region",
            "time_zone",
            "concurrency_cap",
            "is_active",
            "created_at",
        ]
        read_only_fields = fields


class InstanceViewSet(viewsets.ReadOnlyModelViewSet):
    """AMC instances the signed-in user has access to; any other instance is a 404."""

    serializer_class = InstanceSerializer
    lookup_value_regex = UUID_PATTERN
    filterset_fields = ["region", "is_active", "account"]
    search_fields = ["instance_name", "instance_id", "account__name"]
    ordering_fields = ["instance_name", "created_at"]
    ordering = ["instance_name"]

    def get_queryset(self):
        return instances_for_user(user=self.request.user)
