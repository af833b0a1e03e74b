"""Failure alerts: one alert per incident, one recovery message, by email and webhook."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from instances.models import AccessRole
from operations.models import AlertChannel, AlertIncident, AlertSubscription, IncidentKind
from reports.models import ExecutionStatus, TriggeredBy
from reports.signals import execution_finished
from tests.factories.backfills import BackfillFactory, BackfillSegmentFactory
from tests.factories.instances import InstanceAccessFactory, UserFactory
from tests.factories.reports import ReportExecutionFactory
from tests.factories.schedules import ReportScheduleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def schedule(report, analyst):
    analyst.email = "owner@agency.example"
    analyst.save()
    return ReportScheduleFactory(report=report)


@pytest.fixture
def subscribed(schedule, webhook_receiver):
    AlertSubscription.objects.create(
        report=schedule.report, channel=AlertChannel.EMAIL, target="client-team@agency.example"
    )
    AlertSubscription.objects.create(
        report=schedule.report, channel=AlertChannel.WEBHOOK, target=f"{webhook_receiver.url}/hook"
    )
    return schedule


def finish_scheduled_run(schedule, status, *, n, capture, error="AMC: table not found"):
    """A scheduled run that ended, told to listeners the way the engine tells them."""
    execution = ReportExecutionFactory(
        report=schedule.report,
        triggered_by=TriggeredBy.SCHEDULE,
        schedule=schedule,
        scheduled_for=timezone.now() - timedelta(days=10) + timedelta(days=n),
        status=status,
        phase="ended",
        error_message=error if status == ExecutionStatus.FAILED else "",
        error_details={"status": 400} if status == ExecutionStatus.FAILED else {},
        completed_at=timezone.now(),
    )
    with capture(execute=True):
        execution_finished.send(sender=None, execution=execution)
    return execution


def test_three_failures_in_a_row_alert_once_and_a_success_recovers_once(
    subscribed, webhook_receiver, eager_tasks, django_capture_on_commit_callbacks
):
    for n in range(2):
        finish_scheduled_run(
            subscribed, ExecutionStatus.FAILED, n=n, capture=django_capture_on_commit_callbacks
        )
    assert mail.outbox == [] and webhook_receiver.json_bodies() == []

    for n in range(2, 5):  # the third failure alerts; the fourth and fifth add nothing
        finish_scheduled_run(
            subscribed, ExecutionStatus.FAILED, n=n, capture=django_capture_on_commit_callbacks
        )
    assert len(mail.outbox) == 1
    alert = mail.outbox[0]
    assert sorted(alert.to) == ["client-team@agency.example", "owner@agency.example"]
    assert "failed 3 times in a row" in alert.body
    assert "table not found" in alert.body
    assert len(webhook_receiver.json_bodies()) == 1
    hook = webhook_receiver.json_bodies()[0]
    assert hook["event"] == "opened" and hook["kind"] == IncidentKind.SCHEDULE_FAILING
    assert subscribed.report.report_id in hook["text"]

    finish_scheduled_run(
        subscribed, ExecutionStatus.COMPLETED, n=5, capture=django_capture_on_commit_callbacks
    )
    finish_scheduled_run(
        subscribed, ExecutionStatus.COMPLETED, n=6, capture=django_capture_on_commit_callbacks
    )
    assert len(mail.outbox) == 2
    assert mail.outbox[1].subject.startswith("[RecomAMP] Recovered")
    assert [hook["event"] for hook in webhook_receiver.json_bodies()] == ["opened", "recovered"]
    assert AlertIncident.objects.get().resolved_at is not None


def test_a_success_between_failures_resets_the_count(
    subscribed, eager_tasks, django_capture_on_commit_callbacks
):
    sequence = (
        [ExecutionStatus.FAILED] * 2 + [ExecutionStatus.COMPLETED] + [ExecutionStatus.FAILED] * 2
    )
    for n, status in enumerate(sequence):
        finish_scheduled_run(subscribed, status, n=n, capture=django_capture_on_commit_callbacks)
    assert mail.outbox == []
    assert not AlertIncident.objects.exists()


def test_a_new_incident_after_recovery_alerts_again(
    subscribed, eager_tasks, django_capture_on_commit_callbacks
):
    statuses = (
        [ExecutionStatus.FAILED] * 3 + [ExecutionStatus.COMPLETED] + [ExecutionStatus.FAILED] * 3
    )
    for n, status in enumerate(statuses):
        finish_scheduled_run(subscribed, status, n=n, capture=django_capture_on_commit_callbacks)
    subjects = [message.subject for message in mail.outbox]
    assert subjects == [
        "[RecomAMP] Schedule failing",
        "[RecomAMP] Recovered: Schedule failing",
        "[RecomAMP] Schedule failing",
    ]
    assert AlertIncident.objects.filter(resolved_at__isnull=True).count() == 1


def test_the_threshold_is_configurable(
    subscribed, settings, eager_tasks, django_capture_on_commit_callbacks
):
    settings.RECOMAMP_ALERT_AFTER_FAILURES = 1
    finish_scheduled_run(
        subscribed, ExecutionStatus.FAILED, n=0, capture=django_capture_on_commit_callbacks
    )
    assert len(mail.outbox) == 1


def test_refused_credentials_alert_once_per_instance_and_recover(
    schedule, eager_tasks, django_capture_on_commit_callbacks
):
    for n in range(3):
        finish_scheduled_run(
            schedule,
            ExecutionStatus.FAILED,
            n=n,
            capture=django_capture_on_commit_callbacks,
            error="AMC refused the credentials: Login with Amazon refused the token refresh",
        )
    kinds = sorted(AlertIncident.objects.values_list("kind", flat=True))
    assert kinds == [IncidentKind.CREDENTIALS, IncidentKind.SCHEDULE_FAILING]
    assert any("credentials" in message.body for message in mail.outbox)
    finish_scheduled_run(
        schedule, ExecutionStatus.COMPLETED, n=3, capture=django_capture_on_commit_callbacks
    )
    assert not AlertIncident.objects.filter(resolved_at__isnull=True).exists()


def test_a_backfill_that_ends_partial_alerts_its_owner(
    report, analyst, eager_tasks, django_capture_on_commit_callbacks
):
    analyst.email = "owner@agency.example"
    analyst.save()
    collection = BackfillFactory(report=report, status="partial")
    BackfillSegmentFactory(backfill=collection, status="failed")
    execution = ReportExecutionFactory(
        report=report,
        triggered_by=TriggeredBy.BACKFILL,
        collection=collection,
        status=ExecutionStatus.FAILED,
        error_message="AMC kept failing",
    )
    for _ in range(2):  # a second look at the same backfill does not alert again
        with django_capture_on_commit_callbacks(execute=True):
            execution_finished.send(sender=None, execution=execution)
    assert len(mail.outbox) == 1
    assert "ended partial: 1 segment(s) failed" in mail.outbox[0].body


def test_a_webhook_on_a_private_address_is_refused(report, analyst, api):
    response = api.post(
        "/api/alert-subscriptions/",
        {"report": report.report_id, "channel": "webhook", "target": "http://127.0.0.1:9/x"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "target"


def test_subscriptions_are_kept_per_report_and_tenant(report, analyst, api, foreign_instance):
    response = api.post(
        "/api/alert-subscriptions/",
        {"report": report.report_id, "channel": "email", "target": "ops@agency.example"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    again = api.post(
        "/api/alert-subscriptions/",
        {"report": report.report_id, "channel": "email", "target": "ops@agency.example"},
        format="json",
    )
    assert again.status_code == 409
    listed = api.get("/api/alert-subscriptions/", {"report": report.report_id}).json()
    assert [row["target"] for row in listed["results"]] == ["ops@agency.example"]

    stranger = UserFactory()
    InstanceAccessFactory(user=stranger, instance=foreign_instance)
    api.force_authenticate(stranger)
    assert api.get("/api/alert-subscriptions/").json()["results"] == []
    foreign = api.post(
        "/api/alert-subscriptions/",
        {"report": report.report_id, "channel": "email", "target": "x@y.example"},
        format="json",
    )
    assert foreign.status_code == 404
    subscription = AlertSubscription.objects.get()
    assert api.delete(f"/api/alert-subscriptions/{subscription.pk}/").status_code == 404


def test_a_viewer_cannot_subscribe(report, instance, api):
    viewer = InstanceAccessFactory(instance=instance, role=AccessRole.VIEWER).user
    api.force_authenticate(viewer)
    response = api.post(
        "/api/alert-subscriptions/",
        {"report": report.report_id, "channel": "email", "target": "x@y.example"},
        format="json",
    )
    assert response.status_code == 403


def test_a_completed_run_with_no_open_incident_queues_no_alert_task(
    schedule, django_capture_on_commit_callbacks, monkeypatch
):
    from operations import tasks

    queued = []
    monkeypatch.setattr(tasks.evaluate_alerts, "delay", queued.append)
    finish_scheduled_run(
        schedule, ExecutionStatus.COMPLETED, n=0, capture=django_capture_on_commit_callbacks
    )
    assert queued == []
    failed = finish_scheduled_run(
        schedule, ExecutionStatus.FAILED, n=1, capture=django_capture_on_commit_callbacks
    )
    assert queued == [str(failed.pk)]
