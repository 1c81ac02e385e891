"""The chain's transaction arrivals: a seeded Poisson stream, piecewise constant per regime.

Without entry points (``Scenario.tx_entry_share`` empty) a transaction is in every
validator's pool the moment it arrives. With them, each transaction is submitted at
one producer (drawn with the shares: the producers' streams are independent Poisson
streams at ``share * rate``) and reaches every pool after
:meth:`~dtopt.consensus.ChainConfig.tx_pool_delay_s` under the bandwidths of the
regime it was submitted in; the chain's stream is then ordered by that pooled time,
which is the arrival the chain, its view and its metrics count. The total rate is
the regime's either way, which is what the oracle predicts from.
"""

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
    static one). A transaction submitted near a chunk's end whose gossip reaches
    past it is held back until the next chunk, so the released stream stays sorted.

    Attributes
    ----------
    arrival_s : when each transaction is in every validator's pool (s), ascending.
    submitted_s : when it was submitted at its entry producer (s); the same array as
        ``arrival_s`` without entry points.
    entry : position in the producers of its entry producer, ``-1`` without entry points.
    """

    __slots__ = ("_held", "_rng", "_scenario", "_until_s", "arrival_s", "entry", "submitted_s")

    def __init__(self, scenario: Scenario, rng: np.random.Generator) -> None:
        self._scenario = scenario
        self._rng = rng
        self._until_s = 0.0
        self.arrival_s: NDArray[np.float64] = np.zeros(0)
        self.submitted_s: NDArray[np.float64] = self.arrival_s
        self.entry: NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        # pooled, submitted, entry of transactions whose pool time is past the last chunk
        self._held = (np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int32))

    def ensure(self, until_s: float) -> None:
        """Generate arrivals up to at least ``until_s + ARRIVAL_CHUNK_S``."""
        until_s = until_s + ARRIVAL_CHUNK_S
        if until_s <= self._until_s:
            return
        scenario = self._scenario
        pooled, submitted, entry = [self.arrival_s], [self.submitted_s], [self.entry]
        t = self._until_s
        until_s = np.ceil(until_s / ARRIVAL_CHUNK_S) * ARRIVAL_CHUNK_S
        while t < until_s:
            k = scenario.regime_index(t)
            end = scenario.regimes[k + 1].start_s if k + 1 < len(scenario.regimes) else np.inf
            end = min(end, (np.floor(t / ARRIVAL_CHUNK_S) + 1) * ARRIVAL_CHUNK_S)
            n = self._rng.poisson(scenario.regimes[k].tx_rate_per_s * (end - t))
            times = np.sort(self._rng.uniform(t, end, n))
            if scenario.tx_entry_share:
                chunk = self._gossiped(times, k, end)
            else:
                chunk = (times, times, np.full(n, -1, dtype=np.int32))
            for parts, values in zip((pooled, submitted, entry), chunk, strict=True):
                parts.append(values)
            t = end
        self.arrival_s = np.concatenate(pooled)
        self.submitted_s = np.concatenate(submitted) if scenario.tx_entry_share else self.arrival_s
        self.entry = np.concatenate(entry)
        self._until_s = until_s

    def _gossiped(
        self, times: NDArray[np.float64], regime: int, end_s: float
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int32]]:
        """The transactions of a chunk submitted at ``times``, with those held back before,
        released in pool order up to ``end_s``; the rest are held for the next chunk."""
        scenario = self._scenario
        share = np.asarray(scenario.tx_entry_share)
        entry = self._rng.choice(len(share), size=len(times), p=share).astype(np.int32)
        delay_s = scenario.config.tx_pool_delay_s(scenario.regimes[regime].bandwidth_mbps)
        held_pooled, held_submitted, held_entry = self._held
        pooled = np.concatenate([held_pooled, times + delay_s[entry]])
        submitted = np.concatenate([held_submitted, times])
        entry = np.concatenate([held_entry, entry])
        order = np.argsort(pooled, kind="stable")
        pooled, submitted, entry = pooled[order], submitted[order], entry[order]
        cut = int(np.searchsorted(pooled, end_s, side="left"))
        self._held = (pooled[cut:], submitted[cut:], entry[cut:])
        return pooled[:cut], submitted[:cut], entry[:cut]

    def arrived_by(self, t_s: float) -> int:
        """Number of transactions that arrived at or before ``t_s``."""
        return int(np.searchsorted(self.arrival_s, t_s, side="right"))
