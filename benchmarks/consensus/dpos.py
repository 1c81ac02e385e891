"""DPoS against IBFT and BigFoot, and the twin over all three, on chain presets.

    python -m benchmarks.dpos [--scenarios paper steady] [--seeds 10] [--duration 2000] [--out DIR]

For every preset and seed 1..N the chain runs static IBFT, static BigFoot,
static DPoS, the digital twin choosing among the three protocols every
interval (``DigitalTwin(protocols=("IBFT", "BigFoot", "DPoS"))``) and, for
comparison, the twin choosing between IBFT and BigFoot only. The table
gives each strategy's mean transaction latency and throughput over the seeds
(mean and standard deviation), and the twin's latency against the best static
protocol in hindsight (per seed, the static protocol with the lowest latency
on that seed). ``--check`` fails unless every run committed transactions
without a safety violation.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmarks.common.output import (
    BenchmarkParser,
    markdown_table,
    out_dir,
    report_check,
    write_table_outputs,
)
from benchmarks.common.sweep import add_arguments, describe, run_cases, sweep_options
from dtopt.consensus.chain import run_chain
from dtopt.consensus.limits import check_duration
from dtopt.consensus.loading import load_scenario
from dtopt.errors import DtoptError
from dtopt.twin import DigitalTwin

STATICS = ("IBFT", "BigFoot", "DPoS")
TWIN = "Twin (3 protocols)"
TWIN_BFT = "Twin (IBFT, BigFoot)"
TWINS = {TWIN: STATICS, TWIN_BFT: STATICS[:2]}
STRATEGIES = (*STATICS, TWIN, TWIN_BFT)
COLUMNS = {
    "scenario": "scenario", "strategy": "strategy", "seeds": "seeds",
    "latency_mean_s": "latency (s)", "latency_std_s": "sd (s)",
    "throughput_mean_tps": "throughput (tx/s)", "interblock_mean_s": "inter-block (s)",
    "vs_hindsight": "vs best static in hindsight", "hindsight_share": "best static per seed",
}


def run_case(case: tuple[str, int, str, float, int]) -> dict[str, Any]:
    """One run: ``(scenario, seed, strategy, duration_s, replicas)`` -> its metrics."""
    name, seed, strategy, duration_s, replicas = case
    scenario = load_scenario(name, duration_s, seed=seed)
    controller = None
    if strategy in TWINS:
        controller = DigitalTwin.from_scenario(scenario, protocols=TWINS[strategy], replicas=replicas,
                                               seed=seed)
    run = run_chain(scenario, "IBFT" if strategy in TWINS else strategy, duration_s, seed=seed,
                    controller=controller)
    m = run.metrics
    return {"scenario": name, "seed": seed, "strategy": strategy, "latency_s": m.mean_tx_latency_s,
            "throughput_tps": m.throughput_tps, "interblock_s": m.mean_interblock_s,
            "blocks_per_protocol": m.blocks_per_protocol, "safety_violations": run.chain.safety_violations,
            "runtime_s": run.runtime_s}


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per scenario and strategy: means over the seeds, and the twin against the best static."""
    rows = []
    for name in dict.fromkeys(r["scenario"] for r in runs):
        mine = [r for r in runs if r["scenario"] == name]
        latency = {(r["strategy"], r["seed"]): r["latency_s"] for r in mine}
        seeds = sorted({r["seed"] for r in mine})
        best = {s: min(STATICS, key=lambda p, s=s: latency[(p, s)]) for s in seeds}
        for strategy in STRATEGIES:
            own = [r for r in mine if r["strategy"] == strategy]
            lat = np.array([r["latency_s"] for r in own], dtype=float)
            row = {
                "scenario": name, "strategy": strategy, "seeds": len(own),
                "latency_mean_s": float(lat.mean()),
                "latency_std_s": float(lat.std(ddof=1)) if lat.size > 1 else 0.0,
                "throughput_mean_tps": float(np.mean([r["throughput_tps"] for r in own])),
                "interblock_mean_s": float(np.mean([r["interblock_s"] for r in own])),
                "vs_hindsight": "", "hindsight_share": "",
            }
            if strategy in TWINS:
                ratio = [latency[(strategy, s)] / latency[(best[s], s)] for s in seeds]
                row["vs_hindsight"] = f"{np.mean(ratio) - 1:+.1%} (mean per seed)"
                wins = {p: sum(b == p for b in best.values()) for p in STATICS}
                row["hindsight_share"] = ", ".join(f"{p} {n}" for p, n in wins.items())
            rows.append(row)
    return rows


def build_parser() -> argparse.ArgumentParser:
    parser = BenchmarkParser(prog="python -m benchmarks.dpos", description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", nargs="+", default=["paper", "steady"], help="presets or files "
                        "(default: paper steady)")
    parser.add_argument("--seeds", type=int, default=10, help="seeds 1..N (default: 10)")
    parser.add_argument("--duration", type=float, default=2000.0, help="chain time per run (default: 2000 s)")
    parser.add_argument("--replicas", type=int, default=256, help="the twin's oracle replicas (default: 256)")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 unless every run committed transactions with no safety violation")
    parser.add_argument("--out", default=None, help="also write results.csv/json and summary.md here")
    add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.seeds < 1:
        raise DtoptError(f"--seeds must be >= 1, got {args.seeds}")
    duration_s = check_duration(args.duration, "--duration")
    for name in args.scenarios:
        load_scenario(name, 100.0)  # refuse an unknown scenario before running anything
    out = out_dir(args.out) if args.out else None
    options = sweep_options(args)
    cases = [(name, seed, strategy, duration_s, args.replicas)
             for name in args.scenarios for seed in range(1, args.seeds + 1) for strategy in STRATEGIES]
    runs = run_cases(run_case, cases, desc="dpos", **options)
    rows = summarise(runs)
    table = markdown_table(rows, COLUMNS)
    print(table)
    print(f"({len(runs)} runs of {duration_s:g} s; {describe(options)})")
    if out is not None:
        write_table_outputs(out, "dpos", {**vars(args), "runs": runs}, rows, list(COLUMNS),
                            "DPoS against IBFT and BigFoot", table)
    if args.check:
        problems = [f"{r['scenario']} seed {r['seed']} {r['strategy']}: "
                    f"{r['safety_violations']} safety violations, latency {r['latency_s']}"
                    for r in runs if r["safety_violations"] or r["latency_s"] is None]
        return report_check(problems, "every run committed transactions, no safety violation")
    return 0
