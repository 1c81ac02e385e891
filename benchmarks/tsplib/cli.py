"""TSPLIB p-median benchmark: rl1304 and fl1400 for several p, against the published optima.

    python -m benchmarks.tsplib --check
    python -m benchmarks.tsplib --cases rl1304:5,10 fl1400:200 --methods milp
    taskset -c 1 python -m benchmarks.tsplib --serial --time-limit-s 600 --out results/tsplib

Each case (:func:`dtopt.load_tsplib`, floor of the Euclidean distance, checked against its
pin) is solved by each method (``--methods``, default ``milp,interchange``) and by
pbp-pmedian when it is installed (the ``bench`` extra; ``--no-pbp`` to skip it).
Objectives are sums of distances, the literature's scale. Beside every case: the time
Duran-Mateluna, Ales and Elloumi published for their Benders branch-and-cut ("An efficient
Benders decomposition for the p-median problem", 2023; CPLEX, one thread, another machine)
and the ratio to it; interchange's gap to the optimum and its time as a share of milp's;
pbp-pmedian's time over milp's. ``--check`` fails on a wrong answer as in
``benchmarks.orlib``. Cases run through the shared sweep back end (``--serial``, dask
``--workers`` or ``--scheduler``).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
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
from benchmarks.orlib.cli import check_rows, peer_sections, solve_row, summarise
from benchmarks.placement.cases import PBP
from dtopt.topology.tsplib import published, tsplib_names

__all__ = ["DEFAULT_CASES", "TsplibCase", "main", "parse_cases", "run_case", "side_by_side"]

# The cases of the published table that it proved within 30 s, and then some.
DEFAULT_CASES = {
    "rl1304": (5, 10, 20, 50, 100, 200, 300, 400, 500),
    "fl1400": (5, 10, 20, 50, 100, 200),
}

TABLE_COLUMNS = {
    "instance": "instance",
    "p": "p",
    "method": "method",
    "optimum": "optimum",
    "found": "found",
    "proven": "proven",
    "gap": "gap",
    "runtime_s": "wall s",
    "cpu_s": "cpu s",
    "published_s": "published s",
    "status": "status",
}
CSV_COLUMNS = ("n", *TABLE_COLUMNS, "bound", "servers", "reason")


@dataclass(frozen=True)
class TsplibCase:
    """One method (or pbp-pmedian) on one instance and p, with the per-solve time limit (s)."""

    instance: str
    p: int
    method: str
    time_limit_s: float


def run_case(case: TsplibCase) -> dict[str, Any]:
    """Solve one case; a method that raises gives an ``error`` row, never an exception."""
    instance = dtopt.load_tsplib(case.instance)
    row = published(case.instance)[case.p]
    start = {
        "instance": case.instance,
        "n": instance.n,
        "p": case.p,
        "optimum": row["optimum"],
        "published_s": row["time_s"],
    }
    return solve_row(instance.problem(case.p), case.method, case.time_limit_s, start)


def side_by_side(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per case: milp's time and its ratio to the published one; interchange's gap to the
    optimum (%) and its time over milp's; pbp-pmedian's time over milp's."""
    by = {(r["instance"], r["p"], r["method"]): r for r in rows}
    out = []
    for name, p in dict.fromkeys((r["instance"], r["p"]) for r in rows):
        exact, heuristic, peer = (by.get((name, p, m)) for m in ("milp", "interchange", PBP))
        milp_s = exact["runtime_s"] if exact else None
        line: dict[str, Any] = {"instance": name, "p": p, "milp_s": milp_s, "published_s": None}
        line["published_s"] = (exact or heuristic or peer or {}).get("published_s")
        line["milp/published"] = _ratio(milp_s, line["published_s"])
        if heuristic:
            found = heuristic["found"]
            line["interchange gap %"] = None if found is None else 100 * (found / heuristic["optimum"] - 1)
            line["interchange/milp"] = _ratio(heuristic["runtime_s"], milp_s)
        if peer:
            line[f"{PBP}/milp"] = _ratio(peer["runtime_s"], milp_s)
            line[f"{PBP} proven"] = peer["proven"]
        out.append(line)
    return out


def parse_cases(words: Sequence[str] | None) -> list[tuple[str, int]]:
    """``["rl1304:5,10", "fl1400"]`` -> the (instance, p) pairs; an instance alone means its
    default p values; ``None`` means :data:`DEFAULT_CASES`."""
    if not words:
        return [(name, p) for name, ps in DEFAULT_CASES.items() for p in ps]
    cases: list[tuple[str, int]] = []
    for word in words:
        name, _, ps = word.partition(":")
        if name not in tsplib_names():
            raise BenchmarkError(
                f"--cases: unknown instance {name!r}; choose from {', '.join(tsplib_names())}"
            )
        try:
            values = [int(p) for p in ps.split(",") if p.strip()] if ps else list(DEFAULT_CASES[name])
        except ValueError:
            raise BenchmarkError(
                f"--cases takes instance:p,p,... such as rl1304:5,10, got {word!r}"
            ) from None
        missing = sorted(set(values) - set(published(name)))
        if missing or not values:
            raise BenchmarkError(
                f"--cases {word!r}: p must be among the published {', '.join(map(str, published(name)))}"
            )
        cases += [(name, p) for p in values if (name, p) not in cases]
    return cases


def _ratio(top: float | None, bottom: float | None) -> float | None:
    return top / bottom if top is not None and bottom else None


def _parser() -> argparse.ArgumentParser:
    parser = output.BenchmarkParser(
        prog="python -m benchmarks.tsplib",
        description="The TSPLIB p-median cases (rl1304, fl1400) against their published optima.",
    )
    parser.add_argument(
        "--cases",
        nargs="+",
        metavar="NAME[:P,...]",
        help="e.g. rl1304:5,10 fl1400 (default: the 15 of the docs)",
    )
    parser.add_argument(
        "--methods", default="milp,interchange", help="registered methods (default milp,interchange)"
    )
    parser.add_argument("--no-pbp", action="store_true", help="skip pbp-pmedian even when it is installed")
    add_solve_arguments(parser, time_limit_s=600.0)
    add_arguments(parser, workers=1)  # one local worker: the runtimes are the point
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    args = _parser().parse_args(argv)
    check_time_limit(args.time_limit_s)
    methods = registered_methods(args.methods)
    if not args.no_pbp and importlib.util.find_spec("pbp_pmedian") is not None:
        methods.append(PBP)
    options = sweep_options(args)
    cases = [
        TsplibCase(name, p, m, args.time_limit_s) for name, p in parse_cases(args.cases) for m in methods
    ]
    rows = run_cases(run_case, cases, desc="tsplib", **options)
    pairs = side_by_side(rows)
    milp = [r["milp/published"] for r in pairs if r["milp/published"] is not None]
    head = (
        f"Side by side (milp / published: median {statistics.median(milp):.2f}x)" if milp else "Side by side"
    )
    sections = [
        ("Per method", output.markdown_table(summarise(rows), list(summarise(rows)[0]) if rows else [])),
        (head, output.markdown_table(pairs, list(dict.fromkeys(k for r in pairs for k in r)))),
        *peer_sections(rows),
        ("Every case", output.markdown_table(rows, TABLE_COLUMNS, digits=7)),
    ]
    print("\n\n".join(f"## {title}\n\n{body}" for title, body in sections))
    if args.out:
        out = output.out_dir(args.out)
        output.write_csv(out / "results.csv", rows, CSV_COLUMNS)
        output.write_json(
            out / "results.json",
            {
                "benchmark": "tsplib",
                "environment": output.environment(),
                "parameters": vars(args),
                "rows": rows,
            },
        )
        output.write_summary(out / "summary.md", "TSPLIB p-median benchmark", sections)
        output.report_written(out, ["results.csv", "results.json", "summary.md"])
    if args.check:
        return output.report_check(check_rows(rows), f"{len(rows)} case(s) agree with the published optima")
    return 0
