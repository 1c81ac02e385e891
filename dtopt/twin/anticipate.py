"""Anticipation: learn when the validators' state changes and what it changes to.

A purely reactive twin always spends the first interval of a new regime on the
old protocol. When the changes are periodic, the history of detected changes
(the interval in which the inferred offline set changed) gives the period, and
the sequence of offline sets gives what comes next: the forecaster predicts the
set the chain had ``pattern`` regimes ago (2: alternating regimes).
"""

from __future__ import annotations

import numpy as np

from dtopt.errors import DtoptError

__all__ = ["RegimeForecaster"]


class RegimeForecaster:
    """Periodic-change forecaster over inferred offline sets.

    Parameters
    ----------
    interval_s : the twin interval TI (s); detected change times are interval starts.
    min_changes : detected changes needed before forecasting (>= 2, to measure a period).
    pattern : the regime sequence is assumed to repeat with this many regimes (>= 1).
    """

    def __init__(self, interval_s: float, min_changes: int = 2, pattern: int = 2) -> None:
        if not np.isfinite(interval_s) or interval_s <= 0:
            raise DtoptError(f"interval_s must be a finite number > 0, got {interval_s!r}")
        if min_changes < 2 or pattern < 1:
            raise DtoptError("min_changes must be >= 2 and pattern >= 1")
        self.interval_s = float(interval_s)
        self.min_changes = int(min_changes)
        self.pattern = int(pattern)
        self.change_times_s: list[float] = []
        self.regimes: list[frozenset[str]] = []

    def observe(self, start_s: float, offline: tuple[str, ...]) -> None:
        """Record the offline set inferred for the interval starting at ``start_s``."""
        current = frozenset(offline)
        if not self.regimes:
            self.regimes.append(current)
        elif current != self.regimes[-1]:
            self.regimes.append(current)
            self.change_times_s.append(float(start_s))

    @property
    def period_s(self) -> float | None:
        """Median time between detected changes, or ``None`` with too few changes."""
        if len(self.change_times_s) < self.min_changes:
            return None
        return float(np.median(np.diff(self.change_times_s)))

    def forecast(self, t_s: float) -> tuple[str, ...] | None:
        """The offline set expected from ``t_s`` if a change is due then, else ``None``."""
        period = self.period_s
        if period is None or period <= 0 or len(self.regimes) <= self.pattern - 1:
            return None
        since = t_s - self.change_times_s[-1]
        cycles = round(since / period)
        if cycles < 1 or abs(since - cycles * period) > self.interval_s / 2:
            return None
        return tuple(sorted(self.regimes[-self.pattern]))
