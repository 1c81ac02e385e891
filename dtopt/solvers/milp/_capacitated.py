"""The capacitated p-median model as arrays, solved by highspy directly.

The model is :mod:`dtopt.solvers.milp_variants`'s (``y_j`` binary, ``sum_j y_j = k``;
``x_ij`` for admissible pairs, ``sum_j x_ij = 1``, ``x_ij <= y_j``,
``sum_i w_i x_ij <= C_j y_j``), plus the aggregate capacity inequality
``sum_j C_j y_j >= sum_i w_i``: the LP relaxation implies it (sum the capacity rows),
but as a knapsack row over ``y`` alone it lets HiGHS derive cover cuts on the servers
(not measured apart from the other changes).
Built from index arrays, it reaches HiGHS in milliseconds where Pyomo took seconds
for TataNld's 20,000 pairs, and it starts from a known placement: HiGHS then only
has to prove it, which its primal heuristics would delay (see :data:`CAPACITATED_DEFAULTS`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from dtopt.placement.problem import PlacementProblem
from dtopt.solvers.method import MethodOutput
from dtopt.solvers.milp._deadline import Deadline
from dtopt.solvers.milp._highs import new_highs, pass_arrays, run, y_values

__all__ = ["CAPACITATED_DEFAULTS", "capacitated_arrays", "lagrangian_fixing", "solve_capacitated"]

# Subgradient schedule (Beasley's, as in dtopt.solvers.lagrangian): at most this many
# iterations; the step factor starts at 2 and halves after a run without a better bound.
_ITERATIONS = 300
_LAMBDA_START = 2.0
_PATIENCE = 20
_LAMBDA_FLOOR = 5e-3
# A site is fixed only when its forced bound clears the upper bound by this much, relatively.
_FIXING_MARGIN = 1e-9

# Measured on TataNld k = 10, capacity 18 (one core): the incumbent is optimal at the
# root and the LP bound within 0.7%, yet with HiGHS's defaults the sub-MIP heuristics
# (RINS, RENS, root reduced cost) and presolve's probing took most of the time to look
# for the placement it was given; the bound closes in one node without them.
CAPACITATED_DEFAULTS: dict[str, Any] = {
    "presolve": "off",
    "mip_heuristic_effort": 0.0,
    "mip_heuristic_run_feasibility_jump": False,
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_root_reduced_cost": False,
    "mip_pscost_minreliable": 2,
}


def capacitated_arrays(
    problem: PlacementProblem, closed: NDArray[np.bool_] | None = None
) -> tuple[
    sparse.csc_matrix,
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.intp],
    NDArray[np.intp],
]:
    """The capacitated model as arrays, without pairs at the ``closed`` sites (mask, shape ``(m,)``).

    Columns: the m ``y_j`` first, then one ``x`` per admissible pair. Rows: the
    server count, the n assignments, one link per pair, the m capacities, the
    aggregate capacity.

    Returns
    -------
    matrix : CSC, shape ``(1 + n + P + m + 1, m + P)`` with P the admissible pairs.
    cost : shape ``(m + P,)``, the mean-latency objective (ms; 0 on ``y``).
    row_lower, row_upper : shape ``(rows,)``, row bounds.
    node, server : shape ``(P,)``, the pair of each ``x`` column.
    """
    n, m, k = problem.n, problem.n_sites, problem.k
    node, server = np.nonzero(problem.admissible if closed is None else problem.admissible & ~closed)
    pairs = len(node)
    every = np.arange(pairs)
    link, room, aggregate = 1 + n, 1 + n + pairs, 1 + n + pairs + m
    demand, capacities = problem.demand, problem.capacities
    rows = np.concatenate(
        [
            np.zeros(m),
            link + every,
            room + np.arange(m),
            np.full(m, aggregate),
            1 + node,
            link + every,
            room + server,
        ]
    )
    columns = np.concatenate([np.arange(m), server, np.arange(m), np.arange(m)] + [m + every] * 3)
    values = np.concatenate(
        [np.ones(m), -np.ones(pairs), -capacities, capacities, np.ones(pairs), np.ones(pairs), demand[node]]
    )
    matrix = sparse.csc_matrix((values, (rows, columns)), shape=(aggregate + 1, m + pairs))
    row_lower = np.concatenate([[k], np.ones(n), np.full(pairs + m, -np.inf), [demand.sum()]])
    row_upper = np.concatenate([[k], np.ones(n), np.zeros(pairs + m), [np.inf]])
    cost = np.concatenate([np.zeros(m), problem.weighted_latency_ms[node, server] / n])
    return matrix, cost, row_lower, row_upper, node, server


def solve_capacitated(
    problem: PlacementProblem,
    deadline: Deadline,
    mip_gap: float,
    verbose: bool,
    start: NDArray[np.intp] | None = None,
) -> MethodOutput:
    """Solve the capacitated model with HiGHS from placement ``start`` (server columns,
    ignored unless every node fits); the status is ``optimal`` only when proven."""
    from dtopt.placement.variants import capacitated_assignment
    from dtopt.solvers.milp._state import OPTIMALITY_TOLERANCE, objective_scale

    m = problem.n_sites
    exact = mip_gap <= OPTIMALITY_TOLERANCE
    closed, opened, assignment = np.zeros(m, dtype=bool), np.zeros(m, dtype=bool), None
    if start is not None:
        assignment, upper_total = capacitated_assignment(problem, start)
        if (assignment < 0).any():
            assignment = None
        else:
            bound_total, closed, opened = lagrangian_fixing(problem, upper_total, deadline=deadline)
            if bound_total >= upper_total * (1 - OPTIMALITY_TOLERANCE):
                bound_ms = min(bound_total, upper_total) / problem.n
                return MethodOutput(start, "optimal" if exact else "feasible", bound_ms)
    matrix, cost, row_lower, row_upper, node, server = capacitated_arrays(problem, closed)
    scale = objective_scale(cost[m:])
    highs = new_highs(verbose, mip_gap, CAPACITATED_DEFAULTS)
    upper = np.ones(matrix.shape[1])
    upper[:m][closed] = 0.0
    lower = np.zeros(matrix.shape[1])
    lower[problem.fixed_columns] = 1.0
    lower[:m][opened] = 1.0
    # A weighted twin stays whole; unit twins may split (their transportation LP is integral).
    integer = np.arange(matrix.shape[1]) < (m if problem.weights is None else matrix.shape[1])
    pass_arrays(highs, matrix, cost * scale, 0.0, (lower, upper), (row_lower, row_upper), integer)
    if assignment is not None:
        values = np.zeros(matrix.shape[1])
        values[start] = 1.0
        values[m:] = server == assignment[node]
        highs.setSolution(values.size, np.arange(values.size, dtype=np.int32), values)
    status = run(highs, deadline, relaxation=False)
    return _output(highs, status, scale, m, exact, deadline, start if assignment is not None else None)


def _output(
    highs: Any,
    status: Any,
    scale: float,
    m: int,
    exact: bool,
    deadline: Deadline,
    start: NDArray[np.intp] | None,
) -> MethodOutput:
    """The run's answer; ``start`` (a feasible placement, or ``None``) when HiGHS stopped without one.

    HiGHS's bound holds for every placement, not only those the fixing kept: each one cut
    off costs more than the start, which the kept model's optimum does not exceed.
    """
    import highspy

    if status == highspy.HighsModelStatus.kInfeasible:
        return MethodOutput(None, "infeasible")
    y = y_values(highs, np.arange(m))
    servers = start if y is None else np.flatnonzero(y > 0.5).astype(np.intp)
    bound = highs.getInfo().mip_dual_bound
    bound_ms = float(bound) / scale if np.isfinite(bound) else None
    if status == highspy.HighsModelStatus.kOptimal:
        return MethodOutput(servers, "optimal" if exact else "feasible", bound_ms)
    if status == highspy.HighsModelStatus.kTimeLimit or deadline.expired():
        return MethodOutput(servers, "time_limit", bound_ms, f"stopped by time_limit_s={deadline.limit_s:g}")
    return MethodOutput(servers, "error", bound_ms, f"HiGHS stopped: {highs.modelStatusToString(status)}")


def lagrangian_fixing(
    problem: PlacementProblem,
    upper_total: float,
    max_iterations: int = _ITERATIONS,
    deadline: Deadline | None = None,
) -> tuple[float, NDArray[np.bool_], NDArray[np.bool_]]:
    """A Lagrangian lower bound on the optimal total (:attr:`PlacementProblem.cost_ms`
    summed over nodes), and the sites it proves closed / open (masks, shape ``(m,)``) in
    every placement whose total is at most ``upper_total``.

    Relaxing ``sum_j x_ij = 1`` with prices ``u_i`` leaves, per site j, a continuous
    knapsack ``V_j(u) = min sum_i (c_ij - u_i) x_ij`` over ``sum_i w_i x_ij <= C_j``,
    ``0 <= x_ij <= 1`` (filled in order of ``(c_ij - u_i) / w_i``), and
    ``L(u) = sum_i u_i + `` the k least ``V_j`` (fixed servers always in): a lower bound
    for any ``u`` (Beasley 1993 for the capacitated p-median). Forcing site j in or out
    changes that choice by one site, so ``L`` with ``j`` forced is known at once; where it
    exceeds ``upper_total`` the site is fixed the other way. ``u`` follows subgradient
    steps ``g_i = 1 - sum_j x_ij`` with Polyak's step toward ``upper_total``, until
    ``max_iterations`` or the ``deadline``.
    """
    cost, demand = problem.cost_ms, problem.demand
    n, m = cost.shape
    capacities = problem.capacities
    fixed = np.zeros(m, dtype=bool)
    fixed[problem.fixed_columns] = True
    free = int(problem.k - fixed.sum())
    closed, opened = np.zeros(m, dtype=bool), np.zeros(m, dtype=bool)
    if free == 0 or free == int((~fixed).sum()):  # nothing to choose
        return -np.inf, closed, opened
    off = cost.copy()
    if n == m:
        np.fill_diagonal(off, np.inf)
    nearest = off.min(axis=1)
    u = np.where(np.isfinite(nearest), nearest, cost.min(axis=1))
    best, lam, stale = -np.inf, _LAMBDA_START, 0
    margin = _FIXING_MARGIN * abs(upper_total) + 1e-12
    for _ in range(max_iterations):
        reduced = cost - u[:, None]  # +inf where inadmissible
        order = np.argsort(np.where(reduced < 0, reduced / demand[:, None], 0.0), axis=0, kind="stable")
        gains = np.minimum(np.take_along_axis(reduced, order, axis=0), 0.0)
        weights = demand[order]
        before = np.cumsum(weights, axis=0) - weights
        taken = np.clip((capacities[None, :] - before) / weights, 0.0, 1.0) * (gains < 0)
        values = (taken * gains).sum(axis=0)
        ranked = np.where(fixed, np.inf, values)
        chosen = np.argsort(ranked, kind="stable")
        inside, outside = chosen[:free], chosen[free : int((~fixed).sum())]
        total = float(u.sum() + values[fixed].sum() + values[inside].sum())
        closed |= np.isin(np.arange(m), outside) & (
            total + values - values[inside].max() > upper_total + margin
        )
        opened |= np.isin(np.arange(m), inside) & (
            total - values + values[outside].min() > upper_total + margin
        )
        if total > best + margin:
            best, stale = total, 0
        else:
            stale += 1
        if best >= upper_total - margin:
            break
        if deadline is not None and deadline.expired():
            break
        if stale >= _PATIENCE:
            lam, stale = lam / 2, 0
            if lam < _LAMBDA_FLOOR:
                break
        share = np.zeros_like(taken)
        np.put_along_axis(share, order, taken, axis=0)
        g = 1.0 - share[:, fixed].sum(axis=1) - share[:, inside].sum(axis=1)
        norm = float(g @ g)
        if norm == 0:
            break
        u = u + (lam * (upper_total - total) / norm) * g
    return best, closed, opened
