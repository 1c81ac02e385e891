"""The chain's transaction arrivals: a seeded Poisson stream, piecewise constant per regime."""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

from dtopt.consensus.scenario import Scenario

__all__ = ["ARRIVAL_CHUNK_S", "Arrivals"]

ARRIVAL_CHUNK_S: Final = 200.0  # arrivals are generated in chunks of this length (s)


class Arrivals:
    """Arrival times (s, sorted) of every transaction, generated on demand.

    Arrivals are drawn chunk by chunk on a fixed grid of ``ARRIVAL_CHUNK_S`` (split at
    regime starts), so the stream depends on the seed only, never on how far
    ahead it was asked for (a twin-managed run sees the same transactions as a
    static one).
    """

    __slots__ = ("_rng", "_scenario", "_until_s", "arrival_s")

    def __init__(self, scenario: Scenario, rng: np.random.Generator) -> None:
        self._scenario = scenario
        self._rng = rng
        self._until_s = 0.0
        self.arrival_s: NDArray[np.float64] = np.zeros(0)

    def ensure(self, until_s: float) -> None:
        """Generate arrivals up to at least ``until_s + ARRIVAL_CHUNK_S``."""
        until_s = until_s + ARRIVAL_CHUNK_S
        if until_s <= self._until_s:
            return
        scenario, parts = self._scenario, [self.arrival_s]
        t = self._until_s
        until_s = np.ceil(until_s / ARRIVAL_CHUNK_S) * ARRIVAL_CHUNK_S
        while t < until_s:
            k = scenario.regime_index(t)
            end = scenario.regimes[k + 1].start_s if k + 1 < len(scenario.regimes) else np.inf
            end = min(end, (np.floor(t / ARRIVAL_CHUNK_S) + 1) * ARRIVAL_CHUNK_S)
            n = self._rng.poisson(scenario.regimes[k].tx_rate_per_s * (end - t))
            parts.append(np.sort(self._rng.uniform(t, end, n)))
            t = end
        self.arrival_s = np.concatenate(parts)
        self._until_s = until_s

    def arrived_by(self, t_s: float) -> int:
        """Number of transactions that arrived at or before ``t_s``."""
        return int(np.searchsorted(self.arrival_s, t_s, side="right"))
