"""Exports: every format for every demo dashboard, read back; ownership, expiry, reuse, sweeper."""

import csv
import datetime as dt
import io
from datetime import timedelta

import openpyxl
import pypdfium2
import pytest
from django.utils import timezone
from pypdf import PdfReader
from rest_framework.test import APIClient

from dashboards.exports import services
from dashboards.models import ExportStatus, ReportExport
from dashboards.services import refresh
from tests.dashboards.conftest import overlapping_history
from tests.factories.instances import InstanceAccessFactory, UserFactory

pytestmark = pytest.mark.django_db


def request_and_build(api, run_export_tasks, dashboard_id, fmt):
    with run_export_tasks(execute=True):
        response = api.post(f"/api/dashboards/{dashboard_id}/exports/", {"format": fmt})
    assert response.status_code == 202, response.content
    status = api.get(f"/api/exports/{response.json()['id']}/")
    assert status.status_code == 200
    body = status.json()
    assert body["status"] == "completed", body
    download = api.get(body["download_url"])
    assert download.status_code == 200
    return body, b"".join(download.streaming_content)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_pdf_tables_are_capped_and_repeat_their_header_on_every_page(
    api, demo_dashboards, run_export_tasks, settings
):
    settings.RECOMAMP_EXPORT_PDF_MAX_TABLE_ROWS = 45
    configuration, _ = demo_dashboards[0]  # campaign performance: a 60-row table
    _, data = request_and_build(api, run_export_tasks, configuration.dashboard_id, "pdf")
    reader = PdfReader(io.BytesIO(data))
    table_pages = [p.extract_text() for p in reader.pages if "Campaign 0" in p.extract_text()]
    assert len(table_pages) >= 2
    for text in table_pages:
        assert "Impressions" in text and "Clicks" in text  # the header on each page
    text = pdf_text(data)
    assert "Campaign 045" in text and "Campaign 046" not in text
    assert "Showing the first 45 of 60 rows" in text
    assert "held steady over the window" in text  # the insight
    assert "<svg" not in text


def test_csv_holds_the_raw_rows_of_the_run_with_its_amc_window(
    api, demo_dashboards, run_export_tasks
):
    for configuration, _ in demo_dashboards:
        _, data = request_and_build(api, run_export_tasks, configuration.dashboard_id, "csv")
        rows = list(csv.DictReader(io.StringIO(data.decode())))
        execution = configuration.report.executions.get()
        stored = [r.data for r in execution.rows.order_by("row_number")]
        assert len(rows) == len(stored) == 60
        assert list(rows[0])[:2] == ["amc_window_start", "amc_window_end"]
        assert {k: v for k, v in rows[5].items() if not k.startswith("amc_window")} == {
            k: str(v) for k, v in stored[5].items()
        }
        assert rows[5]["amc_window_start"] == execution.time_window_start.date().isoformat()


def test_csv_of_a_backfilled_report_holds_every_day_from_the_run_that_wins_it(
    api, report, sent_refreshes, run_export_tasks
):
    start = dt.date(2026, 3, 1)
    overlapping_history(report, start=start)
    refresh.refresh_dashboard(report.dashboard_id)

    _, data = request_and_build(api, run_export_tasks, report.dashboard_id, "csv")
    rows = list(csv.DictReader(io.StringIO(data.decode())))

    assert len(rows) == 10 * 3  # ten days of three campaigns, no day twice
    assert [r["event_date"] for r in rows] == sorted(r["event_date"] for r in rows)
    assert sum(float(r["spend"]) for r in rows) == pytest.approx(3 * 30 + 7 * 60)
    day_5 = [r for r in rows if r["event_date"] == (start + dt.timedelta(days=5)).isoformat()]
    assert {(r["amc_window_start"], r["amc_window_end"]) for r in day_5} == {
        ((start + dt.timedelta(days=3)).isoformat(), (start + dt.timedelta(days=9)).isoformat())
    }


def test_excel_has_a_sheet_per_table_number_formats_and_frozen_headers(
    api, demo_dashboards, run_export_tasks
):
    for configuration, cards in demo_dashboards:
        _, data = request_and_build(api, run_export_tasks, configuration.dashboard_id, "excel")
        workbook = openpyxl.load_workbook(io.BytesIO(data))
        tables = [v.view_name for v in configuration.views.filter(view_type="table")]
        for title in tables:
            sheet = workbook[title[:31]]
            assert sheet.freeze_panes == "A2"
            assert sheet.max_row == 61
        data_sheet = workbook["Data"]
        assert data_sheet.freeze_panes == "A2"
        assert data_sheet.max_row == 61
        numbers = [c for c in data_sheet[2] if isinstance(c.value, int | float)]
        assert numbers and all(c.number_format in ("#,##0", "#,##0.00") for c in numbers)
        if cards:
            summary = {r[0]: r[1] for r in workbook["Summary"].iter_rows(values_only=True)}
            for title, value in cards.items():
                assert summary[title] == pytest.approx(value)


def test_an_expired_export_answers_410_and_another_user_gets_404(
    api, demo_dashboards, run_export_tasks, instance
):
    configuration, _ = demo_dashboards[1]
    body, _ = request_and_build(api, run_export_tasks, configuration.dashboard_id, "csv")
    colleague = APIClient()
    colleague.force_authenticate(InstanceAccessFactory(instance=instance).user)
    assert colleague.get(f"/api/exports/{body['id']}/").status_code == 404
    response = colleague.get(f"/api/exports/{body['id']}/download/")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"
    stranger = APIClient()
    stranger.force_authenticate(UserFactory())
    assert stranger.get(f"/api/exports/{body['id']}/download/").status_code == 404
    ReportExport.objects.filter(pk=body["id"]).update(expires_at=timezone.now())
    response = api.get(f"/api/exports/{body['id']}/download/")
    assert response.status_code == 410
    assert response.json()["errors"][0]["code"] == "expired"


def test_an_identical_request_reuses_the_valid_file(api, demo_dashboards, run_export_tasks):
    configuration, _ = demo_dashboards[0]
    first, _ = request_and_build(api, run_export_tasks, configuration.dashboard_id, "excel")
    with run_export_tasks(execute=True) as queued:
        again = api.post(
            f"/api/dashboards/{configuration.dashboard_id}/exports/", {"format": "excel"}
        )
    assert again.status_code == 202
    assert again.json()["id"] == first["id"] and again.json()["status"] == "completed"
    assert queued == []
    # New data makes the old file stale: a new export is built.
    configuration.views.update(data_updated_at=timezone.now() + timedelta(seconds=1))
    with run_export_tasks(execute=True):
        fresh = api.post(
            f"/api/dashboards/{configuration.dashboard_id}/exports/", {"format": "excel"}
        )
    assert fresh.json()["id"] != first["id"]


def test_a_pending_export_is_not_downloadable_and_a_bad_format_names_the_field(
    api, demo_dashboards
):
    configuration, _ = demo_dashboards[0]
    response = api.post(f"/api/dashboards/{configuration.dashboard_id}/exports/", {"format": "doc"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "format"
    response = api.post(f"/api/dashboards/{configuration.dashboard_id}/exports/", {"format": "pdf"})
    assert response.status_code == 202 and response.json()["status"] == "pending"
    assert response.json()["download_url"] is None
    download = api.get(f"/api/exports/{response.json()['id']}/download/")
    assert download.status_code == 409


def test_a_dashboard_on_another_instance_cannot_be_exported(api, foreign_instance, catalogue):
    from tests.dashboards.demo import build_demo_dashboard

    configuration, _ = build_demo_dashboard(
        template=catalogue["search-term-performance"],
        instance=foreign_instance,
        owner=UserFactory(),
        row_count=3,
    )
    response = api.post(f"/api/dashboards/{configuration.dashboard_id}/exports/", {"format": "pdf"})
    assert response.status_code == 404
    assert not ReportExport.objects.exists()


def test_sweeper_deletes_expired_files_and_fails_stuck_exports(
    api, demo_dashboards, run_export_tasks, analyst
):
    configuration, _ = demo_dashboards[0]
    body, _ = request_and_build(api, run_export_tasks, configuration.dashboard_id, "csv")
    export = ReportExport.objects.get(pk=body["id"])
    storage, name = export.file.storage, export.file.name
    assert storage.exists(name)
    stuck = ReportExport.objects.create(
        report_configuration=configuration,
        user=analyst,
        export_format="pdf",
        status=ExportStatus.PROCESSING,
    )
    ReportExport.objects.filter(pk=stuck.pk).update(created_at=timezone.now() - timedelta(hours=2))
    assert services.sweep_exports(now=timezone.now() + timedelta(days=2)) == {
        "expired": 1,
        "stuck": 1,
    }
    assert not storage.exists(name)
    stuck.refresh_from_db()
    assert stuck.status == ExportStatus.FAILED and stuck.error_message
    assert api.get(f"/api/exports/{export.pk}/download/").status_code == 410
    # Beat runs it hourly (an entry editable under Periodic tasks in the admin).
    from django_celery_beat.models import PeriodicTask

    entry = PeriodicTask.objects.get(name="Export sweeper")
    assert entry.task == "dashboards.exports.sweep_exports" and entry.enabled
    assert timedelta(**{entry.interval.period: entry.interval.every}) == timedelta(hours=1)
    # Idempotent: nothing left to do.
    assert services.sweep_exports(now=timezone.now() + timedelta(days=2)) == {
        "expired": 0,
        "stuck": 0,
    }


def test_a_build_that_raises_marks_the_export_failed_with_its_reason(
    api, demo_dashboards, run_export_tasks, monkeypatch
):
    configuration, _ = demo_dashboards[0]

    def broken(*args, **kwargs):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(services, "render_pdf", broken)
    with run_export_tasks(execute=True):
        response = api.post(
            f"/api/dashboards/{configuration.dashboard_id}/exports/", {"format": "pdf"}
        )
    export = ReportExport.objects.get(pk=response.json()["id"])
    assert export.status == ExportStatus.FAILED
    assert "renderer crashed" in export.error_message
    assert not export.file
    # A second delivery of the task does nothing.
    services.build_export(export_pk=export.pk)
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED


def test_the_pdf_renderer_fetches_no_external_resource():
    from dashboards.exports.content import Chart, DashboardContent
    from dashboards.exports.renderers.pdf import render_pdf

    content = DashboardContent(
        dashboard_id="x",
        title="T",
        charts=[
            Chart(
                "c",
                '<svg xmlns="http://www.w3.org/2000/svg"><image width="9" height="9" '
                'href="http://169.254.169.254/x.png"/></svg>',
            )
        ],
    )
    data = render_pdf(content)
    assert pypdfium2.PdfDocument(data)[0].get_textpage().get_text_range().strip().startswith("T")
