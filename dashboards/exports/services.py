"""Exports: request (or reuse), build, expire. Every transition is one conditional UPDATE.

pending -> processing -> completed | failed; pending -> failed (the sweeper, for a lost task).
A completed export is served until `expires_at`; the hourly sweeper deletes its file after.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
from datetime import timedelta

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone
from django.utils.text import slugify

from dashboards.exports import content as export_content
from dashboards.exports.renderers.csv import write_csv
from dashboards.exports.renderers.excel import write_workbook
from dashboards.exports.renderers.pdf import render_pdf
from dashboards.exports.renderers.png import render_png
from dashboards.models import (
    Dashboard,
    ExportFormat,
    ExportStatus,
    ReportConfiguration,
    ReportExport,
)
from instances.selectors import restrict_to_user
from recomamp.errors import DomainError, NotFound

logger = logging.getLogger(__name__)

EXTENSIONS = {
    ExportFormat.PDF: "pdf",
    ExportFormat.PNG: "png",
    ExportFormat.CSV: "csv",
    ExportFormat.EXCEL: "xlsx",
}
CONTENT_TYPES = {
    ExportFormat.PDF: "application/pdf",
    ExportFormat.PNG: "image/png",
    ExportFormat.CSV: "text/csv",
    ExportFormat.EXCEL: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
IN_FLIGHT = [ExportStatus.PENDING, ExportStatus.PROCESSING]


class ExportExpired(DomainError):
    status_code = 410
    default_code = "expired"


class ExportNotReady(DomainError):
    status_code = 409
    default_code = "not_ready"


# -- reads ------------------------------------------------------------------------------------


def dashboards_for_user(*, user) -> QuerySet[Dashboard]:
    return restrict_to_user(Dashboard.objects.all(), user=user)


def exports_for_user(*, user) -> QuerySet[ReportExport]:
    """The user's own exports, on dashboards they can still see. Nobody sees another's file."""
    if not user or not user.is_authenticated:
        return ReportExport.objects.none()
    return restrict_to_user(
        ReportExport.objects.filter(user=user),
        user=user,
        instance_path="report_configuration__dashboard__instance",
    ).select_related("report_configuration__dashboard")


def _data_updated_at(configuration: ReportConfiguration):
    return configuration.views.aggregate(at=Max("data_updated_at"))["at"]


# -- writes -----------------------------------------------------------------------------------


def request_export(*, dashboard: Dashboard, user, export_format: str) -> tuple[ReportExport, bool]:
    """An export of the dashboard for the user, and whether a build was queued.

    An identical request (same user, dashboard and format) gets the export in flight or a
    completed file that has not expired and is newer than the dashboard's data.
    """
    configuration = ReportConfiguration.objects.filter(dashboard=dashboard).first()
    if configuration is None:
        raise NotFound("This dashboard has no configuration to export.", field="dashboard")
    now = timezone.now()
    same = ReportExport.objects.filter(
        report_configuration=configuration, user=user, export_format=export_format
    )
    fresh_since = _data_updated_at(configuration)
    reusable = same.filter(
        Q(status__in=IN_FLIGHT)
        | Q(status=ExportStatus.COMPLETED, expires_at__gt=now + timedelta(minutes=5))
    )
    if fresh_since is not None:
        reusable = reusable.filter(created_at__gte=fresh_since)
    existing = reusable.order_by("-created_at").first()
    if existing is not None:
        return existing, False
    export = ReportExport.objects.create(
        report_configuration=configuration, user=user, export_format=export_format
    )
    from dashboards.exports import tasks

    transaction.on_commit(lambda: tasks.build_export.delay(str(export.pk)))
    return export, True


def _move(export_pk, *, sources: list[str], to: str, **fields) -> bool:
    return (
        ReportExport.objects.filter(pk=export_pk, status__in=sources).update(status=to, **fields)
        == 1
    )


def mark_failed(export_pk, *, message: str, sources: list[str] | None = None) -> bool:
    return _move(
        export_pk,
        sources=sources or IN_FLIGHT,
        to=ExportStatus.FAILED,
        error_message=message[:2000],
        completed_at=timezone.now(),
    )


def build_export(*, export_pk) -> None:
    """Build the file of a pending export. Idempotent: only the call that moves it to
    processing builds; a second delivery of the task does nothing."""
    if not _move(export_pk, sources=[ExportStatus.PENDING], to=ExportStatus.PROCESSING):
        return
    export = ReportExport.objects.select_related(
        "report_configuration__dashboard", "report_configuration__report"
    ).get(pk=export_pk)
    try:
        name, stored, size = _render_and_store(export)
    except Exception as exc:
        logger.exception("export %s failed", export_pk)
        mark_failed(export_pk, message=f"{type(exc).__name__}: {exc}")
        return
    now = timezone.now()
    moved = _move(
        export_pk,
        sources=[ExportStatus.PROCESSING],
        to=ExportStatus.COMPLETED,
        file=stored,
        file_size=size,
        completed_at=now,
        expires_at=now + timedelta(hours=settings.RECOMAMP_EXPORT_TTL_HOURS),
    )
    if not moved:  # the sweeper failed it meanwhile: keep no orphan file
        export.file.storage.delete(stored)
    logger.info("export %s %s stored (%s bytes)", export_pk, name, size)


def _file_name(export: ReportExport) -> str:
    dashboard = export.report_configuration.dashboard
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    slug = slugify(dashboard.name)[:60] or "dashboard"
    return f"{slug}-{stamp}-{str(export.pk)[:8]}.{EXTENSIONS[export.export_format]}"


def _render_and_store(export: ReportExport) -> tuple[str, str, int]:
    configuration = export.report_configuration
    content = export_content.dashboard_content(configuration=configuration)
    fmt = export.export_format
    name = _file_name(export)
    upload_to = export.file.field.generate_filename(export, name)
    storage = export.file.storage
    if fmt in (ExportFormat.PDF, ExportFormat.PNG):
        data = render_dashboard_pdf(content)
        if fmt == ExportFormat.PNG:
            data = render_png(data)
        stored = storage.save(upload_to, ContentFile(data))
        return name, stored, len(data)
    raw = export_content.raw_data(configuration=configuration)
    columns, rows = raw.columns, raw.rows
    if fmt == ExportFormat.CSV:
        if not columns and content.tables:  # no stored rows: the first table instead
            table = content.tables[0]
            columns = [c.key for c in table.columns]
            rows = (dict(zip(columns, row, strict=False)) for row in table.rows)
        with tempfile.TemporaryFile("w+b") as spool:
            text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
            write_csv(text, columns=columns, rows=rows)
            text.flush()
            size = spool.tell()
            spool.seek(0)
            stored = storage.save(upload_to, File(spool, name=name))
            text.detach()
        return name, stored, size
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, name)
        write_workbook(path, content, raw_columns=columns, raw_rows=rows)
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            stored = storage.save(upload_to, File(handle, name=name))
    return name, stored, size


def render_dashboard_pdf(content: export_content.DashboardContent) -> bytes:
    return render_pdf(content, max_table_rows=settings.RECOMAMP_EXPORT_PDF_MAX_TABLE_ROWS)


def open_download(*, export: ReportExport):
    """The file of a completed, unexpired export (the caller has checked the owner)."""
    if export.status in IN_FLIGHT:
        raise ExportNotReady("The export is still being built.", field="status")
    if export.status == ExportStatus.FAILED:
        raise ExportNotReady("The export failed; request a new one.", field="status")
    if export.expires_at is None or export.expires_at <= timezone.now() or not export.file:
        raise ExportExpired("This export has expired; request a new one.")
    return export.file.open("rb")


def download_name(export: ReportExport) -> str:
    base = os.path.basename(export.file.name) if export.file else "export"
    return base


# -- the sweeper ------------------------------------------------------------------------------


def sweep_exports(*, now=None) -> dict[str, int]:
    """Delete files of expired exports and fail exports stuck in flight. Idempotent."""
    now = now or timezone.now()
    expired = 0
    for pk, name in (
        ReportExport.objects.filter(status=ExportStatus.COMPLETED, expires_at__lte=now)
        .exclude(file="")
        .values_list("pk", "file")
        .iterator()
    ):
        ReportExport.objects.filter(pk=pk, file=name).update(file="")
        ReportExport.file.field.storage.delete(name)
        expired += 1
    stuck_before = now - timedelta(minutes=settings.RECOMAMP_EXPORT_STUCK_MINUTES)
    stuck = 0
    for pk in ReportExport.objects.filter(
        status__in=IN_FLIGHT, created_at__lt=stuck_before
    ).values_list("pk", flat=True):
        stuck += mark_failed(pk, message="The export did not finish in time; request it again.")
    if expired or stuck:
        logger.info("export sweeper: %s files expired, %s stuck exports failed", expired, stuck)
    return {"expired": expired, "stuck": stuck}
