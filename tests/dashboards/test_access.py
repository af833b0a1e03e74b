"""Tenancy and roles on the dashboard pages and the API: other instances' dashboards are 404,
favorites are per user, viewers may favorite but not refresh or rebuild."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from dashboards.models import DashboardFavorite
from dashboards.services import refresh
from dashboards.services.building import build_dashboard
from instances.models import AccessRole
from tests.dashboards.conftest import backfilled, campaign_rows
from tests.factories.instances import InstanceAccessFactory, UserFactory
from tests.factories.reports import ReportDefinitionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(report, sent_refreshes):
    backfilled(report, start=dt.date(2026, 9, 1), days=12, rows_for_day=campaign_rows)
    refresh.refresh_dashboard(report.dashboard_id)
    return report.dashboard


@pytest.fixture
def foreign_dashboard(foreign_instance, catalogue):
    report = ReportDefinitionFactory(
        instance=foreign_instance, template=catalogue["campaign-performance-daily"]
    )
    return build_dashboard(report=report).dashboard


def api_as(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_dashboard_of_another_instance_is_not_found_on_page_and_api(
    client, analyst, foreign_dashboard
):
    client.force_login(analyst)
    api = api_as(analyst)
    assert client.get(f"/dashboards/{foreign_dashboard.pk}/").status_code == 404
    assert client.post(f"/dashboards/{foreign_dashboard.pk}/favorite/").status_code == 404
    assert client.post(f"/dashboards/{foreign_dashboard.pk}/refresh/").status_code == 404
    for method, path in [
        ("get", ""),
        ("post", "favorite/"),
        ("delete", "favorite/"),
        ("post", "refresh/"),
    ]:
        response = getattr(api, method)(f"/api/dashboards/{foreign_dashboard.pk}/{path}")
        assert response.status_code == 404, (method, path)
        assert response.json()["errors"][0]["code"] == "not_found"
    assert api.get("/api/dashboards/").json()["count"] == 0
    assert foreign_dashboard.name.encode() not in client.get("/dashboards/").content


def test_a_malformed_id_is_not_found(api):
    assert api.get("/api/dashboards/not-a-uuid/").status_code == 404


def test_signed_out_visitors_are_sent_to_the_login(client, ready):
    response = client.get(f"/dashboards/{ready.pk}/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert APIClient().get(f"/api/dashboards/{ready.pk}/").status_code in (401, 403)


def test_a_viewer_can_favorite_but_not_refresh_or_rebuild(viewer, ready, sent_refreshes):
    api = api_as(viewer)
    assert api.post(f"/api/dashboards/{ready.pk}/favorite/").status_code == 201
    assert api.get("/api/dashboards/").json()["results"][0]["is_favorite"] is True

    response = api.post(f"/api/dashboards/{ready.pk}/refresh/", {}, format="json")
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "permission_denied"
    response = api.post(f"/api/dashboards/{ready.pk}/refresh/", {"rebuild": True}, format="json")
    assert response.status_code == 403
    assert sent_refreshes == []


def test_a_viewer_sees_no_refresh_button_and_is_refused_on_the_page(client, viewer, ready):
    client.force_login(viewer)
    page = client.get(f"/dashboards/{ready.pk}/").content.decode()
    assert "Rebuild" not in page and ">Refresh<" not in page
    assert client.post(f"/dashboards/{ready.pk}/refresh/").status_code == 403
    assert client.post(f"/dashboards/{ready.pk}/favorite/").status_code == 302
    assert DashboardFavorite.objects.filter(user=viewer, dashboard=ready).exists()


def test_an_analyst_can_refresh_and_rebuild(api, ready, sent_refreshes):
    response = api.post(f"/api/dashboards/{ready.pk}/refresh/", {}, format="json")
    assert response.status_code == 202 and response.json()["queued"] is True
    again = api.post(f"/api/dashboards/{ready.pk}/refresh/", {}, format="json")
    assert again.json() == {"queued": False, "rebuilt": False, "detail": "coalesced"}
    response = api.post(
        f"/api/dashboards/{ready.pk}/refresh/", {"rebuild": True, "force": True}, format="json"
    )
    assert response.status_code == 202 and response.json()["rebuilt"] is True
    bad = api.post(f"/api/dashboards/{ready.pk}/refresh/", {"rebuild": "maybe"}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "rebuild"


def test_favorites_are_per_user_and_come_first(analyst, instance, catalogue, ready):
    other = build_dashboard(
        report=ReportDefinitionFactory(
            instance=instance, owner=analyst, template=catalogue["new-to-brand"], name="AAA first"
        )
    ).dashboard
    colleague = InstanceAccessFactory(instance=instance, role=AccessRole.ANALYST).user
    api = api_as(analyst)
    names = [d["name"] for d in api.get("/api/dashboards/").json()["results"]]
    assert names[0] == other.name  # by name while nothing is a favorite

    assert api.post(f"/api/dashboards/{ready.pk}/favorite/").status_code == 201
    assert api.post(f"/api/dashboards/{ready.pk}/favorite/").status_code == 201  # idempotent
    results = api.get("/api/dashboards/").json()["results"]
    assert [(d["id"], d["is_favorite"]) for d in results][0] == (str(ready.pk), True)
    assert api.get("/api/dashboards/?favorite=true").json()["count"] == 1
    # Not the colleague's favorite.
    colleague_results = api_as(colleague).get("/api/dashboards/").json()["results"]
    assert [d["name"] for d in colleague_results][0] == other.name
    assert not any(d["is_favorite"] for d in colleague_results)

    assert api.delete(f"/api/dashboards/{ready.pk}/favorite/").status_code == 204
    assert api.delete(f"/api/dashboards/{ready.pk}/favorite/").status_code == 204
    assert api.get("/api/dashboards/?favorite=true").json()["count"] == 0


def test_the_list_filters_and_refuses_bad_values(api, ready, instance):
    assert api.get(f"/api/dashboards/?instance={instance.pk}").json()["count"] == 1
    assert api.get("/api/dashboards/?dashboard_type=funnel").json()["count"] == 0
    assert api.get(f"/api/dashboards/?search={ready.name[:4]}").json()["count"] == 1
    bad = api.get("/api/dashboards/?dashboard_type=pie")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "dashboard_type"
    bad = api.get("/api/dashboards/?instance=nope")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "instance"


def test_the_api_gives_each_views_spec_data_and_insights(api, ready):
    from dashboards.models import DashboardInsight, DashboardView

    view = DashboardView.objects.get(report_configuration__dashboard=ready, view_type="insight")
    DashboardInsight.objects.create(
        dashboard_view=view,
        insight_type="trend",
        insight_text="Sales rise about 4% a week.",
        confidence_score="0.93",
        ai_model="glsar-v1",
    )
    body = api.get(f"/api/dashboards/{ready.pk}/").json()
    assert body["status"] == "ready" and body["as_of"]
    assert body["window"]["start"] == "2026-09-01" and body["window"]["end"] == "2026-09-12"
    views = {v["name"]: v for v in body["views"]}
    assert views["Spend and sales by day"]["spec"]["mark"]["type"] == "line"
    assert views["Spend and sales by day"]["data"]["rows"]
    assert "svg" not in views["Spend and sales by day"]
    assert views["Sales"]["data"]["value"] > 0
    # The refresh stored its own findings beside it (summaries first, confidence 1).
    [insight] = [
        i for i in views["Insights"]["insights"] if i["text"] == "Sales rise about 4% a week."
    ]
    assert insight["confidence"] == 0.93
    assert insight["confidence_word"] == "very likely"

    with_svg = api.get(f"/api/dashboards/{ready.pk}/?svg=true").json()
    assert {v["name"]: v for v in with_svg["views"]}["Sales by campaign"]["svg"].startswith("<svg")


def test_filters_round_trip_through_the_api_and_bad_dates_name_the_field(api, ready):
    body = api.get(
        f"/api/dashboards/{ready.pk}/?start=2026-09-03&end=2026-09-05&campaign=Campaign 0"
    ).json()
    assert body["filters"] == {"start": "2026-09-03", "end": "2026-09-05", "campaign": "Campaign 0"}
    sales = {v["name"]: v for v in body["views"]}["Sales"]["data"]["value"]
    assert sales == pytest.approx(sum(20.0 + day for day in (3, 4, 5)))
    for query, field in [("start=2026-13-01", "start"), ("start=2026-09-05&end=2026-09-01", "end")]:
        bad = api.get(f"/api/dashboards/{ready.pk}/?{query}")
        assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == field


def test_the_page_shows_cards_charts_tables_and_the_window(client, analyst, ready):
    client.force_login(analyst)
    page = client.get(f"/dashboards/{ready.pk}/").content.decode()
    assert page.count('data-widget="metric_card"') == 3
    assert page.count('data-widget="chart"') == 2 and page.count("<svg") >= 2
    assert 'data-widget="table"' in page and "<tfoot>" in page
    assert "Data as of" in page and "2026-09-01 – 2026-09-12" in page
    filtered = client.get(f"/dashboards/{ready.pk}/?start=2026-09-03&end=2026-09-05").content
    assert b"2026-09-03 \xe2\x80\x93 2026-09-05" in filtered
    assert b'value="2026-09-03"' in filtered  # the filter round-trips into the form
    bad = client.get(f"/dashboards/{ready.pk}/?start=nonsense")
    assert bad.status_code == 200 and b"Enter a date as YYYY-MM-DD." in bad.content


def test_a_page_whose_data_is_not_ready_polls(client, analyst, report, sent_refreshes):
    refresh.mark_dirty(dashboard_pk=report.dashboard_id)
    client.force_login(analyst)
    page = client.get(f"/dashboards/{report.dashboard_id}/").content.decode()
    assert 'data-status="building"' in page and 'hx-trigger="every 2s"' in page
    partial = client.get(f"/dashboards/{report.dashboard_id}/", HTTP_HX_REQUEST="true")
    assert partial.content.decode().lstrip().startswith("<section")


def test_the_admin_links_to_the_dashboards(client, ready):
    admin = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(admin)
    assert b"/dashboards/" in client.get("/admin/").content
    report = ready.configuration.report
    change = client.get(f"/admin/reports/reportdefinition/{report.pk}/change/").content
    assert f"/dashboards/{ready.pk}/".encode() in change


def test_the_schema_lists_the_dashboard_endpoints_with_their_errors(api):
    import yaml  # noqa: F401 - drf-spectacular's dependency

    schema = api.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    assert set(paths["/api/dashboards/{id}/favorite/"]) >= {"post", "delete"}
    assert "404" in paths["/api/dashboards/{id}/"]["get"]["responses"]
    assert "403" in paths["/api/dashboards/{id}/refresh/"]["post"]["responses"]
    assert "400" in paths["/api/dashboards/"]["get"]["responses"]


def test_a_view_shows_its_twelve_most_confident_insights(api, ready):
    from dashboards.models import DashboardInsight, DashboardView
    from dashboards.selectors import MAX_INSIGHTS_SHOWN

    view = DashboardView.objects.get(report_configuration__dashboard=ready, view_type="insight")
    DashboardInsight.objects.filter(dashboard_view=view).delete()
    DashboardInsight.objects.bulk_create(
        DashboardInsight(
            dashboard_view=view,
            insight_type="anomaly",
            insight_text=f"Finding {n}",
            confidence_score=f"0.{80 + n}",
        )
        for n in range(15)
    )
    body = api.get(f"/api/dashboards/{ready.pk}/").json()
    shown = {v["name"]: v for v in body["views"]}["Insights"]["insights"]
    assert MAX_INSIGHTS_SHOWN == 12
    assert [i["text"] for i in shown] == [f"Finding {n}" for n in range(14, 2, -1)]
