"""Placement and ledger together: end-to-end twin latency per placement method, consensus and k.

    python -m benchmarks.pipeline [--networks Agis TataNld] [-k 4-12] [--methods milp interchange ...]
        [--strategies IBFT BigFoot ... twin] [--seeds 3] [--duration 1000] [--load 25] [--out DIR] [--check]

For every network, k and placement method, the k servers are placed (default error
bound), become the validators of a chain whose transactions are the twins' updates
(every node's twin sends ``--load / n`` updates/s to its server, which submits them;
:func:`dtopt.scenario_from_placement`), and the chain runs under every strategy: each
protocol the chain knows, static, and ``twin``, the digital twin choosing among its
candidates (``--twin-protocols``, default all of them). Each run reports the end-to-end
twin latency (:mod:`dtopt.end_to_end`): network latency to the server (ms) plus the
time until the update is final on the ledger (s), weighted by update rate. The same
total load on every network and k, so more servers shorten the network part but make
a larger consensus.

Reported: a table of end-to-end latency per (network, k, method) and strategy (mean over
seeds), and, per network and strategy, the k that minimises the network latency alone
against the k that minimises the end-to-end latency; the figure ``pipeline.png`` plots
end-to-end latency against k per strategy (exact placements) with the network latency
on a second axis. Placements whose servers coincide share their chain runs. Runs go to
the sweep back end (:mod:`benchmarks.common.sweep`). ``--check`` fails (status 1) on a failed
or unsafe run, an end-to-end latency that is not network + ledger or not finite, or a
heuristic placement beating the optimal one on network latency. Writes results.csv (one
row per run), cells.csv, best_k.csv, results.json, summary.md and pipeline.png into
``--out`` (default ``out/pipeline``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from benchmarks.common.output import (
    BenchmarkError,
    BenchmarkParser,
    environment,
    markdown_table,
    out_dir,
    report_check,
    report_written,
    write_csv,
    write_json,
    write_summary,
)
from benchmarks.common.sweep import add_arguments, describe, run_cases, sweep_options
from benchmarks.pipeline.runs import ChainCase, place, run_case, strategies
from benchmarks.pipeline.tables import best_k_rows, cell_rows, check_problems, figure, wide_rows
from dtopt.consensus.limits import check_duration
from dtopt.consensus.protocols import PROTOCOLS, get_protocol
from dtopt.pipeline import CONDITIONS
from dtopt.solvers import available_methods

__all__ = ["build_parser", "main"]

METHODS = ("milp", "interchange", "kmpa", "isapa", "rands")
ROW_COLUMNS = (
    "network", "k", "method", "placement_status", "placement_runtime_s", "servers", "strategy", "seed",
    "network_ms", "ledger_s", "end_to_end_s", "max_end_to_end_s", "max_error", "final_tx", "submitted_tx",
    "throughput_tps", "switches", "safety_violations", "runtime_s", "why",
)


def _ks(tokens: Sequence[str]) -> list[int]:
    """``-k`` values: integers and inclusive ranges such as ``4-12``."""
    ks: list[int] = []
    for token in tokens:
        lo, _, hi = token.partition("-")
        try:
            values = range(int(lo), int(hi or lo) + 1)
        except ValueError:
            raise BenchmarkError(f"-k takes integers or ranges such as 4-12, got {token!r}") from None
        if not values or values[0] < 4:
            raise BenchmarkError(f"-k {token}: a chain needs k >= 4 servers (3f + 1 with f = 1)")
        ks.extend(v for v in values if v not in ks)
    return ks


def build_parser() -> argparse.ArgumentParser:
    parser = BenchmarkParser(prog="python -m benchmarks.pipeline", description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", default=["Agis", "TataNld"], metavar="NAME",
                        help="topohub keys, Topology Zoo names or files (default: Agis TataNld)")
    parser.add_argument("-k", nargs="+", default=["4-12"], metavar="K",
                        help="numbers of servers: integers or ranges such as 4-12 (default: 4-12)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), metavar="METHOD",
                        help=f"placement methods (default: {' '.join(METHODS)})")
    parser.add_argument("--strategies", nargs="+", default=list(strategies()), metavar="NAME",
                        help=f"protocols run static, and twin (default: {' '.join(strategies())})")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 1..N of regimes and chain (default: 3)")
    parser.add_argument("--duration", type=float, default=1000.0,
                        help="simulated seconds per run (default: 1000)")
    parser.add_argument("--load", type=float, default=25.0,
                        help="total twin updates per second, spread evenly over the nodes (default: 25)")
    parser.add_argument("--tx-size", type=float, default=0.005, metavar="MB",
                        help="size of one update transaction in MB (default: 0.005)")
    parser.add_argument("--conditions", choices=CONDITIONS, default="paper",
                        help="the chain's regime schedule (default: paper)")
    parser.add_argument("--replicas", type=int, default=128, help="the twin's oracle replicas (default: 128)")
    parser.add_argument("--twin-protocols", nargs="+", default=list(PROTOCOLS), metavar="NAME",
                        help=f"the twin's candidate protocols (default: {' '.join(PROTOCOLS)})")
    parser.add_argument("--out", default="out/pipeline", help="output directory (default: out/pipeline)")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 on a failed or unsafe run, a latency that does not decompose, or a "
                        "heuristic beating the exact placement")
    add_arguments(parser)
    return parser


def _checked(args: argparse.Namespace) -> tuple[list[int], list[str]]:
    ks = _ks(args.k)
    if args.seeds < 1:
        raise BenchmarkError(f"--seeds must be >= 1, got {args.seeds}")
    if not args.load > 0 or not args.tx_size > 0 or args.replicas < 1:
        raise BenchmarkError("--load and --tx-size must be > 0 and --replicas >= 1")
    check_duration(args.duration)
    unknown = sorted(set(args.methods) - set(available_methods()))
    if unknown:
        raise BenchmarkError(
            f"unknown placement methods {unknown}; choose among {', '.join(available_methods())}"
        )
    names = [s if s == "twin" else get_protocol(s).name for s in args.strategies]
    args.twin_protocols = list(dict.fromkeys(get_protocol(p).name for p in args.twin_protocols))
    return ks, list(dict.fromkeys(names))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    ks, chosen = _checked(args)
    sweep = sweep_options(args)
    out = out_dir(args.out)
    placements = []
    for network in args.networks:
        for k in ks:
            for method in args.methods:
                problem, result, runtime_s = place(network, k, method)
                placements.append((network, k, method, problem, result, runtime_s))
    cases: dict[tuple[Any, ...], ChainCase] = {}
    for network, k, _, _, result, _ in placements:
        if not result.feasible:
            continue
        for strategy in chosen:
            for seed in range(1, args.seeds + 1):
                case = ChainCase(network, k, result, strategy, seed, args.load, args.tx_size, args.conditions,
                                 args.duration, args.replicas, tuple(args.twin_protocols))
                cases.setdefault(case.key, case)
    outcomes = dict(zip(cases, run_cases(run_case, list(cases.values()), desc="runs", **sweep),
                        strict=True))
    rows = _rows(placements, chosen, args.seeds, outcomes)
    cells = cell_rows(rows)
    wide = wide_rows(cells, chosen)
    best = best_k_rows(cells, chosen)
    table = markdown_table(wide, {"network": "network", "k": "k", "method": "method", "status": "placement",
                                  "network_ms": "network ms", **{s: f"{s} s" for s in chosen}})
    best_table = markdown_table(best, {
        "network": "network", "strategy": "strategy", "best_k_network": "best k (network)",
        "network_ms_at_it": "its network ms", "end_to_end_s_at_it": "its end-to-end s",
        "best_k_end_to_end": "best k (end-to-end)", "end_to_end_s": "end-to-end s",
        "network_ms": "network ms", "method": "placed by",
    })
    print(table)
    print()
    print(best_table)
    figures = [f for f in [figure(cells, chosen, args.methods[0], out)] if f]
    write_csv(out / "results.csv", rows, ROW_COLUMNS)
    write_csv(out / "cells.csv", cells, list(cells[0]) if cells else ["network"])
    write_csv(out / "best_k.csv", best, list(best[0]) if best else ["network"])
    runs = len(cases)
    write_json(out / "results.json", {
        "benchmark": "pipeline", "environment": environment(), "parameters": vars(args),
        "execution": describe(sweep), "chain_runs": runs, "rows": rows, "cells": cells, "best_k": best,
    })
    scope = (f"{args.seeds} seeds x {args.duration:g} s, {args.conditions} conditions, "
             f"{args.load:g} updates/s in all, {runs} distinct chain runs")
    write_summary(out / "summary.md", "End-to-end twin latency: placement and ledger", [
        (f"End-to-end latency (s), mean over seeds ({scope})", table),
        ("Best k with and without the ledger", best_table),
        ("Figures", "\n".join(f"![{f}]({f})" for f in figures)),
    ])
    report_written(out, ["results.csv", "cells.csv", "best_k.csv", "results.json", "summary.md", *figures])
    if args.check:
        passed = f"{len(rows)} runs: every latency is network + ledger, no run failed or broke safety"
        return report_check(check_problems(rows, cells), passed)
    return 0


def _rows(placements: list[tuple[Any, ...]], chosen: list[str], seeds: int,
          outcomes: dict[tuple[Any, ...], dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per placement, strategy and seed (a placement without servers: one row per strategy)."""
    rows = []
    for network, k, method, _, result, runtime_s in placements:
        for strategy in chosen:
            for seed in range(1, seeds + 1) if result.feasible else [None]:
                row: dict[str, Any] = {
                    "network": network, "k": k, "method": method, "placement_status": result.status,
                    "placement_feasible": result.feasible, "placement_runtime_s": runtime_s,
                    "servers": list(result.servers), "strategy": strategy, "seed": seed,
                    **dict.fromkeys(ROW_COLUMNS[8:], None),
                }
                if result.feasible:
                    key = ChainCase(network, k, result, strategy, seed, 0, 0, "", 0, 0).key
                    outcome = outcomes[key]
                    row.update({c: outcome[c] for c in ROW_COLUMNS[8:] if c in outcome})
                    row["blocks_per_protocol"] = outcome.get("blocks_per_protocol")
                else:
                    row["why"] = result.reason or "no placement"
                rows.append(row)
    return rows
