"""Exact placement as a mixed-integer program, modelled in Pyomo.

The model (design.md section 1): binary ``y_j`` (a server at j), continuous
``x_ij`` (node i served by j) for admissible pairs only,

    min (1/n) sum L_ij x_ij   s.t.  sum_j x_ij = 1,  x_ij <= y_j,  sum_j y_j = k.

``x`` may stay continuous: with ``y`` integral an optimal ``x`` sends each node
to its best open server anyway, and the disaggregated ``x_ij <= y_j`` keeps the
LP relaxation tight (often integral for p-median).

With the default ``solver="highs"`` the Pyomo model is compiled by Pyomo's own
standard-form compiler into sparse matrices and handed to HiGHS through
``highspy``, which skips the per-constraint translation layer and roughly halves
the total time; any other installed Pyomo solver runs through ``SolverFactory``.
The HiGHS path first tries to prove optimality from LP relaxations: over a priced
subset of the pairs (:func:`_priced_relaxation`), then over all of them, and only
then runs branch and bound.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from dtopt.errors import DtoptError
from dtopt.placement.evaluate import evaluate, server_indices
from dtopt.placement.problem import PlacementProblem
from dtopt.solvers._checks import check_bool, check_real
from dtopt.solvers.registry import MethodOutput, register

if TYPE_CHECKING:
    import pyomo.environ as pyo

__all__ = ["build_model", "milp"]

# A MILP answer counts as proven optimal when its relative gap is below this.
OPTIMALITY_TOLERANCE = 1e-9

# The p-median LP relaxation is (nearly) integral, so HiGHS's feasibility-jump
# primal heuristic only delays the root LP that finds the optimum anyway.
HIGHS_DEFAULTS: dict[str, Any] = {"mip_heuristic_run_feasibility_jump": False}

# The priced relaxation (_priced_relaxation): cheapest servers kept per node, the
# rounds of adding pairs before giving up, and the reduced cost that counts as negative.
_NEAREST_PAIRS = 16
_MAX_PRICING_ROUNDS = 100
_PRICING_TOLERANCE = 1e-12

# How each common Pyomo solver spells a time limit (s) and a relative MIP gap.
_OPTION_NAMES: dict[str, tuple[str, str]] = {
    "appsi_highs": ("time_limit", "mip_rel_gap"),
    "cbc": ("seconds", "ratioGap"),
    "glpk": ("tmlim", "mipgap"),
    "gurobi": ("TimeLimit", "MIPGap"),
    "gurobi_direct": ("TimeLimit", "MIPGap"),
    "gurobi_persistent": ("TimeLimit", "MIPGap"),
    "cplex": ("timelimit", "mipgap"),
    "cplex_direct": ("timelimit", "mipgap"),
    "scip": ("limits/time", "limits/gap"),
}


@register("milp", exact=True, summary="exact: Pyomo MILP solved by HiGHS (or any installed Pyomo solver)")
def milp(
    problem: PlacementProblem,
    *,
    solver: str = "highs",
    time_limit_s: float | None = 600.0,
    mip_gap: float = 0.0,
    warm_start: Iterable[int | str] | None = None,
    highs_options: dict[str, Any] | None = None,
    verbose: bool = False,
) -> MethodOutput:
    """Solve the placement MILP.

    Options
    -------
    solver : ``"highs"`` (default; HiGHS via highspy) or the name of any Pyomo
        solver installed here (``"appsi_highs"``, ``"cbc"``, ``"glpk"``, ``"gurobi"``...).
    time_limit_s : wall-clock limit for the solver (s), or ``None`` for none. On
        hitting it the best placement so far comes back with status ``time_limit``.
    mip_gap : relative optimality gap at which to stop (0 = prove optimality).
    warm_start : a placement (node names or indices) to start from, e.g. the
        ``interchange`` heuristic's servers (HiGHS only).
    highs_options : further HiGHS options by name, overriding :data:`HIGHS_DEFAULTS`
        (HiGHS only), e.g. ``{"random_seed": 7}``.
    verbose : print the solver's log.
    """
    _check_options(solver, time_limit_s, mip_gap, verbose)
    if problem.variant is not None:  # capacities or failures: their own models
        from dtopt.solvers.milp_variants import solve_variant

        if warm_start is not None or highs_options is not None:
            raise DtoptError(f"warm_start and highs_options do not apply to {problem.variant} problems")
        return solve_variant(
            problem, solver=solver, time_limit_s=time_limit_s, mip_gap=mip_gap, verbose=verbose
        )
    if highs_options is not None and (solver != "highs" or not isinstance(highs_options, dict)):
        raise DtoptError("milp option highs_options must be a dict of HiGHS options, with solver='highs'")
    start = None if warm_start is None else server_indices(problem, warm_start)
    if solver == "highs":
        options = {**HIGHS_DEFAULTS, **(highs_options or {})}
        return _solve_highspy(problem, time_limit_s, mip_gap, start, options, verbose)
    if start is not None:
        raise DtoptError("warm_start is supported with solver='highs' only")
    return _solve_pyomo(problem, build_model(problem), solver, time_limit_s, mip_gap, verbose)


def build_model(problem: PlacementProblem, pairs: NDArray[np.bool_] | None = None) -> pyo.ConcreteModel:
    """The Pyomo model of ``problem``: ``y[j]``, ``x[p]`` for admissible pair p.

    ``pairs``, shape ``(n, n)`` bool: model only these (admissible) pairs (default:
    every admissible pair). ``model.pair_node[p]`` / ``model.pair_server[p]`` give
    pair p's node and server.
    """
    import pyomo.environ as pyo
    from pyomo.core.expr.numeric_expr import LinearExpression

    n = problem.n
    keep = problem.admissible if pairs is None else pairs & problem.admissible
    node, server = np.nonzero(keep)  # row-major: pairs grouped by node
    n_pairs = len(node)
    model = pyo.ConcreteModel(name=f"dt-placement {problem.topology.name} k={problem.k}")
    model.pair_node, model.pair_server = node, server
    model.y = pyo.Var(range(n), within=pyo.Binary)
    model.x = pyo.Var(range(n_pairs), bounds=(0, 1))
    # LinearExpression skips Pyomo's generic expression building: ~2x faster on big models.
    xs = [model.x[p] for p in range(n_pairs)]
    ys = [model.y[j] for j in range(n)]
    first = np.searchsorted(node, np.arange(n + 1))

    def assign(_: Any, i: int) -> Any:
        span = xs[first[i] : first[i + 1]]
        return LinearExpression(constant=0, linear_coefs=[1] * len(span), linear_vars=span) == 1

    model.assign = pyo.Constraint(range(n), rule=assign)
    model.link = pyo.Constraint(range(n_pairs), rule=lambda _, p: xs[p] <= ys[server[p]])
    model.count = pyo.Constraint(
        expr=LinearExpression(constant=0, linear_coefs=[1] * n, linear_vars=ys) == problem.k
    )
    coefs = _objective_coefficients(problem)[node, server].tolist()
    model.latency = pyo.Objective(expr=LinearExpression(constant=0, linear_coefs=coefs, linear_vars=xs))
    return model


def _objective_coefficients(problem: PlacementProblem) -> NDArray[np.float64]:
    """The objective's coefficient of each ``x_ij``, shape ``(n, n)``: ``L_ij / n`` (ms), so
    the objective is the mean latency."""
    return problem.latency_ms / problem.n


def _check_options(solver: object, time_limit_s: object, mip_gap: object, verbose: object) -> None:
    if not isinstance(solver, str) or not solver:
        raise DtoptError(f"milp option solver must be a solver name, got {solver!r}")
    if time_limit_s is not None:
        check_real(
            "milp", "time_limit_s", time_limit_s, lambda t: t > 0, "a positive number of seconds or None"
        )
    check_real("milp", "mip_gap", mip_gap, lambda g: 0 <= g < 1, "in [0, 1)")
    check_bool("milp", "verbose", verbose)


def _solve_highspy(
    problem: PlacementProblem,
    time_limit_s: float | None,
    mip_gap: float,
    start: NDArray[np.intp] | None,
    options: dict[str, Any],
    verbose: bool,
) -> MethodOutput:
    import highspy

    started = time.perf_counter()
    priced = _priced_relaxation(problem, time_limit_s, options, verbose)
    if priced is not None:
        return priced
    model = build_model(problem)
    highs, compiled = _highs_with(model, problem, time_limit_s, mip_gap, options, verbose)
    column, y_columns = compiled.column, compiled.y_columns
    root = _integral_relaxation(problem, highs, y_columns)
    if root is not None:
        return root
    if time_limit_s is not None:
        highs.setOptionValue("time_limit", max(float(time_limit_s) - (time.perf_counter() - started), 1e-3))
    if start is not None:
        highs.setSolution(_start_solution(problem, model, column, y_columns, start))
    highs.run()

    status = highs.getModelStatus()
    info = highs.getInfo()
    if status == highspy.HighsModelStatus.kInfeasible:
        return MethodOutput(None, "infeasible")
    values = np.asarray(highs.getSolution().col_value) if info.primal_solution_status >= 1 else None
    servers = None if values is None or values.size == 0 else np.flatnonzero(values[y_columns] > 0.5)
    bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else None
    if status == highspy.HighsModelStatus.kOptimal:
        proven = info.mip_gap <= OPTIMALITY_TOLERANCE
        return MethodOutput(servers, "optimal" if proven else "feasible", bound)
    if status == highspy.HighsModelStatus.kTimeLimit:
        return MethodOutput(servers, "time_limit", bound, reason=f"stopped by time_limit_s={time_limit_s}")
    raise DtoptError(
        f"HiGHS stopped with status {highs.modelStatusToString(status)} (highs_options {options}); "
        "rerun with verbose=True for its log"
    )


@dataclass(frozen=True, eq=False)
class _Compiled:
    """Where the Pyomo model's parts sit in the HiGHS model.

    column : Pyomo variable id -> HiGHS column; y_columns : shape ``(n,)``, the
    ``y[j]`` columns; assign_rows : shape ``(n,)``, the rows ``sum_j x_ij = 1``.
    """

    column: dict[int, int]
    y_columns: NDArray[np.intp]
    assign_rows: NDArray[np.intp]


def _highs_with(
    model: pyo.ConcreteModel,
    problem: PlacementProblem,
    time_limit_s: float | None,
    mip_gap: float,
    options: dict[str, Any],
    verbose: bool,
) -> tuple[Any, _Compiled]:
    """A configured HiGHS instance holding ``model`` (compiled by Pyomo's standard-form compiler)."""
    import highspy
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler
    from pyomo.repn.util import FileDeterminism

    # ORDERED: every index set here is an ordered range already, so sorting is wasted work.
    form = LinearStandardFormCompiler().write(
        model, mixed_form=True, set_sense=None, file_determinism=FileDeterminism.ORDERED
    )
    columns = form.columns
    kind = np.array([row.bound_type for row in form.rows])
    rhs = np.asarray(form.rhs, dtype=float)
    a = form.A.tocsc()

    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(columns), a.shape[0]
    lp.col_cost_ = np.asarray(form.c.toarray()).ravel()
    lp.offset_ = float(form.c_offset[0])
    lp.col_lower_ = np.array([v.lb for v in columns], dtype=float)
    lp.col_upper_ = np.array([v.ub for v in columns], dtype=float)
    lp.row_lower_ = np.where(kind == 1, -np.inf, rhs)  # bound_type: 1 is <=, -1 is >=, 0 is ==
    lp.row_upper_ = np.where(kind == -1, np.inf, rhs)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    integer = highspy.HighsVarType.kInteger
    continuous = highspy.HighsVarType.kContinuous
    lp.integrality_ = [integer if v.is_integer() else continuous for v in columns]

    highs = _new_highs(verbose)
    highs.setOptionValue("mip_rel_gap", float(mip_gap))
    highs.setOptionValue("mip_abs_gap", 0.0)
    if time_limit_s is not None:
        highs.setOptionValue("time_limit", float(time_limit_s))
    for name, value in options.items():
        if highs.setOptionValue(name, value) != highspy.HighsStatus.kOk:
            raise DtoptError(f"HiGHS rejected option {name}={value!r}")
    highs.passModel(lp)
    column = {id(v): c for c, v in enumerate(columns)}
    row = {id(r.constraint): i for i, r in enumerate(form.rows)}
    return highs, _Compiled(
        column=column,
        y_columns=np.array([column[id(model.y[j])] for j in range(problem.n)]),
        assign_rows=np.array([row[id(model.assign[i])] for i in range(problem.n)]),
    )


def _priced_relaxation(
    problem: PlacementProblem, time_limit_s: float | None, options: dict[str, Any], verbose: bool
) -> MethodOutput | None:
    """The LP relaxation over a few pairs per node, grown until it is the full one's.

    Most pairs of the full model are far-apart node-server pairs that no optimal
    solution uses, yet building, compiling and solving them is most of the time.
    The restricted model keeps each node's ``_NEAREST_PAIRS`` cheapest admissible
    servers and every server of a greedy placement (so the LP is feasible when
    that placement covers every node). Column generation then proves it complete:
    an omitted pair (i, j) would enter with reduced cost ``c_ij - u_i`` (``u_i``
    the dual of node i's assignment row; its own link row, slack, has dual 0), so
    while any is negative those pairs are added to HiGHS in place, with their link
    rows, and the LP re-solved from its basis. When none is negative the restricted
    optimum is the full relaxation's optimum, a lower bound on every placement; an
    integral one whose placement evaluates to that value is optimal. Any other
    outcome (``None``) sends the caller to the full model.
    """
    import highspy

    from dtopt.solvers._swap import Penalised, greedy, local_search

    n = problem.n
    cost = _objective_coefficients(problem)  # pricing must see exactly the model's costs
    admissible = problem.admissible
    if n <= _NEAREST_PAIRS:
        return None  # nothing to leave out
    nearest = np.argsort(np.where(admissible, cost, np.inf), axis=1, kind="stable")[:, :_NEAREST_PAIRS]
    pairs = np.zeros((n, n), dtype=bool)
    pairs[np.arange(n)[:, None], nearest] = True
    penalised = Penalised.of(problem)
    pairs[:, local_search(penalised, greedy(penalised, problem.k)).servers] = True
    pairs &= admissible

    model = build_model(problem, pairs)
    highs, compiled = _highs_with(model, problem, time_limit_s, 0.0, options, verbose)
    highs.setOptionValue("solve_relaxation", True)
    highs.setOptionValue("presolve", "off")  # see _integral_relaxation
    for _ in range(_MAX_PRICING_ROUNDS):
        highs.run()
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        u = np.asarray(highs.getSolution().row_dual)[compiled.assign_rows]
        node, server = np.nonzero(admissible & ~pairs & (cost < u[:, None] - _PRICING_TOLERANCE))
        if node.size == 0:
            break
        first = highs.getNumCol()
        count = node.size
        highs.addCols(
            count, cost[node, server], np.zeros(count), np.ones(count), count,
            np.arange(count, dtype=np.int32), compiled.assign_rows[node].astype(np.int32), np.ones(count),
        )
        link = np.column_stack([first + np.arange(count), compiled.y_columns[server]]).astype(np.int32)
        highs.addRows(
            count, np.full(count, -np.inf), np.zeros(count), 2 * count,
            np.arange(0, 2 * count, 2, dtype=np.int32), link.ravel(), np.tile([1.0, -1.0], count),
        )
        pairs[node, server] = True
    else:
        return None
    return _proven_placement(problem, highs, compiled.y_columns)


def _new_highs(verbose: bool) -> Any:
    """A ``highspy.Highs`` instance that logs only if ``verbose``.

    HiGHS 1.16 prints a banner from the constructor of a process's first instance,
    before ``output_flag`` can be set, straight to file descriptor 1: it would
    corrupt ``dtopt place --json``. A quiet construction points descriptor 1 at
    the null device meanwhile.
    """
    import highspy

    if verbose:
        highs = highspy.Highs()
    else:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 1)
                highs = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
    highs.setOptionValue("output_flag", bool(verbose))
    return highs


def _integral_relaxation(
    problem: PlacementProblem, highs: Any, y_columns: NDArray[np.intp]
) -> MethodOutput | None:
    """Solve the LP relaxation; if it opens whole servers, that placement is optimal.

    The p-median relaxation with disaggregated links is integral on most real
    networks, and an LP is solved in about half the time of HiGHS's MIP set-up.
    The proof is checked, not assumed: the rounded placement's own mean latency
    must equal the LP value, a lower bound on every placement. ``None`` sends the
    caller on to the full MIP.
    """
    import highspy

    # Presolve finds nothing to remove in this model (measured), so the LP skips it.
    _, presolve = highs.getOptionValue("presolve")
    highs.setOptionValue("solve_relaxation", True)
    highs.setOptionValue("presolve", "off")
    highs.run()
    highs.setOptionValue("solve_relaxation", False)
    highs.setOptionValue("presolve", presolve)
    status = highs.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        return MethodOutput(None, "infeasible")  # no fractional placement, so no placement at all
    if status != highspy.HighsModelStatus.kOptimal:
        return None
    return _proven_placement(problem, highs, y_columns)


def _proven_placement(
    problem: PlacementProblem, highs: Any, y_columns: NDArray[np.intp]
) -> MethodOutput | None:
    """The placement of an optimal LP relaxation (a lower bound on every placement) if it
    is integral and its own mean latency equals the LP value: then it is optimal."""
    y = np.asarray(highs.getSolution().col_value)[y_columns]
    if np.abs(y - np.round(y)).max() > 1e-9:
        return None
    servers = np.flatnonzero(y > 0.5)
    lower_ms = float(highs.getInfo().objective_function_value)
    ev = evaluate(problem, servers)
    if not ev.feasible or ev.avg_latency_ms > lower_ms * (1 + OPTIMALITY_TOLERANCE) + 1e-12:
        return None
    return MethodOutput(servers, "optimal", lower_ms)


def _start_solution(
    problem: PlacementProblem,
    model: pyo.ConcreteModel,
    column: dict[int, int],
    y_columns: NDArray[np.intp],
    servers: NDArray[np.intp],
) -> Any:
    import highspy

    values = np.zeros(len(column))
    values[y_columns[servers]] = 1.0
    best = servers[np.argmin(problem.cost_ms[:, servers], axis=1)]
    pair = {
        (int(i), int(j)): p for p, (i, j) in enumerate(zip(model.pair_node, model.pair_server, strict=True))
    }
    for i, j in enumerate(best):
        if (i, int(j)) in pair:  # an infeasible start simply lacks some pairs
            values[column[id(model.x[pair[i, int(j)]])]] = 1.0
    solution = highspy.HighsSolution()
    solution.col_value = values.tolist()
    return solution


def _solve_pyomo(
    problem: PlacementProblem,
    model: pyo.ConcreteModel,
    solver: str,
    time_limit_s: float | None,
    mip_gap: float,
    verbose: bool,
) -> MethodOutput:
    import io

    import pyomo.environ as pyo
    from pyomo.common.log import LoggingIntercept
    from pyomo.opt import SolverStatus, TerminationCondition

    # Pyomo logs a traceback for unknown names; we report them in one line below.
    with LoggingIntercept(io.StringIO(), "pyomo"):
        opt = pyo.SolverFactory(solver)
    if opt is None or type(opt).__name__ == "UnknownSolver":
        raise DtoptError(f"unknown solver {solver!r}: Pyomo has no solver by that name")
    if not opt.available(exception_flag=False):
        raise DtoptError(f"solver {solver!r} is not installed here; install it or use solver='highs'")
    time_name, gap_name = _OPTION_NAMES.get(solver, (None, None))
    if time_name and time_limit_s is not None:
        opt.options[time_name] = time_limit_s
    if gap_name:
        opt.options[gap_name] = mip_gap
    if solver == "appsi_highs":
        # HiGHS also stops at an absolute gap of 1e-6 (ms here): ~1e-6 relative on sub-ms objectives.
        opt.options["mip_abs_gap"] = 0.0
    results = opt.solve(model, tee=verbose, load_solutions=False)
    condition = results.solver.termination_condition
    if condition in (TerminationCondition.infeasible, TerminationCondition.infeasibleOrUnbounded):
        return MethodOutput(None, "infeasible")
    servers = None
    if len(results.solution) > 0:
        model.solutions.load_from(results)
        servers = np.flatnonzero(np.array([pyo.value(model.y[j]) or 0.0 for j in range(problem.n)]) > 0.5)
    lower = results.problem.lower_bound
    bound = float(lower) if lower is not None and np.isfinite(float(lower)) else None
    if condition == TerminationCondition.optimal and results.solver.status == SolverStatus.ok:
        return MethodOutput(servers, "optimal" if mip_gap <= OPTIMALITY_TOLERANCE else "feasible", bound)
    if condition in (TerminationCondition.maxTimeLimit, TerminationCondition.maxEvaluations):
        return MethodOutput(servers, "time_limit", bound, reason=f"stopped by time_limit_s={time_limit_s}")
    raise DtoptError(f"solver {solver!r} stopped with termination condition {condition}")
