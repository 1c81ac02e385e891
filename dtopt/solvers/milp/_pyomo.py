"""The classic model solved by any Pyomo solver (``SolverFactory``)."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dtopt.errors import DtoptError
from dtopt.placement.problem import PlacementProblem
from dtopt.solvers.method import MethodOutput
from dtopt.solvers.milp._classic import build_model
from dtopt.solvers.milp._state import OPTIMALITY_TOLERANCE, Search

__all__ = ["PyomoRun", "run_pyomo", "solve_with_pyomo"]

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


@dataclass(frozen=True)
class PyomoRun:
    """One Pyomo solve: ``status`` is ``optimal``, ``time_limit``, ``infeasible`` or ``error``
    (with the solver's own message); ``servers`` from the model's ``y``; ``bound`` the
    solver's lower bound in the model's objective units."""

    status: str
    servers: NDArray[np.intp] | None = None
    bound: float | None = None
    message: str | None = None


def run_pyomo(
    model: Any, n: int, solver: str, time_limit_s: float | None, mip_gap: float, verbose: bool
) -> PyomoRun:
    """Solve ``model`` (server variables ``y[0..n-1]``, n the number of sites) with Pyomo solver ``solver``.

    A solver that fails (it crashes, refuses an option, returns nonsense) gives
    status ``error`` with its own message instead of an exception.
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
    time_name, gap_name, whole_seconds = _OPTION_NAMES.get(solver, (None, None, False))
    if time_name and time_limit_s is not None:
        opt.options[time_name] = max(1, math.floor(time_limit_s)) if whole_seconds else time_limit_s
    if gap_name:
        opt.options[gap_name] = mip_gap
    if solver == "appsi_highs":
        # HiGHS also stops at an absolute gap of 1e-6 (ms here): ~1e-6 relative on sub-ms objectives.
        opt.options["mip_abs_gap"] = 0.0
    log = io.StringIO()
    try:
        with LoggingIntercept(log, "pyomo"):
            results = opt.solve(model, tee=verbose, load_solutions=False)
    except (ApplicationError, RuntimeError, ValueError, OSError) as error:
        message = " ".join(str(error).split()) or type(error).__name__
        return PyomoRun("error", message=f"solver {solver!r} failed: {message}")
    condition = results.solver.termination_condition
    if condition in (TerminationCondition.infeasible, TerminationCondition.infeasibleOrUnbounded):
        return PyomoRun("infeasible")
    servers = None
    if len(results.solution) > 0:
        model.solutions.load_from(results)
        y = np.array([pyo.value(model.y[j]) or 0.0 for j in range(n)])
        servers = np.flatnonzero(y > 0.5)
    lower = results.problem.lower_bound
    bound = float(lower) if lower is not None and np.isfinite(float(lower)) else None
    if condition == TerminationCondition.optimal and results.solver.status == SolverStatus.ok:
        return PyomoRun("optimal", servers, bound)
    if condition in (TerminationCondition.maxTimeLimit, TerminationCondition.maxEvaluations):
        return PyomoRun("time_limit", servers, bound)
    return PyomoRun("error", servers, bound, f"solver {solver!r} stopped: termination condition {condition}")


def solve_with_pyomo(
    problem: PlacementProblem, solver: str, search: Search, mip_gap: float, verbose: bool
) -> MethodOutput:
    """Solve the classic model with Pyomo solver ``solver`` in the time ``search`` has left."""
    run = run_pyomo(
        build_model(problem), problem.n_sites, solver, search.deadline.remaining_s(), mip_gap, verbose
    )
    if run.status == "infeasible":
        return MethodOutput(None, "infeasible")
    search.offer(run.servers)
    search.raise_bound(run.bound)
    if run.status == "optimal":
        if mip_gap <= OPTIMALITY_TOLERANCE:
            search.raise_bound(search.upper_ms)  # the solver proved it
        return MethodOutput(search.servers, "optimal" if search.proven() else "feasible", _bound(search))
    if run.status == "time_limit":
        return MethodOutput(
            search.servers,
            "time_limit",
            _bound(search),
            reason=f"stopped by time_limit_s={search.deadline.limit_s:g}",
        )
    return MethodOutput(search.servers, "error", _bound(search), reason=run.message)


def _bound(search: Search) -> float | None:
    return float(search.lower_ms) if np.isfinite(search.lower_ms) else None
