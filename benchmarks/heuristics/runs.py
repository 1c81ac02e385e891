"""The heuristics benchmark's measurements: the gap sweep (every network's instances
solved by the MILP, then by each heuristic and seed, networks spread over dask
workers) and the side-by-side speed runs."""

from __future__ import annotations

import itertools
from typing import Any

import dtopt
from benchmarks.common.sweep import run_cases

__all__ = ["HEURISTICS", "VARIANTS", "_network_rows", "_quality", "_speed"]

HEURISTICS = ("isapa", "kmpa", "rands", "interchange")
# Rows of the gap sweep: each heuristic with its defaults, plus the paper's own ISAPA
# (random start, no polish) and interchange from the greedy start alone, for comparison.
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    **{name: (name, {}) for name in HEURISTICS},
    "isapa-paper": ("isapa", {"init": "random", "polish": False}),
    "interchange-1start": ("interchange", {"n_starts": 1}),
}


def _network_rows(
    job: tuple[str, list[int], list[float | None], list[int], list[str], float],
) -> list[dict[str, Any]]:
    """Every instance of one network: the MILP, then each heuristic and seed against its optimum."""
    key, ks, eps_values, seeds, variants, time_limit = job
    topology = dtopt.load_topology(key)
    rows = []
    for eps_max in eps_values:
        for k in ks:
            problem = dtopt.PlacementProblem(topology, k=k, eps_max=eps_max)
            exact = dtopt.solve(problem, "milp", time_limit_s=time_limit)
            # A relative gap needs an optimum > 0 (every node its own server gives 0).
            optimum = exact.avg_latency_ms if exact.status == "optimal" and exact.avg_latency_ms else None
            for label, seed in itertools.product(variants, seeds):
                method, options = VARIANTS[label]
                result = dtopt.solve(problem, method, optimum_ms=optimum, seed=seed, **options)
                rows.append(
                    {
                        "network": key,
                        "n": problem.n,
                        "k": k,
                        "eps_max": eps_max,
                        "method": label,
                        "seed": seed,
                        "status": result.status,
                        "avg_latency_ms": result.avg_latency_ms,
                        "optimum_ms": optimum,
                        "milp_status": exact.status,
                        # Relative excess over the optimum (result.gap divides by the answer instead).
                        "gap": None
                        if optimum is None or result.avg_latency_ms is None
                        else (result.avg_latency_ms - optimum) / optimum
                        if optimum > 0
                        else float(result.avg_latency_ms > 0),
                        "runtime_s": result.runtime_s,
                        "milp_runtime_s": exact.runtime_s,
                    }
                )
    return rows


def _quality(
    networks: list[str],
    ks: list[int],
    eps_values: list[float | None],
    seeds: list[int],
    variants: list[str],
    time_limit_s: float,
    sweep: dict[str, Any],
) -> list[dict[str, Any]]:
    # Largest networks first, so the slowest jobs do not start last.
    size = {info.key: info.n_nodes for info in dtopt.list_topologies("topozoo")}
    jobs = [
        (key, ks, eps_values, seeds, variants, time_limit_s)
        for key in sorted(networks, key=lambda key: -size[key])
    ]
    if sweep.get("n_workers"):
        sweep = sweep | {"n_workers": min(sweep["n_workers"], len(jobs))}
    per_network = run_cases(_network_rows, jobs, desc="networks", **sweep)
    rows = [row for network_rows in per_network for row in network_rows]
    order = {key: i for i, key in enumerate(networks)}
    return sorted(
        rows, key=lambda r: (order[r["network"]], r["eps_max"] is not None, r["k"], r["method"], r["seed"])
    )


def _speed(key: str, k: int, eps_values: list[float | None], repeats: int) -> list[dict[str, Any]]:
    topology = dtopt.load_topology(key)
    rows = []
    for eps_max in eps_values:
        problem = dtopt.PlacementProblem(topology, k=k, eps_max=eps_max)
        for method in ("milp", *HEURISTICS):
            dtopt.solve(problem, method)  # warm-up: imports, cached matrices
        for repeat in range(repeats):
            for method in ("milp", *HEURISTICS):
                result = dtopt.solve(problem, method)
                rows.append(
                    {
                        "network": key,
                        "k": k,
                        "eps_max": eps_max,
                        "method": method,
                        "repeat": repeat,
                        "status": result.status,
                        "avg_latency_ms": result.avg_latency_ms,
                        "runtime_s": result.runtime_s,
                    }
                )
    return rows
