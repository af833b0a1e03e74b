"""An analyst in Chromium: the demo dashboards are drawn, a date filter applies and stays in the
URL, a favorite goes first in the list, and the interactive chart loads from our own static
file. Screenshots of each step are kept as test artifacts."""

import datetime as dt
import re

import pytest
from django.core.management import call_command

from dashboards.services import refresh
from reports.models import ReportDefinition
from reports.services.executions import render_for_report
from tests.dashboards.conftest import completed_run
from tests.dashboards.simulated import query
from tests.fixtures.browser import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "demo-browser-pw-1"


@pytest.fixture
def demo(amc_sim, settings, sent_refreshes, django_user_model):
    """seed_demo against the simulator, each demo report's last 30 days stored as a completed
    run, and its dashboard refreshed."""
    settings.AMC_SIMULATOR_URL = amc_sim.url
    call_command("seed_demo", password=PASSWORD)
    end = dt.date.today() - dt.timedelta(days=settings.AMC_DATA_LAG_DAYS)
    start = end - dt.timedelta(days=29)
    reports = list(ReportDefinition.objects.select_related("instance", "template"))
    for report in reports:
        sql, _ = render_for_report(report=report)
        rows = [_typed(row) for row in query(report.instance, sql)]
        completed_run(report, start=start, days=30, rows=rows)
        refresh.refresh_dashboard(report.dashboard_id)
    return {r.template.template_id: r for r in reports}, django_user_model.objects.get(
        username="demo"
    )


def _typed(row: dict) -> dict:
    """CSV text as the engine loads it (numbers as JSON numbers)."""
    from reports.engine.results import typed

    return typed(row)


def drawn_marks(page, selector=".chart-body svg") -> list[int]:
    """Per chart, how many marks (paths, rects, symbols) its SVG has."""
    return page.eval_on_selector_all(
        selector,
        "svgs => svgs.map(s => s.querySelectorAll('path, rect, circle').length)",
    )


def scripts_loaded(page) -> None:
    """htmx and dashboards.js load after the page's first frame (the widgets need neither)."""
    page.wait_for_function("document.documentElement.dataset.scripts === 'loaded'")


def test_an_analyst_reads_filters_and_favorites_the_demo_dashboards(demo, login_page, live_server):
    reports, user = demo
    performance = reports["campaign-performance-daily"]
    search_terms = reports["search-term-performance"]
    page = login_page(user, PASSWORD)

    # From the admin to the list of dashboards.
    page.goto(f"{live_server.url}/admin/")
    page.get_by_role("link", name="Dashboards").first.click()
    page.wait_for_url(re.compile(r"/dashboards/$"))
    rows = page.locator("#dashboard-list tbody tr")
    assert rows.count() == 3
    screenshot(page, "dashboards-list")

    # The performance dashboard: cards with values, charts drawn, a table with totals.
    page.get_by_role("link", name=performance.name).click()
    page.wait_for_selector('[data-status="ready"]')
    cards = page.locator('[data-widget="metric_card"] .value').all_inner_texts()
    assert len(cards) == 3 and all(re.search(r"\d", text) for text in cards)
    marks = drawn_marks(page)
    assert len(marks) == 2 and all(count > 5 for count in marks), marks
    assert page.locator('[data-widget="table"] tbody tr').count() >= 3
    assert page.locator('[data-widget="table"] tfoot').inner_text().startswith("Total")
    assert "Data as of" in page.locator(".meta").inner_text()
    campaigns = page.locator('select[name="campaign"] option').all_inner_texts()
    assert campaigns[0] == "All" and len(campaigns) > 2  # filled in after the widgets
    assert page.locator("[data-insights-scope]").count() == 0
    screenshot(page, "performance-dashboard")

    # A date filter: the URL carries it, the window shows it, the charts are drawn again.
    first_day = page.locator('input[name="start"]').get_attribute("min")
    start = dt.date.fromisoformat(first_day) + dt.timedelta(days=5)
    end = start + dt.timedelta(days=9)
    page.fill('input[name="start"]', start.isoformat())
    page.fill('input[name="end"]', end.isoformat())
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(rf"start={start.isoformat()}&end={end.isoformat()}"))
    assert f"{start.isoformat()} – {end.isoformat()}" in page.locator(".meta").inner_text()
    assert page.locator('input[name="start"]').input_value() == start.isoformat()
    line_points = page.eval_on_selector(
        '[data-widget="chart"] script[type="application/json"]',
        "s => new Set(JSON.parse(s.textContent).data.values.map(v => v.event_date)).size",
    )
    assert line_points == 10
    assert all(count > 5 for count in drawn_marks(page))
    # The insights are not narrowed by the filter, and the page says so.
    assert page.locator("[data-insights-scope]").is_visible()
    screenshot(page, "performance-dashboard-filtered")

    # The same chart, interactive, drawn by the vendored vega-embed (no CDN).
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    scripts_loaded(page)
    page.locator("[data-interactive]").first.click()
    page.wait_for_selector(".chart-body.vega-embed svg")
    assert any("/static/dashboards/vendor/vega-embed.bundle.js" in url for url in requests)
    assert all(url.startswith(live_server.url) for url in requests)
    # Its date axis names each of the ten days once, as the browser draws it.
    labels = page.locator(".chart-body.vega-embed svg .role-axis-label text").all_text_contents()
    days = [label for label in labels if re.fullmatch(r"[A-Z][a-z]{2} \d\d", label)]
    assert days[0] == start.strftime("%b %d") and len(days) == len(set(days)) == 10, labels
    screenshot(page, "performance-dashboard-interactive")

    # Favorite the search terms dashboard: it goes first in the list.
    page.goto(f"{live_server.url}/dashboards/{search_terms.dashboard_id}/")
    page.wait_for_selector('[data-status="ready"]')
    assert all(count > 0 for count in drawn_marks(page))
    star = page.locator(f'[data-testid="favorite-{search_terms.dashboard_id}"]')
    scripts_loaded(page)
    star.click()
    page.wait_for_selector(
        f'[data-testid="favorite-{search_terms.dashboard_id}"][aria-pressed="true"]'
    )
    screenshot(page, "search-terms-favorited")
    page.goto(f"{live_server.url}/dashboards/")
    first = page.locator("#dashboard-list tbody tr").first
    assert first.get_attribute("data-dashboard") == str(search_terms.dashboard_id)
    assert first.locator("button.favorite").get_attribute("aria-pressed") == "true"
    screenshot(page, "dashboards-list-favorite-first")

    # The funnel dashboard draws its funnel.
    page.goto(
        f"{live_server.url}/dashboards/{reports['impressions-to-purchase-funnel'].dashboard_id}/"
    )
    page.wait_for_selector('[data-status="ready"]')
    assert drawn_marks(page)[0] >= 5
    screenshot(page, "funnel-dashboard")
    assert page.js_errors == []


def test_a_dashboard_still_building_polls_until_its_data_arrives(
    demo, login_page, live_server, sent_refreshes
):
    reports, user = demo
    report = reports["search-term-performance"]
    from dashboards.models import Dashboard

    Dashboard.objects.filter(pk=report.dashboard_id).update(data_refreshed_at=None)
    refresh.mark_dirty(dashboard_pk=report.dashboard_id)
    page = login_page(user, PASSWORD)
    page.goto(f"{live_server.url}/dashboards/{report.dashboard_id}/")
    assert page.locator('[data-status="building"]').is_visible()
    screenshot(page, "dashboard-building")

    refresh.refresh_dashboard(report.dashboard_id)  # the worker's refresh lands
    page.wait_for_selector('[data-status="ready"]', timeout=10_000)
    assert all(count > 0 for count in drawn_marks(page))
    screenshot(page, "dashboard-built")


def test_an_analyst_exports_a_demo_dashboard_as_pdf_from_its_page(
    demo, login_page, live_server, monkeypatch
):
    from dashboards.exports import services, tasks

    # The export worker's code runs in the web process here, as soon as the request commits.
    monkeypatch.setattr(tasks.build_export, "delay", lambda pk: services.build_export(export_pk=pk))
    reports, user = demo
    report = reports["campaign-performance-daily"]
    page = login_page(user, PASSWORD)
    page.goto(f"{live_server.url}/dashboards/{report.dashboard_id}/")
    page.select_option("form.export select[name=format]", "pdf")
    screenshot(page, "dashboard-export-1-choose")
    page.click("form.export button[type=submit]")
    status = page.locator(".export-status")
    status.wait_for()
    assert status.get_attribute("data-status") == "completed", status.inner_text()
    assert "Ready: download the PDF file" in status.inner_text()
    screenshot(page, "dashboard-export-2-ready")
    with page.expect_download() as download:
        page.click(".export-status a")
    path = download.value.path()
    with open(path, "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    assert download.value.suggested_filename.endswith(".pdf")
    assert page.js_errors == []
