"""The latency/throughput Pareto set: configurations no other one beats on both."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dtopt.errors import DtoptError

__all__ = ["pareto_mask"]


def pareto_mask(latency_s: ArrayLike, throughput_tps: ArrayLike) -> NDArray[np.bool_]:
    """Which points are non-dominated (lower latency is better, higher throughput is better).

    Point ``j`` dominates ``i`` when it is at least as good on both and strictly
    better on one. Equal points do not dominate each other, so all of them stay.

    Parameters
    ----------
    latency_s, throughput_tps : shape ``(n,)``, finite.

    Returns
    -------
    Boolean mask of shape ``(n,)``. ``O(n^2)`` memory, which is fine for the
    hundreds of configurations a space holds.
    """
    lat = np.asarray(latency_s, dtype=float)
    thr = np.asarray(throughput_tps, dtype=float)
    if lat.ndim != 1 or lat.shape != thr.shape:
        raise DtoptError(f"latency and throughput must be 1-D of one length, got {lat.shape} and {thr.shape}")
    if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(thr))):
        raise DtoptError("latency and throughput must be finite to compare them")
    # no_worse[j, i]: j is at least as good as i on both; better[j, i]: strictly on one.
    no_worse = (lat[:, None] <= lat[None, :]) & (thr[:, None] >= thr[None, :])
    better = (lat[:, None] < lat[None, :]) | (thr[:, None] > thr[None, :])
    return ~np.any(no_worse & better, axis=0)
