"""Placement benchmark: every method on every (network, k, eps_max) instance.

    python -m benchmarks.placement --topology Agis
    python -m benchmarks.placement --suite topozoo --k 2..10 --out results/topozoo
    python -m benchmarks.placement --topology Agis --quick --check

See docs/benchmarks.md for the options, the output layout and measured results.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

import dtopt
from benchmarks._output import BenchmarkError, markdown_table, progress, run_main
from dtopt.placement.problem import DEFAULT_EPS_MAX

SPOPT = "spopt"

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
    "status": "status",
}


@dataclass(frozen=True)
class Case:
    """One benchmark case: a method on one instance.

    ``eps_max`` is ``None`` for the unconstrained (p-median) instance.
    """

    network: str
    k: int
    eps_max: float | None
    method: str


@dataclass(frozen=True)
class Settings:
    """How each case runs (the same for every case of a sweep).

    seed : seed handed to every method that takes one.
    repeat_budget_s : a case faster than this is repeated until the runs add up to
        it, at most ``max_repeats`` runs; its runtime is the median.
    max_repeats : cap on the runs of one case.
    time_limit_s : MILP time limit (s) per solve; also the spopt solver's limit.
    eopa_max_placements : EOPA runs only where C(n, k) is at most this.
    """

    seed: int = 0
    repeat_budget_s: float = 0.2
    max_repeats: int = 5
    time_limit_s: float = 60.0
    eopa_max_placements: int | None = None


@cache
def _topology(network: str) -> dtopt.Topology:
    return dtopt.load_topology(network)


def _problem(case: Case) -> dtopt.PlacementProblem:
    return dtopt.PlacementProblem(_topology(case.network), k=case.k, eps_max=case.eps_max)


def _options(method: dtopt.solvers.registry.Method, settings: Settings) -> dict[str, Any]:
    defaults = method.defaults()
    options: dict[str, Any] = {}
    if "seed" in defaults:
        options["seed"] = settings.seed
    if "time_limit_s" in defaults:
        options["time_limit_s"] = settings.time_limit_s
    return options


def _eopa_limit(settings: Settings) -> int:
    default = dtopt.available_methods()["eopa"].defaults()["max_placements"]
    return default if settings.eopa_max_placements is None else min(default, settings.eopa_max_placements)


def run_case(case: Case, settings: Settings = Settings()) -> dict[str, Any]:
    """Run one case (with repeats) and return its result row.

    Never raises for a method's own refusal: the row gets status ``skipped`` (EOPA
    above its limit) or ``error`` with the reason.
    """
    problem = _problem(case)
    row: dict[str, Any] = {
        "network": case.network,
        "n": problem.n,
        "links": problem.topology.n_links,
        "k": case.k,
        "eps_max": case.eps_max,
        "method": case.method,
    }
    if case.method == "eopa" and math.comb(problem.n, case.k) > _eopa_limit(settings):
        return row | _empty("skipped", f"C({problem.n}, {case.k}) = {math.comb(problem.n, case.k):,} placements "
                            f"is above EOPA's limit of {_eopa_limit(settings):,}")
    once = _spopt_once if case.method == SPOPT else _method_once
    runs: list[dict[str, Any]] = []
    total_s = 0.0
    while not runs or (total_s < settings.repeat_budget_s and len(runs) < settings.max_repeats):
        try:
            runs.append(once(problem, case.method, settings))
        except dtopt.DtoptError as err:
            return row | _empty("error", str(err))
        total_s += runs[-1]["runtime_s"]
    first = runs[0]
    # Repeats of a deterministic, seeded method must agree; a change is a finding, not noise.
    if any(r["servers"] != first["servers"] or r["status"] != first["status"] for r in runs[1:]):
        first = first | {"reason": "repeats disagree (non-deterministic method)"}
    return row | first | {
        "runtime_s": statistics.median(r["runtime_s"] for r in runs),
        "repeats": len(runs),
    }


def _empty(status: str, reason: str) -> dict[str, Any]:
    return {"status": status, "exact": None, "avg_latency_ms": None, "bound_ms": None, "avg_error": None,
            "max_error": None, "max_latency_ms": None, "servers": [], "runtime_s": None, "repeats": 0,
            "reason": reason}


def _method_once(problem: dtopt.PlacementProblem, name: str, settings: Settings) -> dict[str, Any]:
    method = dtopt.available_methods()[name]
    result = dtopt.solve(problem, name, **_options(method, settings))
    return {
        "status": result.status,
        "exact": method.exact,
        "avg_latency_ms": result.avg_latency_ms,
        "bound_ms": result.bound,
        "avg_error": result.avg_error,
        "max_error": result.max_error,
        "max_latency_ms": result.max_latency_ms,
        "servers": list(result.servers),
        "runtime_s": result.runtime_s,
        "reason": result.reason,
    }


def _spopt_once(problem: dtopt.PlacementProblem, name: str, settings: Settings) -> dict[str, Any]:
    """spopt's PMedian from the latency matrix, timed including its model build."""
    import pulp
    from spopt.locate import PMedian

    start = time.perf_counter()
    model = PMedian.from_cost_matrix(problem.latency_ms, np.ones(problem.n), p_facilities=problem.k)
    model.solve(_pulp_solver(settings.time_limit_s))
    runtime_s = time.perf_counter() - start
    status = pulp.LpStatus[model.problem.status]
    servers = np.array([j for j, var in enumerate(model.fac_vars) if (var.value() or 0) > 0.5], dtype=np.intp)
    ev = dtopt.evaluate(problem, servers) if len(servers) == problem.k else None
    return {
        "status": "optimal" if status == "Optimal" and ev is not None else status.lower(),
        "exact": True,
        "avg_latency_ms": ev.avg_latency_ms if ev else None,
        "bound_ms": None,
        "avg_error": ev.avg_error if ev else None,
        "max_error": ev.max_error if ev else None,
        "max_latency_ms": ev.max_latency_ms if ev else None,
        "servers": [problem.topology.node_names[j] for j in servers],
        "runtime_s": runtime_s,
        "reason": None,
    }


def _pulp_solver(time_limit_s: float) -> Any:
    import pulp

    available = pulp.listSolvers(onlyAvailable=True)
    if "HiGHS" in available:
        return pulp.HiGHS(msg=False, timeLimit=time_limit_s)
    if "PULP_CBC_CMD" in available:
        return pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s)
    raise BenchmarkError(f"PuLP has neither HiGHS nor CBC here (it has: {', '.join(available) or 'none'})")


# --- building the sweep ------------------------------------------------------------


def parse_k(text: str) -> list[int]:
    """``"1..5"`` -> [1..5]; ``"1,3,5"`` -> [1, 3, 5]; ``"4"`` -> [4]."""
    try:
        if ".." in text:
            lo, hi = (int(p) for p in text.split("..", 1))
            values = list(range(lo, hi + 1))
        else:
            values = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise BenchmarkError(f"--k must look like 2..10 or 1,3,5, got {text!r}") from None
    if not values:
        raise BenchmarkError(f"--k {text!r} is an empty range")
    return sorted(set(values))


def parse_eps_max(text: str) -> float | None:
    """``none`` (unconstrained) or a number >= 0."""
    if text.strip().lower() in ("none", "inf", "unconstrained"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise BenchmarkError(f"--eps-max must be a number >= 0 or 'none', got {text!r}") from None
    if not value >= 0 or not math.isfinite(value):
        raise BenchmarkError(f"--eps-max must be a number >= 0 or 'none', got {text!r}")
    return value


def build_cases(
    networks: Sequence[str],
    ks: Sequence[int],
    eps_values: Sequence[float | None],
    methods: Sequence[str],
    *,
    spopt: bool = True,
) -> list[Case]:
    """Every (network, k, eps_max, method) case; spopt on unconstrained instances only."""
    cases = []
    for network in networks:
        for k in ks:
            for eps in eps_values:
                names = [*methods, *([SPOPT] if spopt and eps is None else [])]
                cases.extend(Case(network, k, eps, m) for m in names)
    return cases


def run_serial(cases: Sequence[Case], settings: Settings) -> list[dict[str, Any]]:
    """Run ``cases`` one after the other in this process."""
    bar = progress(len(cases), "placement")
    rows = []
    for case in cases:
        rows.append(run_case(case, settings))
        bar.update()
    bar.close()
    return rows


def print_table(rows: Sequence[dict[str, Any]]) -> None:
    shown = [r | {"eps_max": "none" if r["eps_max"] is None else r["eps_max"]} for r in rows]
    print(markdown_table(shown, TABLE_COLUMNS))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.placement", description=__doc__.splitlines()[0])
    parser.add_argument("--topology", action="append", default=[], help="topohub key or Topology Zoo name (repeat)")
    parser.add_argument("--k", default="1..5", help="k values: 2..10 or 1,3,5 (default 1..5)")
    parser.add_argument("--eps-max", action="append", default=[], dest="eps_max",
                        help=f"error bound, repeatable; 'none' = unconstrained (default {DEFAULT_EPS_MAX} and none)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the heuristics (default 0)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    ks = parse_k(args.k)
    eps_values = [parse_eps_max(e) for e in args.eps_max] or [DEFAULT_EPS_MAX, None]
    networks = args.topology or ["Agis"]
    for network in networks:
        n = _topology(network).n_nodes
        if ks[0] < 1 or ks[-1] > n:
            raise BenchmarkError(f"--k {args.k} is outside 1..{n} for {network}")
    methods = list(dtopt.available_methods())
    cases = build_cases(networks, ks, eps_values, methods)
    rows = run_serial(cases, Settings(seed=args.seed))
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main, prog="benchmarks.placement"))
