"""Storing findings on a view, and analysts' feedback on insights (service and API)."""

import json
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from dashboards.insights import SeriesKey, find_insights
from dashboards.insights.model import Finding
from dashboards.insights.store import replace_view_insights
from dashboards.insights.synthetic import Effect, ad_series
from dashboards.models import DashboardInsight, InsightFeedback
from tests.factories.dashboards import (
    DashboardFactory,
    DashboardInsightFactory,
    DashboardViewFactory,
    ReportConfigurationFactory,
)

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 12, 1)


def errors_of(response):
    return {error["field"]: error for error in response.json()["errors"]}


@pytest.fixture
def view(instance):
    dashboard = DashboardFactory(instance=instance)
    return DashboardViewFactory(
        report_configuration=ReportConfigurationFactory(dashboard=dashboard), view_type="insight"
    )


@pytest.fixture
def insight(view):
    return DashboardInsightFactory(dashboard_view=view)


def test_findings_replace_the_views_insights_with_method_score_and_window(view):
    old = DashboardInsightFactory(dashboard_view=view)
    rng = np.random.default_rng(1)
    last = AS_OF - timedelta(days=14)
    values = ad_series(rng, 120, noise=0.04, effects=(Effect("spike", 3.0, 100),))
    points = [(last - timedelta(days=119 - i), v) for i, v in enumerate(values)]
    findings = find_insights({SeriesKey("spend", "Brand"): points}, as_of=AS_OF)
    assert findings
    stored = replace_view_insights(view=view, findings=findings)
    rows = list(DashboardInsight.objects.filter(dashboard_view=view))
    assert len(rows) == len(stored) == len(findings)
    assert not DashboardInsight.objects.filter(pk=old.pk).exists()
    anomaly = next(r for r in rows if r.insight_type == "anomaly")
    assert Decimal("0.80") <= anomaly.confidence_score <= Decimal("1.00")
    assert anomaly.ai_model and anomaly.prompt_version
    assert {"raw_score", "n", "window"} <= set(anomaly.source_data)
    json.dumps([r.source_data for r in rows])  # stored as plain JSON


def test_a_stored_confidence_is_rounded_down_never_up(view):
    finding = Finding(insight_type="trend", text="t", confidence=0.8099)
    [row] = replace_view_insights(view=view, findings=[finding])
    row.refresh_from_db()
    assert row.confidence_score == Decimal("0.80")


def test_analyst_marks_an_insight_useful_then_wrong(api, insight, analyst):
    url = f"/api/insights/{insight.pk}/feedback/"
    first = api.post(url, {"verdict": "useful"}, format="json")
    assert first.status_code == 201
    assert first.json()["verdict"] == "useful"
    again = api.post(url, {"verdict": "wrong", "note": "The spike was a tracking bug."})
    assert again.status_code == 200
    feedback = InsightFeedback.objects.get(insight=insight, user=analyst)
    assert feedback.verdict == "wrong" and feedback.note == "The spike was a tracking bug."
    assert feedback.insight_snapshot["insight_text"] == insight.insight_text
    assert InsightFeedback.objects.count() == 1


def test_feedback_survives_the_refresh_that_replaces_the_insight(api, insight, view, analyst):
    api.post(f"/api/insights/{insight.pk}/feedback/", {"verdict": "wrong"}, format="json")
    replace_view_insights(view=view, findings=[])
    feedback = InsightFeedback.objects.get(user=analyst)
    assert feedback.insight is None
    assert feedback.insight_snapshot["confidence_score"] == str(insight.confidence_score)


def test_a_viewer_of_the_instance_may_give_feedback_too(insight, viewer):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(viewer)
    response = client.post(f"/api/insights/{insight.pk}/feedback/", {"verdict": "useful"})
    assert response.status_code == 201


def test_an_insight_on_another_clients_instance_is_not_found(api, foreign_instance):
    dashboard = DashboardFactory(instance=foreign_instance)
    foreign = DashboardInsightFactory(
        dashboard_view=DashboardViewFactory(
            report_configuration=ReportConfigurationFactory(dashboard=dashboard)
        )
    )
    response = api.post(f"/api/insights/{foreign.pk}/feedback/", {"verdict": "useful"})
    assert response.status_code == 404
    assert errors_of(response)["insight_id"]["code"] == "not_found"
    assert not InsightFeedback.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "verdict"),
        ({"verdict": "meh"}, "verdict"),
        ({"verdict": "useful", "note": "x" * 2001}, "note"),
    ],
)
def test_bad_feedback_names_the_field(api, insight, payload, field):
    response = api.post(f"/api/insights/{insight.pk}/feedback/", payload, format="json")
    assert response.status_code == 400
    assert field in errors_of(response)
    assert not InsightFeedback.objects.exists()


def test_unknown_or_malformed_insight_ids_are_404(api, insight):
    assert api.post("/api/insights/not-a-uuid/feedback/", {"verdict": "useful"}).status_code == 404
    missing = "00000000-0000-0000-0000-000000000000"
    assert api.post(f"/api/insights/{missing}/feedback/", {"verdict": "useful"}).status_code == 404


def test_anonymous_users_cannot_give_feedback(client, insight):
    response = client.post(f"/api/insights/{insight.pk}/feedback/", {"verdict": "useful"})
    assert response.status_code in (401, 403)


def test_feedback_endpoint_is_in_the_openapi_schema(api):
    schema = api.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/insights/{insight_id}/feedback/"]["post"]
    assert {"200", "201", "400", "404"} <= set(operation["responses"])


def test_a_refresh_keeps_summaries_recommendations_and_the_most_confident_of_the_rest():
    from dashboards.insights.model import Finding
    from dashboards.insights.store import MAX_STORED, most_worth_keeping

    def finding(kind, confidence):
        return Finding(insight_type=kind, text=f"{kind} {confidence}", confidence=confidence)

    anomalies = [finding("anomaly", 0.8 + n / 1000) for n in range(100)]
    kept = most_worth_keeping([finding("summary", 1.0), *anomalies, finding("recommendation", 0.8)])
    assert len(kept) == MAX_STORED
    assert [f.insight_type for f in kept[:2]] == ["summary", "recommendation"]
    assert min(f.confidence for f in kept[2:]) > max(
        f.confidence for f in anomalies if f not in kept
    )
