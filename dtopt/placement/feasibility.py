"""Why a placement problem is infeasible, and what would make it feasible.

The error bound turns placement into a covering question: node i can only be
served from its admissible set ``A_i``, so k servers must hit every ``A_i``. Both
questions below are small covering integer programs, solved with HiGHS through
:func:`scipy.optimize.milp`.
"""

from __future__ import annotations

import weakref

import numpy as np
from numpy.typing import NDArray

from dtopt.placement.problem import PlacementProblem, error_of_hops

__all__ = ["infeasibility_reason", "max_coverage", "min_feasible_eps_max", "min_servers_to_cover"]


def min_servers_to_cover(admissible: NDArray[np.bool_]) -> int:
    """Fewest servers such that every node has an admissible one (set cover)."""
    from scipy.optimize import Bounds, LinearConstraint, milp  # deferred: only infeasible problems need it

    n = admissible.shape[0]
    res = milp(
        c=np.ones(n),
        constraints=LinearConstraint(admissible.astype(float), lb=1, ub=np.inf),
        integrality=np.ones(n),
        bounds=Bounds(0, 1),
    )
    return round(res.fun)


def max_coverage(admissible: NDArray[np.bool_], k: int) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Servers covering the most nodes with ``k`` servers, and the nodes left uncovered."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    n = admissible.shape[0]
    # Variables: y (n servers, binary), z (n covered flags); maximise sum z.
    cover = np.hstack([-admissible.astype(float), np.eye(n)])  # z_i - sum_{j in A_i} y_j <= 0
    count = np.hstack([np.ones(n), np.zeros(n)])[None, :]
    res = milp(
        c=np.concatenate([np.zeros(n), -np.ones(n)]),
        constraints=[LinearConstraint(cover, -np.inf, 0), LinearConstraint(count, k, k)],
        integrality=np.concatenate([np.ones(n), np.zeros(n)]),
        bounds=Bounds(0, 1),
    )
    servers = np.flatnonzero(res.x[:n] > 0.5)
    covered = admissible[:, servers].any(axis=1)
    return servers, np.flatnonzero(~covered)


def min_feasible_eps_max(problem: PlacementProblem) -> float:
    """Smallest eps_max for which some placement of ``problem.k`` servers is feasible.

    The error grows with hop count, so this is the smallest hop radius that k
    servers can cover (found by bisection over the hop values present), mapped
    back through the error formula.
    """
    hops = problem.topology.hops
    radii = np.unique(hops)
    lo, hi = 0, len(radii) - 1  # radius radii[hi] (the diameter) is always coverable
    while lo < hi:
        mid = (lo + hi) // 2
        if min_servers_to_cover(hops <= radii[mid]) <= problem.k:
            hi = mid
        else:
            lo = mid + 1
    return float(error_of_hops(np.array(radii[lo]), problem.alpha, problem.beta))


# Several methods may fail on the same problem object; its reason needs two covering MILPs.
_REASONS: weakref.WeakKeyDictionary[PlacementProblem, str | None] = weakref.WeakKeyDictionary()


def infeasibility_reason(problem: PlacementProblem) -> str | None:
    """One line on why no placement of k servers meets eps_max; ``None`` if one does."""
    if problem not in _REASONS:
        _REASONS[problem] = _reason(problem)
    return _REASONS[problem]


def _reason(problem: PlacementProblem) -> str | None:
    if problem.eps_max is None or problem.admissible.all():
        return None
    needed = min_servers_to_cover(problem.admissible)
    if needed <= problem.k:
        return None
    _, uncovered = max_coverage(problem.admissible, problem.k)
    names = problem.topology.node_names
    listed = ", ".join(repr(names[i]) for i in uncovered[:6]) + (", ..." if uncovered.size > 6 else "")
    return (
        f"no placement of k={problem.k} servers keeps every node within eps_max={problem.eps_max:g}: "
        f"covering all nodes needs {needed} servers; the best {problem.k} leave {uncovered.size} node(s) "
        f"uncovered ({listed}); the smallest feasible eps_max for k={problem.k} is "
        f"{min_feasible_eps_max(problem):.6g}"
    )
