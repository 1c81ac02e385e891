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

__all__ = [
    "capacitated_max_assignment",
    "infeasibility_reason",
    "max_coverage",
    "min_feasible_eps_max",
    "min_servers_to_cover",
]


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
        return None if problem.capacity is None else _capacity_reason(problem)
    _, uncovered = max_coverage(problem.admissible, problem.k)
    listed = _listed(problem, uncovered)
    return (
        f"no placement of k={problem.k} servers keeps every node within eps_max={problem.eps_max:g}: "
        f"covering all nodes needs {needed} servers; the best {problem.k} leave {uncovered.size} node(s) "
        f"uncovered ({listed}); the smallest feasible eps_max for k={problem.k} is "
        f"{min_feasible_eps_max(problem):.6g}"
    )


def _listed(problem: PlacementProblem, nodes: NDArray[np.intp]) -> str:
    names = problem.topology.node_names
    return ", ".join(repr(names[i]) for i in nodes[:6]) + (", ..." if nodes.size > 6 else "")


def capacitated_max_assignment(problem: PlacementProblem) -> NDArray[np.intp]:
    """The nodes left without room by the k servers that host the most twins within eps_max.

    Variables: ``y_j`` (server), binary ``x_ij`` for admissible pairs; maximise
    ``sum x`` subject to ``sum_j x_ij <= 1``, ``sum_i x_ij <= C_j y_j``, ``sum y = k``.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_array

    n = problem.n
    node, server = np.nonzero(problem.admissible)
    m = len(node)
    pairs = np.arange(m)
    once = coo_array((np.ones(m), (node, n + pairs)), shape=(n, n + m))
    room = coo_array(
        (
            np.concatenate([np.ones(m), -problem.capacities.astype(float)]),
            (np.concatenate([server, np.arange(n)]), np.concatenate([n + pairs, np.arange(n)])),
        ),
        shape=(n, n + m),
    )
    count = np.concatenate([np.ones(n), np.zeros(m)])[None, :]
    res = milp(
        c=np.concatenate([np.zeros(n), -np.ones(m)]),
        constraints=[
            LinearConstraint(once.tocsr(), -np.inf, 1),
            LinearConstraint(room.tocsr(), -np.inf, 0),
            LinearConstraint(count, problem.k, problem.k),
        ],
        integrality=np.ones(n + m),
        bounds=Bounds(0, 1),
    )
    hosted = np.zeros(n, dtype=bool)
    hosted[node[res.x[n:] > 0.5]] = True
    return np.flatnonzero(~hosted)


def _capacity_reason(problem: PlacementProblem) -> str | None:
    left = capacitated_max_assignment(problem)
    if left.size == 0:
        return None
    return (
        f"no placement of k={problem.k} servers with capacity {problem.capacity} hosts every twin within "
        f"eps_max={problem.eps_max:g}: the best leaves {left.size} node(s) whose admissible servers are "
        f"full ({_listed(problem, left)})"
    )
