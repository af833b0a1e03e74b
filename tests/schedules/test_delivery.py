"""Scheduled delivery: after a successful scheduled run, one email with the dashboard's PDF and
one webhook call per subscriber; a failed run sends nothing. Subscribers: API, checks."""

import hashlib
import hmac
import io
import json
import socket
import time

import pytest
from django.utils import timezone
from pypdf import PdfReader
from rest_framework.test import APIClient

from dashboards.models import DashboardView
from dashboards.selectors import dashboard_content
from dashboards.services.building import build_dashboard
from recomamp import webhooks
from reports.models import ExecutionStatus, ReportExecution
from schedules import delivery, tasks
from schedules.models import DeliveryStatus, DeliverySubscriber, ScheduledDelivery
from schedules.services import dispatch_due_schedules
from tests.factories.dashboards import DashboardFactory, ReportConfigurationFactory
from tests.factories.instances import InstanceAccessFactory, UserFactory
from tests.fixtures.http import QuietHandler, loopback_server
from tests.fixtures.inprocess import InProcessWorker
from tests.fixtures.workers import ENGINE_ENV
from tests.schedules.conftest import make_schedule

CAMPAIGN_SQL = """
SELECT campaign, SUM(impressions) AS impressions, SUM(clicks) AS clicks
FROM sponsored_ads_traffic
WHERE impressions >= {{min_impressions}}
GROUP BY campaign
ORDER BY campaign
""".strip()


# -- a report on the simulator with its dashboard and a due schedule -------------------------


@pytest.fixture
def in_process_worker(monkeypatch, settings):
    for name, value in ENGINE_ENV.items():
        setattr(settings, name, float(value))
    settings.RECOMAMP_RUNS_PER_USER_PER_MINUTE = 1000
    settings.RECOMAMP_RUNS_PER_INSTANCE_PER_MINUTE = 1000
    return InProcessWorker(monkeypatch).run_until_idle


@pytest.fixture
def scheduled_report(simulated_report, catalogue):
    """The campaign performance report on the simulator, its dashboard and a due schedule,
    delivering to one email address and one webhook."""

    def make(**faults):
        report = simulated_report(sql="SELECT 1", cap=2, pending=0.05, running=0.1, **faults)
        report.template = catalogue["campaign-performance-daily"]
        report.name = "Weekly campaigns"
        report.parameters = {}
        report.lookback_days = 14
        report.save()
        build_dashboard(report=report)
        make_schedule(
            report=report,
            cron_expression="0 6 * * *",
            timezone="UTC",
            next_run_at=timezone.now() - timezone.timedelta(minutes=1),
        )
        for channel, target in [("email", "client@example.com"), ("webhook", None)]:
            DeliverySubscriber.objects.create(
                report=report, channel=channel, target=target or "set by the test"
            )
        return report

    return make


def _point_webhook(report, receiver) -> str:
    url = f"{receiver.url}/hooks/recomamp"
    DeliverySubscriber.objects.filter(report=report, channel="webhook").update(target=url)
    return url


def test_a_scheduled_run_delivers_one_email_with_the_pdf_and_one_webhook_call(
    transactional_db, scheduled_report, webhook_receiver, in_process_worker, mailoutbox
):
    report = scheduled_report()
    _point_webhook(report, webhook_receiver)

    dispatch_due_schedules(now=timezone.now())
    in_process_worker()

    execution = ReportExecution.objects.get(report=report)
    assert execution.status == ExecutionStatus.COMPLETED and execution.schedule_id
    dashboard = report.configurations.get().dashboard
    shown = dashboard_content(dashboard=dashboard)
    assert shown.status == "ready" and shown.cards
    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.to == ["client@example.com"]
    assert f"/dashboards/{dashboard.pk}/" in email.body
    [(name, content, mimetype)] = email.attachments
    assert mimetype == "application/pdf" and name.endswith(".pdf")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    assert dashboard.name in text
    for card in shown.cards:
        assert card.display["value"] in text, card.title

    assert len(webhook_receiver.calls) == 1
    call = webhook_receiver.calls[0]
    assert call["path"] == "/hooks/recomamp"
    payload = json.loads(call["body"])
    assert payload["event"] == "report.delivered"
    assert payload["execution"]["execution_id"] == execution.execution_id
    assert payload["dashboard"]["cards"][0]["value"] == shown.cards[0].data["value"]
    assert set(ScheduledDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}

    # The task delivered again (a broker redelivery) sends nothing twice.
    tasks.deliver_scheduled_run(str(execution.pk))
    assert len(mailoutbox) == 1 and len(webhook_receiver.calls) == 1


def test_a_failed_scheduled_run_delivers_nothing(
    transactional_db, scheduled_report, webhook_receiver, in_process_worker, mailoutbox
):
    report = scheduled_report(fail_query_rate=1.0)
    _point_webhook(report, webhook_receiver)

    dispatch_due_schedules(now=timezone.now())
    in_process_worker()

    execution = ReportExecution.objects.get(report=report)
    assert execution.status == ExecutionStatus.FAILED
    assert delivery.deliver_run(execution_pk=execution.pk, force=True) == "nothing"
    assert mailoutbox == [] and webhook_receiver.calls == []
    assert not ScheduledDelivery.objects.exists()


def test_delivery_waits_for_the_dashboard_refresh(db, report, mailoutbox):
    from reports.models import TriggeredBy

    dashboard = DashboardFactory(instance=report.instance)
    configuration = ReportConfigurationFactory(dashboard=dashboard, report=report)
    DashboardView.objects.create(
        report_configuration=configuration,
        view_name="Sales",
        view_type="metric_card",
        chart_configurations={"metric": "sales"},
    )
    schedule = make_schedule(
        report=report, cron_expression="0 6 * * *", timezone="UTC", next_run_at=timezone.now()
    )
    execution = ReportExecution.objects.create(
        report=report,
        instance=report.instance,
        triggered_by=TriggeredBy.SCHEDULE,
        schedule=schedule,
        status=ExecutionStatus.COMPLETED,
        completed_at=timezone.now(),
    )
    DeliverySubscriber.objects.create(report=report, channel="email", target="a@example.com")
    assert delivery.deliver_run(execution_pk=execution.pk) == "waiting"
    assert mailoutbox == []
    configuration.views.update(processed_data={"value": 1234567})
    dashboard.data_refreshed_at = timezone.now()
    dashboard.save()
    assert delivery.deliver_run(execution_pk=execution.pk) == "sent"
    assert len(mailoutbox) == 1 and "Sales: 1,234,567" in mailoutbox[0].body


# -- subscribers and the URL check ------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",  # not https, not allowed
        "https://127.0.0.1/x",
        "https://10.1.2.3/x",
        "https://[::1]/x",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/x",
        "ftp://hooks.example.com/x",
        "https://user:secret@hooks.example.com/x",
    ],
)
def test_unsafe_webhook_urls_are_refused(settings, url):
    settings.RECOMAMP_WEBHOOK_ALLOWED_HOSTS = []
    settings.RECOMAMP_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    with pytest.raises(webhooks.UnsafeWebhookUrl):
        webhooks.check_webhook_url(url)


def test_a_host_resolving_to_a_private_address_is_refused_at_send_time(settings, monkeypatch):
    settings.RECOMAMP_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    monkeypatch.setattr(
        webhooks.socket,
        "getaddrinfo",
        lambda *a, **k: [(2, 1, 6, "", ("192.168.1.20", 443))],
    )
    webhooks.check_webhook_url("https://hooks.example.com/x", resolve=False)  # shape is fine
    with pytest.raises(webhooks.UnsafeWebhookUrl):
        webhooks.check_webhook_url("https://hooks.example.com/x")


def test_a_name_that_rebinds_to_loopback_after_the_check_is_refused_on_the_socket(
    settings, monkeypatch, webhook_receiver
):
    # DNS rebinding: the name resolves to a public address when the URL is checked and to
    # the loopback receiver when the POST connects. The connected socket is checked too.
    settings.RECOMAMP_WEBHOOK_ALLOWED_HOSTS = ["hooks.example.com"]
    settings.RECOMAMP_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    real_getaddrinfo = socket.getaddrinfo
    answers = iter([[(2, 1, 6, "", ("93.184.215.14", 443))]])

    def rebinding(host, port, *args, **kwargs):
        if host == "hooks.example.com":
            return next(answers, None) or real_getaddrinfo("127.0.0.1", port, *args, **kwargs)
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    port = webhook_receiver.server_port
    with pytest.raises(webhooks.UnsafeWebhookUrl):
        webhooks.post(f"http://hooks.example.com:{port}/x", {"a": 1}, event="test")
    assert webhook_receiver.calls == []


def test_webhooks_are_signed_with_the_configured_secret(settings, webhook_receiver):
    settings.RECOMAMP_WEBHOOK_SECRET = "s3cret"
    webhooks.post(f"{webhook_receiver.url}/x", {"report": "R1"}, event="report.delivered")

    [call] = webhook_receiver.calls
    headers = {key.lower(): value for key, value in call["headers"].items()}
    timestamp = headers["x-recomamp-timestamp"]
    expected = hmac.new(b"s3cret", timestamp.encode() + b"." + call["body"], hashlib.sha256)
    assert headers["x-recomamp-signature"] == f"sha256={expected.hexdigest()}"
    assert headers["x-recomamp-event"] == "report.delivered"
    assert abs(int(timestamp) - time.time()) < 60 and headers["x-recomamp-delivery"]
    assert json.loads(call["body"]) == {"report": "R1"}


class _Broken(QuietHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        self.send_response(500)
        self.end_headers()


def test_a_receiver_that_answers_an_error_fails_the_delivery(settings, webhook_receiver):
    with loopback_server(_Broken) as broken, pytest.raises(webhooks.WebhookFailed, match="500"):
        webhooks.post(f"{broken.url}/x", {}, event="report.delivered")


def test_loopback_is_allowed_only_by_the_explicit_settings(settings):
    settings.RECOMAMP_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.RECOMAMP_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    webhooks.check_webhook_url("http://127.0.0.1:9/x")


def test_subscribers_through_the_api_with_tenancy_and_field_errors(
    api, report, viewer, foreign_instance
):
    response = api.post(
        "/api/delivery-subscribers/",
        {"report": report.report_id, "channel": "email", "target": "Client@Example.com"},
    )
    assert response.status_code == 201, response.content
    assert response.json()["target"] == "client@example.com"
    again = api.post(
        "/api/delivery-subscribers/",
        {"report": report.report_id, "channel": "email", "target": "client@example.com"},
    )
    assert again.status_code == 409
    bad = api.post(
        "/api/delivery-subscribers/",
        {"report": report.report_id, "channel": "webhook", "target": "http://10.0.0.1/x"},
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "target"
    bad = api.post(
        "/api/delivery-subscribers/",
        {"report": report.report_id, "channel": "email", "target": "nope"},
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "target"
    listed = api.get(f"/api/delivery-subscribers/?report={report.report_id}").json()
    assert [s["target"] for s in listed["results"]] == ["client@example.com"]

    viewer_api = APIClient()
    viewer_api.force_authenticate(viewer)
    subscriber_id = response.json()["id"]
    assert viewer_api.delete(f"/api/delivery-subscribers/{subscriber_id}/").status_code == 403
    stranger = APIClient()
    stranger.force_authenticate(UserFactory())
    assert stranger.get(f"/api/delivery-subscribers/{subscriber_id}/").status_code == 404
    assert (
        stranger.post(
            "/api/delivery-subscribers/",
            {"report": report.report_id, "channel": "email", "target": "x@example.com"},
        ).status_code
        == 404
    )
    paused = api.patch(f"/api/delivery-subscribers/{subscriber_id}/", {"is_active": False})
    assert paused.status_code == 200 and paused.json()["is_active"] is False
    assert api.delete(f"/api/delivery-subscribers/{subscriber_id}/").status_code == 204


def test_set_subscribers_replaces_the_set_and_names_the_bad_entry(report, analyst):
    delivery.add_subscriber(report=report, user=analyst, channel="email", target="a@example.com")
    result = delivery.set_subscribers(
        report=report,
        user=analyst,
        subscribers=[
            {"channel": "email", "target": "b@example.com"},
            {"channel": "webhook", "target": "https://hooks.example.com/recomamp"},
        ],
    )
    assert sorted(s.target for s in result) == [
        "b@example.com",
        "https://hooks.example.com/recomamp",
    ]
    with pytest.raises(delivery.ValidationFailed) as caught:
        delivery.set_subscribers(
            report=report,
            user=analyst,
            subscribers=[{"channel": "email", "target": "ok@example.com"}, {"channel": "sms"}],
        )
    assert caught.value.errors[0].field == "subscribers[1].channel"
    assert DeliverySubscriber.objects.filter(report=report).count() == 2


def test_the_report_admin_page_shows_its_delivery_subscribers_inline(report, instance):
    from django.test import Client

    admin_user = UserFactory(is_staff=True, is_superuser=True)
    InstanceAccessFactory(user=admin_user, instance=instance)
    client = Client()
    client.force_login(admin_user)
    page = client.get(f"/admin/reports/reportdefinition/{report.pk}/change/")
    assert page.status_code == 200
    assert b"delivery subscriber" in page.content.lower()
