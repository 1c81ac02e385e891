"""Speed of the exact capacitated placement: the Pyomo model against the direct HiGHS model.

    python -m benchmarks.capacitated_speed [--case topozoo/TataNld:10] [--repeats 1] [--check] [--out DIR]

Each case is a network and k with capacity ``C = ceil(slack * n / k)`` (slack 1.2) and
no error bound. ``pyomo`` is the model built in Pyomo and solved through
``appsi_highs`` with HiGHS's default options (``solve(problem, "milp",
solver="appsi_highs")``); ``highs`` is the default path (``solve(problem, "milp")``:
the uncapacitated optimum first, then the model built as arrays in highspy, started
from that placement). Times are CPU seconds of this process (steadier than wall
time on a shared machine), medians over ``--repeats``; run it on one core
(``taskset -c 1``). ``--check``: both proven optimal at the same mean latency.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Sequence
from typing import Any

from benchmarks.common.output import (
    BenchmarkError,
    BenchmarkParser,
    markdown_table,
    out_dir,
    progress,
    report_check,
    write_table_outputs,
)
from dtopt import PlacementProblem, load_topology, solve

__all__ = ["main", "run_case"]

DEFAULT_CASES = ("Agis:4", "topozoo/TataNld:5", "topozoo/TataNld:10")
SLACK = 1.2
# Pyomo solver name of each path (None: the default, solver="highs").
PATHS = {"pyomo": "appsi_highs", "highs": None}
COLUMNS = {
    "network": "network",
    "n": "n",
    "k": "k",
    "capacity": "C",
    "pyomo_status": "pyomo",
    "pyomo_cpu_s": "pyomo cpu s",
    "highs_status": "highs",
    "highs_cpu_s": "highs cpu s",
    "speedup": "speed-up",
    "optimum_ms": "optimum ms",
}


def run_case(network: str, k: int, repeats: int) -> dict[str, Any]:
    """Time both paths on one case, alternating them; a row of the table."""
    topology = load_topology(network)
    capacity = math.ceil(SLACK * topology.n_nodes / k)
    problem = PlacementProblem(topology, k, eps_max=None, capacity=capacity)
    row: dict[str, Any] = {"network": network, "n": problem.n, "k": k, "capacity": capacity}
    times: dict[str, list[float]] = {path: [] for path in PATHS}
    for _ in range(repeats):
        for path, solver in PATHS.items():
            options = {} if solver is None else {"solver": solver}
            start = time.process_time()
            result = solve(problem, "milp", **options)
            times[path].append(time.process_time() - start)
            row[f"{path}_status"] = result.status
            row[f"{path}_ms"] = result.avg_latency_ms
    for path in PATHS:
        row[f"{path}_cpu_s"] = statistics.median(times[path])
    row["speedup"] = row["pyomo_cpu_s"] / max(row["highs_cpu_s"], 1e-9)
    row["optimum_ms"] = row["highs_ms"]
    return row


def check_rows(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Problems: a path not proven optimal, or the two optima differing."""
    problems = []
    for row in rows:
        case = f"{row['network']} k={row['k']}"
        for path in PATHS:
            if row[f"{path}_status"] != "optimal":
                problems.append(f"{case}: {path} ended {row[f'{path}_status']}")
        a, b = row["pyomo_ms"], row["highs_ms"]
        if a is None or b is None or abs(a - b) > 1e-6 * max(abs(a), abs(b)):
            problems.append(f"{case}: optima differ ({a} ms with pyomo, {b} ms with highs)")
    return problems


def _case(text: str) -> tuple[str, int]:
    network, _, k = text.rpartition(":")
    if not network or not k.isdigit() or int(k) < 1:
        raise BenchmarkError(f"--case must be NETWORK:K with K >= 1, got {text!r}")
    return network, int(k)


def main(argv: Sequence[str] | None = None) -> int:
    parser = BenchmarkParser(
        prog="python -m benchmarks.capacitated_speed", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--case",
        action="append",
        metavar="NETWORK:K",
        help=f"repeatable (default {' '.join(DEFAULT_CASES)})",
    )
    parser.add_argument("--repeats", type=int, default=1, help="timed runs per path and case (default 1)")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 unless both paths prove the same optimum"
    )
    parser.add_argument("--out", metavar="DIR", help="write results.csv/json and summary.md here")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        raise BenchmarkError(f"--repeats must be >= 1, got {args.repeats}")
    cases = [_case(text) for text in (args.case or DEFAULT_CASES)]
    out = out_dir(args.out) if args.out else None
    solve(PlacementProblem(load_topology("Agis"), 2, capacity=20), "milp", solver="appsi_highs")  # imports
    bar = progress(len(cases), "capacitated cases")
    rows = []
    for network, k in cases:
        rows.append(run_case(network, k, args.repeats))
        bar.update()
    bar.close()
    table = markdown_table(rows, COLUMNS)
    print(table)
    if out is not None:
        write_table_outputs(
            out,
            "capacitated_speed",
            {"cases": [f"{n}:{k}" for n, k in cases], "repeats": args.repeats, "slack": SLACK},
            rows,
            list(COLUMNS),
            "Exact capacitated placement: Pyomo against direct HiGHS",
            table,
        )
    return report_check(check_rows(rows), "both paths prove the same optima") if args.check else 0
