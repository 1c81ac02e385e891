"""Anticipation: forecast the validators' next state from the history of inferred states.

A purely reactive twin decides every interval for the state it has just seen, so
it spends the first interval of every new regime on the protocol of the old one,
and after an outage it keeps treating the returning validators as offline until
they vote again. When the chain's states recur periodically (the seed
experiment's faulty validators drop out every other state period), the same
phase of earlier cycles tells what the next interval will hold, returning
validators' sync lag included.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dtopt.errors import DtoptError

__all__ = ["SeasonalForecaster"]


class SeasonalForecaster:
    """Forecasts the next interval's offline set from the same phase of earlier cycles.

    The twin reports the offline set it inferred for every interval. If that
    sequence repeats with a period of ``L`` intervals, the intervals one, two, ...
    periods before the next one tell what the next one will hold, returning
    validators' sync lag included (a set is recorded as the twin saw it, not as a
    schedule says). The period is the lag whose sets agree most often with the
    sets ``L`` intervals earlier (the smallest of those within ``tolerance`` of
    the best), and it is used only if it predicts better than persistence (lag 1,
    "the next interval looks like the last one", i.e. the reactive twin).

    Parameters
    ----------
    interval_s : the twin interval TI (s).
    min_cycles : complete periods of history needed before a period is trusted (>= 2).
    memory_cycles : how many earlier cycles the forecast counts (>= 1).
    tolerance : agreement within which a shorter period is preferred (in [0, 1)).
    """

    def __init__(
        self, interval_s: float, min_cycles: int = 2, memory_cycles: int = 4, tolerance: float = 0.05
    ) -> None:
        if not np.isfinite(interval_s) or interval_s <= 0:
            raise DtoptError(f"interval_s must be a finite number > 0, got {interval_s!r}")
        for name, value, low in (("min_cycles", min_cycles, 2), ("memory_cycles", memory_cycles, 1)):
            if isinstance(value, bool) or int(value) != value or value < low:
                raise DtoptError(f"{name} must be an integer >= {low}, got {value!r}")
        if not 0.0 <= tolerance < 1.0:
            raise DtoptError(f"tolerance must be in [0, 1), got {tolerance!r}")
        self.interval_s = float(interval_s)
        self.min_cycles = int(min_cycles)
        self.memory_cycles = int(memory_cycles)
        self.tolerance = float(tolerance)
        self.first_start_s: float | None = None
        self.sets: list[tuple[str, ...]] = []  # code -> offline set
        self.codes: list[int] = []  # per interval since the first; -1 where nothing was inferred

    def observe(self, start_s: float, offline: Sequence[str]) -> None:
        """Record the offline set inferred for the interval starting at ``start_s``.

        Observing the latest interval again replaces its set; an earlier one is an error.
        """
        if self.first_start_s is None:
            self.first_start_s = float(start_s)
        index = round((start_s - self.first_start_s) / self.interval_s)
        if index < len(self.codes) - 1 or index < 0:
            raise DtoptError(f"interval at {start_s:g} s observed out of order")
        key = tuple(sorted(offline))
        if key not in self.sets:
            self.sets.append(key)
        del self.codes[index:]
        self.codes.extend([-1] * (index - len(self.codes)))  # skipped (bad-data) intervals
        self.codes.append(self.sets.index(key))

    def agreement(self, lag: int) -> float:
        """Fraction of intervals whose set equals the one ``lag`` intervals earlier (NaN if none)."""
        codes = np.asarray(self.codes)
        now, before = codes[lag:], codes[:-lag] if lag else codes
        known = (now >= 0) & (before >= 0)
        return float(np.mean(now[known] == before[known])) if known.any() else float("nan")

    def period(self) -> int | None:
        """The period in intervals, or ``None`` (too little history, or no lag beats persistence)."""
        longest = len(self.codes) // self.min_cycles
        if longest < 2:
            return None
        lags = np.arange(2, longest + 1)
        score = np.array([self.agreement(int(lag)) for lag in lags])
        if np.all(np.isnan(score)):
            return None
        best = np.nanmax(score)
        persistence = self.agreement(1)
        if not best > persistence:
            return None
        return int(lags[np.flatnonzero(score >= best - self.tolerance)[0]])

    def forecast(self) -> dict[tuple[str, ...], float] | None:
        """``{offline set: probability}`` (most likely first) for the interval after the
        last one observed, or ``None`` without a trusted period.

        A validator offline now that was never offline in the remembered cycles
        before the last one is not part of the pattern: it is assumed to stay
        offline and added to every forecast set.
        """
        lag = self.period()
        if lag is None:
            return None
        codes = np.asarray(self.codes)
        nxt = len(codes) - lag * np.arange(1, self.memory_cycles + 1)
        nxt = nxt[nxt >= 0]
        past = codes[nxt][codes[nxt] >= 0]
        if not past.size:
            return None
        # cycles before the last one: an outage that began within it does not explain itself
        remembered = codes[max(len(codes) - lag * (self.memory_cycles + 1), 0) : len(codes) - lag]
        explained = {v for c in np.unique(remembered) if c >= 0 for v in self.sets[c]}
        unexplained = set(self.sets[codes[-1]]) - explained if codes[-1] >= 0 else set()
        out: dict[tuple[str, ...], float] = {}
        for code in past:
            key = tuple(sorted(set(self.sets[code]) | unexplained))
            out[key] = out.get(key, 0.0) + 1.0 / past.size
        return dict(sorted(out.items(), key=lambda item: -item[1]))  # stable: ties keep their order
