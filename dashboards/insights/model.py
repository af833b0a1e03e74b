"""The types of the insights interface: what goes in (series by key) and what comes out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

# Recorded with every finding (DashboardInsight.ai_model / prompt_version) so that a stored
# insight can be re-scored when the method or its calibration tables change.
METHOD = "recomamp-stats: stl7+theil-sen+glsar-ar1 | stl7+mad-z | wow-rank | sums | rules"
VERSION = "1.0"

TREND = "trend"
ANOMALY = "anomaly"
COMPARISON = "comparison"
SUMMARY = "summary"
RECOMMENDATION = "recommendation"

METRIC_NAMES = {"roas": "ROAS", "ctr": "CTR", "cpc": "CPC", "cpm": "CPM", "acos": "ACOS"}

# The confidence a finding needs to be published.
PUBLISH_AT = 0.8


@dataclass(frozen=True, order=True)
class SeriesKey:
    """One daily series of a report: a metric (spend, sales, ...) of one group (a campaign,
    an ad product, ...). `group=""` is the report's total of that metric."""

    metric: str
    group: str = ""

    @property
    def label(self) -> str:
        """How the series is named in a sentence: "spend of Brand Defense", "total sales"."""
        name = METRIC_NAMES.get(self.metric.lower(), self.metric.replace("_", " "))
        return f"{name} of {self.group}" if self.group else f"total {name}"


@dataclass(frozen=True)
class Finding:
    """One statement about the data with a calibrated probability that it is true.

    `confidence` is in [0, 1]; `source_data` is JSON-ready (method, raw score, n, window, ...).
    `insight_type`, `text`, `confidence`, `source_data`, `ai_model` and `prompt_version` map
    one to one onto DashboardInsight's fields.
    """

    insight_type: str
    text: str
    confidence: float
    source_data: dict[str, Any] = field(default_factory=dict)
    key: SeriesKey | None = None
    direction: int = 0  # +1 up, -1 down, 0 none (summaries)
    window: tuple[date, date] | None = None
    ai_model: str = METHOD
    prompt_version: str = VERSION
