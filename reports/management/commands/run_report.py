"""Run one report from the command line and follow it to the end."""

import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from recomamp.errors import DomainError
from reports.models import ReportDefinition, ReportExecution, TriggeredBy
from reports.services.executions import run_report


class Command(BaseCommand):
    help = "Run a report now (rpt_...) and print its progress until it ends."

    def add_arguments(self, parser):
        parser.add_argument("report_id")
        parser.add_argument("--user", help="Username to run as (default: the report's owner).")
        parser.add_argument("--timeout", type=float, default=1800)
        parser.add_argument("--no-wait", action="store_true", help="Start it and return.")

    def handle(self, *args, report_id, user, timeout, no_wait, **options):
        try:
            report = ReportDefinition.objects.select_related("owner").get(report_id=report_id)
        except ReportDefinition.DoesNotExist:
            raise CommandError(f"No report {report_id}.") from None
        runner = get_user_model().objects.get(username=user) if user else report.owner
        try:
            execution = run_report(report=report, user=runner, triggered_by=TriggeredBy.MANUAL)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{execution.execution_id} {execution.status}")
        if no_wait:
            return
        last = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            execution = ReportExecution.objects.get(pk=execution.pk)
            state = (execution.status, execution.amc_status)
            if state != last:
                amc = f" (AMC {execution.amc_status})" if execution.amc_status else ""
                self.stdout.write(f"{execution.execution_id} {execution.status}{amc}")
                last = state
            if execution.is_terminal:
                break
            time.sleep(1)
        else:
            raise CommandError(f"{execution.execution_id} still {execution.status}; gave up.")
        if execution.status != "completed":
            raise CommandError(
                f"{execution.execution_id} {execution.status}: {execution.error_message}"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"{execution.row_count} rows, {execution.size_bytes} bytes "
                f"-> {execution.output_location}"
            )
        )
