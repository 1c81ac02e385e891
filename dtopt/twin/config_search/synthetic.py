"""A synthetic, seeded cost landscape shaped like the chain's, for testing and benchmarking the search.

It is not the oracle: it is a closed-form queueing caricature of a BFT chain
under a configuration, with the features that make the real decision hard:

* a round lasts ``create + block / bandwidth + block validation + phases``
  message delays (IBFT three, BigFoot two when everyone is online; with
  validators offline BigFoot waits for its fast-path timeout, then commits);
* a round commits only if it fits in the round timeout: near ``round ~ timeout``
  a proposal commits with a probability that falls steeply (a logistic in
  ``(timeout - round) / round``), and every failed or offline-proposer round
  costs a full timeout: big blocks with short timeouts *livelock* and the
  throughput collapses (the cliff);
* blocks hold what arrived since the previous one, up to the maximum size
  (a fixed point: slow rounds fill blocks, full blocks slow rounds);
* capacity below the arrival rate grows a queue: latency rises steeply as the
  utilisation nears one, and with the backlog accumulated over the horizon
  beyond it (saturating at four horizons: a stalled chain's wait is bounded
  by what a horizon can hold);
* samples are noisy like Monte Carlo replicas (lognormal, mean-preserving,
  latency and throughput anti-correlated), noisier near the cliff.

Units: seconds, MB, MB/s, transactions per second.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from dtopt.errors import DtoptError
from dtopt.twin.config_search.space import Configuration, ConfigurationBatch, ConfigurationSpace

__all__ = ["SyntheticLandscape"]

_CREATE_S = 0.1
_BLOCK_VALIDATION_S = 0.5
_FAST_PATH_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class SyntheticLandscape:
    """The landscape's parameters (one chain state).

    Attributes
    ----------
    arrival_rate_tps : transaction arrival rate (tx/s).
    bandwidth_mbps : the proposer's bandwidth for the block (MB/s).
    message_delay_s : one vote's delay (s).
    offline_fraction : share of the rotation whose proposer is offline, in [0, 1).
    tx_size_mb : one transaction (MB).
    horizon_s : the prediction horizon the queue builds over (s).
    noise : lognormal sigma of a latency sample (throughput: 0.4 times it).
    """

    arrival_rate_tps: float = 50.0
    bandwidth_mbps: float = 1.0
    message_delay_s: float = 0.3
    offline_fraction: float = 0.2
    tx_size_mb: float = 0.005
    horizon_s: float = 25.0
    noise: float = 0.25

    def __post_init__(self) -> None:
        positive = ("arrival_rate_tps", "bandwidth_mbps", "message_delay_s", "tx_size_mb", "horizon_s")
        if not all(np.isfinite(getattr(self, k)) and getattr(self, k) > 0 for k in positive):
            raise DtoptError(f"{', '.join(positive)} must be finite and > 0")
        if not 0 <= self.offline_fraction < 1 or not 0 <= self.noise < 2:
            raise DtoptError("offline_fraction must be in [0, 1) and noise in [0, 2)")

    @classmethod
    def random(cls, seed: int) -> SyntheticLandscape:
        """A random state around the paper's (arrival rate, bandwidth, offline share, noise)."""
        rng = np.random.default_rng(seed)
        return cls(
            arrival_rate_tps=float(rng.uniform(30.0, 90.0)),
            bandwidth_mbps=float(rng.uniform(0.7, 2.0)),
            message_delay_s=float(rng.uniform(0.2, 0.45)),
            offline_fraction=float(rng.choice([0.0, 0.1, 0.2, 0.3])),
            noise=float(rng.uniform(0.15, 0.35)),
        )

    def _rounds(self, batch: ConfigurationBatch) -> tuple[NDArray, NDArray, NDArray]:
        """Per configuration: commit probability of a round, time per committed block (s), block (MB)."""
        size = batch.max_block_size_mb
        timeout = batch.round_timeout_s
        interval = batch.min_block_interval_s
        bigfoot = np.array([p == "BigFoot" for p in batch.protocols])[batch.protocol_index]
        off = self.offline_fraction
        phases_s = np.where(
            bigfoot,
            2 * self.message_delay_s if off == 0 else max(_FAST_PATH_TIMEOUT_S, 3 * self.message_delay_s),
            3 * self.message_delay_s,
        )
        block_mb = size
        for _ in range(8):  # fixed point: a block holds what arrived during one cycle
            round_s = _CREATE_S + block_mb / self.bandwidth_mbps + _BLOCK_VALIDATION_S + phases_s
            commit = 1.0 / (1.0 + np.exp(-(timeout - round_s) / (0.08 * round_s)))
            commit = np.clip(commit, 1e-4, 1.0)
            cycle_s = ((1 - off) * (commit * np.maximum(interval, round_s) + (1 - commit) * timeout)
                       + off * timeout) / ((1 - off) * commit)
            block_mb = np.minimum(size, np.maximum(self.tx_size_mb, self.arrival_rate_tps * self.tx_size_mb
                                                   * cycle_s))
        return commit, cycle_s, block_mb

    def true_means(self, batch: ConfigurationBatch) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The exact mean latency (s) and throughput (tx/s) of each configuration, shape ``(B,)``."""
        return self._means(batch)[:2]

    def _means(self, batch: ConfigurationBatch) -> tuple[NDArray, NDArray, NDArray]:
        """Mean latency (s), mean throughput (tx/s) and a round's commit probability, shape ``(B,)``."""
        commit, cycle_s, block_mb = self._rounds(batch)
        capacity_tps = batch.max_block_size_mb / self.tx_size_mb / cycle_s
        rho = self.arrival_rate_tps / capacity_tps
        busy = np.minimum(rho, 0.95)
        round_s = _CREATE_S + block_mb / self.bandwidth_mbps + _BLOCK_VALIDATION_S
        raw_s = (cycle_s / 2 + round_s + cycle_s * busy / (2 * (1 - busy))
                 + 0.5 * self.horizon_s * np.maximum(0.0, 1 - 1 / rho))
        # A horizon's wait is bounded (a stalled chain's transactions wait ~ the horizon): saturate smoothly.
        latency_s = raw_s / (1.0 + raw_s / (4.0 * self.horizon_s))
        return latency_s, np.minimum(self.arrival_rate_tps, capacity_tps), commit

    def as_good(
        self, space: ConfigurationSpace, picked: Configuration, reference: Configuration,
        tolerance: float = 0.01,
    ) -> bool:
        """Whether ``picked`` is as good as ``reference`` on the true means, up to ``tolerance``.

        Its latency is at most ``1 + tolerance`` times the reference's, and its
        throughput at most ``tolerance`` short of the arrival rate (or of the
        reference's throughput, when that is lower).
        """
        lat, thr = self.true_means(space.batch([space.index(picked), space.index(reference)]))
        floor_tps = (1.0 - tolerance) * min(thr[1], self.arrival_rate_tps)
        return bool(lat[0] <= (1.0 + tolerance) * lat[1] and thr[0] >= floor_tps)

    def sampler(self, seed: int) -> Callable[[ConfigurationBatch, int], tuple[NDArray, NDArray]]:
        """An ``evaluate(batch, replicas)`` drawing noisy samples around :meth:`true_means` (seeded)."""
        rng = np.random.default_rng(seed)

        def evaluate(batch: ConfigurationBatch, replicas: int) -> tuple[NDArray, NDArray]:
            latency_s, throughput_tps, commit = self._means(batch)
            sigma = (self.noise * (1.0 + 2.0 * (1.0 - commit)))[:, None]  # noisier near the cliff
            z = rng.standard_normal((len(batch), replicas))
            lat = latency_s[:, None] * np.exp(sigma * z - sigma**2 / 2)
            thr_sigma = 0.4 * sigma
            thr = throughput_tps[:, None] * np.exp(-thr_sigma * z - thr_sigma**2 / 2)
            return lat, thr

        return evaluate
