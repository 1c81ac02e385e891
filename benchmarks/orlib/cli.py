"""OR-Library p-median benchmark: every method on the 40 pmed instances, against the optima.

    python -m benchmarks.orlib --methods milp,interchange
    python -m benchmarks.orlib --instances pmed1-10 --spopt pmed1-10 --check
    taskset -c 1 python -m benchmarks.orlib --serial --methods milp --time-limit-s 120 --out results/orlib

Each instance (:func:`dtopt.load_orlib`, checked against its pin) is solved by each method
(``--methods``; all registered by default) and, on the ``--spopt`` subset, by spopt's
PMedian. Objectives are reported on the library's scale: ``found`` and ``bound`` are sums
over nodes (mean latency times n). ``--check`` fails on a wrong answer: an objective below
the published optimum, a bound above it, a proven optimum that is not the optimum, an
empty ``time_limit`` result, or a method that raised. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dtopt
from benchmarks.common import output
from benchmarks.common.output import (
    BenchmarkError,
    add_solve_arguments,
    check_time_limit,
    registered_methods,
)
from benchmarks.common.sweep import add_arguments, run_cases, sweep_options
from benchmarks.placement.cases import PBP, SPOPT, Settings, _warm_up, once_of
from dtopt.topology.orlib import orlib_names

__all__ = ["OrlibCase", "check_rows", "main", "parse_instances", "peer_ratios", "run_case", "solve_row"]

# Objectives are sums of integer costs; they agree with the optimum to this, relatively.
REL_TOL = 1e-9

TABLE_COLUMNS = {
    "instance": "instance",
    "n": "n",
    "p": "p",
    "method": "method",
    "optimum": "optimum",
    "found": "found",
    "proven": "proven",
    "bound": "bound",
    "gap": "gap",
    "runtime_s": "wall s",
    "status": "status",
}
CSV_COLUMNS = (*TABLE_COLUMNS, "servers", "reason")


@dataclass(frozen=True)
class OrlibCase:
    """One method (or ``"spopt"``) on one instance, with the per-solve time limit (s)."""

    instance: str
    method: str
    time_limit_s: float


def run_case(case: OrlibCase) -> dict[str, Any]:
    """Solve one case; a method that raises gives an ``error`` row, never an exception."""
    instance = dtopt.load_orlib(case.instance)
    row = {"instance": case.instance, "n": instance.problem.n, "p": instance.problem.k}
    return solve_row(instance.problem, case.method, case.time_limit_s, row | {"optimum": instance.optimum})


def solve_row(
    problem: dtopt.PlacementProblem, method: str, time_limit_s: float, row: dict[str, Any]
) -> dict[str, Any]:
    """``row`` with ``method``'s answer on the library's scale (sums over nodes): found,
    proven, bound, gap, runtime_s, cpu_s, status, servers, reason. ``method`` is a registered
    method, spopt or pbp-pmedian; one that raises gives an ``error`` row."""
    n = problem.n
    row = row | {"method": method}
    settings = Settings(time_limit_s=time_limit_s)
    _warm_up(method, settings)
    cpu = time.process_time()
    try:
        result = once_of(method)(problem, settings)
    except dtopt.DtoptError as err:  # EOPA refuses C(n, p) this large: not a failure of the answer
        status = "skipped" if method == "eopa" else "error"
        return row | {"status": status, "found": None, "proven": False, "bound": None, "gap": None,
                      "runtime_s": None, "servers": [], "reason": str(err)}  # fmt: skip
    except Exception as err:  # a crash is a finding to report, not a reason to stop the sweep
        return row | {"status": "error", "found": None, "proven": False, "bound": None, "gap": None,
                      "runtime_s": None, "servers": [], "reason": f"{type(err).__name__}: {err}"}  # fmt: skip
    avg, bound = result["avg_latency_ms"], result["bound_ms"]
    found = None if avg is None else avg * n
    return row | {
        "status": result["status"],
        "found": found,
        "proven": result["status"] == "optimal",
        "bound": None if bound is None else bound * n,
        "gap": None if found is None or bound is None else (found - bound * n) / found if found else 0.0,
        "runtime_s": result["runtime_s"],
        # CPU time of this process (solver threads included, a solver's subprocess not).
        "cpu_s": time.process_time() - cpu,
        "servers": result["servers"],
        "reason": result["reason"],
    }


def check_rows(rows: Sequence[dict[str, Any]]) -> list[str]:
    """One line per wrong answer: an objective below the optimum, a bound above it, an
    "optimal" answer above it, an empty ``time_limit`` result, or an error."""
    problems = []
    for r in rows:
        where = f"{r['instance']} p={r['p']}" if "p" in r else r["instance"]
        label = f"{where} {r['method']}"
        tol = REL_TOL * max(1.0, abs(r["optimum"]))
        if r["status"] == "error":
            problems.append(f"{label}: error: {r['reason']}")
        if r["found"] is not None and r["found"] < r["optimum"] - tol:
            problems.append(f"{label}: objective {r['found']:.6f} below the optimum {r['optimum']:g}")
        if r["bound"] is not None and r["bound"] > r["optimum"] + tol:
            problems.append(f"{label}: bound {r['bound']:.6f} above the optimum {r['optimum']:g}")
        if r["status"] == "optimal" and (r["found"] is None or r["found"] > r["optimum"] + tol):
            problems.append(f"{label}: 'optimal' objective {r['found']} is not the optimum {r['optimum']:g}")
        if r["status"] == "time_limit" and r["found"] is None:
            problems.append(f"{label}: time_limit result without a placement")
    return problems


def peer_ratios(
    rows: Sequence[dict[str, Any]], peer: str = SPOPT, method: str = "milp"
) -> list[dict[str, Any]]:
    """Per case with both: the ``peer``'s (spopt, pbp-pmedian) wall time over ``method``'s
    (same run, same machine)."""
    by = {(r["instance"], r["p"], r["method"]): r for r in rows}
    out = []
    for (name, p, m), r in by.items():
        ours = by.get((name, p, method))
        if m == peer and ours and r["runtime_s"] and ours["runtime_s"]:
            out.append(
                {
                    "instance": name,
                    "p": p,
                    f"{peer}_s": r["runtime_s"],
                    f"{method}_s": ours["runtime_s"],
                    "ratio": r["runtime_s"] / ours["runtime_s"],
                    "both_optimal": r["proven"] and ours["proven"],
                }
            )
    return out


def peer_sections(rows: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """A table of wall-time ratios against milp for each peer (spopt, pbp-pmedian) that ran."""
    sections = []
    for peer in (SPOPT, PBP):
        ratios = peer_ratios(rows, peer)
        if ratios:
            median = statistics.median(r["ratio"] for r in ratios)
            table = output.markdown_table(ratios, list(ratios[0]))
            sections.append((f"{peer} / milp wall time (median {median:.2f}x)", table))
    return sections


def summarise(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per method: instances, proven, at the optimum, median / total wall time, worst gap."""
    out = []
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        times = [r["runtime_s"] for r in mine if r["runtime_s"] is not None]
        gaps = [r["gap"] for r in mine if r["gap"] is not None]
        at_optimum = sum(
            r["found"] is not None and abs(r["found"] - r["optimum"]) <= REL_TOL * r["optimum"] for r in mine
        )
        out.append(
            {
                "method": method,
                "instances": len(mine),
                "proven": sum(r["proven"] for r in mine),
                "at_optimum": at_optimum,
                "median_s": statistics.median(times) if times else None,
                "total_s": sum(times) if times else None,
                "max_gap": max(gaps) if gaps else None,
            }
        )
    return out


def parse_instances(text: str) -> list[str]:
    """``"pmed1-10"`` or ``"1-10"`` -> pmed1..pmed10; ``"pmed3,pmed7"``; ``"all"``; ``""`` -> none."""
    names = orlib_names()
    if text.strip() == "all":
        return list(names)
    chosen: list[str] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = re.fullmatch(r"(?:pmed)?(\d+)(?:-(?:pmed)?(\d+))?", part)
        if not match:
            raise BenchmarkError(
                f"--instances takes names or ranges such as pmed1-10 or pmed3,pmed7, got {part!r}"
            )
        lo = int(match.group(1))
        hi = int(match.group(2) or lo)
        if not 1 <= lo <= hi <= len(names):
            raise BenchmarkError(f"instance range {part!r} is outside pmed1-{len(names)} or empty")
        chosen += [f"pmed{i}" for i in range(lo, hi + 1) if f"pmed{i}" not in chosen]
    return chosen


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.orlib",
        description="Every placement method on the OR-Library p-median instances, against their optima.",
    )
    parser.add_argument("--instances", default="all", help="e.g. pmed1-10 or pmed3,pmed7 (default all 40)")
    parser.add_argument("--methods", help="comma-separated registered methods (default: all registered)")
    parser.add_argument(
        "--spopt",
        default="",
        help="instances on which spopt's PMedian also runs, e.g. pmed1-10 (default none)",
    )
    parser.add_argument(
        "--pbp",
        default="",
        help="instances on which pbp-pmedian (the bench extra) also runs, e.g. all (default none)",
    )
    add_solve_arguments(parser, time_limit_s=120.0)
    add_arguments(parser, workers=1)  # one local worker: the runtimes are the point
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    args = _parser().parse_args(argv)
    check_time_limit(args.time_limit_s)
    sweep = sweep_options(args)
    methods = registered_methods(args.methods)
    instances = parse_instances(args.instances)
    with_spopt, with_pbp = set(parse_instances(args.spopt)), set(parse_instances(args.pbp))
    cases = [
        OrlibCase(name, method, args.time_limit_s)
        for name in instances
        for method in [
            *methods,
            *([SPOPT] if name in with_spopt else []),
            *([PBP] if name in with_pbp else []),
        ]
    ]
    rows = run_cases(run_case, cases, desc="orlib", **sweep)
    table = output.markdown_table(rows, TABLE_COLUMNS, digits=7)
    summary = output.markdown_table(summarise(rows), list(summarise(rows)[0]) if rows else [])
    sections = [("Per method", summary), *peer_sections(rows), ("Every case", table)]
    print("\n\n".join(f"## {head}\n\n{body}" for head, body in sections))
    if args.out:
        out = output.out_dir(args.out)
        output.write_csv(out / "results.csv", rows, CSV_COLUMNS)
        output.write_json(
            out / "results.json",
            {
                "benchmark": "orlib",
                "environment": output.environment(),
                "parameters": vars(args),
                "rows": rows,
            },
        )
        output.write_summary(out / "summary.md", "OR-Library p-median benchmark", sections)
        print(f"wrote {out / 'results.csv'}, results.json and summary.md", file=sys.stderr)
    if args.check:
        problems = check_rows(rows)
        for line in problems:
            print(f"check: {line}", file=sys.stderr)
        if problems:
            return 1
        print(f"check: {len(rows)} case(s) agree with the published optima", file=sys.stderr)
    return 0
