"""An analyst walks the report builder in Chromium, from the admin's report list to the admin."""

import re

import pytest

from backfills.models import Backfill
from instances.models import AccessRole
from instances.services import ensure_analysts_group
from reports.models import ReportBuilderAudit, ReportDefinition
from schedules.models import ReportSchedule
from tests.factories.instances import InstanceAccessFactory, UserFactory
from tests.factories.reports import QueryTemplateFactory
from tests.fixtures.browser import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def walker(db):
    user = UserFactory(username="walker", is_staff=True)
    user.groups.add(ensure_analysts_group())
    instance = InstanceAccessFactory(user=user, role=AccessRole.ANALYST).instance
    QueryTemplateFactory(
        template_id="asin-purchases",
        name="ASIN purchases",
        category="Product",
        description="Purchases per tracked ASIN since a date.",
        sql_query=(
            "SELECT tracked_asin, SUM(purchases) AS purchases "
            "FROM amazon_attributed_events_by_conversion_time "
            "WHERE tracked_asin IN ({{asins}}) AND conversion_event_dt >= {{since}} "
            "AND ('{{attribution}}' = 'all' OR attribution = '{{attribution}}') "
            "GROUP BY tracked_asin"
        ),
        parameter_definitions=[
            {
                "name": "asins",
                "type": "asin_list",
                "label": "ASINs",
                "description": "The tracked ASINs.",
            },
            {"name": "since", "type": "date", "label": "Since"},
            {
                "name": "attribution",
                "type": "enum",
                "options": ["all", "view", "click"],
                "default": "all",
            },
        ],
    )
    QueryTemplateFactory(template_id="campaign-spend", name="Campaign spend", category="Other")
    return user, instance


def test_an_analyst_builds_a_scheduled_backfilled_report_in_the_wizard(
    login_page, live_server, walker
):
    user, instance = walker
    page = login_page(user)

    # The admin's report list links to the builder.
    page.goto(f"{live_server.url}/admin/reports/reportdefinition/")
    page.click("#new-report")
    page.wait_for_url(re.compile(r"/builder/$"))
    page.fill("#builder-search", "asin")
    assert page.locator(".builder-card", has_text="Campaign spend").is_hidden()
    card = page.locator(".builder-card", has_text="ASIN purchases")
    assert "Purchases per tracked ASIN" in card.inner_text()
    screenshot(page, "builder-1-template-picker")
    card.click()

    # Step 1: parameters, with an inline error for a bad ASIN, then fixed.
    page.wait_for_url(re.compile(r"/parameters/$"))
    page.fill("#id_name", "Hero ASINs weekly")
    page.fill("#id_timezone", "Europe/Berlin")
    assert page.locator("#id_instance").input_value() == str(instance.pk)
    asins = page.locator("#id_parameters__asins")
    asins.fill("B012345678\nB0BAD")
    errors = page.locator("[data-errors-for=asins]")
    errors.get_by_text("'B0BAD' is not an ASIN").wait_for()
    page.fill("#id_parameters__since", "2026-09-01")
    screenshot(page, "builder-2-parameters-inline-error")
    asins.fill("B012345678, B087654321\nB0ABCDEFGH")
    page.wait_for_function(
        "document.querySelector('[data-errors-for=asins]').children.length === 0"
    )
    page.locator("#builder-sql").get_by_text("'B0ABCDEFGH'").wait_for(state="attached")
    screenshot(page, "builder-3-parameters-fixed")
    page.click("#builder-next")

    # Step 2: weekly on Monday 09:00 Europe/Berlin, the next runs, a 90-day weekly backfill.
    page.wait_for_url(re.compile(r"/schedule/$"))
    page.check("#id_mode_1")
    page.select_option("#id_frequency", "weekly")
    for day in page.locator("[name=days_of_week]").all():
        if day.get_attribute("value") != "1":
            day.uncheck()
    page.check("[name=days_of_week][value='1']")
    page.fill("#id_time", "09:00")
    page.fill("#id_schedule_timezone", "Europe/Berlin")
    runs = page.locator("#builder-runs-table tr")
    page.wait_for_function("document.querySelectorAll('#builder-runs-table tr').length === 6")
    for row in runs.all()[1:]:
        local = row.locator("td").first.inner_text()
        assert local.startswith("Mon") and "09:00" in local, local
    page.check("#id_backfill")
    page.fill("#id_lookback_value", "90")
    page.select_option("#id_lookback_unit", "days")
    page.select_option("#id_segment_type", "weekly")
    summary = page.locator("#builder-backfill-summary")
    summary.get_by_text("(90 days)").wait_for()
    assert "weekly segments" in summary.inner_text()
    screenshot(page, "builder-4-schedule-and-backfill")
    page.click("#builder-next")

    # Step 3: review, then submit.
    page.wait_for_url(re.compile(r"/review/$"))
    review = page.locator("#content-main").inner_text()
    assert "3 items: B012345678, B087654321, B0ABCDEFGH" in review
    assert "0 9 * * 1" in review
    assert "Europe/Berlin" in review
    assert "90 days" in review
    screenshot(page, "builder-5-review")
    page.click("#builder-submit")

    # The report's change page in the admin: parameters as a form, the audit trail inline.
    page.wait_for_url(re.compile(r"/admin/reports/reportdefinition/.+/change/$"))
    report = ReportDefinition.objects.get()
    assert page.locator(".messagelist").inner_text().strip().startswith("Report Hero ASINs")
    assert page.locator("#id_parameters__since").input_value() == "2026-09-01"
    assert "B0ABCDEFGH" in page.locator("#id_parameters__asins").input_value()
    trail = page.locator("#audit-group").inner_text()
    for action in ("parameters valid", "schedule previewed", "reviewed", "builder submitted"):
        assert action in trail
    screenshot(page, "builder-6-report-in-admin")

    schedule = ReportSchedule.objects.get(report=report)
    page.goto(f"{live_server.url}/admin/schedules/reportschedule/?q={report.report_id}")
    assert schedule.schedule_id in page.locator("#result_list").inner_text()
    screenshot(page, "builder-7-schedule-in-admin")

    collection = Backfill.objects.get(report=report)
    assert collection.segment_type == "weekly"
    assert (collection.end_date - collection.start_date).days == 89
    page.goto(f"{live_server.url}/admin/backfills/backfill/?q={report.report_id}")
    assert page.locator("#result_list tbody tr").count() == 1
    screenshot(page, "builder-8-backfill-in-admin")

    page.goto(f"{live_server.url}/admin/reports/reportbuilderaudit/?q={report.report_id}")
    assert (
        page.locator("#result_list tbody tr").count()
        == ReportBuilderAudit.objects.filter(report=report).count()
    )
    screenshot(page, "builder-9-audit-in-admin")

    # The trail tells the walk in order.
    walk = list(
        ReportBuilderAudit.objects.filter(report=report)
        .order_by("created_at")
        .values_list("step", "action")
    )
    assert walk == [
        ("parameters", "parameters valid"),
        ("schedule", "schedule previewed"),
        ("review", "reviewed"),
        ("submit", "report created"),
        ("schedule", "schedule created"),
        ("submit", "backfill created"),
        ("submit", "builder submitted"),
    ]
    assert page.js_errors == []
