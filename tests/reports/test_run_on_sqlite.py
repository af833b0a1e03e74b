"""Run requests also work on the embedded default (SQLite), where the hot path's written-out
statements (PostgreSQL only) give way to the ORM."""

from tests.fixtures.sqlite import run_on_sqlite

SCRIPT = """
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from instances.models import AccessRole, AmcAccount, AmcInstance, InstanceAccess
from reports.models import ReportBuilderAudit, ReportDefinition, ReportExecution
from reports.services.templates import upsert_catalogue

template = {t.template_id: t for t in upsert_catalogue()}["campaign-performance-daily"]
user = get_user_model().objects.create(username="analyst")
account = AmcAccount.objects.create(name="A", account_id="ENTITYSQLITE")
instance = AmcInstance.objects.create(account=account, instance_id="amcsqlite", instance_name="I")
other = AmcInstance.objects.create(account=account, instance_id="amcother", instance_name="O")
InstanceAccess.objects.create(user=user, instance=instance, role=AccessRole.ANALYST)
mine = ReportDefinition.objects.create(name="R", template=template, instance=instance, owner=user)
foreign = ReportDefinition.objects.create(name="F", template=template, instance=other, owner=user)
client = APIClient(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
ran = client.post(f"/api/reports/{mine.report_id}/run/", {}, format="json")
hidden = client.post(f"/api/reports/{foreign.report_id}/run/", {}, format="json")
audited = ReportBuilderAudit.objects.filter(action="run requested", user=user).count()
print(ran.status_code, ran.json()["triggered_by"], hidden.status_code,
      ReportExecution.objects.filter(report=mine).count(), audited)
"""


def test_a_run_request_with_a_token_runs_on_sqlite_and_keeps_tenancy(tmp_path):
    assert run_on_sqlite(SCRIPT, tmp_path) == ["202", "api", "404", "1", "1"]
