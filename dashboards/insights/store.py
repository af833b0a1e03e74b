"""The Django side of the insights: a view's daily series in, its DashboardInsight rows out."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_FLOOR, Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum

from dashboards.insights.model import Finding, SeriesKey
from dashboards.models import DashboardFact, DashboardInsight, DashboardView
from dashboards.widgets import DataPlan
from reports.windows import today_in

MAX_METRICS = 8
#: Groups (campaigns) looked at one by one: the largest by spend (or the view's metric). The
#: rest are in the totals; testing hundreds of small campaigns costs seconds per refresh and
#: buys only noise, which Benjamini-Hochberg then has to pay for.
MAX_GROUPS = 20


def stored_confidence(confidence: float) -> Decimal:
    """Two decimals, rounded down so that a stored confidence never overstates the finding."""
    value = Decimal(str(min(max(float(confidence), 0.0), 1.0)))
    return value.quantize(Decimal("0.01"), rounding=ROUND_FLOOR)


def replace_view_insights(
    *, view: DashboardView | str, findings: Iterable[Finding]
) -> list[DashboardInsight]:
    """Make `findings` the view's insights, all at once: readers see the old set or the new.

    The view row is locked, so two refreshes of one view never interleave their rows.
    """
    findings = list(findings)
    with transaction.atomic():
        view_id = view.pk if isinstance(view, DashboardView) else view
        locked = DashboardView.objects.select_for_update().get(pk=view_id)
        DashboardInsight.objects.filter(dashboard_view=locked).delete()
        return DashboardInsight.objects.bulk_create(
            DashboardInsight(
                dashboard_view=locked,
                insight_type=finding.insight_type,
                insight_text=finding.text,
                confidence_score=stored_confidence(finding.confidence),
                source_data=finding.source_data,
                ai_model=finding.ai_model[:100],
                prompt_version=finding.prompt_version[:20],
            )
            for finding in findings
        )


def view_series(*, view: DashboardView) -> dict:
    """The daily series an insights view is about, from the dashboard's daily aggregates: its
    metric, spend and sales (for ROAS and the rules) and the report's other measures, in
    total and per campaign (or the widget's `group_by`) for the MAX_GROUPS largest, the rest
    as one group, ALL_OTHERS."""
    configuration = view.report_configuration
    plan = DataPlan.from_dict(configuration.data_aggregation_settings or {})
    if plan.time_column is None:
        return {}
    widget = view.chart_configurations or {}
    wanted = [widget.get("metric"), *(widget.get("metrics") or []), "spend", "sales"]
    wanted += list(plan.measures)  # and the report's other measures (impressions, clicks, ...)
    metrics = [m for m in dict.fromkeys(wanted) if m and m in plan.measures][:MAX_METRICS]
    if not metrics:
        return {}
    sums = {m: Sum(plan.measure_slot(m)) for m in metrics}
    facts = DashboardFact.objects.filter(dashboard_id=configuration.dashboard_id)
    series: dict = {}
    for row in facts.filter(grain=0).values("day").annotate(**sums).order_by("day"):
        for metric in metrics:
            series.setdefault(SeriesKey(metric), []).append((row["day"], row[metric]))
    group = widget.get("group_by") or "campaign"
    if isinstance(group, list | tuple):
        group = group[0] if group else None
    if group in plan.dimensions:
        slot = plan.dimension_slot(group)
        ranking = "spend" if "spend" in metrics else metrics[0]
        largest = list(
            facts.filter(grain=1)
            .exclude(**{slot: ""})
            .values(slot)
            .annotate(total=Sum(plan.measure_slot(ranking)))
            .order_by("-total")
            .values_list(slot, flat=True)[: MAX_GROUPS + 1]
        )
        more = len(largest) > MAX_GROUPS
        largest = largest[:MAX_GROUPS]
        rows = (
            facts.filter(grain=1, **{f"{slot}__in": largest})
            .values("day", slot)
            .annotate(**sums)
            .order_by("day")
        )
        for row in rows:
            if not row[slot]:
                continue
            for metric in metrics:
                key = SeriesKey(metric, str(row[slot]))
                series.setdefault(key, []).append((row["day"], row[metric]))
        if more:
            _add_the_rest(series, metrics, {str(name) for name in largest})
    return series


#: The group that stands for every group past the MAX_GROUPS largest.
ALL_OTHERS = "all others"


def _add_the_rest(series: dict, metrics: list[str], groups: set[str]) -> None:
    """Totals minus the groups looked at one by one, so shares and summaries still add up to
    the dashboard's totals."""
    for metric in metrics:
        shown: dict = {}
        for key, points in series.items():
            if key.metric == metric and key.group in groups:
                for day, value in points:
                    shown[day] = shown.get(day, 0) + (value or 0)
        series[SeriesKey(metric, ALL_OTHERS)] = [
            (day, None if total is None else max(total - shown.get(day, 0), 0))
            for day, total in series.get(SeriesKey(metric), [])
        ]


def store_view_insights(*, view: DashboardView, as_of=None) -> list[DashboardInsight]:
    """The dashboard refresh's call: find the view's insights and make them its insights.

    `as_of` is the refresh day in the report's time zone (today by default); days within
    AMC's data lag of it are left out.
    """
    from dashboards.insights.engine import find_insights  # statsmodels: loaded when used

    if as_of is None:
        report = view.report_configuration.report
        as_of = today_in((report.timezone if report else None) or "UTC")
    findings = find_insights(
        view_series(view=view), as_of=as_of, lag_days=settings.AMC_DATA_LAG_DAYS
    )
    return replace_view_insights(view=view, findings=most_worth_keeping(findings))


#: Findings kept per view and refresh: every summary and recommendation, then the most
#: confident of the rest. A noisy year of many campaigns can publish hundreds of anomalies;
#: a page shows a dozen, and rewriting hundreds of rows each refresh costs more than it tells.
MAX_STORED = 50


def most_worth_keeping(findings: list) -> list:
    always = [f for f in findings if f.insight_type in ("summary", "recommendation")]
    rest = sorted(
        (f for f in findings if f.insight_type not in ("summary", "recommendation")),
        key=lambda f: f.confidence,
        reverse=True,
    )
    return always + rest[: max(MAX_STORED - len(always), 0)]
