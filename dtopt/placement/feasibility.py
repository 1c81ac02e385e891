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

from dtopt.placement.covering import coverable, least, max_coverage, min_servers_to_cover, open_bounds
from dtopt.placement.problem import PlacementProblem, error_of_hops

__all__ = [
    "capacitated_max_assignment",
    "infeasibility_reason",
    "max_coverage",
    "min_feasible_eps_max",
    "min_servers_to_cover",
]


def min_feasible_eps_max(problem: PlacementProblem) -> float:
    """Smallest eps_max for which some placement of ``problem.k`` servers is feasible.

    The error grows with hop count, so this is the smallest hop radius that k
    servers (the fixed ones among them) can cover (found by bisection over the hop
    values present), mapped back through the error formula.
    """
    hops, k, fixed = problem.hops, problem.k, problem.fixed_columns
    radii = np.unique(hops)
    if not coverable(hops <= radii[-1], k, fixed):
        return float("inf")  # sites out of every node's reach: no eps_max helps
    radius = least(radii, lambda r: coverable(hops <= r, k, fixed))
    return float(error_of_hops(np.array(radius), problem.alpha, problem.beta))


# Several methods may fail on the same problem object; its reason needs two covering MILPs.
_REASONS: weakref.WeakKeyDictionary[PlacementProblem, str | None] = weakref.WeakKeyDictionary()


def infeasibility_reason(problem: PlacementProblem) -> str | None:
    """One line on why no placement of k servers meets eps_max; ``None`` if one does."""
    if problem not in _REASONS:
        _REASONS[problem] = _reason(problem)
    return _REASONS[problem]


def _reason(problem: PlacementProblem) -> str | None:
    within, fixed = problem.within_bound, problem.fixed_columns
    if within.all() and problem.capacity is None:
        return None
    needed = min_servers_to_cover(within, fixed)
    if needed is not None and needed <= problem.k:
        return None if problem.capacity is None else _capacity_reason(problem)
    _, uncovered = max_coverage(within, problem.k, fixed)
    listed = _listed(problem, uncovered)
    bound = "none" if problem.eps_max is None else f"{problem.eps_max:g}"
    needs = "no set of sites" if needed is None else f"{needed} servers"
    smallest = min_feasible_eps_max(problem) if problem.topology.has_hops else float("inf")
    return (
        f"no placement of k={problem.k} servers keeps every node within eps_max={bound}: "
        f"covering all nodes needs {needs}; the best {problem.k} leave {uncovered.size} node(s) "
        f"uncovered ({listed}); "
        + (
            f"the smallest feasible eps_max for k={problem.k} is {smallest:.6g}"
            if np.isfinite(smallest)
            else "no eps_max makes it feasible"
        )
    )


def _listed(problem: PlacementProblem, nodes: NDArray[np.intp]) -> str:
    names = problem.topology.node_names
    return ", ".join(repr(names[i]) for i in nodes[:6]) + (", ..." if nodes.size > 6 else "")


def capacitated_max_assignment(problem: PlacementProblem) -> NDArray[np.intp]:
    """The nodes left without room by the k servers that host the most twins within eps_max.

    Variables: ``y_j`` (server), binary ``x_ij`` for admissible pairs; maximise
    ``sum x`` subject to ``sum_j x_ij <= 1``, ``sum_i w_i x_ij <= C_j y_j`` (``w`` the
    demand), ``sum y = k``.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_array

    n, s = problem.n, problem.n_sites
    node, server = np.nonzero(problem.within_bound)
    m = len(node)
    pairs = np.arange(m)
    once = coo_array((np.ones(m), (node, s + pairs)), shape=(n, s + m))
    room = coo_array(
        (
            np.concatenate([problem.demand[node], -problem.capacities]),
            (np.concatenate([server, np.arange(s)]), np.concatenate([s + pairs, np.arange(s)])),
        ),
        shape=(s, s + m),
    )
    count = np.concatenate([np.ones(s), np.zeros(m)])[None, :]
    lower, upper = open_bounds(s, problem.fixed_columns)
    res = milp(
        c=np.concatenate([np.zeros(s), -np.ones(m)]),
        constraints=[
            LinearConstraint(once.tocsr(), -np.inf, 1),
            LinearConstraint(room.tocsr(), -np.inf, 0),
            LinearConstraint(count, problem.k, problem.k),
        ],
        integrality=np.ones(s + m),
        bounds=Bounds(np.concatenate([lower, np.zeros(m)]), np.concatenate([upper, np.ones(m)])),
    )
    hosted = np.zeros(n, dtype=bool)
    hosted[node[res.x[s:] > 0.5]] = True
    return np.flatnonzero(~hosted)


def _capacity_reason(problem: PlacementProblem) -> str | None:
    left = capacitated_max_assignment(problem)
    if left.size == 0:
        return None
    return (
        f"no placement of k={problem.k} servers with capacity {problem.capacity} hosts every twin within "
        f"eps_max={'none' if problem.eps_max is None else f'{problem.eps_max:g}'}: the best leaves "
        f"{left.size} node(s) whose admissible servers are "
        f"full ({_listed(problem, left)})"
    )
