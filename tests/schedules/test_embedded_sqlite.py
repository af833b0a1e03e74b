"""The dispatcher also runs on the embedded default (SQLite), where `make run` uses it."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import datetime as dt
from django.contrib.auth import get_user_model
from django.utils import timezone
from instances.models import AmcAccount, AmcInstance
from reports.models import ReportDefinition, ReportExecution
from reports.services.templates import upsert_catalogue
from schedules.models import ReportSchedule
from schedules.services import dispatch_due_schedules

template = {t.template_id: t for t in upsert_catalogue()}["impressions-to-purchase-funnel"]
user = get_user_model().objects.create(username="owner")
account = AmcAccount.objects.create(name="A", account_id="ENTITYSQLITE")
instance = AmcInstance.objects.create(account=account, instance_id="amcsqlite", instance_name="I")
report = ReportDefinition.objects.create(name="R", template=template, instance=instance, owner=user)
due = timezone.now() - dt.timedelta(minutes=1)
schedule = ReportSchedule.objects.create(
    report=report, schedule_type="daily", cron_expression="0 6 * * *", next_run_at=due
)
dispatch_due_schedules()
dispatch_due_schedules()
schedule.refresh_from_db()
report.refresh_from_db()
print(ReportExecution.objects.filter(schedule=schedule).count(), report.execution_count,
      schedule.next_run_at > timezone.now())
"""


def test_dispatcher_runs_a_due_schedule_once_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(RECOMAMP_VAR_DIR=str(tmp_path), CELERY_TASK_ALWAYS_EAGER="false")
    manage = [sys.executable, "manage.py"]
    migrate = subprocess.run(
        [*manage, "migrate", "--no-input"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert migrate.returncode == 0, migrate.stderr
    result = subprocess.run(
        [*manage, "shell", "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["1", "1", "True"]
