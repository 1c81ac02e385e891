"""The capacitated p-median model as arrays, solved by highspy directly.

The model is :mod:`dtopt.solvers.milp_variants`'s (``y_j`` binary, ``sum_j y_j = k``;
``x_ij`` for admissible pairs, ``sum_j x_ij = 1``, ``x_ij <= y_j``,
``sum_i w_i x_ij <= C_j y_j``), plus the aggregate capacity inequality
``sum_j C_j y_j >= sum_i w_i``, implied by the others but not by their LP relaxation.
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

__all__ = ["CAPACITATED_DEFAULTS", "capacitated_arrays", "solve_capacitated"]

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
    problem: PlacementProblem,
) -> tuple[
    sparse.csc_matrix,
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.intp],
    NDArray[np.intp],
]:
    """The capacitated model as arrays.

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
    node, server = np.nonzero(problem.admissible)
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
    from dtopt.solvers.milp._state import OPTIMALITY_TOLERANCE
    from dtopt.solvers.milp_variants import _objective_scale

    m = problem.n_sites
    matrix, cost, row_lower, row_upper, node, server = capacitated_arrays(problem)
    scale = _objective_scale(cost[m:])
    highs = new_highs(verbose, mip_gap, CAPACITATED_DEFAULTS)
    upper = np.ones(matrix.shape[1])
    lower = np.zeros(matrix.shape[1])
    lower[problem.fixed_columns] = 1.0
    # A weighted twin stays whole; unit twins may split (their transportation LP is integral).
    integer = np.arange(matrix.shape[1]) < (m if problem.weights is None else matrix.shape[1])
    pass_arrays(highs, matrix, cost * scale, 0.0, (lower, upper), (row_lower, row_upper), integer)
    if start is not None:
        _warm_start(highs, problem, np.asarray(start, dtype=np.intp), node, server)
    status = run(highs, deadline, relaxation=False)
    return _output(highs, status, scale, m, mip_gap <= OPTIMALITY_TOLERANCE, deadline)


def _warm_start(
    highs: Any,
    problem: PlacementProblem,
    servers: NDArray[np.intp],
    node: NDArray[np.intp],
    server: NDArray[np.intp],
) -> None:
    """Give HiGHS the placement ``servers`` with its best capacitated assignment, if every node fits."""
    from dtopt.placement.variants import capacitated_assignment

    assignment, _ = capacitated_assignment(problem, servers)
    if (assignment < 0).any():
        return
    m = problem.n_sites
    values = np.zeros(m + len(node))
    values[servers] = 1.0
    values[m:] = server == assignment[node]
    highs.setSolution(values.size, np.arange(values.size, dtype=np.int32), values)


def _output(highs: Any, status: Any, scale: float, m: int, exact: bool, deadline: Deadline) -> MethodOutput:
    import highspy

    if status == highspy.HighsModelStatus.kInfeasible:
        return MethodOutput(None, "infeasible")
    y = y_values(highs, np.arange(m))
    servers = None if y is None else np.flatnonzero(y > 0.5).astype(np.intp)
    bound = highs.getInfo().mip_dual_bound
    bound_ms = float(bound) / scale if np.isfinite(bound) else None
    if status == highspy.HighsModelStatus.kOptimal:
        return MethodOutput(servers, "optimal" if exact else "feasible", bound_ms)
    if status == highspy.HighsModelStatus.kTimeLimit or deadline.expired():
        return MethodOutput(servers, "time_limit", bound_ms, f"stopped by time_limit_s={deadline.limit_s:g}")
    return MethodOutput(servers, "error", bound_ms, f"HiGHS stopped: {highs.modelStatusToString(status)}")
