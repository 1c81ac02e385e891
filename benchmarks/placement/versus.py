"""The placement benchmark's ``--versus-spopt`` run: our MILP against spopt's PMedian, side by side."""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import dtopt
from benchmarks.common import output
from benchmarks.common.output import BenchmarkError
from benchmarks.placement.cases import (
    SPOPT,
    Settings,
    _method_once,
    _spopt_once,
    _topology,
    _warm_up,
    parse_k,
)
from benchmarks.placement.pins import check_pins
from benchmarks.placement.tables import REL_TOL

__all__ = ["versus_spopt"]


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
    print(output.markdown_table(rows, VERSUS_COLUMNS))
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
        out = output.out_dir(args.out)
        output.write_json(
            out / "versus_spopt.json",
            {"benchmark": "placement --versus-spopt", "environment": output.environment(), "rows": rows},
        )
    return 0
