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
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import dtopt
from benchmarks.common import output
from benchmarks.common.output import BenchmarkError
from benchmarks.common.sweep import add_arguments, describe, run_cases, sweep_options

# The parts live in modules of one concept; their public names stay importable from here.
from benchmarks.placement.cases import (
    EOPA_MAX_PLACEMENTS,
    REPEAT_BUDGET_S,
    SPOPT,
    Case,
    Settings,
    _topology,
    build_cases,
    parse_eps_max,
    parse_k,
    run_case,
)
from benchmarks.placement.pins import check_pins
from benchmarks.placement.tables import (
    CSV_COLUMNS,
    SUMMARY_COLUMNS,
    TABLE_COLUMNS,
    _display,
    _instance,
    add_gaps,
    check_rows,
    summarise,
)
from benchmarks.placement.versus import _main_versus, versus_spopt
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

SUITES = ("topozoo", "gabriel")
SUITE_REPEAT_BUDGET_S = 0.02


# --- command line --------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = output.BenchmarkParser(
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
    add_arguments(parser, how)
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
    for name in ("max_repeats", "eopa_limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise BenchmarkError(f"--{name.replace('_', '-')} must be a positive integer, got {value}")


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status (bad input raises BenchmarkError)."""
    args = build_parser().parse_args(argv)
    _check_numbers(args)
    sweep = sweep_options(args) | {"serial": args.serial or args.quick}
    if args.out:
        output.out_dir(args.out)  # an output directory that cannot be written is refused before the run
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
    rows = run_cases(functools.partial(run_case, settings=settings), cases, desc="placement", **sweep)
    wall_s = time.perf_counter() - start
    rows = add_gaps(rows)
    summary = summarise(rows)
    problems = check_rows(rows)
    print(output.markdown_table(_display(rows), TABLE_COLUMNS))
    print()
    print(output.markdown_table(summary, SUMMARY_COLUMNS))
    way = describe(sweep)
    print(f"\n{len(cases)} cases on {len(networks)} network(s) in {wall_s:.1f} s wall time ({way}).")
    if args.out:
        _write_outputs(Path(args.out), way, settings, rows, summary, problems, wall_s)
    if args.check:
        return output.report_check(problems, "exact methods agree and no heuristic beats the optimum.")
    return 0


def _write_outputs(
    out: Path,
    way: str,
    settings: Settings,
    rows: list[dict[str, Any]],
    summary: list[dict[str, Any]],
    problems: list[str],
    wall_s: float,
) -> None:
    from benchmarks.placement.figures import draw_all

    out = output.out_dir(out)
    csv_rows = [r | {"eps_max": "none" if r["eps_max"] is None else r["eps_max"]} for r in rows]
    output.write_csv(out / "results.csv", csv_rows, CSV_COLUMNS)
    figures = draw_all(rows, out)
    output.write_json(
        out / "results.json",
        {
            "benchmark": "placement",
            "command": "python -m benchmarks.placement " + " ".join(sys.argv[1:]),
            "environment": output.environment(),
            "execution": way,
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
        f"wall time {wall_s:.1f} s ({way}).\n\n"
        "gap: relative excess of a method's mean latency over the best lower bound proven by an exact "
        "method on the instance. A win: reached the best objective and was the fastest doing so. "
        "Runtimes are medians of repeats (until "
        f"{settings.repeat_budget_s:g} s, at most {settings.max_repeats} runs); in a parallel sweep the "
        "workers share the machine's cores, so compare speeds from a --serial run."
    )
    sections = [
        ("Per method", output.markdown_table(summary, SUMMARY_COLUMNS) + "\n\n" + notes),
        (
            "Check",
            "\n".join(f"- {p}" for p in problems) or "Exact methods agree; no heuristic beats an optimum.",
        ),
        ("Figures", "\n".join(f"- `{f.name}`" for f in figures) or "none (not enough data)"),
    ]
    output.write_summary(out / "summary.md", "Placement benchmark", sections)
    print(f"wrote {out}/results.csv, results.json, summary.md and {len(figures)} figure(s)")
