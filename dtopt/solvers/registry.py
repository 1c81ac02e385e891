"""One interface for every placement method: ``solve(problem, method, **options)``."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from dtopt import _validate
from dtopt.errors import DtoptError
from dtopt.placement.evaluate import score
from dtopt.placement.feasibility import infeasibility_reason
from dtopt.placement.problem import PlacementProblem
from dtopt.placement.result import PlacementResult, Status
from dtopt.solvers._checks import check_int, check_real
from dtopt.solvers.method import Method, MethodOutput, register, registered

__all__ = ["Method", "MethodOutput", "available_methods", "get_method", "register", "solve"]


# Subgradient iterations of the Lagrangian lower bound of methods that prove none: a cap
# on iterations, not time, so the same input gives the same bound whatever the machine's
# load (about 0.2 s at n = 900, 0.01 s at n = 100).
DEFAULT_BOUND_ITERATIONS = 100


def available_methods() -> dict[str, Method]:
    """Every registered method by name."""
    _load_builtin_methods()
    return registered()


def get_method(name: str) -> Method:
    """The method called ``name``; a clear error listing the valid names otherwise."""
    methods = available_methods()
    if not isinstance(name, str) or name.lower() not in methods:
        raise DtoptError(f"unknown method {name!r}; choose one of: {', '.join(methods)}")
    return methods[name.lower()]


def solve(
    problem: PlacementProblem,
    method: str = "milp",
    *,
    optimum_ms: float | None = None,
    bound_iterations: int = DEFAULT_BOUND_ITERATIONS,
    bound_time_s: float | None = None,
    **options: Any,
) -> PlacementResult:
    """Solve a placement problem with one method.

    Parameters
    ----------
    problem : the problem.
    method : a name from :func:`available_methods` (``eopa``, ``milp``, ``isapa``,
        ``kmpa``, ``rands``, ``interchange``, ``lagrangian``).
    optimum_ms : the known optimal mean latency (ms), a finite number > 0, if the
        caller has it: it is
        the best lower bound there is, so ``bound`` becomes it (and no bound is
        computed).
    bound_iterations : when the method proves no lower bound of its own (the
        heuristics; an exact method stopped early without one), a Lagrangian bound
        (:func:`dtopt.solvers.lagrangian.lagrangian_bound`) is computed with at most
        this many subgradient iterations and counted in ``runtime_s``; >= 0, 0 skips
        it. The same input gives the same bound.
    bound_time_s : an extra cap on that bound's wall time (s), >= 0 (0 skips it), or
        ``None`` (default) for none; a cap that binds makes the bound depend on the
        machine's speed and load.
    **options : the method's options (see its docstring); unknown names are an error.

    Every result's ``bound`` is a proven lower bound on the optimal objective (the
    mean latency; the worst latency for ``objective="max"``) or ``None``, and ``gap``
    is ``(objective - bound) / objective``, whatever the method.
    """
    if not isinstance(problem, PlacementProblem):
        raise DtoptError(f"solve() takes a PlacementProblem, not {type(problem).__name__}")
    if optimum_ms is not None:
        optimum_ms = _validate.check_real(
            "optimum_ms", optimum_ms, lambda v: v > 0, "a finite number of ms > 0"
        )
    spec = get_method(method)
    if problem.variant is not None and spec.name not in VARIANT_METHODS:
        raise DtoptError(
            f"method {spec.name!r} does not solve {problem.variant} problems; "
            f"use one of: {', '.join(VARIANT_METHODS)}"
        )
    resolved = spec.resolve_options(options)
    bound_iterations = check_int("solve", "bound_iterations", bound_iterations, minimum=0)
    if bound_time_s is not None:
        bound_time_s = check_real(
            "solve", "bound_time_s", bound_time_s, lambda v: v >= 0, "a number >= 0 or None"
        )
        if bound_time_s == 0:
            bound_iterations = 0
    start = time.perf_counter()
    out = spec.func(problem, **resolved)
    return _result(problem, spec, out, start, resolved, optimum_ms, (bound_iterations, bound_time_s))


def _result(
    problem: PlacementProblem,
    spec: Method,
    out: MethodOutput,
    start: float,
    options: dict[str, Any],
    optimum_ms: float | None,
    bound_budget: tuple[int, float | None],
) -> PlacementResult:
    status, reason = out.status, out.reason
    ev = score(problem, out.servers) if out.servers is not None else None
    if ev is not None and not ev.feasible:
        ev = None  # only heuristics end here: they may fail to find what exists
    if ev is None and status in ("optimal", "feasible", "infeasible"):
        # Only an exact method's search proves that no placement exists.
        status = "infeasible" if spec.exact else "no_solution_found"
    if status in ("infeasible", "no_solution_found") and reason is None:
        reason = infeasibility_reason(problem) or (
            f"{spec.name} found no placement meeting eps_max, but one exists (try 'milp' or 'interchange')"
        )
    objective = ev.objective_ms if ev else None
    bound = _lower_bound(problem, spec, out, status, objective, optimum_ms, bound_budget)
    gap = None
    if objective is not None and bound is not None:
        gap = (objective - bound) / objective if objective > 0 else 0.0
    named = ev.named(problem) if ev else None
    return PlacementResult(
        method=spec.name,
        status=status,
        servers=named.servers if named else (),
        assignment=named.assignment if named else {},
        avg_latency_ms=ev.avg_latency_ms if ev else None,
        max_latency_ms=ev.max_latency_ms if ev else None,
        avg_error=ev.avg_error if ev else None,
        max_error=ev.max_error if ev else None,
        bound=bound,
        gap=gap,
        runtime_s=time.perf_counter() - start,  # evaluation and bound included
        options={k: _jsonable(v) for k, v in options.items()},
        reason=reason,
        expected_latency_ms=ev.expected_latency_ms if ev else None,
    )


def _lower_bound(
    problem: PlacementProblem,
    spec: Method,
    out: MethodOutput,
    status: Status,
    avg: float | None,
    optimum_ms: float | None,
    bound_budget: tuple[int, float | None],
) -> float | None:
    """The best proven lower bound on the optimal objective (ms) for a result;
    ``bound_budget``: the Lagrangian bound's (iterations, seconds or None)."""
    iterations, time_limit_s = bound_budget
    bound = out.bound_ms
    if problem.objective == "max":
        # p-center: the least worst latency is proven (covering programs) before any method runs.
        bound = problem.radius_ms if avg is not None else None
    if spec.exact and status == "optimal" and avg is not None:
        # The bound of an optimal answer is the answer (solvers report it to tolerance).
        bound = avg if bound is None else min(bound, avg)
    if optimum_ms is not None:
        bound = optimum_ms if bound is None else max(bound, optimum_ms)
    elif (
        bound is None
        and avg is not None
        and iterations > 0
        and problem.variant != "reliable"
        and problem.objective == "mean"
    ):
        # Dropping capacities only lowers the optimum, so the p-median bound holds for them;
        # a reliable placement's backups may sit outside the error bound, so it need not.
        from dtopt.solvers.lagrangian import lagrangian_bound  # a built-in method: loaded on first use

        bound = lagrangian_bound(
            problem.cost_ms,
            problem.k,
            upper_bound_ms=avg,
            max_iterations=iterations,
            time_limit_s=time_limit_s,
            fixed=problem.fixed_columns,
        ).bound_ms
    if bound is not None and avg is not None:
        bound = min(bound, avg)  # a bound above a feasible answer can only be rounding
    return bound


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    return value


# The methods that solve the capacitated and reliable variants (dispatching on problem.variant).
VARIANT_METHODS = ("milp", "interchange")

def _load_builtin_methods() -> None:
    """Import the built-in methods, which registers them; on first use, so `import dtopt`
    stays light."""
    from dtopt.solvers import eopa, interchange, isapa, kmpa, lagrangian, milp, rands  # noqa: F401
