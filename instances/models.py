"""AMC accounts, their instances, and who may use which instance."""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from instances.endpoints import validate_amc_endpoint
from recomamp.crypto import EncryptedTextField


class Region(models.TextChoices):
    NORTH_AMERICA = "NA", "North America"
    EUROPE = "EU", "Europe"
    FAR_EAST = "FE", "Far East"


class AmcAccount(models.Model):
    """An advertiser's AMC account: the entity id and marketplace every API call carries."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    account_id = models.CharField(
        "entity (advertiser) id",
        max_length=100,
        help_text="Sent as Amazon-Advertising-API-AdvertiserId.",
    )
    marketplace_id = models.CharField(max_length=20, default="ATVPDKIKX0DER")
    region = models.CharField(max_length=2, choices=Region.choices, default=Region.NORTH_AMERICA)
    api_base_url = models.URLField(
        blank=True,
        validators=[validate_amc_endpoint],
        help_text="Blank: the region's Amazon Ads host. A simulator's URL to use that instead.",
    )
    lwa_client_id = models.CharField(
        "LWA client id", max_length=200, blank=True, help_text="Blank: the AMC_CLIENT_ID setting."
    )
    lwa_client_secret = EncryptedTextField(
        "LWA client secret", blank=True, help_text="Stored encrypted; blank: AMC_CLIENT_SECRET."
    )
    lwa_refresh_token = EncryptedTextField(
        "LWA refresh token", blank=True, help_text="Stored encrypted."
    )
    token_url = models.URLField(
        blank=True,
        validators=[validate_amc_endpoint],
        help_text="Blank: the AMC_TOKEN_URL setting.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "AMC account"
        db_table = "amc_accounts"
        ordering = ["name"]
        # Accounts hold credentials and span instances: only superusers and holders of this
        # permission see or change them (the admin checks it; no group gets it by default).
        permissions = [("manage_accounts", "Can see and change AMC accounts and credentials")]
        constraints = [
            models.UniqueConstraint(
                fields=["account_id", "marketplace_id"], name="amc_accounts_entity_marketplace_uniq"
            ),
            models.CheckConstraint(
                condition=models.Q(region__in=Region.values), name="amc_accounts_region_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_id})"


class AmcInstance(models.Model):
    """One AMC instance (a clean room). `instance_id` is AMC's own string id, used in API paths."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(AmcAccount, on_delete=models.CASCADE, related_name="instances")
    instance_id = models.CharField(
        "AMC instance id",
        max_length=100,
        unique=True,
        help_text="AMC's string id, e.g. amcabc12345.",
    )
    instance_name = models.CharField(max_length=200)
    region = models.CharField(max_length=2, choices=Region.choices, default=Region.NORTH_AMERICA)
    data_upload_account_id = models.CharField(max_length=100, blank=True)
    data_upload_bucket = models.CharField(max_length=200, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", help_text="The client's timezone.")
    concurrency_cap = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text="Most executions in flight at AMC at once, across all workers.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "AMC instance"
        db_table = "amc_instances"
        ordering = ["instance_name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(concurrency_cap__gte=1, concurrency_cap__lte=50),
                name="amc_instances_concurrency_cap_range",
            ),
            models.CheckConstraint(
                condition=models.Q(region__in=Region.values), name="amc_instances_region_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instance_name} ({self.instance_id})"


class AccessRole(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    ANALYST = "analyst", "Analyst"
    ADMIN = "admin", "Admin"


class InstanceAccess(models.Model):
    """Grants a user one instance; everything under the instance is visible only through this."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="instance_access"
    )
    instance = models.ForeignKey(AmcInstance, on_delete=models.CASCADE, related_name="access")
    role = models.CharField(max_length=10, choices=AccessRole.choices, default=AccessRole.ANALYST)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "instance_access"
        verbose_name_plural = "instance access"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "instance"], name="instance_access_user_instance_uniq"
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=AccessRole.values), name="instance_access_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.instance} ({self.role})"
