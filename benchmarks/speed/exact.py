"""Speed of the exact methods on the two reference cases of docs/performance.md.

    python -m benchmarks.exact_speed [--repeats 7]

- EOPA on Agis, k = 5 (C(25, 5) = 53,130 placements, default eps_max).
- MILP on topozoo/TataNld (143 nodes), k = 5, unconstrained, model build included.

Prints a Markdown table of medians (and min/max) over repeats. The first MILP
call of a process also pays for importing Pyomo and HiGHS; one untimed warm-up
solve on a tiny instance keeps that out of the figures, and its cost is printed
separately.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Sequence

from benchmarks.common.output import BenchmarkError, BenchmarkParser, progress
from dtopt import PlacementProblem, load_topology, solve


def _timed(problem: PlacementProblem, method: str, repeats: int) -> tuple[list[float], float]:
    runtimes, objective = [], math.nan
    for _ in range(repeats):
        result = solve(problem, method)
        runtimes.append(result.runtime_s)
        objective = result.avg_latency_ms
    return runtimes, objective


def main(argv: Sequence[str] | None = None) -> int:
    parser = BenchmarkParser(prog="python -m benchmarks.exact_speed", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per case (default 7)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        raise BenchmarkError(f"--repeats must be >= 1, got {args.repeats}")

    agis = load_topology("Agis")
    tata = load_topology("topozoo/TataNld")
    start = time.perf_counter()
    solve(PlacementProblem(agis, 2), "milp")  # imports Pyomo and highspy
    warmup_s = time.perf_counter() - start

    cases = [
        ("eopa", "Agis", PlacementProblem(agis, 5), "50 ms"),
        ("milp", "TataNld", PlacementProblem(tata, 5, eps_max=None), "1.5 s"),
    ]
    print(
        "| method | network | n | k | eps_max | placements C(n,k) | avg latency ms "
        "| median s | min s | max s | target |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    bar = progress(len(cases), "exact methods")
    for method, name, problem, target in cases:
        runtimes, objective = _timed(problem, method, args.repeats)
        bar.update()
        print(
            f"| {method} | {name} | {problem.n} | {problem.k} | {problem.eps_max} "
            f"| {math.comb(problem.n, problem.k):,} | {objective:.6f} | {statistics.median(runtimes):.4f} "
            f"| {min(runtimes):.4f} | {max(runtimes):.4f} "
            f"| < {target} |"
        )
    bar.close()
    print(
        f"\n(first MILP call of the process, importing Pyomo and HiGHS: {warmup_s:.2f} s, not included above)"
    )
    return 0
