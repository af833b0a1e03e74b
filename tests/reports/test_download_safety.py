"""A hostile or compromised "AMC" cannot make a worker fetch from our own network.

The AMC simulator over real HTTP hands out a loopback download URL, or redirects its signed
download to loopback; a bait server on loopback records whether anything reached it. The run
fails with a clear message; nothing is fetched, stored or served.
"""

import time

import pytest
from django.core.files.storage import default_storage

from reports import engine
from reports.models import ExecutionResultRow, ExecutionStatus, ReportExecution
from reports.services.executions import run_report
from tests.fixtures.http import QuietHandler, loopback_server

pytestmark = pytest.mark.django_db

SQL = "SELECT campaign, SUM(impressions) AS impressions FROM sponsored_ads_traffic GROUP BY 1"


class _Bait(QuietHandler):
    def do_GET(self):  # noqa: N802 - the stdlib's name
        self.server.hits.append(self.path)
        body = b"campaign,impressions\nsecret-internal-data,1\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def bait():
    """An HTTP server on loopback standing for an internal service (metadata, admin ports)."""
    with loopback_server(_Bait) as server:
        yield server


def run_in_process(report, engine_tasks, timeout=30.0) -> ReportExecution:
    """Run the report through the engine's steps in this process, as a worker would."""
    execution = run_report(report=report, user=report.owner)
    engine.start(execution.pk)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution.refresh_from_db()
        if execution.is_terminal:
            return execution
        time.sleep(0.1)
        engine.poll(execution.pk)
    raise AssertionError(f"not finished: {execution.status}")


def assert_nothing_kept(execution, api, bait):
    assert execution.status == ExecutionStatus.FAILED
    assert not execution.output_location
    assert not ExecutionResultRow.objects.filter(execution=execution).exists()
    assert not default_storage.exists(
        f"results/{execution.instance.instance_id}/{execution.execution_id}.csv"
    )
    assert bait.hits == []
    api.force_authenticate(execution.report.owner)
    served = api.get(f"/api/executions/{execution.execution_id}/results/")
    assert served.status_code == 409
    assert b"secret-internal-data" not in served.content


def test_a_loopback_download_url_from_amc_fails_the_run_and_fetches_nothing(
    simulated_report, amc_sim, bait, engine_tasks, api
):
    report = simulated_report(sql=SQL, cap=2, pending=0.05, running=0.1)
    loopback = f"http://127.0.0.1:{bait.server_port}/internal/secret.csv?X-Amz-Signature=s"
    amc_sim.set_faults(report.instance.instance_id, download_url=loopback)

    execution = run_in_process(report, engine_tasks)

    assert_nothing_kept(execution, api, bait)
    assert execution.error_message.startswith("Downloading the result failed: result URL refused")
    assert "not https" in execution.error_message
    assert "X-Amz-Signature" not in execution.error_message


def test_a_redirect_to_loopback_fails_the_run_and_fetches_nothing(
    simulated_report, amc_sim, bait, engine_tasks, api
):
    report = simulated_report(sql=SQL, cap=2, pending=0.05, running=0.1)
    target = f"http://127.0.0.1:{bait.server_port}/internal/secret.csv"
    amc_sim.set_faults(report.instance.instance_id, download_redirect=target)

    execution = run_in_process(report, engine_tasks)

    assert_nothing_kept(execution, api, bait)
    assert "result URL refused" in execution.error_message
    assert "not https" in execution.error_message


def test_the_configured_simulator_still_delivers_results(simulated_report, engine_tasks, amc_sim):
    report = simulated_report(sql=SQL, cap=2, pending=0.05, running=0.1)

    execution = run_in_process(report, engine_tasks)

    assert execution.status == ExecutionStatus.COMPLETED, execution.error_message
    assert execution.row_count > 0
