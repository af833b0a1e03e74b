"""Refreshing a dashboard's data: coalesced, one at a time, all or nothing.

    execution completed ──▶ mark_dirty ──(one task queued, countdown)──▶ refresh_dashboard
                                  ▲                                          │ claim: conditional
                       more runs end meanwhile: no new task                 │ UPDATE, lease
                                                                             ▼
                            daily aggregates (DashboardFact) ──▶ each view's processed_data
                                                                 (data, Vega-Lite spec, SVG)

A backfill of 365 segments marks the dashboard dirty 365 times but queues a task only when
none is queued: a handful of refreshes, not 365. A refresh claims the dashboard with a
conditional UPDATE (as the engine moves executions), so two workers never refresh one
dashboard at once; one that finds it busy tries again after the countdown. Data that arrives
during a refresh queues the next one.

The rows come from the runs that win each window (`backfills.selectors.report_series_windows`
for backfill segments, plus the report's other completed runs): where runs overlap, the most
recently completed one wins each day. They are aggregated in one INSERT ... SELECT in the
database; Python never holds the raw rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from backfills.selectors import report_series_windows
from dashboards import aggregates, charts
from dashboards.models import Dashboard, DashboardFact, DashboardView, ReportConfiguration
from dashboards.widgets import DataPlan
from reports.models import ExecutionStatus, ReportDefinition, ReportExecution

logger = logging.getLogger(__name__)


def refresh_delay() -> float:
    return float(getattr(settings, "RECOMAMP_DASHBOARD_REFRESH_DELAY_SECONDS", 5.0))


#: A refresh that has not finished after this long is taken over (its worker died).
REFRESH_LEASE_SECONDS = 300


# -- coalescing ------------------------------------------------------------------------------


def on_execution_finished(execution: ReportExecution) -> None:
    """New results: mark the report's dashboard dirty once the run's transaction committed."""
    if execution.status != ExecutionStatus.COMPLETED:
        return
    dashboard_pks = list(
        ReportConfiguration.objects.filter(report_id=execution.report_id).values_list(
            "dashboard_id", flat=True
        )
    )
    for pk in dashboard_pks:
        # robust: a broker hiccup here is logged, never raised into the engine's step.
        transaction.on_commit(lambda pk=pk: mark_dirty(dashboard_pk=pk), robust=True)


def mark_dirty(*, dashboard_pk, countdown: float | None = None) -> bool:
    """Note new data and queue one refresh unless one is queued already; True if queued."""
    now = timezone.now()
    Dashboard.objects.filter(pk=dashboard_pk).update(data_dirty_at=now)
    # A queued mark older than any countdown plus a lease means its task was lost: queue again.
    lost = now - timedelta(seconds=2 * refresh_delay() + REFRESH_LEASE_SECONDS)
    queued = (
        Dashboard.objects.filter(pk=dashboard_pk)
        .filter(Q(refresh_queued_at__isnull=True) | Q(refresh_queued_at__lt=lost))
        .update(refresh_queued_at=now)
    )
    if queued:
        _enqueue(dashboard_pk, countdown=refresh_delay() if countdown is None else countdown)
    return bool(queued)


def request_refresh(*, dashboard: Dashboard) -> bool:
    """A refresh asked for by a person: soon, still coalesced with any queued one."""
    return mark_dirty(dashboard_pk=dashboard.pk, countdown=0)


def _enqueue(dashboard_pk, *, countdown: float) -> None:
    from dashboards import tasks

    transaction.on_commit(
        lambda: tasks.refresh_dashboard.apply_async(
            args=[str(dashboard_pk)], countdown=countdown or None
        )
    )


@dataclass(frozen=True)
class RefreshOutcome:
    status: str  # refreshed | busy | gone
    facts: int = 0


def refresh_dashboard(dashboard_pk) -> RefreshOutcome:
    """Recompute the dashboard (the task's body): claim, compute in one transaction, release."""
    now = timezone.now()
    taken_over = now - timedelta(seconds=REFRESH_LEASE_SECONDS)
    claimed = (
        Dashboard.objects.filter(pk=dashboard_pk)
        .filter(Q(refresh_started_at__isnull=True) | Q(refresh_started_at__lt=taken_over))
        .update(refresh_started_at=now, refresh_queued_at=None)
    )
    if not claimed:
        if not Dashboard.objects.filter(pk=dashboard_pk).exists():
            return RefreshOutcome("gone")
        # Another refresh runs; it may have started before our data arrived: try again later.
        _enqueue(dashboard_pk, countdown=refresh_delay())
        return RefreshOutcome("busy")
    try:
        with transaction.atomic():
            if not _lock_against_deletion(dashboard_pk):
                return RefreshOutcome("gone")
            facts = recompute(Dashboard.objects.get(pk=dashboard_pk), refreshed_at=now)
    finally:
        Dashboard.objects.filter(pk=dashboard_pk, refresh_started_at=now).update(
            refresh_started_at=None
        )
    # Dirt that arrived after our start stays, and its own task is queued already.
    Dashboard.objects.filter(pk=dashboard_pk, data_dirty_at__lte=now).update(data_dirty_at=None)
    return RefreshOutcome("refreshed", facts)


def _lock_against_deletion(dashboard_pk) -> bool:
    """FOR KEY SHARE on the dashboard's row until the refresh commits, the lock a foreign key
    check takes, once instead of per aggregate (see DashboardFact): a deletion of the dashboard
    waits for this refresh and takes its aggregates along; other updates of the row do not
    wait. False if the dashboard is gone."""
    table = connection.ops.quote_name(Dashboard._meta.db_table)
    column = connection.ops.quote_name(Dashboard._meta.pk.column)
    lock = " FOR KEY SHARE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {table} WHERE {column} = %s{lock}",
            [_db_value(dashboard_pk, Dashboard._meta.pk)],
        )
        return cursor.fetchone() is not None


# -- the computation -------------------------------------------------------------------------


def recompute(dashboard: Dashboard, *, refreshed_at=None) -> int:
    """Rebuild the daily aggregates and every view's processed_data; returns the fact count."""
    configuration = ReportConfiguration.objects.select_related("report").get(dashboard=dashboard)
    plan = DataPlan.from_dict(configuration.data_aggregation_settings)
    report = configuration.report
    sources = winning_sources(report=report, plan=plan) if report else []
    count = rebuild_facts(dashboard=dashboard, plan=plan, sources=sources)
    summary = _summary(dashboard=dashboard, plan=plan, sources=sources, report=report)
    reader = aggregates.FactReader(
        dashboard_pk=dashboard.pk, plan=plan, filters=aggregates.Filters()
    )
    period = aggregates.resolve_period(summary=summary, plan=plan, filters=aggregates.Filters())
    summary["period"] = period.as_dict()
    refreshed_at = refreshed_at or timezone.now()
    charts.warm_up()
    views = list(configuration.views.order_by("position"))
    for view in views:
        view.processed_data = view_content(view, reader=reader, period=period, plan=plan)
        view.data_updated_at = refreshed_at
    DashboardView.objects.bulk_update(views, ["processed_data", "data_updated_at"])
    for view in views:
        if view.view_type == "insight":
            store_insights(view=view, plan=plan)
    Dashboard.objects.filter(pk=dashboard.pk).update(
        summary=summary, data_refreshed_at=refreshed_at
    )
    logger.info("dashboard %s refreshed: %s facts from %s runs", dashboard.pk, count, len(sources))
    return count


def view_content(view: DashboardView, *, reader, period, plan: DataPlan) -> dict:
    """A view's processed_data: its data (flat: a card's value, a table's columns and rows),
    the period, and for a chart the Vega-Lite spec and the SVG."""
    widget = view.chart_configurations
    content = aggregates.widget_data(widget, reader=reader, period=period)
    content["period"] = period.as_dict()
    if view.view_type == "metric_card":
        fmt = widget_format(widget, plan)
        content["format"] = fmt
        content["formatted"] = charts.format_value(content["value"], fmt)
    if view.view_type == "chart":
        spec = charts.chart_spec(
            widget,
            content["rows"],
            time_column=plan.time_column,
            width=(view.layout_settings or {}).get("width", "half"),
        )
        content["spec"] = spec
        content["svg"] = charts.render_svg(spec) if content["rows"] else ""
    return content


def widget_format(widget: dict, plan: DataPlan) -> str:
    """How a card's number reads: its own format, else its rate's (percent units or a ratio)."""
    if widget.get("format"):
        return widget["format"]
    derived = plan.derived.get(widget.get("metric"))
    if derived:
        return "percent" if derived.get("scale") == 100 else "ratio"
    return "number"


def store_insights(*, view: DashboardView, plan: DataPlan) -> None:
    """The insights panel's findings over the view's daily series.

    The statistics live in `dashboards.insights` (find the findings, store them as
    DashboardInsight rows with a calibrated confidence); this is its one call site.
    """
    try:
        from dashboards import insights
    except ImportError:
        return
    store = getattr(insights, "store_view_insights", None)
    if store is not None:
        store(view=view)


@dataclass(frozen=True)
class Source:
    """A run whose rows feed the dashboard, and the days it wins."""

    execution_pk: object
    window_start: date
    window_end: date
    first_day: date
    last_day: date


def _local_dates(execution: ReportExecution, tz: ZoneInfo) -> tuple[date, date]:
    start = execution.time_window_start.astimezone(tz).date()
    end = (execution.time_window_end - timedelta(microseconds=1)).astimezone(tz).date()
    return start, max(start, end)


def winning_sources(*, report: ReportDefinition, plan: DataPlan) -> list[Source]:
    """The runs that feed the dashboard and the days each one wins (latest completed wins)."""
    candidates = [
        (w.completed_at, w.execution_pk, w.window_start, w.window_end)
        for w in report_series_windows(report=report)
    ]
    tz = ZoneInfo(report.timezone or "UTC")
    for execution in ReportExecution.objects.filter(
        report=report,
        status=ExecutionStatus.COMPLETED,
        collection__isnull=True,
        time_window_start__isnull=False,
        time_window_end__isnull=False,
    ).only("pk", "time_window_start", "time_window_end", "completed_at"):
        start, end = _local_dates(execution, tz)
        candidates.append((execution.completed_at, execution.pk, start, end))
    candidates.sort(key=lambda c: (c[0] is None, c[0]))
    if plan.time_column is None:
        # One point per window: the latest run of each window wins it whole.
        latest = {(start, end): (pk, start, end) for _, pk, start, end in candidates}
        return [Source(pk, start, end, start, end) for pk, start, end in latest.values()]
    owner: dict[date, tuple] = {}
    for _, pk, start, end in candidates:
        day = start
        while day <= end:
            owner[day] = (pk, start, end)
            day += timedelta(days=1)
    sources: list[Source] = []
    for day in sorted(owner):
        pk, start, end = owner[day]
        last = sources[-1] if sources else None
        if last and last.execution_pk == pk and last.last_day == day - timedelta(days=1):
            sources[-1] = Source(pk, start, end, last.first_day, day)
        else:
            sources.append(Source(pk, start, end, day, day))
    return sources


# -- the aggregates in SQL -------------------------------------------------------------------


class _Dialect:
    """The few JSON expressions that differ between PostgreSQL and SQLite."""

    def __init__(self, vendor: str):
        self.postgres = vendor == "postgresql"

    def text(self, column: str) -> tuple[str, list]:
        if self.postgres:
            return "COALESCE(r.data ->> %s, '')", [column]
        return "COALESCE(CAST(json_extract(r.data, %s) AS TEXT), '')", [_path(column)]

    def number(self, column: str) -> tuple[str, list]:
        if self.postgres:
            # Only JSON numbers count; text or null is missing.
            return (
                "CASE WHEN jsonb_typeof(r.data -> %s) = 'number' "
                "THEN (r.data ->> %s)::double precision END",
                [column, column],
            )
        return (
            "CASE WHEN json_type(r.data, %s) IN ('integer', 'real') "
            "THEN json_extract(r.data, %s) END",
            [_path(column), _path(column)],
        )

    def day_text(self, column: str) -> tuple[str, list]:
        """The row's day as ISO text (cheap to compare; cast once per group, after grouping)."""
        if self.postgres:
            return "left(r.data ->> %s, 10)", [column]
        return "substr(json_extract(r.data, %s), 1, 10)", [_path(column)]

    def is_iso_day(self, expression: str) -> str:
        if self.postgres:
            return f"{expression} ~ '^\\d{{4}}-\\d{{2}}-\\d{{2}}$'"
        return f"{expression} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'"

    def as_date(self, expression: str) -> str:
        return f"CAST({expression} AS date)" if self.postgres else expression

    def prepare(self, cursor) -> None:
        if self.postgres:
            # Grouping ~100,000 rows spills to disk with the default 4 MB.
            cursor.execute("SET LOCAL work_mem = '64MB'")

    def sources_row(self) -> str:
        if self.postgres:
            return "(%s::uuid, %s, %s, %s)"
        return "(%s, %s, %s, %s)"


def _path(column: str) -> str:
    return '$."' + column.replace('"', "") + '"'


def _db_value(value, field):
    return field.get_db_prep_value(value, connection)


def rebuild_facts(*, dashboard: Dashboard, plan: DataPlan, sources: list[Source]) -> int:
    DashboardFact.objects.filter(dashboard=dashboard).delete()
    if not sources:
        return 0
    dialect = _Dialect(connection.vendor)
    execution_field = ReportExecution._meta.pk
    dashboard_value = _db_value(dashboard.pk, Dashboard._meta.pk)
    select_parts: list[str] = []
    params: list = []
    if plan.time_column:
        sql, p = dialect.day_text(plan.time_column)
        select_parts.append(f"{sql} AS day")
        params += p
    else:
        select_parts.append("w.window_start AS day")
    dims = [f"d{i}" for i in range(4)]
    for i, slot in enumerate(dims):
        if i < len(plan.dimensions):
            sql, p = dialect.text(plan.dimensions[i])
            select_parts.append(f"{sql} AS {slot}")
            params += p
        else:
            select_parts.append(f"'' AS {slot}")
    measures = [f"m{i}" for i in range(len(plan.measures))]
    for slot, column in zip(measures, plan.measures, strict=True):
        sql, p = dialect.number(column)
        select_parts.append(f"{sql} AS {slot}")
        params += p
    windows_sql = ", ".join(dialect.sources_row() for _ in sources)
    window_params: list = []
    for source in sources:
        window_params += [
            _db_value(source.execution_pk, execution_field),
            source.first_day.isoformat(),
            source.last_day.isoformat(),
            source.window_start.isoformat(),
        ]
    columns = ", ".join(["dashboard_id", "grain", "day", *dims, *measures])
    sums = ", ".join(f"SUM({slot})" for slot in measures)
    sql = f"""
        WITH w (execution_id, first_day, last_day, window_start) AS (VALUES {windows_sql})
        INSERT INTO dashboard_daily_facts ({columns})
        SELECT %s, 1, {dialect.as_date("day")}, {", ".join(dims)}{", " if measures else ""}{sums}
        FROM (
            SELECT {", ".join(select_parts)}, w.first_day, w.last_day
            FROM report_execution_rows r
            JOIN w ON r.execution_id = w.execution_id
        ) s
        WHERE day >= first_day AND day <= last_day AND {dialect.is_iso_day("day")}
        GROUP BY day, {", ".join(dims)}
    """
    totals = f"""
        INSERT INTO dashboard_daily_facts ({columns})
        SELECT dashboard_id, 0, day, '', '', '', ''{", " if measures else ""}{sums}
        FROM dashboard_daily_facts
        WHERE dashboard_id = %s AND grain = 1
        GROUP BY dashboard_id, day
    """
    with connection.cursor() as cursor:
        dialect.prepare(cursor)
        cursor.execute(sql, [*window_params, dashboard_value, *params])
        count = cursor.rowcount
        cursor.execute(totals, [dashboard_value])
    return count


def _summary(*, dashboard, plan: DataPlan, sources: list[Source], report) -> dict:
    facts = DashboardFact.objects.filter(dashboard=dashboard, grain=0)
    days = list(facts.order_by("day").values_list("day", flat=True).distinct())
    reader = aggregates.FactReader(
        dashboard_pk=dashboard.pk, plan=plan, filters=aggregates.Filters()
    )
    options = {name: reader.distinct(column) for name, column in plan.filters.items()}
    return {
        "first_day": days[0].isoformat() if days else None,
        "last_day": days[-1].isoformat() if days else None,
        "window_days": [d.isoformat() for d in days] if plan.time_column is None else [],
        "windows": sorted(
            {(s.window_start.isoformat(), s.window_end.isoformat()) for s in sources}
        ),
        "days": len(days),
        "runs": len({s.execution_pk for s in sources}),
        "timezone": report.timezone if report else "UTC",
        "filter_options": options,
    }
