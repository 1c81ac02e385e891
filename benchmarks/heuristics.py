"""Heuristics benchmark: optimality gap against the MILP, and speed against it.

    python -m benchmarks.heuristics            # full: 124 Topology Zoo networks, k = 2..10
    python -m benchmarks.heuristics --quick    # a few small networks, k in {2, 5, 10}
    python -m benchmarks.heuristics --seeds 0-7 --methods isapa   # ISAPA's worst case per seed

Quality: every topohub Topology Zoo network with at least 20 nodes, k = 2..10,
unconstrained and with the default eps_max. Each instance is solved by the MILP
(HiGHS; instances it does not prove within ``--time-limit-s`` are recorded and
skipped) and by each heuristic with its default options, plus two reference
variants: ``isapa-paper`` (the paper's ISAPA: random start, no polish) and
``interchange-1start`` (greedy start only), once per seed of ``--seeds``; the gap
is the relative excess mean latency over the optimum. ``--methods`` keeps some of
these rows. Networks are spread over ``--workers`` dask worker processes
(:mod:`benchmarks._sweep`).

Speed: on ``topozoo/TataNld`` with k = 10 (both eps settings), the MILP and each
heuristic run ``--repeats`` times side by side in one process; the median
runtimes and their ratio to the MILP's are reported.

Writes ``results.csv`` (one row per heuristic and instance), ``speed.csv``,
``results.json`` and ``summary.md`` to ``--out`` (default ``out/heuristics``).
See docs/methods-heuristics.md for measured results.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
from collections.abc import Sequence
from typing import Any

import dtopt
from benchmarks._output import (
    BenchmarkError,
    BenchmarkParser,
    environment,
    markdown_table,
    out_dir,
    run_main,
    write_csv,
    write_json,
    write_summary,
)
from benchmarks._sweep import run_cases
from dtopt.cli import exit_with
from dtopt.placement.problem import DEFAULT_EPS_MAX

HEURISTICS = ("isapa", "kmpa", "rands", "interchange")
# Rows of the gap sweep: each heuristic with its defaults, plus the paper's own ISAPA
# (random start, no polish) and interchange from the greedy start alone, for comparison.
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    **{name: (name, {}) for name in HEURISTICS},
    "isapa-paper": ("isapa", {"init": "random", "polish": False}),
    "interchange-1start": ("interchange", {"n_starts": 1}),
}
EXACT_GAP = 1e-9  # a gap at most this counts as exactly optimal
TARGETS = {"isapa_median_gap": 0.01, "isapa_max_gap": 0.05, "interchange_exact_share": 0.95, "speedup": 5.0}
RESULT_COLUMNS = (
    "network",
    "n",
    "k",
    "eps_max",
    "method",
    "seed",
    "status",
    "avg_latency_ms",
    "optimum_ms",
    "milp_status",
    "gap",
    "runtime_s",
    "milp_runtime_s",
)
SPEED_COLUMNS = ("network", "k", "eps_max", "method", "repeat", "status", "avg_latency_ms", "runtime_s")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.workers < 1 or args.repeats < 1 or not args.time_limit > 0:
        raise BenchmarkError("--workers and --repeats must be >= 1 and --time-limit-s > 0")
    seeds = _seeds(args.seeds)
    variants = _variants(args.methods)
    out = out_dir(args.out)
    networks = [info.key for info in dtopt.list_topologies("topozoo") if info.n_nodes >= args.min_nodes]
    ks = list(range(2, 11))
    if args.quick:
        networks, ks = networks[:: max(1, len(networks) // 8)][:8], [2, 5, 10]
    eps_values = [None, DEFAULT_EPS_MAX]
    rows = _quality(networks, ks, eps_values, seeds, variants, args)
    speed = _speed(args.speed_topology, args.speed_k, eps_values, args.repeats)

    quality_table = markdown_table(_quality_summary(rows, variants), _QUALITY_HEADERS)
    seeds_table = markdown_table(_seed_summary(rows, variants, seeds), _SEED_HEADERS)
    speed_table = markdown_table(_speed_summary(speed), _SPEED_HEADERS)
    skipped = [
        r
        for r in rows
        if r["method"] == variants[0]
        and r["seed"] == seeds[0]
        and r["milp_status"] not in ("optimal", "infeasible")
    ]
    targets = _targets(rows, speed)
    sections = [
        ("Optimality gap vs MILP (default options, every seed)", quality_table),
        ("Worst gap per seed", seeds_table),
        (f"Speed on {args.speed_topology}, k = {args.speed_k} (median of {args.repeats})", speed_table),
        ("Targets", markdown_table(targets, ["target", "required", "measured", "met"])),
        (
            "Instances",
            f"{len(networks)} networks, k = {ks[0]}..{ks[-1]}, eps_max in {{none, {DEFAULT_EPS_MAX}}}: "
            f"{len(rows) // (len(variants) * len(seeds))} instances, seeds {args.seeds}; MILP did not "
            f"finish within {args.time_limit:g} s on {len(skipped)} (skipped).",
        ),
    ]
    for heading, body in sections:
        print(f"## {heading}\n\n{body}\n")
    write_csv(out / "results.csv", rows, RESULT_COLUMNS)
    write_csv(out / "speed.csv", speed, SPEED_COLUMNS)
    write_json(
        out / "results.json",
        {
            "benchmark": "heuristics",
            "environment": environment(),
            "parameters": {
                **vars(args),
                "networks": networks,
                "k": ks,
                "eps_max": eps_values,
                "seeds": seeds,
                "methods": variants,
            },
            "targets": targets,
            "rows": rows,
            "speed": speed,
        },
    )
    write_summary(out / "summary.md", "Placement heuristics vs MILP", sections)
    print(f"wrote {out}/results.csv, speed.csv, results.json, summary.md", file=sys.stderr)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = BenchmarkParser(
        prog="python -m benchmarks.heuristics", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="8 networks, k in {2, 5, 10}")
    parser.add_argument("--out", default="out/heuristics", help="output directory (default out/heuristics)")
    parser.add_argument("--workers", type=int, default=2, help="dask workers for the gap sweep (default 2)")
    parser.add_argument(
        "--time-limit-s", "--time-limit", dest="time_limit", type=float, default=120.0,
        help="MILP limit per instance, s (default 120)",
    )
    parser.add_argument("--min-nodes", type=int, default=20, help="smallest network size (default 20)")
    parser.add_argument("--speed-topology", default="topozoo/TataNld", help="network of the speed test")
    parser.add_argument("--speed-k", type=int, default=10, help="k of the speed test (default 10)")
    parser.add_argument("--repeats", type=int, default=5, help="repeats of the speed test (default 5)")
    parser.add_argument(
        "--seeds", default="0", help="seeds of the heuristics: N, N-M or a comma list (default 0)"
    )
    parser.add_argument(
        "--methods",
        default=",".join(VARIANTS),
        help=f"comma list of rows of the gap sweep (default all: {','.join(VARIANTS)})",
    )
    return parser


def _seeds(text: str) -> list[int]:
    """``"3"``, ``"0-7"`` or ``"1,4,9"`` as a list of non-negative seeds."""
    try:
        if "-" in text:
            low, high = (int(part) for part in text.split("-"))
            seeds = list(range(low, high + 1))
        else:
            seeds = [int(part) for part in text.split(",")]
    except ValueError:
        raise BenchmarkError(f"--seeds takes N, N-M or a comma list of integers, got {text!r}") from None
    if not seeds or min(seeds) < 0:
        raise BenchmarkError(f"--seeds must name at least one seed, all >= 0, got {text!r}")
    return seeds


def _variants(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - set(VARIANTS))
    if unknown or not names:
        raise BenchmarkError(f"--methods takes names from {', '.join(VARIANTS)}; got {text!r}")
    return names


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
    args: argparse.Namespace,
) -> list[dict[str, Any]]:
    # Largest networks first, so the slowest jobs do not start last.
    size = {info.key: info.n_nodes for info in dtopt.list_topologies("topozoo")}
    jobs = [
        (key, ks, eps_values, seeds, variants, args.time_limit)
        for key in sorted(networks, key=lambda key: -size[key])
    ]
    per_network = run_cases(_network_rows, jobs, n_workers=min(args.workers, len(jobs)), desc="networks")
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


_QUALITY_HEADERS = {
    "method": "method",
    "eps_max": "eps_max",
    "instances": "instances with optimum",
    "median_gap_pct": "median gap %",
    "p95_gap_pct": "p95 gap %",
    "max_gap_pct": "max gap %",
    "exact_pct": "exactly optimal %",
    "missed": "none found though MILP feasible",
    "infeasible_agree": "none found (MILP infeasible)",
    "median_runtime_s": "median runtime s",
    "milp_median_runtime_s": "MILP median runtime s",
}


def _quality_summary(rows: list[dict[str, Any]], variants: list[str]) -> list[dict[str, Any]]:
    out = []
    for method in variants:
        for eps_max in (None, DEFAULT_EPS_MAX, "all"):
            sel = [r for r in rows if r["method"] == method and (eps_max == "all" or r["eps_max"] == eps_max)]
            solved = [r for r in sel if r["milp_status"] == "optimal"]
            gaps = sorted(r["gap"] if r["gap"] is not None else float("inf") for r in solved)
            out.append(
                {
                    "method": method,
                    "eps_max": "none" if eps_max is None else str(eps_max),
                    "instances": len(solved),
                    "median_gap_pct": 100 * statistics.median(gaps) if gaps else None,
                    "p95_gap_pct": 100 * gaps[int(0.95 * (len(gaps) - 1))] if gaps else None,
                    "max_gap_pct": 100 * gaps[-1] if gaps else None,
                    "exact_pct": 100 * sum(g <= EXACT_GAP for g in gaps) / len(gaps) if gaps else None,
                    "missed": sum(r["status"] != "feasible" for r in solved),
                    "infeasible_agree": sum(
                        r["milp_status"] == "infeasible" and r["status"] == "no_solution_found" for r in sel
                    ),
                    "median_runtime_s": statistics.median(r["runtime_s"] for r in sel) if sel else None,
                    "milp_median_runtime_s": statistics.median(r["milp_runtime_s"] for r in sel)
                    if sel
                    else None,
                }
            )
    return out


_SEED_HEADERS = {
    "method": "method",
    "seed": "seed",
    "max_gap_pct": "worst gap %",
    "worst": "worst instance",
    "exact_pct": "exactly optimal %",
}


def _seed_summary(rows: list[dict[str, Any]], variants: list[str], seeds: list[int]) -> list[dict[str, Any]]:
    out = []
    for method, seed in itertools.product(variants, seeds):
        solved = [
            r for r in rows if r["method"] == method and r["seed"] == seed and r["milp_status"] == "optimal"
        ]
        if not solved:
            continue
        worst = max(solved, key=lambda r: float("inf") if r["gap"] is None else r["gap"])
        gaps = [float("inf") if r["gap"] is None else r["gap"] for r in solved]
        out.append(
            {
                "method": method,
                "seed": seed,
                "max_gap_pct": 100 * max(gaps),
                "worst": f"{worst['network']} k={worst['k']} eps_max={worst['eps_max']}",
                "exact_pct": 100 * sum(g <= EXACT_GAP for g in gaps) / len(gaps),
            }
        )
    return out


_SPEED_HEADERS = {
    "eps_max": "eps_max",
    "method": "method",
    "median_runtime_s": "median runtime s",
    "speedup": "MILP time / method time",
    "avg_latency_ms": "avg latency ms",
    "status": "status",
}


def _speed_summary(speed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for eps_max in sorted({r["eps_max"] for r in speed}, key=lambda e: e is not None):
        sel = [r for r in speed if r["eps_max"] == eps_max]
        milp = statistics.median(r["runtime_s"] for r in sel if r["method"] == "milp")
        for method in ("milp", *HEURISTICS):
            runs = [r for r in sel if r["method"] == method]
            median = statistics.median(r["runtime_s"] for r in runs)
            out.append(
                {
                    "eps_max": "none" if eps_max is None else str(eps_max),
                    "method": method,
                    "median_runtime_s": median,
                    "speedup": milp / median,
                    "avg_latency_ms": runs[0]["avg_latency_ms"],
                    "status": runs[0]["status"],
                }
            )
    return out


def _targets(rows: list[dict[str, Any]], speed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def gaps(method: str) -> list[float]:
        return [
            r["gap"] if r["gap"] is not None else float("inf")
            for r in rows
            if r["method"] == method and r["milp_status"] == "optimal"
        ]

    isapa, inter = gaps("isapa"), gaps("interchange")
    out = []
    if isapa:  # every seed counts: the worst case must not depend on the seed
        out += [
            _target(
                "ISAPA median gap",
                f"<= {TARGETS['isapa_median_gap']:.0%}",
                statistics.median(isapa),
                statistics.median(isapa) <= TARGETS["isapa_median_gap"],
                percent=True,
            ),
            _target(
                "ISAPA worst gap (every seed)",
                f"<= {TARGETS['isapa_max_gap']:.0%}",
                max(isapa),
                max(isapa) <= TARGETS["isapa_max_gap"],
                percent=True,
            ),
        ]
    if inter:
        exact_share = sum(g <= EXACT_GAP for g in inter) / len(inter)
        out.append(
            _target(
                "interchange exactly optimal",
                f">= {TARGETS['interchange_exact_share']:.0%} of instances",
                exact_share,
                exact_share >= TARGETS["interchange_exact_share"],
                percent=True,
            )
        )
    for row in _speed_summary(speed):
        if row["method"] != "milp":
            out.append(
                _target(
                    f"{row['method']} speed-up vs MILP (eps_max {row['eps_max']})",
                    f">= {TARGETS['speedup']:g}x",
                    row["speedup"],
                    row["speedup"] >= TARGETS["speedup"],
                )
            )
    return out


def _target(name: str, required: str, measured: float, met: bool, *, percent: bool = False) -> dict[str, Any]:
    return {
        "target": name,
        "required": required,
        "measured": f"{100 * measured:.3g}%" if percent else f"{measured:.3g}x",
        "met": bool(met),
    }


if __name__ == "__main__":
    # Run the importable module's main, so dask workers can unpickle its functions by reference.
    from benchmarks import heuristics as _heuristics

    exit_with(run_main(_heuristics.main, prog="benchmarks.heuristics"))
