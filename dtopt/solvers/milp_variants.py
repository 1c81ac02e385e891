"""Exact models of the two variants, in Pyomo, solved through :mod:`dtopt.solvers.milp`.

Both share the paper's server variables ``y_j`` (binary) and ``sum_j y_j = k``,
and differ in how nodes are assigned (the objective, mean latency in ms, is scaled
for the solver's tolerances, see :func:`~dtopt.solvers.milp._state.objective_scale`):

- Capacitated p-median: ``x_ij`` for admissible pairs,
  ``sum_j x_ij = 1``, ``x_ij <= y_j``, ``sum_i w_i x_ij <= C_j y_j``,
  min ``(1/n) sum w_i L_ij x_ij`` (``w`` the demand weights; 1 without weights).
  Without weights ``x`` may stay continuous: with ``y`` fixed the rest is a
  transportation problem, whose LP optimum is integral, and
  :func:`~dtopt.placement.evaluate.score` recovers an integral assignment of
  the same cost from the servers alone. With weights a twin must stay whole, so
  ``x`` is binary (a generalised assignment).
- Reliable p-median (Snyder and Daskin, 2005, "Reliability models for facility
  location: the expected failure cost case"), level assignment: ``x_ijr`` = node
  i's level-r server is j, for r = 0..k-1 (level 0 only admissible pairs),
  ``sum_j x_ijr = 1`` per (i, r), ``sum_r x_ijr <= y_j`` per (i, j),
  min ``(1/n) sum w_r L_ij x_ijr`` with ``w_r = q^r (1 - q) / (1 - q^k)``
  (:func:`~dtopt.placement.variants.level_weights`). With k servers and k levels
  each node ranks every server; with ``y`` fixed this is an assignment problem per
  node, again integral. Their model's emergency facility is not needed: the
  expected latency is taken given that some server is up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from dtopt.placement.problem import PlacementProblem
from dtopt.placement.variants import level_weights
from dtopt.solvers.method import MethodOutput
from dtopt.solvers.milp._state import objective_scale

if TYPE_CHECKING:
    import pyomo.environ as pyo

__all__ = ["build_variant_model", "solve_variant"]



def solve_variant(
    problem: PlacementProblem, *, solver: str, time_limit_s: float | None, mip_gap: float, verbose: bool,
    uncapacitated: Callable[..., MethodOutput],
) -> MethodOutput:
    """Solve a capacitated or reliable problem exactly; with ``solver="highs"`` a capacitated
    problem goes to HiGHS directly (:mod:`dtopt.solvers.milp._capacitated`) and a reliable
    one through Pyomo's ``appsi_highs`` interface; any other name is a Pyomo solver. ``uncapacitated``
    is the exact solver of the paper's problem (:func:`dtopt.solvers.milp.milp`, which
    calls this function, so it is handed in rather than imported).

    Two cheap steps come first. A reliable problem is feasible exactly when the
    paper's problem is (primaries must be admissible, backups need not be), which
    the covering test of :func:`~dtopt.placement.feasibility.infeasibility_reason`
    settles without the large level model. A capacitated problem's optimum is at
    least the uncapacitated optimum; when an optimal uncapacitated placement also
    fits the capacities at that same mean latency, it is optimal (often the case
    when capacities leave some slack), and the capacitated model is not needed;
    otherwise the model starts from that placement (or the capacitated swap's, if it does not fit).
    """
    from dtopt.placement.evaluate import score
    from dtopt.placement.feasibility import infeasibility_reason
    from dtopt.solvers.milp._capacitated import solve_capacitated
    from dtopt.solvers.milp._deadline import Deadline
    from dtopt.solvers.milp._pyomo import run_pyomo
    from dtopt.solvers.milp._state import OPTIMALITY_TOLERANCE

    deadline = Deadline.after(time_limit_s)
    if problem.variant == "reliable":
        reason = infeasibility_reason(problem.with_(failure_prob=None))
        if reason is not None:
            return MethodOutput(None, "infeasible", reason=reason)
    elif problem.variant == "capacitated" and solver == "highs":
        relaxed = uncapacitated(problem.with_(capacity=None), time_limit_s=time_limit_s, verbose=verbose)
        if relaxed.status == "infeasible":
            return MethodOutput(None, "infeasible")
        if relaxed.status == "optimal" and relaxed.servers is not None:
            ev = score(problem, relaxed.servers)
            lower_ms = (
                relaxed.bound_ms
                if relaxed.bound_ms is not None
                else score(problem.with_(capacity=None), relaxed.servers).avg_latency_ms
            )
            if ev.feasible and ev.avg_latency_ms <= lower_ms * (1 + OPTIMALITY_TOLERANCE) + 1e-12:
                return MethodOutput(relaxed.servers, "optimal", lower_ms)
        start = _capacitated_start(problem, relaxed.servers)
        return solve_capacitated(problem, deadline, mip_gap, verbose, start)
    model = build_variant_model(problem)
    pyomo_solver = "appsi_highs" if solver == "highs" else solver
    run = run_pyomo(model, problem.n_sites, pyomo_solver, time_limit_s, mip_gap, verbose)
    if run.status == "infeasible":
        return MethodOutput(None, "infeasible")
    bound_ms = None if run.bound is None else run.bound / model.objective_scale
    if run.status == "optimal":
        status = "optimal" if mip_gap <= OPTIMALITY_TOLERANCE else "feasible"
        return MethodOutput(run.servers, status, bound_ms)
    reason = f"stopped by time_limit_s={time_limit_s:g}" if run.status == "time_limit" else run.message
    return MethodOutput(run.servers, run.status, bound_ms, reason)  # type: ignore[arg-type]


def _capacitated_start(problem: PlacementProblem, relaxed: NDArray[np.intp] | None) -> NDArray[np.intp]:
    """A placement to start the capacitated model from: the uncapacitated optimum ``relaxed``
    when every node fits there, else the capacitated swap's local optimum (on TataNld, k = 5
    and 10, the former was as good or better and costs nothing more)."""
    from dtopt.placement.variants import capacitated_assignment
    from dtopt.solvers._variant_swap import variant_interchange

    if relaxed is not None and (capacitated_assignment(problem, np.asarray(relaxed))[0] >= 0).all():
        return np.asarray(relaxed)
    return variant_interchange(problem, 1, 0)


def build_variant_model(problem: PlacementProblem) -> pyo.ConcreteModel:
    """The Pyomo model of a capacitated or reliable problem (see the module docstring)."""
    import pyomo.environ as pyo

    n, sites = problem.n, problem.n_sites
    if problem.variant == "capacitated":
        node, server = np.nonzero(problem.admissible)
        level = np.zeros(len(node), dtype=np.intp)
        weights = np.ones(1)
    else:
        weights = level_weights(problem.failure_prob, problem.k)  # type: ignore[arg-type]
        node0, server0 = np.nonzero(problem.admissible)
        backup_node, backup_server = np.nonzero(np.ones((n, sites), dtype=bool))
        count = len(backup_node)
        node = np.concatenate([node0, np.tile(backup_node, problem.k - 1)])
        server = np.concatenate([server0, np.tile(backup_server, problem.k - 1)])
        level = np.concatenate([np.zeros(len(node0), np.intp), np.repeat(np.arange(1, problem.k), count)])
    model = pyo.ConcreteModel(name=f"dt-placement {problem.topology.name} k={problem.k} {problem.variant}")
    m = len(node)
    model.y = pyo.Var(range(sites), within=pyo.Binary)
    for j in problem.fixed_columns.tolist():
        model.y[j].setlb(1)
    # A weighted twin stays whole: with demands the assignment is no transportation problem.
    whole = problem.variant == "capacitated" and problem.weights is not None
    model.x = pyo.Var(range(m), within=pyo.Binary) if whole else pyo.Var(range(m), bounds=(0, 1))
    xs = [model.x[p] for p in range(m)]
    ys = [model.y[j] for j in range(sites)]
    model.count = pyo.Constraint(expr=_sum(ys) == problem.k)
    # Each (node, level) gets one server.
    groups = _groups(node * len(weights) + level, n * len(weights))
    model.assign = pyo.Constraint(range(len(groups)), rule=lambda _, g: _sum([xs[p] for p in groups[g]]) == 1)
    # Each (node, server) pair is used at most once over the levels, and only at an open server.
    pair_groups = _groups(node * sites + server, n * sites)
    nonempty = [g for g in range(n * sites) if len(pair_groups[g])]
    model.link = pyo.Constraint(
        nonempty,
        rule=lambda _, g: (
            _sum([*(xs[p] for p in pair_groups[g]), ys[g % sites]], _ones_then(-1, len(pair_groups[g]))) <= 0
        ),
    )
    if problem.variant == "capacitated":
        by_server = _groups(server, sites)
        capacities = problem.capacities.tolist()
        demand = problem.demand
        model.room = pyo.Constraint(
            range(sites),
            rule=lambda _, j: (
                _sum(
                    [*(xs[p] for p in by_server[j]), ys[j]],
                    [*demand[node[by_server[j]]].tolist(), -capacities[j]],
                )
                <= 0
            ),
        )
    coefs = weights[level] * problem.weighted_latency_ms[node, server] / n
    model.objective_scale = objective_scale(coefs)
    model.latency = pyo.Objective(expr=_sum(xs, (coefs * model.objective_scale).tolist()))
    return model


def _groups(keys: NDArray[np.intp], size: int) -> list[NDArray[np.intp]]:
    """Positions of each key value 0..size-1 (stable), as a list of arrays."""
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], np.arange(size + 1))
    return [order[bounds[g] : bounds[g + 1]] for g in range(size)]


def _ones_then(last: float, count: int) -> list[float]:
    """Coefficients of ``count`` variables summed, then one more scaled by ``last``."""
    return [1.0] * count + [float(last)]


def _sum(variables: list[Any], coefs: list[float] | None = None) -> Any:
    """A linear expression built directly (Pyomo's generic sum is several times slower)."""
    from pyomo.core.expr.numeric_expr import LinearExpression

    coefs = [1] * len(variables) if coefs is None else coefs
    return LinearExpression(constant=0, linear_coefs=coefs, linear_vars=variables)
