"""Raw scores of one daily series: trend, anomalies and week-over-week change.

Pure numpy/scipy/statsmodels. Each scorer takes the complete daily values of one series (oldest
first, no gaps, already cut at the data lag) and returns its raw score and the numbers a
sentence needs. Turning a raw score into a confidence is calibration.py's job; the same scorers
run in the simulation that builds the calibration tables (build_tables.py), so the tables
describe exactly these scores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import theilslopes
from statsmodels.regression.linear_model import GLSAR
from statsmodels.tsa.seasonal import STL

PERIOD = 7  # daily data: weekly seasonality
MIN_TREND_DAYS = 28
TREND_WINDOW_DAYS = 91  # the trend is the last 13 weeks'
MIN_ANOMALY_DAYS = 28
ANOMALY_WINDOW_DAYS = 365
MIN_COMPARISON_DAYS = 63  # 9 weeks: the current week, the one before and 7 weeks of history
COMPARISON_HISTORY_DAYS = 182  # changes ending in the last 26 weeks form the series' history
MAD_TO_SD = 1.4826
# A day further than this from its expected value (in MAD z) is not used to fit the trend.
TREND_CLIP_Z = 5.0
# Days beyond this MAD z in a first STL fit are set aside before the anomaly fit.
ANOMALY_REFIT_Z = 3.5
TREND_INTERVAL_Z = 1.645  # a 90% interval for the weekly change


def log_values(values: np.ndarray) -> np.ndarray:
    """log(x + c) with c = 1% of the median positive value, so that zero days stay finite."""
    positive = values[values > 0]
    offset = 0.01 * float(np.median(positive)) if positive.size else 1.0
    return np.log(values + offset)


def too_sparse(values: np.ndarray) -> bool:
    """Series with many zero days (a paused campaign) are not tested on a log scale."""
    return values.size == 0 or float(np.mean(values <= 0)) > 0.2 or bool(np.any(values < 0))


def mad_z(residuals: np.ndarray) -> np.ndarray:
    centre = np.median(residuals)
    mad = np.median(np.abs(residuals - centre)) * MAD_TO_SD
    if not np.isfinite(mad) or mad <= 1e-12:
        mad = max(float(np.std(residuals)), 1e-12)
    return (residuals - centre) / mad


def decompose(logs: np.ndarray):
    """STL with period 7, not robust: a robust fit bends round the spikes we look for.

    The trend and low-pass smoothers are evaluated every 2nd point and interpolated
    (statsmodels' jumps): 45% less time, residuals within 2% (rms) of the full fit's spread.
    """
    return STL(
        logs, period=PERIOD, robust=False, seasonal_jump=1, trend_jump=2, low_pass_jump=2
    ).fit()


@dataclass(frozen=True)
class TrendScore:
    n: int
    slope_per_day: float  # Theil–Sen on the de-seasonalised log series
    slope_low: float  # the 90% interval from the AR(1) standard error around it
    slope_high: float
    t: float  # GLSAR t statistic of the slope (signed); the raw score is |t|
    rho: float

    @property
    def weekly_change(self) -> float:
        return math.expm1(7 * self.slope_per_day)

    @property
    def weekly_interval(self) -> tuple[float, float]:
        return math.expm1(7 * self.slope_low), math.expm1(7 * self.slope_high)

    @property
    def direction(self) -> int:
        # Both estimators must agree on the sign; otherwise there is no direction to state.
        if self.slope_per_day > 0 and self.t > 0:
            return 1
        if self.slope_per_day < 0 and self.t < 0:
            return -1
        return 0


def trend_score(values: np.ndarray) -> TrendScore | None:
    values = values[-TREND_WINDOW_DAYS:]
    n = values.size
    if n < MIN_TREND_DAYS or too_sparse(values):
        return None
    logs = log_values(values)
    fit = decompose(logs)
    deseasonalised = logs - fit.seasonal
    z = mad_z(fit.resid)
    clipped = np.where(np.abs(z) > TREND_CLIP_Z, deseasonalised - fit.resid, deseasonalised)
    days = np.arange(n, dtype=float)
    slope = float(theilslopes(clipped, days)[0])
    design = np.column_stack([np.ones(n), days - days.mean()])
    result = GLSAR(clipped, design, rho=1).iterative_fit(maxiter=6)
    se = float(result.bse[1])
    t = float(result.tvalues[1])
    if not math.isfinite(t):
        t = 0.0
        se = 0.0
    rho = float(np.atleast_1d(result.model.rho)[0])
    return TrendScore(
        n=n,
        slope_per_day=slope,
        slope_low=slope - TREND_INTERVAL_Z * se,
        slope_high=slope + TREND_INTERVAL_Z * se,
        t=t,
        rho=rho,
    )


@dataclass(frozen=True)
class AnomalyScores:
    n: int
    z: np.ndarray  # MAD z of each day's STL residual (signed); the raw score is |z|
    ratio: np.ndarray  # observed / expected (trend + seasonal) on the original scale
    expected: np.ndarray
    tail: float  # 99th percentile of |z|: how heavy the series' own residual tails are

    @property
    def direction(self) -> np.ndarray:
        return np.sign(self.z).astype(int)


def anomaly_scores(values: np.ndarray) -> AnomalyScores | None:
    values = values[-ANOMALY_WINDOW_DAYS:]
    n = values.size
    if n < MIN_ANOMALY_DAYS or too_sparse(values):
        return None
    logs = log_values(values)
    fit = decompose(logs)
    fitted = fit.trend + fit.seasonal
    first_z = mad_z(fit.resid)
    outliers = np.abs(first_z) > ANOMALY_REFIT_Z
    if outliers.any():
        # A non-robust STL spreads a spike into its trend and into the same weekday of the
        # weeks around it. Refit with each outlying day replaced by the median of the same
        # weekday in the five weeks either side (a symmetric window, so a trend cancels out).
        cleaned = logs.copy()
        for index in np.flatnonzero(outliers):
            weeks = [index + k * PERIOD for k in range(-5, 6) if k and 0 <= index + k * PERIOD < n]
            weeks = [w for w in weeks if not outliers[w]]
            cleaned[index] = float(np.median(logs[weeks])) if weeks else fitted[index]
        refit = decompose(cleaned)
        fitted = refit.trend + refit.seasonal
    residuals = logs - fitted
    offset = float(np.exp(logs[0]) - values[0])
    expected = np.maximum(np.exp(fitted) - offset, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected > 0, values / np.where(expected > 0, expected, 1.0), np.inf)
    z = mad_z(residuals)
    tail = float(np.quantile(np.abs(z), 0.99))
    return AnomalyScores(n=n, z=z, ratio=ratio, expected=expected, tail=tail)


@dataclass(frozen=True)
class ComparisonScore:
    current: float  # sum of the last 7 days
    previous: float  # sum of the 7 days before
    change: float  # current / previous - 1
    z: float  # robust z of the log change against the series' own history (signed)
    rank_p: float  # share of past changes at least as far from their median (with the current)
    history: int  # how many past changes

    @property
    def direction(self) -> int:
        return 1 if self.z > 0 and self.change > 0 else -1 if self.z < 0 and self.change < 0 else 0


def comparison_score(values: np.ndarray, days: int = 7) -> ComparisonScore | None:
    """This week (the last 7 complete days) against the week before, ranked against every
    earlier week-long change of the same series (rolling, ending in the last 26 weeks)."""
    n = values.size
    if n < MIN_COMPARISON_DAYS or np.any(values < 0):
        return None
    sums = np.convolve(values, np.ones(days), mode="valid")  # sums[i] = values[i:i+days]
    positive = sums[sums > 0]
    if positive.size == 0 or sums[-1] <= 0 or sums[-1 - days] <= 0:
        return None
    offset = 0.01 * float(np.median(positive))
    log_sums = np.log(sums + offset)
    changes = log_sums[days:] - log_sums[:-days]  # changes[j]: window j+days vs window j
    current = float(changes[-1])
    # Past changes whose later week ends before the current week starts.
    history = changes[: len(changes) - days][-COMPARISON_HISTORY_DAYS:]
    if history.size < 2 * days:
        return None
    centre = float(np.median(history))
    mad = float(np.median(np.abs(history - centre))) * MAD_TO_SD
    spread = mad if mad > 1e-9 else max(float(np.std(history)), 1e-9)
    z = (current - centre) / spread
    exceed = int(np.sum(np.abs(history - centre) >= abs(current - centre)))
    cur_sum, prev_sum = float(sums[-1]), float(sums[-1 - days])
    change = cur_sum / prev_sum - 1 if prev_sum > 0 else math.inf
    return ComparisonScore(
        current=cur_sum,
        previous=prev_sum,
        change=change,
        z=z,
        rank_p=(exceed + 1) / (history.size + 1),
        history=int(history.size),
    )
