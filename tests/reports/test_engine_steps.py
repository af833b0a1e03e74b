"""Each branch of the execution engine, step by step, against the AMC simulator over HTTP, with
no workers: the steps are called directly and the follow-up tasks they send are recorded."""

import time
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from reports.engine import results, states, steps, sweeper
from reports.models import (
    ExecutionPhase,
    ExecutionResultRow,
    ExecutionSlot,
    ExecutionStatus,
    ReportExecution,
)
from reports.services.executions import run_report

SQL = "SELECT campaign, SUM(impressions) AS impressions FROM sponsored_ads_traffic GROUP BY 1"


@pytest.fixture
def fast_engine(settings):
    settings.RECOMAMP_POLL_MIN_SECONDS = 0.05
    settings.RECOMAMP_POLL_MAX_SECONDS = 0.2
    settings.RECOMAMP_LEASE_SECONDS = 30
    settings.RECOMAMP_MAX_TRANSIENT_RETRIES = 2
    return settings


@pytest.fixture
def report(db, simulated_report, fast_engine, engine_tasks):
    return simulated_report(sql=SQL, cap=2, pending=0.02, running=0.05)


@pytest.fixture
def slow_report(db, simulated_report, fast_engine, engine_tasks):
    """AMC takes its time: a cancel reaches it while it runs."""
    return simulated_report(sql=SQL, cap=2, pending=5.0, running=5.0)


def stats(amc_sim, report):
    return amc_sim.stats()["instances"][report.instance.instance_id]


def get(execution) -> ReportExecution:
    return ReportExecution.objects.get(pk=execution.pk)


def story(execution) -> list[str]:
    return [f"{e.to_status}/{e.to_phase}" for e in execution.events.order_by("at", "id") if True]


def lapse(execution, **fields) -> None:
    past = timezone.now() - timedelta(seconds=1)
    ReportExecution.objects.filter(pk=execution.pk).update(
        lease_expires_at=past, next_poll_at=past, **fields
    )


def poll_until(execution, phase_left: str, timeout: float = 10.0) -> ReportExecution:
    """Poll as the task chain would, until the execution leaves `phase_left`."""
    deadline = time.monotonic() + timeout
    while get(execution).phase == phase_left:
        assert time.monotonic() < deadline, f"still {phase_left}"
        ReportExecution.objects.filter(pk=execution.pk).update(next_poll_at=timezone.now())
        steps.poll(execution.pk)
        time.sleep(0.02)
    return get(execution)


def submitted(report) -> ReportExecution:
    execution = run_report(report=report, user=report.owner)
    assert get(execution).phase == ExecutionPhase.DISPATCHED
    steps.start(execution.pk)
    assert get(execution).phase == ExecutionPhase.SUBMITTED
    return execution


def test_a_run_tells_its_whole_story_in_events(report, amc_sim, api):
    execution = submitted(report)

    done = poll_until(execution, ExecutionPhase.SUBMITTED)

    assert done.status == ExecutionStatus.COMPLETED, done.error_message
    walk = story(done)
    assert walk[:4] == [
        "pending/queued",
        "pending/dispatched",
        "pending/submitting",
        "running/submitted",
    ]
    assert walk[-2:] == ["running/downloading", "completed/ended"]
    first = done.events.order_by("at", "id").first()
    assert first.user == report.owner and first.detail["triggered_by"] == "manual"
    assert (
        done.events.get(to_phase="submitted", from_phase="submitting").detail["amc_execution_id"]
        == done.amc_execution_id
    )
    assert done.events.get(to_status="completed").detail["rows"] == done.row_count
    assert not ExecutionSlot.objects.filter(execution=done).exists()
    assert stats(amc_sim, report)["submits"] == 1


def test_events_endpoint_tells_the_story_to_those_who_may_see_the_run(report, api, analyst):
    from instances.models import AccessRole
    from tests.factories.instances import InstanceAccessFactory

    execution = submitted(report)
    poll_until(execution, ExecutionPhase.SUBMITTED)
    InstanceAccessFactory(user=analyst, instance=report.instance, role=AccessRole.VIEWER)

    response = api.get(f"/api/executions/{execution.execution_id}/events/")

    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert [(r["from_phase"], r["to_phase"]) for r in rows][:3] == [
        ("", "queued"),
        ("queued", "dispatched"),
        ("dispatched", "submitting"),
    ]
    assert rows[-1]["to_status"] == "completed"


def test_events_of_another_tenants_run_are_not_found(report, api):
    execution = run_report(report=report, user=report.owner)

    response = api.get(f"/api/executions/{execution.execution_id}/events/")

    assert response.status_code == 404


def test_a_twin_start_submits_once(report, amc_sim):
    execution = run_report(report=report, user=report.owner)

    steps.start(execution.pk)
    steps.start(execution.pk)  # the start task delivered twice

    assert get(execution).status in (ExecutionStatus.RUNNING, ExecutionStatus.COMPLETED)
    assert stats(amc_sim, report)["submits"] == 1


def test_a_submit_whose_outcome_is_unknown_is_adopted_from_amc(report, amc_sim):
    execution = submitted(report)
    amc_id = get(execution).amc_execution_id
    # The worker died after AMC created it, before recording the id.
    lapse(
        execution,
        status=ExecutionStatus.PENDING,
        phase=ExecutionPhase.SUBMITTING,
        amc_execution_id="",
    )

    steps.start(execution.pk)

    adopted = get(execution)
    assert adopted.phase == ExecutionPhase.SUBMITTED
    assert adopted.amc_execution_id == amc_id
    assert stats(amc_sim, report)["submits"] == 1
    assert adopted.events.filter(detail__adopted=True).exists()


def test_a_submit_amc_never_saw_is_sent_again_once(report, amc_sim):
    execution = run_report(report=report, user=report.owner)
    now = timezone.now()
    states.move(execution.pk, states.SUBMITTING, submit_started_at=now)
    lapse(execution)

    steps.start(execution.pk)

    assert get(execution).phase == ExecutionPhase.SUBMITTED
    assert stats(amc_sim, report)["submits"] == 1


def test_a_run_cancelled_during_its_submit_keeps_its_slot_until_amc_is_told(slow_report, amc_sim):
    report = slow_report
    execution = run_report(report=report, user=report.owner)
    now = timezone.now()
    states.move(execution.pk, states.SUBMITTING, sources={states.DISPATCHED}, submit_started_at=now)

    assert steps.request_cancel(execution.pk, user=report.owner)
    cancelling = get(execution)
    assert (cancelling.status, cancelling.phase) == ("cancelled", "cancelling")
    assert ExecutionSlot.objects.filter(execution=execution).exists()

    steps.submit(cancelling)  # the submit in flight returns

    cancelled = get(execution)
    assert (cancelled.status, cancelled.phase) == ("cancelled", "ended")
    assert cancelled.amc_execution_id
    assert not ExecutionSlot.objects.filter(execution=execution).exists()
    assert stats(amc_sim, report)["executions"]["CANCELLED"] == 1


def test_a_run_cancelled_at_amc_frees_its_slot_only_after_amc_is_told(
    report, amc_sim, engine_tasks
):
    execution = submitted(report)

    steps.request_cancel(execution.pk, user=report.owner)

    assert get(execution).phase == ExecutionPhase.CANCELLING
    assert ExecutionSlot.objects.filter(execution=execution).exists()
    assert ("cancel_at_amc", str(execution.pk)) in engine_tasks
    steps.cancel_at_amc(execution.pk)
    assert get(execution).phase == ExecutionPhase.ENDED
    assert not ExecutionSlot.objects.filter(execution=execution).exists()


def test_a_run_cancelled_during_its_download_keeps_no_result(report, amc_sim, monkeypatch):
    execution = submitted(report)
    stored_names = []
    real_download_all = results._download_all

    def download_while_a_user_cancels(client, urls, spool):
        size = real_download_all(client, urls, spool)
        steps.request_cancel(execution.pk, user=report.owner)
        return size

    real_save = default_storage.save

    def remember(name, content, **kwargs):
        stored_names.append(real_save(name, content, **kwargs))
        return stored_names[-1]

    monkeypatch.setattr(results, "_download_all", download_while_a_user_cancels)
    monkeypatch.setattr(default_storage, "save", remember)

    done = poll_until(execution, ExecutionPhase.SUBMITTED)

    assert (done.status, done.phase) == ("cancelled", "ended")
    assert not done.output_location
    assert not ExecutionResultRow.objects.filter(execution=execution).exists()
    assert stored_names and not default_storage.exists(stored_names[0])
    assert story(done)[-2:] == ["running/downloading", "cancelled/ended"]


def test_amc_failing_every_status_check_fails_the_run_after_the_retries(report, amc_sim):
    execution = submitted(report)
    amc_sim.set_faults(report.instance.instance_id, rate_500=1.0)

    for _ in range(5):
        ReportExecution.objects.filter(pk=execution.pk).update(next_poll_at=timezone.now())
        steps.poll(execution.pk)

    failed = get(execution)
    assert failed.status == ExecutionStatus.FAILED
    assert "after 2 retries" in failed.error_message
    assert not ExecutionSlot.objects.filter(execution=execution).exists()
    assert [e.detail.get("retry") for e in failed.events.filter(to_phase="submitted")][-2:] == [
        1,
        2,
    ]


def test_storage_failing_fails_the_run_with_the_reason_and_frees_its_slot(
    report, amc_sim, monkeypatch
):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(default_storage, "save", full)
    execution = submitted(report)

    poll_until(execution, ExecutionPhase.SUBMITTED)
    for _ in range(3):  # the retries, as their tasks would
        if get(execution).is_terminal:
            break
        lapse(execution)
        steps.poll(execution.pk)

    failed = get(execution)
    assert failed.status == ExecutionStatus.FAILED
    assert "No space left on device" in failed.error_message
    assert not ExecutionSlot.objects.filter(execution=execution).exists()


def test_a_late_worker_never_deletes_a_completed_runs_file(report, amc_sim, monkeypatch):
    execution = submitted(report)
    real_download_all = results._download_all
    late: dict = {}

    def stall_past_the_lease(client, urls, spool):
        size = real_download_all(client, urls, spool)
        if not late:
            late["stalled"] = True
            # This worker stalls past its lease: another one takes the download over and
            # completes it first.
            lapse(execution)
            steps.download(execution.pk)
            late["winner"] = get(execution).output_location
        return size

    monkeypatch.setattr(results, "_download_all", stall_past_the_lease)

    done = poll_until(execution, ExecutionPhase.SUBMITTED)

    assert done.status == ExecutionStatus.COMPLETED
    assert done.output_location == late["winner"]
    assert default_storage.exists(done.output_location)
    assert ExecutionResultRow.objects.filter(execution=execution).count() == done.row_count
    assert done.events.filter(detail__download__startswith="taking the download over").exists()
    assert len(list(default_storage.listdir(done.output_location.rsplit("/", 1)[0])[1])) == 1


def test_one_workers_observed_amc_latency_times_every_workers_first_poll(
    report, amc_sim, engine_tasks
):
    execution = submitted(report)
    poll_until(execution, ExecutionPhase.SUBMITTED)
    steps._observed.clear()  # another worker process: nothing observed by itself
    expected = steps.expected_seconds(report.instance_id)
    # The simulator runs it 0.02 s pending + 0.05 s running.
    assert expected is not None and 0.06 < expected < 0.5
    assert steps.first_poll_delay(report.instance_id) == pytest.approx(
        max(expected, 0.05), abs=1e-6
    )


def test_a_duplicate_poll_merges_into_one_chain(slow_report, amc_sim, engine_tasks, settings):
    settings.RECOMAMP_POLL_MIN_SECONDS = 2
    report = slow_report
    execution = submitted(report)
    ReportExecution.objects.filter(pk=execution.pk).update(next_poll_at=timezone.now())
    engine_tasks.clear()
    before = amc_sim.stats()["requests"]["total"]

    steps.poll(execution.pk)
    steps.poll(execution.pk)  # a second chain's message, at the same turn

    polls = [name for name, _ in engine_tasks if name == "poll_execution"]
    assert len(polls) == 1
    assert amc_sim.stats()["requests"]["total"] - before == 1  # one status check


def test_the_sweeper_repairs_each_stuck_phase(report, amc_sim, engine_tasks):
    execution = submitted(report)
    lapse(execution)
    engine_tasks.clear()

    repaired = sweeper.sweep()

    assert repaired["polls_resumed"] == 1
    assert ("poll_execution", str(execution.pk)) in engine_tasks


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("42", 42),
        ("-7", -7),
        ("0", 0),
        ("3.5", 3.5),
        ("1e3", 1000.0),
        ("00123", "00123"),
        ("1_000", "1_000"),
        (" 42 ", " 42 "),
        ("+5", "+5"),
        ("nan", "nan"),
        ("inf", "inf"),
        ("1e999", "1e999"),
        ("B00X12", "B00X12"),
        ("", None),
    ],
)
def test_csv_values_are_typed_faithfully(text, value):
    assert results.typed({"v": text}) == {"v": value}
