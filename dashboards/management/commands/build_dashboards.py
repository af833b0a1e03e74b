"""Dashboards for reports that have none, and (with --rebuild) views rebuilt from templates."""

from django.core.management.base import BaseCommand

from dashboards.services.building import build_dashboard, build_missing_dashboards
from dashboards.services.refresh import mark_dirty
from reports.models import ReportDefinition


class Command(BaseCommand):
    help = "Create the dashboards of reports that have none; --rebuild also rebuilds the others."

    def add_arguments(self, parser):
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="Rebuild every dashboard whose template changed (customised ones are kept).",
        )
        parser.add_argument(
            "--force", action="store_true", help="With --rebuild: customised ones too."
        )

    def handle(self, *args, rebuild: bool, force: bool, **options):
        built = build_missing_dashboards()
        rebuilt = 0
        if rebuild:
            for report in ReportDefinition.objects.select_related("template"):
                rebuilt += build_dashboard(report=report, force=force).rebuilt
        for report in ReportDefinition.objects.filter(
            dashboard__isnull=False, dashboard__data_refreshed_at__isnull=True
        ):
            mark_dirty(dashboard_pk=report.dashboard_id, countdown=0)
        self.stdout.write(self.style.SUCCESS(f"{built} dashboards built, {rebuilt} rebuilt."))
