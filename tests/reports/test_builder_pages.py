"""The builder's pages and the admin's generated parameter form, through Django's test client."""

import re

import pytest
from django.test import Client

from instances.services import ensure_analysts_group
from reports.forms import ParametersField
from reports.models import ReportBuilderAudit, ReportDefinition
from schedules.models import ReportSchedule
from tests.factories.reports import QueryTemplateFactory, ReportDefinitionFactory

pytestmark = pytest.mark.django_db

DEFINITIONS = [
    {"name": "asins", "type": "asin_list", "label": "ASINs"},
    {"name": "since", "type": "date"},
    {"name": "lookback", "type": "relative_date", "default": "today-14d"},
    {"name": "period", "type": "date_range", "required": False},
    {"name": "ad_product", "type": "enum", "options": ["all", "sp", "sb"], "default": "all"},
    {"name": "ntb_only", "type": "boolean", "default": False},
    {"name": "min_ctr", "type": "percentage", "default": 0},
]
SQL = (
    "SELECT 1 FROM t WHERE a IN ({{asins}}) AND d >= {{since}} AND d >= {{lookback}} "
    "AND ({{period.start}} IS NULL OR d BETWEEN {{period.start}} AND {{period.end}}) "
    "AND p = {{ad_product}} AND n = {{ntb_only}} AND c >= {{min_ctr}}"
)


@pytest.fixture
def template(db):
    return QueryTemplateFactory(
        template_id="asin-check",
        name="ASIN check",
        sql_query=SQL,
        parameter_definitions=DEFINITIONS,
        ui_schema={"order": ["since", "asins"], "fields": {"asins": {"rows": 8}}},
    )


@pytest.fixture
def staff(analyst, instance):
    analyst.is_staff = True
    analyst.save()
    analyst.groups.add(ensure_analysts_group())
    client = Client()
    client.force_login(analyst)
    return client


def walk_to_review(client, template, instance, **schedule):
    response = client.get(f"/builder/new/{template.template_id}/")
    draft = re.search(r"/builder/([0-9a-f-]{36})/parameters/", response["Location"])[1]
    response = client.post(
        f"/builder/{draft}/parameters/",
        {
            "name": "Checked",
            "instance": str(instance.pk),
            "timezone": "UTC",
            "lookback_days": 7,
            "parameters__asins": "B012345678\nB087654321",
            "parameters__since": "2026-09-01",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    data = {"mode": "once", "frequency": "weekly", "schedule_timezone": "UTC", **schedule}
    response = client.post(f"/builder/{draft}/schedule/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return draft


def test_the_picker_groups_templates_by_category(staff, template):
    QueryTemplateFactory(name="Other one", category="Audience")
    page = staff.get("/builder/").content.decode()
    assert page.index("Audience") < page.index("Performance")
    assert "/builder/new/asin-check/" in page


def test_the_parameter_form_follows_the_definitions_and_ui_schema(staff, template):
    response = staff.get("/builder/new/asin-check/", follow=True)
    page = response.content.decode()
    assert page.index('name="parameters__since"') < page.index('name="parameters__asins"')
    assert re.search(r'<input type="date" name="parameters__since"', page)
    assert re.search(r'<textarea name="parameters__asins"[^>]*rows="8"', page)
    assert 'list="id_parameters__lookback__suggestions"' in page
    assert 'name="parameters__period__start"' in page
    assert re.search(r'<select name="parameters__ad_product".*?<option value="sb"', page, re.S)
    assert "One per line, or separated by commas" in page


def test_bad_parameters_come_back_inline_and_nothing_moves_on(staff, template, instance):
    response = staff.get("/builder/new/asin-check/")
    response = staff.post(
        response["Location"],
        {
            "name": "Checked",
            "instance": str(instance.pk),
            "timezone": "UTC",
            "lookback_days": 7,
            "parameters__asins": "B012345678, nope",
            "parameters__since": "2026-02-30",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert re.search(r'data-errors-for="asins"[^>]*><li>asins\[1\]: &#x27;nope', page)
    assert re.search(r'data-errors-for="since"[^>]*><li>since:', page)
    assert not ReportBuilderAudit.objects.exists()


def test_a_walk_without_javascript_submits_once_and_lands_in_the_admin(
    staff, template, instance, analyst
):
    draft = walk_to_review(
        staff,
        template,
        instance,
        mode="recurring",
        frequency="daily",
        time="06:30",
        backfill="on",
        lookback_value=2,
        lookback_unit="weeks",
        segment_type="daily",
    )
    review = staff.get(f"/builder/{draft}/review/").content.decode()
    assert "2 items: B012345678, B087654321" in review
    assert "30 6 * * *" in review
    first = staff.post(f"/builder/{draft}/review/")
    second = staff.post(f"/builder/{draft}/review/")  # a double click
    report = ReportDefinition.objects.get()
    assert (
        first["Location"]
        == second["Location"]
        == (f"/admin/reports/reportdefinition/{report.pk}/change/")
    )
    assert report.parameters == {
        "asins": ["B012345678", "B087654321"],
        "since": "2026-09-01",
    }
    assert ReportSchedule.objects.get(report=report).cron_expression == "30 6 * * *"
    steps = list(
        ReportBuilderAudit.objects.filter(report=report)
        .order_by("created_at")
        .values_list("step", flat=True)
    )
    assert steps[:3] == ["parameters", "schedule", "review"]


def test_schedule_errors_come_back_on_their_fields(staff, template, instance):
    response = staff.get("/builder/new/asin-check/")
    parameters_url = response["Location"]
    staff.post(
        parameters_url,
        {
            "name": "Checked",
            "instance": str(instance.pk),
            "timezone": "UTC",
            "lookback_days": 7,
            "parameters__asins": "B012345678",
            "parameters__since": "2026-09-01",
        },
    )
    response = staff.post(
        parameters_url.replace("parameters", "schedule"),
        {
            "mode": "recurring",
            "frequency": "weekly",
            "time": "09:00",
            "schedule_timezone": "UTC",
            "backfill": "on",
            "lookback_value": 500,
            "lookback_unit": "days",
            "segment_type": "weekly",
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "days_of_week" in form.errors
    assert "lookback_value" in form.errors


def test_a_viewer_can_look_but_not_submit(viewer, template, instance):
    viewer.is_staff = True
    viewer.save()
    client = Client()
    client.force_login(viewer)
    draft = walk_to_review(client, template, instance)
    page = client.get(f"/builder/{draft}/review/").content.decode()
    assert "read-only" in page and 'id="builder-submit"' not in page
    client.post(f"/builder/{draft}/review/")
    assert not ReportDefinition.objects.exists()


def test_someone_elses_walk_is_not_found(staff, template, instance, viewer):
    draft = walk_to_review(staff, template, instance)
    other = Client()
    other.force_login(viewer)
    assert other.get(f"/builder/{draft}/review/").status_code == 404


def test_the_admin_report_form_is_the_generated_parameter_form(staff, template, instance):
    report = ReportDefinitionFactory(
        template=template,
        instance=instance,
        parameters={"asins": ["B012345678"], "since": "2026-09-01"},
    )
    url = f"/admin/reports/reportdefinition/{report.pk}/change/"
    page = staff.get(url).content.decode()
    assert 'name="parameters__asins"' in page and "B012345678" in page
    assert 'data-validate-url="/api/builder/validate/"' in page
    assert 'name="parameters"' not in page  # no JSON textarea

    context = staff.get(url).context
    form = context["adminform"].form
    prefixes = [inline.formset.prefix for inline in context["inline_admin_formsets"]]
    data = {
        name: value
        for name, value in form.initial.items()
        if name in form.fields and value is not None and name != "parameters"
    }
    data.update(
        {
            "instance": str(instance.pk),
            "owner": report.owner.pk,
            "parameters__asins": "B012345678\nbad",
            "parameters__since": "2026-09-01",
        }
    )
    for prefix in prefixes:  # every inline, unchanged
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    response = staff.post(url, data)
    assert response.status_code == 200
    assert "asins[1]" in response.content.decode()
    data["parameters__asins"] = "B012345678, B087654321"
    response = staff.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    report.refresh_from_db()
    assert report.parameters["asins"] == ["B012345678", "B087654321"]
    change = ReportBuilderAudit.objects.get(report=report, action="report changed")
    assert change.configuration_before == {
        "parameters": {"asins": ["B012345678"], "since": "2026-09-01"}
    }
    assert change.configuration == {"parameters": report.parameters}

    # Saving again with the same values (pasted differently) changes nothing.
    data["parameters__asins"] = "B012345678\nB087654321"
    assert staff.post(url, data).status_code == 302
    assert ReportBuilderAudit.objects.filter(action="report changed").count() == 1


def test_the_admin_list_links_to_the_builder_and_add_goes_there(staff):
    page = staff.get("/admin/reports/reportdefinition/").content.decode()
    assert 'href="/builder/" class="addlink" id="new-report"' in page
    assert staff.get("/admin/reports/reportdefinition/add/")["Location"] == "/builder/"


def test_the_parameters_field_keeps_relative_dates_relative(template):
    field = ParametersField(template=template)
    cleaned = field.clean(
        {"asins": "b012345678", "since": "2026-09-01", "lookback": "today-30d", "min_ctr": "12.5"}
    )
    assert cleaned == {
        "asins": ["B012345678"],
        "since": "2026-09-01",
        "lookback": "today-30d",
        "min_ctr": 12.5,
    }


def test_the_review_counts_amc_runs_in_words_an_analyst_reads(staff, template, instance):
    draft = walk_to_review(staff, template, instance, run_now="on")

    quota = staff.get(f"/builder/{draft}/review/").content.decode()
    quota = re.sub(r"\s+", " ", quota[quota.index('id="builder-review-quota"') :])

    assert "No scheduled runs, 1 run now: about 1 AMC run in the first month." in quota
    assert "0.0" not in quota[:300]
