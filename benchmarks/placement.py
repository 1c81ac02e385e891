"""Placement benchmark: every method on every (network, k, eps_max) instance.

    python -m benchmarks.placement --topology Agis
    python -m benchmarks.placement --suite topozoo -k 2..10 --out results/topozoo
    python -m benchmarks.placement --topology Agis --quick --check
    python -m benchmarks.placement --versus-spopt

Every registered method (``dtopt.available_methods()``; exact or heuristic from
``Method.exact``) runs on every instance, and spopt's PMedian (PuLP) on the
unconstrained ones. See docs/benchmarks.md for options, output and results.
"""

from __future__ import annotations

import argparse
import functools
import math
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

import dtopt
from benchmarks import _output
from benchmarks._output import BenchmarkError
from benchmarks._pins import check_pins
from benchmarks._sweep import run_cases
from dtopt.placement.problem import DEFAULT_EPS_MAX

__all__ = [
    "Case",
    "Settings",
    "add_gaps",
    "build_cases",
    "check_rows",
    "main",
    "run_case",
    "summarise",
    "versus_spopt",
]

SPOPT = "spopt"
SUITES = ("topozoo", "gabriel")
# The benchmark's default cap on C(n, k) for EOPA (below EOPA's own, 50 million).
EOPA_MAX_PLACEMENTS = 1_000_000
# Re-run a case until its runs add up to this (s); suites have thousands of cases.
REPEAT_BUDGET_S = 0.2
SUITE_REPEAT_BUDGET_S = 0.02
# Two objectives "agree" when they differ by at most this, relatively.
REL_TOL = 1e-9

TABLE_COLUMNS = {
    "network": "network",
    "n": "n",
    "k": "k",
    "eps_max": "eps_max",
    "method": "method",
    "avg_latency_ms": "avg latency ms",
    "gap": "gap",
    "avg_error": "avg error",
    "max_error": "max error",
    "runtime_s": "runtime s",
    "repeats": "runs",
    "status": "status",
}
CSV_COLUMNS = (
    "network",
    "source",
    "n",
    "links",
    "k",
    "eps_max",
    "method",
    "exact",
    "status",
    "avg_latency_ms",
    "bound_ms",
    "best_bound_ms",
    "gap",
    "best",
    "avg_error",
    "max_error",
    "max_latency_ms",
    "runtime_s",
    "repeats",
    "servers",
    "reason",
)


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


# --- one case ------------------------------------------------------------------------


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
    once = _spopt_once if case.method == SPOPT else functools.partial(_method_once, case.method)
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


@cache
def _warm_up(method: str, settings: Settings) -> None:
    """Run ``method`` once, untimed, on a tiny network: the first call in a process pays
    for imports and solver start-up, which is not the method's runtime."""
    ring = nx.cycle_graph(6)
    nx.set_edge_attributes(ring, 100.0, "length_km")
    problem = dtopt.PlacementProblem(dtopt.load_topology(ring), k=2, eps_max=None)
    try:
        (_spopt_once if method == SPOPT else functools.partial(_method_once, method))(problem, settings)
    except dtopt.DtoptError:
        pass  # the real case will report it


# --- a sweep -----------------------------------------------------------------------


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


def _instance(row: dict[str, Any]) -> tuple[Any, ...]:
    return row["source"], row["k"], row["eps_max"]


def add_gaps(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with ``best_bound_ms``, ``gap`` and ``best`` filled in, per instance.

    best_bound_ms : the largest lower bound proven by an exact registered method.
    gap : ``(avg_latency_ms - best_bound_ms) / best_bound_ms``, the relative excess
        over the best proven bound (0 for a proven optimum); ``None`` when the bound
        is 0 and the objective is above it (a relative excess is undefined).
    best : the row reaches the instance's best objective (relative ``REL_TOL``).
    """
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[_instance(row)].append(row)
    out = []
    for row in rows:
        peers = groups[_instance(row)]
        bounds = [
            p["bound_ms"] for p in peers if p["method"] != SPOPT and p["exact"] and p["bound_ms"] is not None
        ]
        objectives = [p["avg_latency_ms"] for p in peers if p["avg_latency_ms"] is not None]
        bound = max(bounds) if bounds else None
        obj = row["avg_latency_ms"]
        gap = None
        if obj is not None and bound is not None and (bound > 0 or obj <= bound):
            # Relative to a zero bound, only "no excess" is defined; an excess stays None.
            gap = max(0.0, (obj - bound) / bound) if bound > 0 else 0.0
        best = obj is not None and obj <= min(objectives) * (1 + REL_TOL) + 1e-12
        out.append(row | {"best_bound_ms": bound, "gap": gap, "best": best})
    return out


def check_rows(rows: Sequence[dict[str, Any]], rel_tol: float = REL_TOL) -> list[str]:
    """Problems in a result table; empty when all is consistent.

    Flags: exact methods (spopt included) that disagree on a proven-optimal
    objective (relative ``rel_tol``) or on feasibility; a heuristic better than a
    proven optimum; a heuristic that claims a placement where an exact method
    proved none exists; any case that ended in ``error``.
    """
    problems = []
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[_instance(row)].append(row)
        if row["status"] == "error":
            problems.append(f"{_label(row)}: {row['method']} failed: {row['reason']}")
    for peers in groups.values():
        proven = [p for p in peers if p["exact"] and p["status"] == "optimal"]
        infeasible = [p for p in peers if p["exact"] and p["status"] == "infeasible"]
        if proven and infeasible:
            problems.append(
                f"{_label(peers[0])}: {', '.join(p['method'] for p in proven)} found an optimum but "
                f"{', '.join(p['method'] for p in infeasible)} proved the instance infeasible"
            )
        if proven:
            ref = min(proven, key=lambda p: p["avg_latency_ms"])
            opt = ref["avg_latency_ms"]
            for p in proven:
                if abs(p["avg_latency_ms"] - opt) > rel_tol * max(abs(opt), 1e-300):
                    problems.append(
                        f"{_label(p)}: exact methods disagree: {p['method']} {p['avg_latency_ms']!r} ms "
                        f"vs {ref['method']} {opt!r} ms"
                    )
            for p in peers:
                if (
                    not p["exact"]
                    and p["avg_latency_ms"] is not None
                    and p["avg_latency_ms"] < opt * (1 - rel_tol)
                ):
                    problems.append(
                        f"{_label(p)}: heuristic {p['method']} reports {p['avg_latency_ms']!r} ms, "
                        f"better than the optimum {opt!r} ms"
                    )
        if infeasible:
            problems.extend(
                f"{_label(p)}: {p['method']} reports a placement on an instance proven infeasible"
                for p in peers
                if not p["exact"] and p["avg_latency_ms"] is not None
            )
    return problems


def _label(row: dict[str, Any]) -> str:
    eps = "none" if row["eps_max"] is None else f"{row['eps_max']:g}"
    return f"{row['network']} k={row['k']} eps_max={eps}"


def summarise(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per method: cases, status counts, median and worst gap, median runtime, wins.

    A win is an instance where the method reached the best objective found and
    was the fastest of those that did. ``best`` counts instances where it reached
    the best objective; ``missed`` those where it found no placement although one
    exists (heuristics) or was stopped without one.
    """
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[_instance(row)].append(row)
    wins: dict[str, int] = defaultdict(int)
    for peers in groups.values():
        reached = [p for p in peers if p.get("best") and p["runtime_s"] is not None]
        if reached:
            wins[min(reached, key=lambda p: p["runtime_s"])["method"]] += 1
    feasible_instances = {
        key for key, peers in groups.items() if any(p["avg_latency_ms"] is not None for p in peers)
    }
    out = []
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        gaps = [r["gap"] for r in mine if r["gap"] is not None]
        times = [r["runtime_s"] for r in mine if r["runtime_s"] is not None]
        out.append(
            {
                "method": method,
                "exact": mine[0]["exact"],
                "cases": len(mine),
                "optimal": sum(r["status"] == "optimal" for r in mine),
                "best": sum(bool(r.get("best")) for r in mine),
                "missed": sum(
                    r["avg_latency_ms"] is None
                    and r["status"] not in ("skipped", "error")
                    and _instance(r) in feasible_instances
                    for r in mine
                ),
                "skipped": sum(r["status"] == "skipped" for r in mine),
                "errors": sum(r["status"] == "error" for r in mine),
                "median_gap": statistics.median(gaps) if gaps else None,
                "worst_gap": max(gaps) if gaps else None,
                "median_runtime_s": statistics.median(times) if times else None,
                "wins": wins[method],
            }
        )
    return out


SUMMARY_COLUMNS = {
    "method": "method",
    "exact": "exact",
    "cases": "cases",
    "optimal": "optimal",
    "best": "best found",
    "missed": "missed",
    "skipped": "skipped",
    "errors": "errors",
    "median_gap": "median gap",
    "worst_gap": "worst gap",
    "median_runtime_s": "median runtime s",
    "wins": "wins",
}


def _display(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r | {"eps_max": "none" if r["eps_max"] is None else r["eps_max"]} for r in rows]


# --- spopt side by side --------------------------------------------------------------


def versus_spopt(
    network: str = "TataNld",
    k: int = 5,
    repeats: int = 3,
    time_limit_s: float | None = None,
    backends: Sequence[str] = ("HiGHS", "PULP_CBC_CMD"),
) -> list[dict[str, Any]]:
    """Our MILP against spopt's PMedian on one unconstrained instance, in this process.

    Runs are interleaved (ours, spopt/HiGHS, spopt/CBC, ours, ...) so that machine
    noise hits every tool alike; each row holds a tool's objective (mean latency
    in ms, spopt's weighted sum divided by n), its median runtime over ``repeats``
    (model build included) and its speed relative to ours.
    """
    import pulp

    problem = dtopt.PlacementProblem(_topology(network), k=k, eps_max=None)
    settings = Settings(time_limit_s=time_limit_s or 600.0)
    available = pulp.listSolvers(onlyAvailable=True)
    tools: dict[str, Callable[[], dict[str, Any]]] = {
        "dtopt milp (HiGHS)": lambda: _method_once("milp", problem, settings)
    }
    for backend in backends:
        if backend in available:
            tools[f"spopt PMedian ({backend})"] = functools.partial(_spopt_once, problem, settings, backend)
    _warm_up("milp", settings)
    _warm_up(SPOPT, settings)
    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for _ in range(repeats):
        for name, run in tools.items():
            runs[name].append(run())
    ours = statistics.median(r["runtime_s"] for r in runs["dtopt milp (HiGHS)"])
    out = []
    for name, rs in runs.items():
        median_s = statistics.median(r["runtime_s"] for r in rs)
        raw = rs[0].get("objective_raw")
        out.append(
            {
                "tool": name,
                "network": problem.topology.name,
                "n": problem.n,
                "k": k,
                "status": rs[0]["status"],
                "avg_latency_ms": rs[0]["avg_latency_ms"],
                "own_objective_ms": raw / problem.n if raw is not None else rs[0]["avg_latency_ms"],
                "servers": rs[0]["servers"],
                "runtimes_s": [r["runtime_s"] for r in rs],
                "median_runtime_s": median_s,
                "slower_than_milp": median_s / ours,
            }
        )
    return out


VERSUS_COLUMNS = {
    "tool": "tool",
    "network": "network",
    "n": "n",
    "k": "k",
    "status": "status",
    "own_objective_ms": "own objective ms",
    "avg_latency_ms": "evaluated avg latency ms",
    "runtimes_s": "runtimes s",
    "median_runtime_s": "median runtime s",
    "slower_than_milp": "time / milp time",
}


# --- command line --------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _output.BenchmarkParser(
        prog="python -m benchmarks.placement",
        description="Benchmark every placement method (and spopt's PMedian) over networks, k and eps_max.",
    )
    what = parser.add_argument_group("what to run")
    what.add_argument(
        "--topology",
        "-t",
        action="append",
        default=[],
        metavar="NAME",
        help="topohub key, Topology Zoo name or GML/GraphML path; repeatable (default Agis)",
    )
    what.add_argument(
        "--suite",
        action="append",
        default=[],
        metavar="NAME",
        help="every network of a topohub group: topozoo or gabriel (up to 500 nodes); repeatable",
    )
    what.add_argument("-k", "--k", dest="k", default="1..5", help="k values: 2..10 or 1,3,5 (default 1..5)")
    what.add_argument(
        "--eps-max",
        action="append",
        default=[],
        dest="eps_max",
        metavar="EPS",
        help=f"error bound, repeatable; 'none' = unconstrained (default: {DEFAULT_EPS_MAX} and none)",
    )
    what.add_argument(
        "--methods", help="comma-separated subset of the registered methods and spopt (default: all)"
    )
    what.add_argument("--no-spopt", action="store_true", help="leave out spopt's PMedian")
    what.add_argument("--seed", type=int, default=0, help="seed for every seeded method (default 0)")
    how = parser.add_argument_group("how to run")
    how.add_argument("--serial", action="store_true", help="run every case in this process")
    how.add_argument(
        "--scheduler", metavar="ADDRESS", help="use the dask cluster at ADDRESS (tcp://host:8786)"
    )
    how.add_argument("--workers", type=int, help="local dask cluster size (default: one per core)")
    how.add_argument(
        "--repeat-budget-s",
        type=float,
        help=f"re-run a case until its runs add up to this many seconds (default {REPEAT_BUDGET_S:g}; "
        f"{SUITE_REPEAT_BUDGET_S:g} with --suite, whose thousands of cases make single runs the norm)",
    )
    how.add_argument("--max-repeats", type=int, default=5, help="at most this many runs per case (default 5)")
    how.add_argument(
        "--time-limit-s", type=float, default=60.0, help="MILP/spopt time limit per solve (default 60)"
    )
    how.add_argument(
        "--eopa-limit",
        type=int,
        default=EOPA_MAX_PLACEMENTS,
        help=f"skip EOPA where C(n, k) exceeds this (default {EOPA_MAX_PLACEMENTS:,})",
    )
    how.add_argument("--progress", action="store_true", help="draw the progress bar even off a terminal")
    how.add_argument("--quick", action="store_true", help="one run per case, serial (the CI benchmark)")
    out = parser.add_argument_group("output")
    out.add_argument(
        "--out", metavar="DIR", help="write results.csv, results.json, summary.md and figures here"
    )
    out.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if exact methods disagree or a heuristic beats the optimum",
    )
    out.add_argument(
        "--versus-spopt",
        action="store_true",
        help="only the side-by-side MILP vs spopt run (TataNld, k=5, unconstrained, 3 repeats)",
    )
    return parser


def _networks(args: argparse.Namespace) -> tuple[list[str], bool]:
    suites = [s.lower() for s in args.suite]
    unknown = [s for s in suites if s not in SUITES]
    if unknown:
        raise BenchmarkError(f"unknown suite {unknown[0]!r}; choose one of: {', '.join(SUITES)}")
    keys = [_topology(name).source for name in args.topology]
    for suite in suites:
        keys += [info.key for info in dtopt.list_topologies(suite)]
    if not keys:
        keys = [_topology("Agis").source]
    return list(dict.fromkeys(keys)), bool(suites)


def _methods(args: argparse.Namespace) -> tuple[list[str], bool]:
    registered = list(dtopt.available_methods())
    if not args.methods:
        return registered, not args.no_spopt
    wanted = [m.strip().lower() for m in args.methods.split(",") if m.strip()]
    bad = [m for m in wanted if m not in (*registered, SPOPT)]
    if bad:
        raise BenchmarkError(f"unknown method {bad[0]!r}; choose from: {', '.join([*registered, SPOPT])}")
    return [m for m in wanted if m != SPOPT], SPOPT in wanted and not args.no_spopt


def _repeat_budget(args: argparse.Namespace, is_suite: bool) -> float:
    if args.repeat_budget_s is not None:
        return float(args.repeat_budget_s)
    return SUITE_REPEAT_BUDGET_S if is_suite else REPEAT_BUDGET_S


def _check_numbers(args: argparse.Namespace) -> None:
    for name in ("repeat_budget_s", "time_limit_s"):
        value = getattr(args, name)
        if value is None:
            continue
        if not (math.isfinite(value) and value >= 0) or (name == "time_limit_s" and value == 0):
            raise BenchmarkError(
                f"--{name.replace('_', '-')} must be a positive number of seconds, got {value}"
            )
    for name in ("max_repeats", "workers", "eopa_limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise BenchmarkError(f"--{name.replace('_', '-')} must be a positive integer, got {value}")


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status (bad input raises BenchmarkError)."""
    args = build_parser().parse_args(argv)
    _check_numbers(args)
    if args.out:
        _output.out_dir(args.out)  # an output directory that cannot be written is refused before the run
    if args.versus_spopt:
        return _main_versus(args)
    ks = parse_k(args.k)
    eps_values = list(dict.fromkeys(parse_eps_max(e) for e in args.eps_max)) or [DEFAULT_EPS_MAX, None]
    networks, is_suite = _networks(args)
    for warning in check_pins(networks):
        print(f"warning: {warning}", file=sys.stderr)
    methods, with_spopt = _methods(args)
    cases = build_cases(networks, ks, eps_values, methods, spopt=with_spopt, clip_k=is_suite)
    settings = Settings(
        seed=args.seed,
        repeat_budget_s=0.0 if args.quick else _repeat_budget(args, is_suite),
        max_repeats=args.max_repeats,
        time_limit_s=args.time_limit_s,
        eopa_max_placements=args.eopa_limit,
    )
    start = time.perf_counter()
    rows = run_cases(
        functools.partial(run_case, settings=settings),
        cases,
        serial=args.serial or args.quick,
        scheduler=args.scheduler,
        n_workers=args.workers,
        desc="placement",
        show_progress=args.progress,
    )
    wall_s = time.perf_counter() - start
    rows = add_gaps(rows)
    summary = summarise(rows)
    problems = check_rows(rows)
    print(_output.markdown_table(_display(rows), TABLE_COLUMNS))
    print()
    print(_output.markdown_table(summary, SUMMARY_COLUMNS))
    print(f"\n{len(cases)} cases on {len(networks)} network(s) in {wall_s:.1f} s wall time ({_way(args)}).")
    if args.out:
        _write_outputs(Path(args.out), args, settings, rows, summary, problems, wall_s)
    if args.check:
        return _output.report_check(problems, "exact methods agree and no heuristic beats the optimum.")
    return 0


def _way(args: argparse.Namespace) -> str:
    if args.serial or args.quick:
        return "serial"
    if args.scheduler:
        return f"dask scheduler {args.scheduler}"
    return (
        f"local dask cluster, {args.workers or __import__('os').cpu_count()} single-threaded worker processes"
    )


def _write_outputs(
    out: Path,
    args: argparse.Namespace,
    settings: Settings,
    rows: list[dict[str, Any]],
    summary: list[dict[str, Any]],
    problems: list[str],
    wall_s: float,
) -> None:
    from benchmarks import _placement_figures

    out = _output.out_dir(out)
    csv_rows = [r | {"eps_max": "none" if r["eps_max"] is None else r["eps_max"]} for r in rows]
    _output.write_csv(out / "results.csv", csv_rows, CSV_COLUMNS)
    figures = _placement_figures.draw_all(rows, out)
    _output.write_json(
        out / "results.json",
        {
            "benchmark": "placement",
            "command": "python -m benchmarks.placement " + " ".join(sys.argv[1:]),
            "environment": _output.environment(),
            "execution": _way(args),
            "wall_time_s": wall_s,
            "settings": asdict(settings),
            "methods": {
                name: {"exact": m.exact, "summary": m.summary}
                for name, m in dtopt.available_methods().items()
            },
            "summary": summary,
            "check_problems": problems,
            "figures": [f.name for f in figures],
            "rows": rows,
        },
    )
    notes = (
        f"{len(rows)} cases, {len({_instance(r) for r in rows})} instances, "
        f"wall time {wall_s:.1f} s ({_way(args)}).\n\n"
        "gap: relative excess of a method's mean latency over the best lower bound proven by an exact "
        "method on the instance. A win: reached the best objective and was the fastest doing so. "
        "Runtimes are medians of repeats (until "
        f"{settings.repeat_budget_s:g} s, at most {settings.max_repeats} runs); in a parallel sweep the "
        "workers share the machine's cores, so compare speeds from a --serial run."
    )
    sections = [
        ("Per method", _output.markdown_table(summary, SUMMARY_COLUMNS) + "\n\n" + notes),
        (
            "Check",
            "\n".join(f"- {p}" for p in problems) or "Exact methods agree; no heuristic beats an optimum.",
        ),
        ("Figures", "\n".join(f"- `{f.name}`" for f in figures) or "none (not enough data)"),
    ]
    _output.write_summary(out / "summary.md", "Placement benchmark", sections)
    print(f"wrote {out}/results.csv, results.json, summary.md and {len(figures)} figure(s)")


def _main_versus(args: argparse.Namespace) -> int:
    network = args.topology[0] if args.topology else "TataNld"
    ks = parse_k(args.k) if args.k != "1..5" else [5]
    if len(ks) != 1:
        raise BenchmarkError("--versus-spopt takes one k (e.g. -k 5)")
    n = _topology(network).n_nodes
    if ks[0] > n:
        raise BenchmarkError(f"-k {ks[0]} is outside 1..{n} for {network}")
    for warning in check_pins([_topology(network).source]):
        print(f"warning: {warning}", file=sys.stderr)
    rows = versus_spopt(network, ks[0], repeats=3)
    print(_output.markdown_table(rows, VERSUS_COLUMNS))
    ours = rows[0]
    for row in rows[1:]:
        same = (
            ours["avg_latency_ms"] is not None
            and row["avg_latency_ms"] is not None
            and (abs(row["avg_latency_ms"] - ours["avg_latency_ms"]) <= REL_TOL * ours["avg_latency_ms"])
        )
        print(
            f"{row['tool']}: same objective as dtopt milp: {'yes' if same else 'NO'}; "
            f"dtopt milp is {row['slower_than_milp']:.2f}x faster "
            f"(medians of {len(row['runtimes_s'])} interleaved runs, serial)"
        )
    if args.out:
        out = _output.out_dir(args.out)
        _output.write_json(
            out / "versus_spopt.json",
            {"benchmark": "placement --versus-spopt", "environment": _output.environment(), "rows": rows},
        )
    return 0


if __name__ == "__main__":
    # Run the importable module's main, so dask workers can unpickle its functions by reference.
    from benchmarks import placement as _placement
    from dtopt.cli import exit_with

    exit_with(_output.run_main(_placement.main, prog="benchmarks.placement"))
