"""Regime memory: the states the twin has seen, and how often the chain leaves one.

A configuration chosen now stays in force for a while (a change must pay for
itself, :mod:`dtopt.twin.config_search.search`), and the chain may move to
another regime in the next interval. The twin therefore decides on the
expected cost over what may come: the next interval's state as estimated (or
forecast) with probability ``1 - p``, and with probability ``p`` one of the
other regimes seen so far, each as often as it was seen. ``p``, the chance of
a regime change in the next interval, is learned from the inferred states: the
share of intervals whose regime differed from the one before (Laplace's rule
of succession, so one interval of history gives 1/2 and a long steady run
tends to 0).

A regime is what the twin infers of the chain's conditions: the offline set,
the arrival rate, the median bandwidth of the online validators and the jitter.
An estimate joins the first regime seen (the one it was last in, first) with
the same offline set whose centre (the geometric mean of its estimates) lies
within a factor ``tolerance`` of it on each of the three other axes, so that
estimation noise does not split one regime in two; else it opens a new one.
Each regime remembers the last state estimated in it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from dtopt._validate import check_int
from dtopt.errors import DtoptError
from dtopt.twin.oracle import OracleState

__all__ = ["REGIME", "RegimeMemory"]

REGIME = "regime:"  # the name of another regime's what-if state, before its index

_JITTER_FLOOR_S = 1e-3  # jitters below this are "steady" (one cell)
_RATE_FLOOR_TPS = 0.1  # rates below this are "idle" (one cell)


@dataclass
class RegimeMemory:
    """The regimes seen, their frequencies and the learned regime-change probability.

    Parameters
    ----------
    log_step : width of a regime's cell on the rate, bandwidth and jitter axes, as a
        ratio (> 1).
    max_others : at most this many other regimes (the most frequent) enter the
        expectation (>= 0; 0: the decision ignores the risk of a change).
    """

    tolerance: float = 2.0
    max_others: int = 2
    labels: list[int] = field(default_factory=list)  # regime of each observed interval
    centres: list[tuple[tuple[int, ...], np.ndarray, int]] = field(default_factory=list)
    last_state: list[OracleState] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not np.isfinite(self.tolerance) or self.tolerance <= 1.0:
            raise DtoptError(f"tolerance must be a finite number > 1, got {self.tolerance!r}")
        self.max_others = check_int("max_others", self.max_others, minimum=0)

    @staticmethod
    def _point(state: OracleState) -> tuple[tuple[int, ...], np.ndarray]:
        online_bw = state.bandwidth_mbps[state.online] if state.online.any() else state.bandwidth_mbps
        levels = (max(state.tx_rate_per_s, _RATE_FLOOR_TPS), float(np.median(online_bw)),
                  max(state.jitter_s, _JITTER_FLOOR_S))
        return tuple(np.flatnonzero(~state.online).tolist()), np.log(levels)

    def regime(self, state: OracleState) -> int | None:
        """The regime ``state`` belongs to (the last one if it fits, else the first that
        fits), or ``None`` if it fits none."""
        offline, point = self._point(state)
        order = list(range(len(self.centres)))
        if self.labels:
            order.insert(0, self.labels[-1])
        for k in order:
            their_offline, total, count = self.centres[k]
            if their_offline == offline and np.all(np.abs(point - total / count) <= math.log(self.tolerance)):
                return k
        return None

    def observe(self, state: OracleState) -> None:
        """Record the state estimated for the interval just ended."""
        k = self.regime(state)
        offline, point = self._point(state)
        if k is None:
            k = len(self.centres)
            self.centres.append((offline, point, 1))
            self.last_state.append(state)
        else:
            _, total, count = self.centres[k]
            self.centres[k] = (offline, total + point, count + 1)
            self.last_state[k] = state
        self.labels.append(k)

    def change_probability(self) -> float:
        """Probability that the next interval is in another regime than the last one."""
        changes = sum(a != b for a, b in zip(self.labels[1:], self.labels[:-1], strict=False))
        return (changes + 1.0) / (len(self.labels) - 1 + 2.0) if self.labels else 0.5

    def others(self, current: OracleState) -> list[tuple[int, OracleState, float]]:
        """The other regimes seen (at most ``max_others``, the most frequent): each one's index,
        a state and its frequency among them (summing to 1): the regime's own conditions (online
        set, bandwidth, rate, jitter) with ``current``'s pool and round. Empty if none."""
        mine = self.regime(current)
        counts: dict[int, int] = {}
        for k in self.labels:
            if k != mine:
                counts[k] = counts.get(k, 0) + 1
        ranked = sorted(counts, key=lambda k: (-counts[k], k))[: self.max_others]
        total = sum(counts[k] for k in ranked)
        out = []
        for key in ranked:
            seen = self.last_state[key]
            state = current.with_(
                online=seen.online, bandwidth_mbps=seen.bandwidth_mbps,
                tx_rate_per_s=seen.tx_rate_per_s, jitter_s=seen.jitter_s,
            )
            out.append((key, state, counts[key] / total))
        return out

    def mix(
        self, basis: list[tuple[str, OracleState, float]], current: OracleState
    ) -> list[tuple[str, OracleState, float]]:
        """``basis`` (the next interval's named states with probabilities) weighed ``1 - p``,
        the other regimes (:meth:`others`, named ``regime:<index>``) ``p``; ``basis`` alone
        if there are none."""
        others = self.others(current)
        if not others:
            return basis
        p = self.change_probability()
        total = sum(w for _, _, w in basis)
        return ([(n, s, (1.0 - p) * w / total) for n, s, w in basis]
                + [(f"{REGIME}{k}", s, p * w) for k, s, w in others])
