"""One interface for every placement method: ``solve(problem, method, **options)``."""

from __future__ import annotations

import importlib
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dtopt._validate import check_real
from dtopt.errors import DtoptError
from dtopt.placement.evaluate import evaluate
from dtopt.placement.feasibility import infeasibility_reason
from dtopt.placement.problem import PlacementProblem
from dtopt.placement.result import PlacementResult, Status

__all__ = ["Method", "MethodOutput", "available_methods", "get_method", "register", "solve"]


@dataclass(frozen=True, eq=False)
class MethodOutput:
    """What a method hands back to :func:`solve`.

    Attributes
    ----------
    servers : node indices of the best placement found, shape ``(k,)``, or ``None``.
    status : see :class:`~dtopt.placement.result.PlacementResult`.
    bound_ms : proven lower bound on the optimal mean latency (ms), exact methods only.
    reason : one line explaining a missing or unproven answer.
    """

    servers: NDArray[np.intp] | None
    status: Status
    bound_ms: float | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Method:
    """A registered placement method: its function, and whether it proves optimality."""

    name: str
    func: Callable[..., MethodOutput]
    exact: bool
    summary: str

    def defaults(self) -> dict[str, Any]:
        """The method's keyword options and their defaults."""
        params = list(inspect.signature(self.func).parameters.values())[1:]
        return {p.name: p.default for p in params}

    def resolve_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with ``options``; an unknown option name is an error."""
        defaults = self.defaults()
        unknown = sorted(set(options) - set(defaults))
        if unknown:
            valid = ", ".join(defaults) or "none"
            raise DtoptError(
                f"unknown option(s) {', '.join(unknown)} for method {self.name!r}; valid: {valid}"
            )
        return {**defaults, **options}


_METHODS: dict[str, Method] = {}


def register(
    name: str, *, exact: bool, summary: str
) -> Callable[[Callable[..., MethodOutput]], Callable[..., MethodOutput]]:
    """Decorator adding ``func(problem, **options) -> MethodOutput`` as a method."""

    def add(func: Callable[..., MethodOutput]) -> Callable[..., MethodOutput]:
        _METHODS[name] = Method(name, func, exact, summary)
        return func

    return add


def available_methods() -> dict[str, Method]:
    """Every registered method by name."""
    _load_builtin_methods()
    return dict(_METHODS)


def get_method(name: str) -> Method:
    """The method called ``name``; a clear error listing the valid names otherwise."""
    methods = available_methods()
    if not isinstance(name, str) or name.lower() not in methods:
        raise DtoptError(f"unknown method {name!r}; choose one of: {', '.join(methods)}")
    return methods[name.lower()]


def solve(
    problem: PlacementProblem, method: str = "milp", *, optimum_ms: float | None = None, **options: Any
) -> PlacementResult:
    """Solve a placement problem with one method.

    Parameters
    ----------
    problem : the problem.
    method : a name from :func:`available_methods` (``eopa``, ``milp``, ``isapa``,
        ``kmpa``, ``rands``, ``interchange``).
    optimum_ms : the known optimal mean latency (ms), a finite number > 0, if the
        caller has it; a heuristic's ``gap`` is then its relative excess over it.
    **options : the method's options (see its docstring); unknown names are an error.
    """
    if not isinstance(problem, PlacementProblem):
        raise DtoptError(f"solve() takes a PlacementProblem, not {type(problem).__name__}")
    if optimum_ms is not None:
        optimum_ms = check_real("optimum_ms", optimum_ms, lambda v: v > 0, "a finite number of ms > 0")
    spec = get_method(method)
    resolved = spec.resolve_options(options)
    start = time.perf_counter()
    out = spec.func(problem, **resolved)
    runtime_s = time.perf_counter() - start
    return _result(problem, spec, out, runtime_s, resolved, optimum_ms)


def _result(
    problem: PlacementProblem,
    spec: Method,
    out: MethodOutput,
    runtime_s: float,
    options: dict[str, Any],
    optimum_ms: float | None,
) -> PlacementResult:
    status, reason = out.status, out.reason
    ev = evaluate(problem, out.servers) if out.servers is not None else None
    if ev is not None and not ev.feasible:
        ev = None  # only heuristics end here: they may fail to find what exists
    if ev is None and status in ("optimal", "feasible", "infeasible"):
        # Only an exact method's search proves that no placement exists.
        status = "infeasible" if spec.exact else "no_solution_found"
    if status in ("infeasible", "no_solution_found") and reason is None:
        reason = infeasibility_reason(problem) or (
            f"{spec.name} found no placement meeting eps_max, but one exists (try 'milp' or 'interchange')"
        )
    avg = ev.avg_latency_ms if ev else None
    bound = out.bound_ms if spec.exact else None
    if spec.exact and status == "optimal" and avg is not None:
        # The bound of an optimal answer is the answer (solvers report it to tolerance).
        bound = avg if bound is None else min(bound, avg)
    gap = None
    if avg is not None:
        if spec.exact and bound is not None:
            gap = max(0.0, (avg - bound) / avg) if avg > 0 else 0.0
        elif optimum_ms is not None:
            gap = (avg - optimum_ms) / optimum_ms
    return PlacementResult(
        method=spec.name,
        status=status,
        servers=ev.servers if ev else (),
        assignment=ev.assignment if ev else {},
        avg_latency_ms=avg,
        max_latency_ms=ev.max_latency_ms if ev else None,
        avg_error=ev.avg_error if ev else None,
        max_error=ev.max_error if ev else None,
        bound=bound,
        gap=gap,
        runtime_s=runtime_s,
        options={k: _jsonable(v) for k, v in options.items()},
        reason=reason,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    return value


# Modules whose import registers a method; imported on first use so `import dtopt` stays light.
_BUILTIN_MODULES = ("eopa", "milp", "isapa", "kmpa", "rands", "interchange")


def _load_builtin_methods() -> None:
    for module in _BUILTIN_MODULES:
        importlib.import_module(f"dtopt.solvers.{module}")
