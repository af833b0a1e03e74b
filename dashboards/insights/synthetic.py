"""Simulated daily advertising series, with or without planted effects.

Used by the script that builds the calibration tables, by the calibration tests and by the
benchmark. A series is multiplicative: level x weekly pattern x exp(AR(1) noise, sometimes with
heavy tails), optionally observed as Poisson counts; effects multiply it by known amounts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Effect:
    """A planted effect. kind: trend (size = log change per day), step (size = factor from
    `day` on), spike (size = factor on `day` only)."""

    kind: str
    size: float
    day: int = 0

    @property
    def direction(self) -> int:
        if self.kind == "trend":
            return 1 if self.size > 0 else -1
        return 1 if self.size > 1 else -1


def ad_series(
    rng: np.random.Generator,
    n: int,
    *,
    level: float | None = None,
    noise: float | None = None,
    phi: float | None = None,
    weekly_amplitude: float | None = None,
    effects: tuple[Effect, ...] = (),
) -> np.ndarray:
    """One series of n days; parameters left out are drawn from realistic ranges."""
    level = level if level is not None else float(np.exp(rng.uniform(np.log(30), np.log(30000))))
    noise = noise if noise is not None else float(rng.uniform(0.04, 0.15))
    phi = phi if phi is not None else float(rng.uniform(0.0, 0.7))
    amplitude = weekly_amplitude if weekly_amplitude is not None else rng.uniform(0.03, 0.25)
    weekly = rng.normal(0.0, 1.0, 7)
    weekly = amplitude * (weekly - weekly.mean()) / (np.std(weekly) or 1.0)
    phase = int(rng.integers(7))
    if rng.random() < 0.3:  # heavy-tailed days (Student t with 4 degrees of freedom)
        shocks = rng.standard_t(4, n + 50) * noise / np.sqrt(2.0)
    else:
        shocks = rng.normal(0.0, noise, n + 50)
    ar = np.empty(n + 50)
    ar[0] = shocks[0]
    for i in range(1, n + 50):
        ar[i] = phi * ar[i - 1] + shocks[i]
    # Keep the day-to-day spread near `noise` whatever phi is.
    ar = ar[50:] * np.sqrt(1 - phi**2)
    days = np.arange(n)
    log_mean = np.log(level) + weekly[(days + phase) % 7] + ar
    for effect in effects:
        log_mean = log_mean + _effect_log(effect, n)
    mean = np.exp(log_mean)
    if level < 500 and rng.random() < 0.5:  # small counts: Poisson noise on top
        return rng.poisson(mean).astype(float)
    return mean


def _effect_log(effect: Effect, n: int) -> np.ndarray:
    days = np.arange(n)
    if effect.kind == "trend":
        return effect.size * (days - (n - 1))  # ends at the level: the past was different
    if effect.kind == "step":
        return np.where(days >= effect.day, np.log(effect.size), 0.0)
    if effect.kind == "spike":
        return np.where(days == effect.day, np.log(effect.size), 0.0)
    raise ValueError(f"unknown effect {effect.kind}")


def block_bootstrap(rng: np.random.Generator, residuals: np.ndarray, n: int, block: int = 14):
    """A moving-block bootstrap of `residuals` to length n (keeps short-range dependence)."""
    starts = rng.integers(0, max(1, residuals.size - block + 1), size=n // block + 1)
    out = np.concatenate([residuals[s : s + block] for s in starts])[:n]
    return out - np.median(out)
