"""Demo data: a demo user, two AMC accounts with instances, and the template catalogue."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from instances.models import AccessRole, AmcInstance
from instances.services import (
    ensure_analysts_group,
    ensure_operations_group,
    grant_access,
    simulator_endpoints,
    upsert_account,
    upsert_instance,
)
from reports.models import ReportDefinition
from reports.services.reports import create_report
from reports.services.templates import upsert_catalogue

DEMO_ACCOUNTS = [
    {
        "name": "Acme Home & Kitchen",
        "account_id": "ENTITYDEMO1A",
        "instances": [
            ("amcrecodemo01", "Acme Home US", "America/New_York"),
            ("amcrecodemo02", "Acme Kitchen US", "America/Los_Angeles"),
        ],
    },
    {
        "name": "Brightside Beauty",
        "account_id": "ENTITYDEMO2B",
        "instances": [("amcrecodemo03", "Brightside Beauty US", "America/Chicago")],
    },
]


DEMO_REPORTS = [
    ("Acme daily campaign performance", "campaign-performance-daily"),
    ("Acme funnel", "impressions-to-purchase-funnel"),
    ("Acme search terms", "search-term-performance"),
]


class Command(BaseCommand):
    help = "Create the demo user, AMC accounts and instances, and the template catalogue."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument(
            "--password", default=os.environ.get("RECOMAMP_DEMO_PASSWORD"), help="Default: random."
        )

    @transaction.atomic
    def handle(self, *args, username: str, password: str | None, **options):
        password = password or secrets.token_urlsafe(9)
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(
            username=username, defaults={"email": f"{username}@recomamp.example"}
        )
        user.is_staff = True
        user.set_password(password)
        user.save()
        user.groups.add(ensure_analysts_group())
        ensure_operations_group()  # empty: operators are added by a superuser

        endpoints = simulator_endpoints()
        for spec in DEMO_ACCOUNTS:
            account = upsert_account(
                account_id=spec["account_id"],
                marketplace_id="ATVPDKIKX0DER",
                name=spec["name"],
                lwa_refresh_token=f"Atzr|demo-refresh-token-{spec['account_id'].lower()}",
                **endpoints,
            )
            for instance_id, name, time_zone in spec["instances"]:
                instance = upsert_instance(
                    instance_id=instance_id,
                    account=account,
                    instance_name=name,
                    time_zone=time_zone,
                )
                # The demo user runs the demo instances, access to them included.
                grant_access(user=user, instance=instance, role=AccessRole.ADMIN)

        templates = {template.template_id: template for template in upsert_catalogue()}
        first_instance = AmcInstance.objects.get(instance_id="amcrecodemo01")
        for name, template_id in DEMO_REPORTS:
            if not ReportDefinition.objects.filter(name=name, instance=first_instance).exists():
                create_report(
                    user=user,
                    name=name,
                    template=templates[template_id],
                    instance=first_instance,
                    lookback_days=30,
                    frequency="daily",
                )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {len(templates)} templates, "
                f"{sum(len(a['instances']) for a in DEMO_ACCOUNTS)} instances."
            )
        )
        self.stdout.write(f"Login: {username} / {password}")
