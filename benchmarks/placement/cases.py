"""One case of the placement benchmark: a method (or spopt's PMedian) on one instance.

The case and run settings, running a case with repeats into a result row (a failing
method never raises), spopt's side, and turning the command line's k and eps_max
values into cases. Used by :mod:`benchmarks.placement` (and :mod:`benchmarks.orlib`).
"""

from __future__ import annotations

import functools
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import networkx as nx
import numpy as np

import dtopt
from benchmarks.common.output import BenchmarkError

__all__ = ["Case", "Settings", "build_cases", "parse_eps_max", "parse_k", "run_case", "spopt_solver"]

SPOPT = "spopt"
# pbp-pmedian's routed exact solver (an optional peer, like spopt; the bench extra).
PBP = "pbp-pmedian"
# The benchmark's default cap on C(n, k) for EOPA (below EOPA's own, 50 million).
EOPA_MAX_PLACEMENTS = 1_000_000
# Re-run a case until its runs add up to this (s); suites have thousands of cases.
REPEAT_BUDGET_S = 0.2


@dataclass(frozen=True)
class Case:
    """One benchmark case: a method on one instance.

    network : topohub key or file path; ``eps_max`` is ``None`` when unconstrained;
    method : a registered method name or ``"spopt"``.
    """

    network: str
    k: int
    eps_max: float | None
    method: str


@dataclass(frozen=True)
class Settings:
    """How every case of a sweep runs.

    seed : handed to every method that takes a ``seed`` option.
    repeat_budget_s : a case is re-run until its runs add up to this (s), at most
        ``max_repeats`` runs; its runtime is the median. 0 = one run.
    max_repeats : cap on the runs of one case.
    time_limit_s : per-solve limit (s) for the MILP and for spopt's solver.
    eopa_max_placements : EOPA runs only where C(n, k) is at most this (and at
        most EOPA's own limit); above it the case is ``skipped``. EOPA spends about
        0.5 s per million placements here, and the MILP proves the same optimum.
    """

    seed: int = 0
    repeat_budget_s: float = REPEAT_BUDGET_S
    max_repeats: int = 5
    time_limit_s: float = 60.0
    eopa_max_placements: int = EOPA_MAX_PLACEMENTS


@cache
def _topology(network: str) -> dtopt.Topology:
    return dtopt.load_topology(network)


def run_case(case: Case, settings: Settings = Settings()) -> dict[str, Any]:
    """Run one case (with repeats) and return its row; a failing method never raises.

    The row's status is the method's (``optimal``, ``feasible``, ``time_limit``,
    ``infeasible``), ``skipped`` (EOPA above its limit) or ``error`` (the method
    raised; ``reason`` names the exception). ``--check`` fails on errors.
    """
    topology = _topology(case.network)
    problem = dtopt.PlacementProblem(topology, k=case.k, eps_max=case.eps_max)
    row: dict[str, Any] = {
        "network": topology.name,
        "source": topology.source,
        "n": problem.n,
        "links": topology.n_links,
        "k": case.k,
        "eps_max": case.eps_max,
        "method": case.method,
        "exact": case.method == SPOPT or dtopt.available_methods()[case.method].exact,
    }
    limit = _eopa_limit(settings)
    if case.method == "eopa" and math.comb(problem.n, case.k) > limit:
        count = math.comb(problem.n, case.k)
        return row | _no_result(
            "skipped", f"C({problem.n}, {case.k}) = {count:,} placements is above {limit:,}"
        )
    once = once_of(case.method)
    _warm_up(case.method, settings)
    runs: list[dict[str, Any]] = []
    while not runs or (
        sum(r["runtime_s"] for r in runs) < settings.repeat_budget_s and len(runs) < settings.max_repeats
    ):
        try:
            runs.append(once(problem, settings))
        except dtopt.DtoptError as err:
            return row | _no_result("error", str(err))
        except Exception as err:  # a crashing method is a finding to report, not a reason to stop the sweep
            return row | _no_result("error", f"{type(err).__name__}: {err}")
    first = runs[0]
    if any((r["servers"], r["status"]) != (first["servers"], first["status"]) for r in runs[1:]):
        # Seeded methods must repeat themselves exactly; say so rather than hide it.
        first = first | {"reason": "repeated runs disagree: the method is not deterministic"}
    return row | first | {"runtime_s": statistics.median(r["runtime_s"] for r in runs), "repeats": len(runs)}


def _eopa_limit(settings: Settings) -> int:
    own = int(dtopt.available_methods()["eopa"].defaults()["max_placements"])
    return min(own, settings.eopa_max_placements)


def _no_result(status: str, reason: str) -> dict[str, Any]:
    return {
        "status": status,
        "avg_latency_ms": None,
        "bound_ms": None,
        "avg_error": None,
        "max_error": None,
        "max_latency_ms": None,
        "servers": [],
        "runtime_s": None,
        "repeats": 0,
        "reason": reason,
    }


def _options(name: str, settings: Settings) -> dict[str, Any]:
    defaults = dtopt.available_methods()[name].defaults()
    wanted = {"seed": settings.seed, "time_limit_s": settings.time_limit_s}
    return {key: value for key, value in wanted.items() if key in defaults}


def _method_once(name: str, problem: dtopt.PlacementProblem, settings: Settings) -> dict[str, Any]:
    result = dtopt.solve(problem, name, **_options(name, settings))
    return {
        "status": result.status,
        "avg_latency_ms": result.avg_latency_ms,
        "bound_ms": result.bound,
        "avg_error": result.avg_error,
        "max_error": result.max_error,
        "max_latency_ms": result.max_latency_ms,
        "servers": list(result.servers),
        "runtime_s": result.runtime_s,
        "reason": result.reason,
    }


def spopt_solver(time_limit_s: float | None = None, *, backend: str | None = None) -> Any:
    """A PuLP solver for spopt: HiGHS if PuLP has it, else CBC; proving optimality (gap 0)
    like our MILP. ``backend`` = ``"HiGHS"`` or ``"PULP_CBC_CMD"`` to insist on one."""
    import pulp

    available = pulp.listSolvers(onlyAvailable=True)
    choices = [backend] if backend else ["HiGHS", "PULP_CBC_CMD"]
    for name in choices:
        if name in available:
            return pulp.getSolver(name, msg=False, timeLimit=time_limit_s, gapRel=0.0, gapAbs=0.0)
    raise BenchmarkError(
        f"PuLP has no {' or '.join(choices)} solver here (it has: {', '.join(available) or 'none'})"
    )


def _spopt_once(
    problem: dtopt.PlacementProblem, settings: Settings, backend: str | None = None
) -> dict[str, Any]:
    """spopt's PMedian on the latency matrix, timed from the cost matrix (model build included)."""
    import pulp
    from spopt.locate import PMedian

    start = time.perf_counter()
    model = PMedian.from_cost_matrix(problem.latency_ms, np.ones(problem.n), p_facilities=problem.k)
    model.solve(spopt_solver(settings.time_limit_s, backend=backend))
    runtime_s = time.perf_counter() - start
    status = pulp.LpStatus[model.problem.status]
    servers = [j for j, var in enumerate(model.fac_vars) if (var.value() or 0) > 0.5]
    # Scored by dtopt.evaluate like every method, so objectives compare exactly.
    ev = dtopt.evaluate(problem, servers) if len(servers) == problem.k else None
    # PuLP's HiGHS interface reports a run stopped by the time limit as "Optimal" with an
    # integer-feasible solution: only sol_status tells a proven optimum.
    if status == "Optimal" and model.problem.sol_status != pulp.LpSolutionOptimal:
        status = "time_limit"
    return {
        "status": "optimal" if status == "Optimal" and ev is not None else status.lower().replace(" ", "_"),
        "avg_latency_ms": ev.avg_latency_ms if ev else None,
        "bound_ms": None,
        "avg_error": ev.avg_error if ev else None,
        "max_error": ev.max_error if ev else None,
        "max_latency_ms": ev.max_latency_ms if ev else None,
        "servers": [problem.topology.node_names[j] for j in servers],
        "runtime_s": runtime_s,
        "reason": None if ev else f"PuLP status {status}",
        "objective_raw": pulp.value(model.problem.objective),
    }


def _pbp_once(problem: dtopt.PlacementProblem, settings: Settings) -> dict[str, Any]:
    """pbp-pmedian's routed exact solve on the latency matrix (sites x clients), timed from it."""
    import pbp_pmedian

    start = time.perf_counter()
    value, servers, _, status, engine = pbp_pmedian.solve(
        np.ascontiguousarray(problem.latency_ms.T), problem.k, time_limit=settings.time_limit_s
    )
    runtime_s = time.perf_counter() - start
    servers = [] if servers is None else sorted(int(j) for j in servers)
    # Scored by dtopt.evaluate like every method, so objectives compare exactly.
    ev = dtopt.evaluate(problem, servers) if len(servers) == problem.k else None
    return {
        "status": ("optimal" if status == 0 else "time_limit") if ev else "no_solution",
        "avg_latency_ms": ev.avg_latency_ms if ev else None,
        "bound_ms": None,
        "servers": [problem.topology.node_names[j] for j in servers],
        "runtime_s": runtime_s,
        "reason": None if ev else f"pbp-pmedian status {status} ({engine})",
        "objective_raw": value,
    }


def once_of(method: str) -> Callable[[dtopt.PlacementProblem, Settings], dict[str, Any]]:
    """One timed solve of ``method``: a registered dtopt method, spopt or pbp-pmedian."""
    peers = {SPOPT: _spopt_once, PBP: _pbp_once}
    return peers.get(method) or functools.partial(_method_once, method)


@cache
def _warm_up(method: str, settings: Settings) -> None:
    """Run ``method`` once, untimed, on a tiny network: the first call in a process pays
    for imports and solver start-up, which is not the method's runtime."""
    ring = nx.cycle_graph(6)
    nx.set_edge_attributes(ring, 100.0, "length_km")
    problem = dtopt.PlacementProblem(dtopt.load_topology(ring), k=2, eps_max=None)
    try:
        once_of(method)(problem, settings)
    except dtopt.DtoptError:
        pass  # the real case will report it


def parse_k(text: str) -> list[int]:
    """``"1..5"`` -> [1, ..., 5]; ``"1,3,5"`` -> [1, 3, 5]; ``"4"`` -> [4]."""
    try:
        if ".." in text:
            lo, hi = (int(p) for p in text.split("..", 1))
            values = list(range(lo, hi + 1))
        else:
            values = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise BenchmarkError(f"-k must look like 2..10 or 1,3,5, got {text!r}") from None
    if not values:
        raise BenchmarkError(f"-k {text!r} is an empty range")
    if values[0] < 1 or min(values) < 1:
        raise BenchmarkError(f"-k {text!r}: k must be at least 1")
    return sorted(set(values))


def parse_eps_max(text: str) -> float | None:
    """``none`` (unconstrained) or a number >= 0."""
    if text.strip().lower() in ("none", "unconstrained"):
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (math.isfinite(value) and value >= 0):
        raise BenchmarkError(f"--eps-max must be a number >= 0 or 'none', got {text!r}")
    return value


def build_cases(
    networks: Sequence[str],
    ks: Sequence[int],
    eps_values: Sequence[float | None],
    methods: Sequence[str],
    *,
    spopt: bool = True,
    clip_k: bool = False,
) -> list[Case]:
    """Every (network, k, eps_max, method) case, spopt on unconstrained instances only.

    A k above a network's node count is an error, or skipped with ``clip_k`` (suites).
    """
    cases = []
    for network in networks:
        n = _topology(network).n_nodes
        if max(ks) > n and not clip_k:
            raise BenchmarkError(f"-k {max(ks)} is outside 1..{n}: {network} has {n} nodes")
        for k in (k for k in ks if k <= n):
            for eps in eps_values:
                names = [*methods, *([SPOPT] if spopt and eps is None else [])]
                cases.extend(Case(network, k, eps, m) for m in names)
    return cases
