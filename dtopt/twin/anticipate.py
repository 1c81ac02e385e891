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


class ChangePointForecaster:
    """Learns the period of the chain's state changes, whatever the state changes to.

    Every interval the twin reports the offline set it inferred; a change is an
    interval whose set differs from the previous one, recorded at the interval's
    start. Changes of a periodically switching chain cluster at ``phase + k *
    period``, the later ones delayed by up to one interval (e.g. returning
    validators that first sync). The period is the longest multiple of the twin
    interval under which every recorded change falls within one interval of the
    earliest phase; the phase is that earliest one, so a predicted change point is
    the first moment the state may change.

    Parameters
    ----------
    interval_s : the twin interval TI (s); candidate periods are multiples of it.
    min_changes : recorded changes needed before a period is trusted (>= 3: two
        changes fit too many periods).
    """

    def __init__(self, interval_s: float, min_changes: int = 3) -> None:
        if not np.isfinite(interval_s) or interval_s <= 0:
            raise DtoptError(f"interval_s must be a finite number > 0, got {interval_s!r}")
        if isinstance(min_changes, bool) or int(min_changes) != min_changes or min_changes < 3:
            raise DtoptError(f"min_changes must be an integer >= 3, got {min_changes!r}")
        self.interval_s = float(interval_s)
        self.min_changes = int(min_changes)
        self.current: frozenset[str] | None = None
        self.changes_s: list[float] = []
        self.seen: list[tuple[str, ...]] = []  # every offline set observed, in order of first sight

    def observe(self, start_s: float, offline: tuple[str, ...]) -> None:
        """Record the offline set inferred for the interval starting at ``start_s``."""
        seen = frozenset(offline)
        if self.current is not None and seen != self.current:
            self.changes_s.append(float(start_s))
        if tuple(sorted(seen)) not in self.seen:
            self.seen.append(tuple(sorted(seen)))
        self.current = seen

    def period_s(self) -> tuple[float, float] | None:
        """``(period, phase)`` of the change points (s), or ``None`` if not (yet) periodic."""
        if len(self.changes_s) < self.min_changes:
            return None
        changes = np.asarray(self.changes_s)
        span_intervals = int(np.round((changes[-1] - changes[0]) / self.interval_s))
        for k in range(span_intervals, 1, -1):
            period = k * self.interval_s
            lag = np.mod(changes - changes[0], period)
            lag = np.where(lag > period - self.interval_s / 2, lag - period, lag)  # wrap near 0
            earliest = lag.min()
            if lag.max() - earliest <= self.interval_s * 1.01:
                return period, float(np.mod(changes[0] + earliest, period))
        return None

    def change_due(self, t_s: float) -> bool:
        """Whether a predicted change point falls in the interval ``[t_s, t_s + TI)``."""
        learned = self.period_s()
        if learned is None:
            return False
        period, phase = learned
        ahead = np.mod(phase - t_s, period)
        return bool(ahead < self.interval_s - 1e-9 or ahead > period - 1e-9)

    def other_states(self) -> list[tuple[str, ...]]:
        """The offline sets seen before, other than the current one (the candidates next)."""
        current = tuple(sorted(self.current or ()))
        return [s for s in self.seen if s != current]
