"""Anticipation: learn when the validators' state changes and what it changes to.

A purely reactive twin always spends the first interval of a new regime on the
old protocol. When the regimes recur periodically, the history of detected
changes tells when each state comes back: for every inferred offline set the
forecaster records the interval starts at which the chain changed *into* it,
measures that set's cycle (median time between its starts) and, when the next
start of a set other than the current one is due, forecasts it.

Recording the start as the twin saw it (not as the scenario scheduled it) also
learns systematic lags, e.g. returning validators that need a while to sync
before they vote again.
"""

from __future__ import annotations

import numpy as np

from dtopt.errors import DtoptError

__all__ = ["RegimeForecaster"]


class RegimeForecaster:
    """Periodic-recurrence forecaster over inferred offline sets.

    Parameters
    ----------
    interval_s : the twin interval TI (s); a change is due at ``t`` if its
        predicted time is within half an interval of ``t``.
    min_starts : detected starts of a set needed to measure its cycle (>= 2).
    """

    def __init__(self, interval_s: float, min_starts: int = 2) -> None:
        if not np.isfinite(interval_s) or interval_s <= 0:
            raise DtoptError(f"interval_s must be a finite number > 0, got {interval_s!r}")
        if min_starts < 2:
            raise DtoptError(f"min_starts must be >= 2 to measure a cycle, got {min_starts!r}")
        self.interval_s = float(interval_s)
        self.min_starts = int(min_starts)
        self.current: frozenset[str] | None = None
        self.starts_s: dict[frozenset[str], list[float]] = {}

    def observe(self, start_s: float, offline: tuple[str, ...]) -> None:
        """Record the offline set inferred for the interval starting at ``start_s``."""
        seen = frozenset(offline)
        if self.current is not None and seen != self.current:
            self.starts_s.setdefault(seen, []).append(float(start_s))
        self.current = seen

    def cycle_s(self, offline: tuple[str, ...]) -> float | None:
        """Median time between detected starts of ``offline``.

        ``None`` with too few starts, or when the starts are not regular (a gap
        more than half an interval off the median): an irregular recurrence is
        not forecast, since a wrong early switch costs more than a late one.
        """
        starts = self.starts_s.get(frozenset(offline), [])
        if len(starts) < self.min_starts:
            return None
        gaps = np.diff(starts)
        cycle = float(np.median(gaps))
        return cycle if np.all(np.abs(gaps - cycle) <= self.interval_s / 2) else None

    def forecast(self, t_s: float) -> tuple[str, ...] | None:
        """The offline set expected from ``t_s`` if a recurrence is due then, else ``None``."""
        for offline, starts in self.starts_s.items():
            cycle = self.cycle_s(tuple(offline))
            if offline == self.current or cycle is None or cycle <= 0:
                continue
            cycles = round((t_s - starts[-1]) / cycle)
            if cycles >= 1 and abs(t_s - starts[-1] - cycles * cycle) <= self.interval_s / 2:
                return tuple(sorted(offline))
        return None
