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
(:mod:`benchmarks.common.sweep`; ``--scheduler`` or ``--serial`` as in every sweep).

Speed: on ``topozoo/TataNld`` with k = 10 (both eps settings), the MILP and each
heuristic run ``--repeats`` times side by side in one process; the median
runtimes and their ratio to the MILP's are reported.

Writes ``results.csv`` (one row per heuristic and instance), ``speed.csv``,
``results.json`` and ``summary.md`` to ``--out`` (default ``out/heuristics``).
See docs/methods-heuristics.md for measured results.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import dtopt
from benchmarks.common.output import (
    BenchmarkError,
    BenchmarkParser,
    environment,
    markdown_table,
    out_dir,
    write_csv,
    write_json,
    write_summary,
)
from benchmarks.common.sweep import add_arguments, sweep_options
from benchmarks.heuristics.runs import VARIANTS, _quality, _speed
from benchmarks.heuristics.tables import (
    _QUALITY_HEADERS,
    _SEED_HEADERS,
    _SPEED_HEADERS,
    _quality_summary,
    _seed_summary,
    _speed_summary,
    _targets,
)
from dtopt.placement.problem import DEFAULT_EPS_MAX

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
    if args.repeats < 1 or not args.time_limit > 0:
        raise BenchmarkError("--repeats must be >= 1 and --time-limit-s > 0")
    sweep = sweep_options(args)
    seeds = _seeds(args.seeds)
    variants = _variants(args.methods)
    out = out_dir(args.out)
    networks = [info.key for info in dtopt.list_topologies("topozoo") if info.n_nodes >= args.min_nodes]
    ks = list(range(2, 11))
    if args.quick:
        networks, ks = networks[:: max(1, len(networks) // 8)][:8], [2, 5, 10]
    eps_values = [None, DEFAULT_EPS_MAX]
    rows = _quality(networks, ks, eps_values, seeds, variants, args.time_limit, sweep)
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
    parser = BenchmarkParser(prog="python -m benchmarks.heuristics", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="8 networks, k in {2, 5, 10}")
    parser.add_argument("--out", default="out/heuristics", help="output directory (default out/heuristics)")
    parser.add_argument(
        "--time-limit-s",
        "--time-limit",
        dest="time_limit",
        type=float,
        default=120.0,
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
    add_arguments(parser, workers=2)
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
