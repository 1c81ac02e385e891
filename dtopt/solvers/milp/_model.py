"""Solving a formulation with HiGHS: LP relaxation first (an integral one is a proof),
then branch and bound from the incumbent, cut off at its value, within the deadline.

Both formulations hold every placement that uses candidate pairs only. When the
candidates were cut by a bound against an incumbent of cost ``cap_ms``, a model's
own bound holds only for placements cheaper than ``cap_ms`` (every other one costs
more), so the bound proved for the problem is ``min(model bound, cap_ms)``, and a
model with no solution proves the incumbent optimal.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dtopt.errors import DtoptError
from dtopt.placement.problem import PlacementProblem
from dtopt.solvers.method import MethodOutput
from dtopt.solvers.milp._classic import (
    build_model,
    compile_to_highs,
    priced_relaxation,
)
from dtopt.solvers.milp._highs import new_highs, pass_arrays, run, y_values
from dtopt.solvers.milp._radius import radius_model
from dtopt.solvers.milp._state import OPTIMALITY_TOLERANCE, Search

__all__ = ["answer", "finish_mip", "no_solution", "solve_classic", "solve_radius", "start_from"]

# Branch and bound starts only if this many times the model's build time is left.
_SETUP_FACTOR = 2.0
# y values this close to 0 or 1 count as integral.
_INTEGRALITY_TOLERANCE = 1e-9


def solve_classic(
    problem: PlacementProblem,
    candidates: NDArray[np.bool_],
    cap_ms: float,
    search: Search,
    mip_gap: float,
    options: dict[str, Any],
    verbose: bool,
) -> MethodOutput:
    """The classic model over ``candidates``: priced LP relaxation, then the full model."""
    priced = priced_relaxation(problem, candidates, search, options, verbose)
    if priced is not None:
        _relaxation_done(priced.highs, priced.y_columns, cap_ms, search, "priced LP relaxation", 1)
        if search.proven(mip_gap) or search.deadline.expired():
            return answer(search, mip_gap)
    built = time.perf_counter()
    compiled = compile_to_highs(build_model(problem, candidates), problem, mip_gap, options, verbose)
    search.note("classic model built")
    usable = candidates.any(axis=0)
    usable[problem.fixed_columns] = True
    closed = compiled.y_columns[~usable]
    compiled.highs.changeColsBounds(
        closed.size, closed.astype(np.int32), np.zeros(closed.size), np.zeros(closed.size)
    )
    start = None if search.servers is None else compiled.start(problem, search.servers)
    setup_s = _SETUP_FACTOR * (time.perf_counter() - built)
    return _lp_then_mip(
        compiled.highs,
        compiled.y_columns,
        start,
        cap_ms,
        search,
        mip_gap,
        lp=priced is None,
        scale=1,
        setup_s=setup_s,
    )


def solve_radius(
    problem: PlacementProblem,
    candidates: NDArray[np.bool_],
    cap_ms: float,
    search: Search,
    mip_gap: float,
    options: dict[str, Any],
    verbose: bool,
) -> MethodOutput:
    """The radius model over ``candidates``, as arrays straight to HiGHS."""
    if not candidates.any(axis=1).all():
        return MethodOutput(None, "infeasible")  # a node without an admissible server
    built = time.perf_counter()
    cost = np.where(candidates, problem.cost_ms, np.inf)  # totals (ms): well-scaled numbers
    model = radius_model(cost, problem.k)
    n, m, columns = problem.n, problem.n_sites, model.matrix.shape[1]
    lower, upper = np.zeros(columns), np.ones(columns)
    upper[:m] = candidates.any(axis=0)  # a server no node may use stays closed
    upper[problem.fixed_columns] = lower[problem.fixed_columns] = 1.0
    integer = np.zeros(columns, dtype=bool)
    integer[:m] = True
    highs = new_highs(verbose, mip_gap, options)
    pass_arrays(
        highs,
        model.matrix,
        model.cost,
        model.offset,
        (lower, upper),
        (model.row_lower, model.row_upper),
        integer,
    )
    search.note(f"radius model built ({columns - m} levels)")
    start = None if search.servers is None else model.start(cost, search.servers)
    setup_s = _SETUP_FACTOR * (time.perf_counter() - built)
    return _lp_then_mip(
        highs, np.arange(m), start, cap_ms, search, mip_gap, lp=False, scale=n, setup_s=setup_s
    )


def _lp_then_mip(
    highs: Any,
    y_columns: NDArray[np.intp],
    start: NDArray[np.float64] | None,
    cap_ms: float,
    search: Search,
    mip_gap: float,
    *,
    lp: bool,
    scale: float,
    setup_s: float,
) -> MethodOutput:
    """LP relaxation (if ``lp``), then branch and bound; the model's objective is
    ``scale`` times the mean latency (ms). HiGHS does not watch the clock while it sets
    up a MIP (about as long as building the model took, measured on pmed39), so branch and
    bound starts only if ``setup_s`` seconds are left."""
    import highspy

    infeasible = highspy.HighsModelStatus.kInfeasible
    if lp:
        status = run(highs, search.deadline, relaxation=True)
        if status == infeasible:
            return no_solution(search, cap_ms, mip_gap)
        if status == highspy.HighsModelStatus.kOptimal:
            _relaxation_done(highs, y_columns, cap_ms, search, "LP relaxation", scale)
        if search.proven(mip_gap) or search.deadline.expired():
            return answer(search, mip_gap)
    remaining = search.deadline.remaining_s()
    if remaining is not None and remaining < setup_s:
        search.note("no time for branch and bound")
        return answer(search, mip_gap, stopped=True)
    start_from(highs, search, start, scale)
    status = run(highs, search.deadline, relaxation=False)
    return finish_mip(highs, status, y_columns, cap_ms, search, mip_gap, scale=scale)


def start_from(highs: Any, search: Search, start: NDArray[np.float64] | None, scale: float) -> None:
    """Cut branch and bound off at the incumbent's value and start it from ``start``
    (the incumbent's column values, or ``None``)."""
    import highspy

    if np.isfinite(search.upper_ms):
        highs.setOptionValue("objective_bound", scale * search.upper_ms * (1 + 1e-9))
    if start is not None:
        solution = highspy.HighsSolution()
        solution.col_value = start.tolist()
        highs.setSolution(solution)


def finish_mip(
    highs: Any,
    status: Any,
    y_columns: NDArray[np.intp],
    cap_ms: float,
    search: Search,
    mip_gap: float,
    *,
    scale: float,
    step: str = "branch and bound",
) -> MethodOutput:
    """The answer after HiGHS's branch and bound (``step``) ended with ``status``: its
    placement offered, its bound recorded (capped at ``cap_ms``); the model's objective
    is ``scale`` times the mean latency (ms)."""
    import highspy

    if status == highspy.HighsModelStatus.kInfeasible:
        return no_solution(search, cap_ms, mip_gap)
    y = y_values(highs, y_columns)
    if y is not None:
        search.offer(np.flatnonzero(y > 0.5))
    info = highs.getInfo()
    if status == highspy.HighsModelStatus.kOptimal and mip_gap <= OPTIMALITY_TOLERANCE:
        # Proven optimal; with the cut-off the solver may hold no solution below
        # the incumbent's value, and then the incumbent is the optimum.
        _capped_bound(search, min(info.objective_function_value / scale, search.upper_ms), cap_ms)
    elif np.isfinite(info.mip_dual_bound):
        _capped_bound(search, info.mip_dual_bound / scale, cap_ms)
    search.note(step)
    if status not in (
        highspy.HighsModelStatus.kOptimal,
        highspy.HighsModelStatus.kTimeLimit,
        highspy.HighsModelStatus.kObjectiveBound,
    ):
        raise DtoptError(
            f"HiGHS stopped with status {highs.modelStatusToString(status)}; "
            "rerun with verbose=True for its log"
        )
    return answer(search, mip_gap)


def _relaxation_done(
    highs: Any, y_columns: NDArray[np.intp], cap_ms: float, search: Search, step: str, scale: float
) -> None:
    """Record an optimal LP relaxation's bound (its objective is ``scale`` times the mean
    latency); an integral one's placement is offered (optimal if it evaluates to the bound)."""
    _capped_bound(search, float(highs.getInfo().objective_function_value) / scale, cap_ms)
    y = y_values(highs, y_columns)
    if y is not None and np.abs(y - np.round(y)).max() <= _INTEGRALITY_TOLERANCE:
        search.offer(np.flatnonzero(y > 0.5))
    search.note(step)


def _capped_bound(search: Search, bound_ms: float, cap_ms: float) -> None:
    search.raise_bound(min(bound_ms, cap_ms))


def no_solution(search: Search, cap_ms: float, mip_gap: float) -> MethodOutput:
    """The model has no solution: the problem has none, or none cheaper than the cap."""
    if search.servers is None:
        return MethodOutput(None, "infeasible")
    search.raise_bound(cap_ms)
    search.note("model: nothing cheaper")
    return answer(search, mip_gap)


def answer(search: Search, mip_gap: float, *, stopped: bool = False) -> MethodOutput:
    """The result from what ``search`` holds; ``stopped``: cut short for lack of time
    (or no model needed, when it is proven)."""
    bound = float(search.lower_ms) if np.isfinite(search.lower_ms) else None
    if search.servers is not None and search.proven(mip_gap):
        return MethodOutput(search.servers, "optimal" if search.proven() else "feasible", bound)
    if stopped or search.deadline.expired():
        return MethodOutput(
            search.servers, "time_limit", bound, reason=f"stopped by time_limit_s={search.deadline.limit_s:g}"
        )
    if search.servers is None:
        return MethodOutput(None, "infeasible")
    return MethodOutput(
        search.servers, "feasible", bound, reason="the solver stopped before proving optimality"
    )
