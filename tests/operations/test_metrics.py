"""/metrics: domain metrics agree with what happened, and only the allowed may scrape; the
worker's JSON log lines carry the ids of the runs they are about."""

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fixtures.workers import ENGINE_ENV
from tests.reports.test_engine_e2e import CAMPAIGN_SQL, wait_until_finished


def scrape(client, **headers) -> dict:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content[:300]
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0)


@pytest.mark.slow
def test_domain_metrics_after_a_known_sequence_of_runs_on_the_simulator(
    client, simulated_report, celery_workers, settings
):
    for name, setting in ENGINE_ENV.items():
        setattr(settings, name, float(setting))
    from reports.services.executions import run_report

    good = simulated_report(sql=CAMPAIGN_SQL, cap=2, pending=0.1, running=0.3)
    bad = simulated_report(sql="SELECT nonexistent_column FROM sponsored_ads_traffic", cap=3)
    (worker,) = celery_workers(
        count=1, concurrency=4, env={**ENGINE_ENV, "RECOMAMP_LOG_FORMAT": "json"}
    )
    runs = [run_report(report=good, user=good.owner) for _ in range(3)]
    runs.append(run_report(report=bad, user=bad.owner))
    finished = {e.pk: e.status for e in wait_until_finished(runs)}
    assert sorted(finished.values()) == ["completed", "completed", "completed", "failed"]

    # The worker logged JSON lines that carry each run's ids.
    lines = [
        json.loads(line)
        for line in worker.log_path.read_text().splitlines()
        if line.startswith("{")
    ]
    for run in runs:
        mine = [line for line in lines if line["execution_id"] == run.execution_id]
        assert mine, f"no log line of {run.execution_id}"
        assert all(line["report_id"] == run.report.report_id for line in mine)
        assert all(line["instance"] == run.report.instance.instance_id for line in mine)
        assert any(line["task_id"] for line in mine)

    samples = scrape(client)
    good_id, bad_id = good.instance.instance_id, bad.instance.instance_id
    executions = "recomamp_executions"
    assert (
        value(samples, executions, instance=good_id, status="completed", triggered_by="manual") == 3
    )
    assert value(samples, executions, instance=bad_id, status="failed", triggered_by="manual") == 1
    assert value(samples, "recomamp_amc_errors", instance=bad_id, kind="query") == 1
    assert value(samples, "recomamp_slots_cap", instance=good_id) == 2
    assert value(samples, "recomamp_slots_in_use", instance=good_id) == 0
    assert value(samples, "recomamp_runs_waiting", instance=good_id) == 0
    assert value(samples, "recomamp_amc_latency_seconds_count", instance=good_id) == 3
    assert value(samples, "recomamp_amc_latency_seconds_bucket", instance=good_id, le="+Inf") == 3
    assert value(samples, "recomamp_dispatcher_lag_seconds") == 0
    # Request and database metrics of django-prometheus are there too.
    names = {name for name, _ in samples}
    assert any(name.startswith("django_http_requests") for name in names)
    assert any(name.startswith("django_db_execute") for name in names)


@pytest.mark.django_db
def test_waiting_runs_slots_and_dispatcher_lag_are_counted(client, report):
    from datetime import timedelta

    from django.utils import timezone

    from reports.models import ExecutionSlot
    from tests.factories.reports import ReportExecutionFactory
    from tests.factories.schedules import ReportScheduleFactory

    instance = report.instance
    held = ReportExecutionFactory(report=report, status="running", phase="submitted")
    ExecutionSlot.objects.create(instance=instance, slot_number=1, execution=held)
    for _ in range(4):
        ReportExecutionFactory(report=report, status="pending")
    ReportScheduleFactory(report=report, next_run_at=timezone.now() - timedelta(seconds=90))

    samples = scrape(client)
    assert value(samples, "recomamp_slots_in_use", instance=instance.instance_id) == 1
    assert value(samples, "recomamp_runs_waiting", instance=instance.instance_id) == 4
    assert 89 <= value(samples, "recomamp_dispatcher_lag_seconds") < 120


@pytest.mark.django_db
def test_metrics_need_the_token_or_a_loopback_address(client, settings):
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403
    settings.RECOMAMP_METRICS_TOKEN = "s3cret-scrape-token"
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    ok = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
    assert ok.status_code == 200
