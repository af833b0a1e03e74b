"""Exporting from the dashboard page: a button, a status page that waits for the file, and the
owner-only download."""

import pytest
from django.test import Client

from dashboards.models import Dashboard, ReportExport
from tests.factories.instances import InstanceAccessFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser_client(analyst):
    client = Client()
    client.force_login(analyst)
    return client


def test_an_analyst_exports_a_pdf_from_the_page_and_downloads_it(
    browser_client, report, run_export_tasks
):
    dashboard = Dashboard.objects.get(configuration__report=report)
    page = browser_client.get(f"/dashboards/{dashboard.pk}/").content.decode()
    assert f'action="/dashboards/{dashboard.pk}/export/"' in page

    with run_export_tasks(execute=True):
        response = browser_client.post(f"/dashboards/{dashboard.pk}/export/", {"format": "pdf"})
    assert response.status_code == 302
    status_page = browser_client.get(response["Location"]).content.decode()
    export = ReportExport.objects.get()
    assert export.status == "completed", export.error_message
    assert f"/api/exports/{export.pk}/download/" in status_page
    download = browser_client.get(f"/api/exports/{export.pk}/download/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"%PDF")


def test_a_bad_format_is_a_400_and_others_cannot_see_the_export(
    browser_client, report, run_export_tasks, instance
):
    dashboard = Dashboard.objects.get(configuration__report=report)
    bad = browser_client.post(f"/dashboards/{dashboard.pk}/export/", {"format": "docx"})
    assert bad.status_code == 400 and b"format" in bad.content
    with run_export_tasks(execute=False):
        browser_client.post(f"/dashboards/{dashboard.pk}/export/", {"format": "excel"})
    export = ReportExport.objects.get()
    pending = browser_client.get(f"/dashboards/exports/{export.pk}/").content.decode()
    assert 'http-equiv="refresh"' in pending  # still building: the page updates by itself

    colleague = UserFactory()
    InstanceAccessFactory(user=colleague, instance=instance)
    other = Client()
    other.force_login(colleague)
    assert other.get(f"/dashboards/exports/{export.pk}/").status_code == 404
    stranger = Client()
    stranger.force_login(UserFactory())
    assert (
        stranger.post(f"/dashboards/{dashboard.pk}/export/", {"format": "pdf"}).status_code == 404
    )
