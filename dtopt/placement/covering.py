"""Covering programs: which sets of k servers can give every node an admissible one.

Small integer programs solved by HiGHS through :func:`scipy.optimize.milp`, on a
boolean matrix ``admissible`` of shape ``(n, m)`` (node i may use site column j), with
some columns ``fixed`` open. They answer why a problem is infeasible
(:mod:`dtopt.placement.feasibility`), repair a heuristic's placement, and find the
p-center radius (:func:`least_radius`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

__all__ = ["coverable", "least", "least_radius", "max_coverage", "min_servers_to_cover", "open_bounds"]


def open_bounds(m: int, fixed: NDArray[np.intp] | None) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Bounds of the server variables: the ``fixed`` ones (columns) forced open."""
    lower = np.zeros(m)
    if fixed is not None:
        lower[fixed] = 1.0
    return lower, np.ones(m)


def min_servers_to_cover(admissible: NDArray[np.bool_], fixed: NDArray[np.intp] | None = None) -> int | None:
    """Fewest servers (the ``fixed`` columns among them) such that every node has an
    admissible one (set cover); ``None`` when some node has no admissible site at all.
    ``admissible``: shape ``(n, m)``."""
    from scipy.optimize import Bounds, LinearConstraint, milp  # deferred: only some problems need it
    from scipy.sparse import csr_array

    if not admissible.any(axis=1).all():
        return None
    m = admissible.shape[1]
    res = milp(
        c=np.ones(m),
        constraints=LinearConstraint(csr_array(admissible.astype(float)), lb=1, ub=np.inf),
        integrality=np.ones(m),
        bounds=Bounds(*open_bounds(m, fixed)),
    )
    return round(res.fun)


def max_coverage(
    admissible: NDArray[np.bool_], k: int, fixed: NDArray[np.intp] | None = None
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Servers (columns, the ``fixed`` ones among them) covering the most nodes with ``k``
    servers, and the nodes left uncovered; ``admissible``: shape ``(n, m)``."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import csr_array, eye_array, hstack

    n, m = admissible.shape
    # Variables: y (m servers, binary), z (n covered flags); maximise sum z.
    cover = hstack([csr_array(-admissible.astype(float)), eye_array(n)])  # z_i - sum_{j in A_i} y_j <= 0
    count = np.hstack([np.ones(m), np.zeros(n)])[None, :]
    lower, upper = open_bounds(m, fixed)
    res = milp(
        c=np.concatenate([np.zeros(m), -np.ones(n)]),
        constraints=[LinearConstraint(cover, -np.inf, 0), LinearConstraint(count, k, k)],
        integrality=np.concatenate([np.ones(m), np.zeros(n)]),
        bounds=Bounds(np.concatenate([lower, np.zeros(n)]), np.concatenate([upper, np.ones(n)])),
    )
    servers = np.flatnonzero(res.x[:m] > 0.5)
    covered = admissible[:, servers].any(axis=1)
    return servers, np.flatnonzero(~covered)


def coverable(admissible: NDArray[np.bool_], k: int, fixed: NDArray[np.intp]) -> bool:
    """Whether k servers (the ``fixed`` columns among them) give every node an admissible one."""
    needed = min_servers_to_cover(admissible, fixed)
    return needed is not None and needed <= k


def least(values: NDArray, fits: Callable[[object], bool]) -> object:
    """The least of the ascending ``values`` for which ``fits(value)`` holds, by bisection;
    ``fits`` must hold for the last one and be monotone."""
    lo, hi = 0, len(values) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(values[mid]):
            hi = mid
        else:
            lo = mid + 1
    return values[lo]


def least_radius(
    latency: NDArray[np.float64], within: NDArray[np.bool_], k: int, fixed: NDArray[np.intp]
) -> float | None:
    """The p-center radius: the least worst latency (ms) of a placement of k servers (the
    ``fixed`` columns among them) using only the pairs ``within`` (shape ``(n, m)``), or
    ``None`` if there is none: bisection over the distinct latencies of those pairs, each
    step a set-cover program. Exact."""
    if not coverable(within, k, fixed):
        return None
    # No radius below a node's nearest admissible site helps.
    floor = float(np.where(within, latency, np.inf).min(axis=1).max())
    values = np.unique(latency[within & (latency >= floor)])
    return float(least(values, lambda r: coverable(within & (latency <= r), k, fixed)))  # type: ignore[arg-type]
