"""What the round oracle returns: a summary per protocol (:class:`OraclePrediction`) and
per-replica samples of many configurations (:class:`OracleSamples`).

Units: seconds, transactions per second.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dtopt.consensus.config import ChainConfig

__all__ = ["OraclePrediction", "OracleSamples"]


@dataclass(frozen=True)
class OraclePrediction:
    """What the oracle predicts for one state under one protocol over the horizon.

    Means are over all replicas (transaction latency pooled over all committed
    transactions); ``*_std`` is the spread (standard deviation) of the per-replica
    values. Latency is ``inf`` and throughput 0 when no block commits.

    Attributes
    ----------
    protocol : protocol simulated.
    horizon_s : simulated window (s).
    replicas : Monte Carlo replicas.
    mean_tx_latency_s, tx_latency_std_s : block commit time minus arrival (s).
    mean_interblock_s, interblock_std_s : time between consecutive block commits, the
        first counted from the horizon start (s).
    throughput_tps, throughput_std_tps : committed transactions per second.
    mean_wait_s, wait_std_s : waiting time per transaction inside the horizon: the
        transaction-seconds that the backlog and the arrivals spend uncommitted
        within the horizon, over their number (s). Unlike the latency of the
        transactions committed in the horizon, it charges a protocol for what it
        leaves in the pool, so it ranks protocols robustly on short horizons
        (Little's law: time-averaged pool size over arrival rate).
    mean_blocks : blocks committed per replica in the horizon.
    mean_rounds : rounds simulated per replica (committed plus timed out).
    """

    protocol: str
    horizon_s: float
    replicas: int
    mean_tx_latency_s: float
    tx_latency_std_s: float
    mean_interblock_s: float
    interblock_std_s: float
    throughput_tps: float
    throughput_std_tps: float
    mean_wait_s: float
    wait_std_s: float
    mean_blocks: float
    mean_rounds: float


@dataclass(frozen=True, eq=False)
class OracleSamples:
    """Per-replica samples of several configurations for one state over the horizon.

    Every array has shape ``(C, R)``: configuration ``c`` (in the order given),
    replica ``r``. Replica ``r`` of every configuration saw the same arrivals and
    jitter (common random numbers). All values are finite.

    Attributes
    ----------
    configs : the ``C`` configurations simulated.
    horizon_s : simulated window (s).
    tx_latency_s : mean latency of the transactions the replica committed (s). A
        replica that commits nothing gets a bounded stand-in, the age the oldest
        waiting transaction reaches at the horizon's end (``horizon_s`` plus the
        backlog's age; ``horizon_s`` without a backlog): a lower bound on the
        latency of what it leaves waiting.
    throughput_tps : committed transactions per second.
    wait_s : waiting time per transaction inside the horizon (s), as
        :attr:`OraclePrediction.mean_wait_s` but per replica (0 with nothing present).
    blocks : blocks committed in the horizon.
    """

    configs: tuple[ChainConfig, ...]
    horizon_s: float
    tx_latency_s: NDArray[np.float64]
    throughput_tps: NDArray[np.float64]
    wait_s: NDArray[np.float64]
    blocks: NDArray[np.float64]

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocols": [c.protocol for c in self.configs],
            "max_block_mb": [c.max_block_mb for c in self.configs],
            "min_block_interval_s": [c.min_block_interval_s for c in self.configs],
            "round_timeout_s": [c.round_timeout_s for c in self.configs],
            "horizon_s": self.horizon_s,
            **{key: getattr(self, key).tolist() for key in ("tx_latency_s", "throughput_tps", "wait_s",
                                                             "blocks")},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())
