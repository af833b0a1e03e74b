"""The dispatcher also runs on the embedded default (SQLite), where `make run` uses it."""

from tests.fixtures.sqlite import run_on_sqlite

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
    assert run_on_sqlite(SCRIPT, tmp_path) == ["1", "1", "True"]
