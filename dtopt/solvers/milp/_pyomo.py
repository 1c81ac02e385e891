"""The classic model solved by any Pyomo solver (``SolverFactory``)."""

from __future__ import annotations

import io
import math

import numpy as np

from dtopt.errors import DtoptError
from dtopt.placement.problem import PlacementProblem
from dtopt.solvers.milp._classic import build_model
from dtopt.solvers.milp._state import OPTIMALITY_TOLERANCE, Search
from dtopt.solvers.registry import MethodOutput

__all__ = ["solve_with_pyomo"]

# How each common Pyomo solver spells a time limit (s) and a relative MIP gap, and
# whether it takes whole seconds only (glpsol refuses "--tmlim 600.0").
_OPTION_NAMES: dict[str, tuple[str, str, bool]] = {
    "appsi_highs": ("time_limit", "mip_rel_gap", False),
    "cbc": ("seconds", "ratioGap", False),
    "glpk": ("tmlim", "mipgap", True),
    "gurobi": ("TimeLimit", "MIPGap", False),
    "gurobi_direct": ("TimeLimit", "MIPGap", False),
    "gurobi_persistent": ("TimeLimit", "MIPGap", False),
    "cplex": ("timelimit", "mipgap", False),
    "cplex_direct": ("timelimit", "mipgap", False),
    "scip": ("limits/time", "limits/gap", False),
}


def solve_with_pyomo(
    problem: PlacementProblem, solver: str, search: Search, mip_gap: float, verbose: bool
) -> MethodOutput:
    """Solve the classic model with Pyomo solver ``solver`` in the time ``search`` has left.

    A solver that fails (it crashes, refuses an option, returns nonsense) gives
    status ``error`` with the solver's own message and the incumbent, if any.
    """
    import pyomo.environ as pyo
    from pyomo.common.errors import ApplicationError
    from pyomo.common.log import LoggingIntercept
    from pyomo.opt import SolverStatus, TerminationCondition

    # Pyomo logs a traceback for unknown names; we report them in one line below.
    with LoggingIntercept(io.StringIO(), "pyomo"):
        opt = pyo.SolverFactory(solver)
    if opt is None or type(opt).__name__ == "UnknownSolver":
        raise DtoptError(f"unknown solver {solver!r}: Pyomo has no solver by that name")
    if not opt.available(exception_flag=False):
        raise DtoptError(f"solver {solver!r} is not installed here; install it or use solver='highs'")
    model = build_model(problem)
    time_name, gap_name, whole_seconds = _OPTION_NAMES.get(solver, (None, None, False))
    remaining = search.deadline.remaining_s()
    if time_name and remaining is not None:
        opt.options[time_name] = max(1, math.floor(remaining)) if whole_seconds else remaining
    if gap_name:
        opt.options[gap_name] = mip_gap
    log = io.StringIO()
    try:
        with LoggingIntercept(log, "pyomo"):
            results = opt.solve(model, tee=verbose, load_solutions=False)
    except (ApplicationError, RuntimeError, ValueError, OSError) as error:
        message = " ".join(str(error).split()) or type(error).__name__
        return _failed(search, f"solver {solver!r} failed: {message}")
    condition = results.solver.termination_condition
    if condition in (TerminationCondition.infeasible, TerminationCondition.infeasibleOrUnbounded):
        return MethodOutput(None, "infeasible")
    if len(results.solution) > 0:
        model.solutions.load_from(results)
        y = np.array([pyo.value(model.y[j]) or 0.0 for j in range(problem.n)])
        search.offer(np.flatnonzero(y > 0.5))
    lower = results.problem.lower_bound
    if lower is not None and np.isfinite(float(lower)):
        search.raise_bound(float(lower))
    if condition == TerminationCondition.optimal and results.solver.status == SolverStatus.ok:
        if mip_gap <= OPTIMALITY_TOLERANCE:
            search.raise_bound(search.upper_ms)  # the solver proved it
        status = "optimal" if search.proven() else "feasible"
        return MethodOutput(search.servers, status, _bound(search))
    if condition in (TerminationCondition.maxTimeLimit, TerminationCondition.maxEvaluations):
        return MethodOutput(
            search.servers,
            "time_limit",
            _bound(search),
            reason=f"stopped by time_limit_s={search.deadline.limit_s:g}",
        )
    return _failed(search, f"solver {solver!r} stopped with termination condition {condition}")


def _bound(search: Search) -> float | None:
    return float(search.lower_ms) if np.isfinite(search.lower_ms) else None


def _failed(search: Search, reason: str) -> MethodOutput:
    return MethodOutput(search.servers, "error", _bound(search), reason=reason)
