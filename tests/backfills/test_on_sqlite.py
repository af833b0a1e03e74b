"""Backfills also work on the embedded default (SQLite): created, listed and read with their
progress through the API and the admin, where PostgreSQL's ARRAY_AGG does not exist."""

from tests.fixtures.sqlite import run_on_sqlite

SCRIPT = """
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from backfills.models import Backfill
from backfills.services import run_segment
from instances.models import AccessRole, AmcAccount, AmcInstance, InstanceAccess
from reports.models import ReportDefinition
from reports.services.templates import upsert_catalogue

template = {t.template_id: t for t in upsert_catalogue()}["campaign-performance-daily"]
user = get_user_model().objects.create(username="analyst", is_staff=True)
account = AmcAccount.objects.create(name="A", account_id="ENTITYSQLITE")
instance = AmcInstance.objects.create(account=account, instance_id="amcsqlite", instance_name="I")
InstanceAccess.objects.create(user=user, instance=instance, role=AccessRole.ANALYST)
report = ReportDefinition.objects.create(name="R", template=template, instance=instance, owner=user)
client = APIClient(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
created = client.post(
    "/api/backfills/",
    {
        "report": report.report_id,
        "lookback_config": {"type": "relative", "value": 4, "unit": "days"},
        "segmentation_config": {"type": "daily", "parallel_limit": 2},
    },
    format="json",
)
backfill = Backfill.objects.get()
for segment in backfill.segments.order_by("sequence"):
    run_segment(segment_pk=segment.pk)
listed = client.get("/api/backfills/")
read = client.get(f"/api/backfills/{backfill.pk}/")
progress = read.json()["progress"]
root = get_user_model().objects.create(username="root", is_staff=True, is_superuser=True)
admin = Client()
admin.force_login(root)
changelist = admin.get("/admin/backfills/backfill/")
print(created.status_code, listed.status_code, read.status_code, progress["total"],
      progress["running"], progress["pending"], progress["time_left_seconds"] > 0,
      changelist.status_code)
"""


def test_a_backfill_is_created_and_read_with_its_progress_on_sqlite(tmp_path):
    # Two segments run (the parallel limit), two wait; the time left counts the running ones.
    assert run_on_sqlite(SCRIPT, tmp_path) == ["201", "200", "200", "4", "2", "2", "True", "200"]
