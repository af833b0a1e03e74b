"""Acceptance: every demo dashboard (each catalogue template run on the AMC simulator and
refreshed) is exported in the four formats, and each file is read back."""

import csv
import io

import openpyxl
import pytest
from PIL import Image
from pypdf import PdfReader

from dashboards.selectors import dashboard_content
from dashboards.services import refresh
from dashboards.services.building import build_dashboard
from instances.models import AccessRole
from reports.amc import client_for_instance
from reports.catalogue import TEMPLATES
from reports.models import ExecutionStatus
from reports.services.executions import run_report
from reports.windows import lookback_window
from tests.factories.instances import AmcAccountFactory, AmcInstanceFactory, InstanceAccessFactory
from tests.factories.reports import ReportDefinitionFactory
from tests.fixtures.inprocess import InProcessWorker
from tests.fixtures.workers import ENGINE_ENV
from tests.reports.test_catalogue_on_simulator import run_on_simulator

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_instance(amc_sim, analyst):
    account = AmcAccountFactory(
        api_base_url=amc_sim.url,
        token_url=f"{amc_sim.url}/auth/o2/token",
        lwa_refresh_token="Atzr|test-refresh-token",
    )
    instance = AmcInstanceFactory(account=account, concurrency_cap=8)
    amc_sim.add_instance(
        instance.instance_id,
        advertiser_id=account.account_id,
        marketplace_id=account.marketplace_id,
        seed=1,
        concurrency_limit=10,
        pending_seconds=0.05,
        running_seconds=0.1,
    )
    InstanceAccessFactory(user=analyst, instance=instance, role=AccessRole.ANALYST)
    return instance


@pytest.fixture
def simulated_demo_dashboards(demo_instance, analyst, catalogue, monkeypatch, settings):
    """Each catalogue template as a report on the simulator, run once and its dashboard
    refreshed, as the product does after a run: [(report, dashboard)]."""
    for name, value in ENGINE_ENV.items():
        setattr(settings, name, float(value))
    settings.RECOMAMP_RUNS_PER_USER_PER_MINUTE = 1000
    settings.RECOMAMP_RUNS_PER_INSTANCE_PER_MINUTE = 1000
    worker = InProcessWorker(monkeypatch)
    asins = [
        row["tracked_asin"]
        for row in run_on_simulator(
            client_for_instance(demo_instance),
            demo_instance.instance_id,
            "SELECT tracked_asin, COUNT(DISTINCT user_id) AS buyers "
            "FROM amazon_attributed_events_by_conversion_time WHERE purchases > 0 "
            "GROUP BY tracked_asin ORDER BY buyers DESC LIMIT 3",
            lookback_window(lookback_days=30, tz_name="UTC"),
        )
    ]
    made = []
    for spec in TEMPLATES:
        template = catalogue[spec["template_id"]]
        parameters = {"asins": asins} if spec["template_id"] == "asin-conversions" else {}
        report = ReportDefinitionFactory(
            template=template,
            instance=demo_instance,
            owner=analyst,
            name=template.name,
            parameters=parameters,
            lookback_days=30,
        )
        dashboard = build_dashboard(report=report).dashboard
        run_report(report=report, user=analyst)
        made.append((report, dashboard))
    worker.run_until_idle()
    for report, dashboard in made:
        assert report.executions.get().status == ExecutionStatus.COMPLETED, report.name
        refresh.refresh_dashboard(dashboard.pk)
    return made


def build(api, run_export_tasks, dashboard, fmt) -> bytes:
    with run_export_tasks(execute=True):
        response = api.post(f"/api/dashboards/{dashboard.pk}/exports/", {"format": fmt})
    assert response.status_code == 202, response.content
    body = api.get(f"/api/exports/{response.json()['id']}/").json()
    assert body["status"] == "completed", (dashboard.name, fmt, body)
    download = api.get(body["download_url"])
    assert download.status_code == 200
    return b"".join(download.streaming_content)


def test_every_demo_dashboard_exports_in_every_format_and_each_file_reads_back(
    api, simulated_demo_dashboards, run_export_tasks
):
    for report, dashboard in simulated_demo_dashboards:
        shown = dashboard_content(dashboard=dashboard)
        assert shown.status == "ready", dashboard.name

        pdf = build(api, run_export_tasks, dashboard, "pdf")
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
        assert dashboard.name in text
        for card in shown.cards:
            assert card.display["value"] in text, (dashboard.name, card.title)
        for insight in shown.insights:
            assert insight["text"][:30] in text.replace("\n", " "), dashboard.name

        png = Image.open(io.BytesIO(build(api, run_export_tasks, dashboard, "png")))
        png.load()
        assert png.format == "PNG" and (png.width, png.height) > (1000, 1500)
        darkest, lightest = png.convert("L").getextrema()
        assert lightest - darkest > 100, dashboard.name

        rows = list(
            csv.DictReader(io.StringIO(build(api, run_export_tasks, dashboard, "csv").decode()))
        )
        execution = report.executions.get()
        assert len(rows) == execution.rows.count() == execution.row_count, dashboard.name

        workbook = openpyxl.load_workbook(
            io.BytesIO(build(api, run_export_tasks, dashboard, "excel"))
        )
        for table in shown.tables:
            sheet = next(s for s in workbook.worksheets if s.title.startswith(table.title[:25]))
            assert sheet.freeze_panes == "A2"
            assert sheet.max_row == len(table.data["rows"]) + 1, (dashboard.name, table.title)
        assert workbook["Data"].max_row == execution.row_count + 1
        if shown.cards:
            summary = dict(workbook["Summary"].iter_rows(min_row=2, values_only=True))
            for card in shown.cards:
                assert summary[card.title] == pytest.approx(card.data["value"]), card.title
