"""Running sums of a configuration search's samples, vectorised over the configurations.

Besides each configuration's latency and throughput sums, the tally keeps the
paired latency differences to a few *anchor* configurations (the one in force,
the home configuration): every call of the cost function evaluates the anchors
with the others on common random numbers, so replica ``r`` of an anchor and of a
configuration saw the same arrivals and jitter, and their difference is far less
noisy than either sample.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from dtopt.errors import DtoptError

__all__ = ["Tally"]


class Tally:
    """Samples of ``n`` configurations, and their paired latency differences to ``anchors``
    (indices among the ``n``; duplicates allowed)."""

    def __init__(self, n: int, anchors: tuple[int, ...] = ()) -> None:
        self.count = np.zeros(n, dtype=np.int64)
        self.sums = np.zeros((2, n))  # latency, throughput
        self.squares = np.zeros((2, n))
        self.anchors = anchors
        self.diff_sums = np.zeros((len(anchors), n))  # of lat_anchor - lat, per paired replica
        self.diff_squares = np.zeros((len(anchors), n))

    def add(self, indices: NDArray[np.int64], latency_s: NDArray, throughput_tps: NDArray) -> None:
        """Add one call's samples, each of shape ``(len(indices), replicas)``."""
        samples = np.stack([latency_s, throughput_tps])  # (2, B, r)
        self.count[indices] += samples.shape[2]
        self.sums[:, indices] += samples.sum(axis=2)
        self.squares[:, indices] += np.square(samples).sum(axis=2)
        for a, anchor in enumerate(self.anchors):
            where = np.flatnonzero(indices == anchor)
            if not where.size:
                raise DtoptError("the configuration in force (and home) must be in every evaluated batch")
            diff = latency_s[where[0]][None, :] - latency_s  # (B, r)
            self.diff_sums[a, indices] += diff.sum(axis=1)
            self.diff_squares[a, indices] += np.square(diff).sum(axis=1)

    def gain(self, a: int = 0) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Each configuration's paired mean latency gain over anchor ``a`` (s) and its standard error."""
        n = np.maximum(self.count, 2)
        mean = self.diff_sums[a] / np.maximum(self.count, 1)
        var = np.clip((self.diff_squares[a] - self.diff_sums[a] * mean) / (n - 1), 0.0, None)
        return mean, np.sqrt(var / n) * (self.count > 1)

    def meets(self, required: float, z: float) -> NDArray[np.bool_]:
        """Whether each mean throughput is at least ``required`` less ``z`` standard errors."""
        se = self.std()[1] / np.sqrt(np.maximum(self.count, 1))
        return self.mean()[1] + z * se >= required

    def mean(self) -> NDArray[np.float64]:
        """Mean latency and throughput, shape ``(2, n)``."""
        return self.sums / np.maximum(self.count, 1)

    def std(self) -> NDArray[np.float64]:
        """Sample standard deviation of latency and throughput, shape ``(2, n)`` (0 below 2 samples)."""
        n = np.maximum(self.count, 2)
        var = (self.squares - self.sums * self.mean()) / (n - 1)
        return np.sqrt(np.clip(var, 0.0, None)) * (self.count > 1)
