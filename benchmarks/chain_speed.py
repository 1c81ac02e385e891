"""Speed of the message-level chain simulator: simulated seconds per wall-clock second.

    python -m benchmarks.chain_speed [--scenario paper] [--duration 1000] [--repeats 5] [--seed 1]

Runs the scenario (default: the paper preset, 10 nodes) under IBFT and BigFoot,
``--repeats`` times each on one core, and prints a Markdown table with the median
wall-clock time and the median simulated-seconds-per-second. The bar set for the
simulator is 300 simulated s per wall-clock s.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence

from benchmarks._output import BenchmarkError, BenchmarkParser, progress, run_main
from dtopt.consensus import Chain, load_scenario

BAR_SIM_S_PER_S = 300.0


def _one_run(scenario_name: str, protocol: str, duration_s: float, seed: int) -> tuple[float, int, int]:
    """Wall-clock seconds of one run (construction included), blocks, consensus messages."""
    scenario = load_scenario(scenario_name, duration_s=duration_s, seed=seed)
    start = time.perf_counter()
    chain = Chain(scenario, protocol, seed=seed)
    chain.run_until(duration_s)
    wall_s = time.perf_counter() - start
    return wall_s, len(chain.view(0.0, duration_s).blocks), sum(chain.messages_sent.values())


def main(argv: Sequence[str] | None = None) -> int:
    parser = BenchmarkParser(prog="python -m benchmarks.chain_speed", description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="paper")
    parser.add_argument("--duration", type=float, default=1000.0, help="simulated seconds (>= 1000)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.duration < 1000 or args.repeats < 1:
        raise BenchmarkError("--duration must be >= 1000 and --repeats >= 1")
    load_scenario(args.scenario, duration_s=args.duration, seed=args.seed)  # bad input: refused now

    print(f"scenario `{args.scenario}`, {args.duration:g} simulated s, "
          f"median of {args.repeats} runs, seed {args.seed}")
    print()
    print("| protocol | blocks | messages | median wall s | simulated s per wall s | messages per wall s |")
    print("|---|---:|---:|---:|---:|---:|")
    bar = progress(2 * args.repeats, "chain runs")
    for protocol in ("IBFT", "BigFoot"):
        runs = []
        for _ in range(args.repeats):
            runs.append(_one_run(args.scenario, protocol, args.duration, args.seed))
            bar.update()
        wall_s = statistics.median(r[0] for r in runs)
        _, blocks, messages = runs[0]
        print(f"| {protocol} | {blocks} | {messages} | {wall_s:.3f} | {args.duration / wall_s:,.0f} | "
              f"{messages / wall_s:,.0f} |")
    bar.close()
    print()
    print(f"bar: {BAR_SIM_S_PER_S:.0f} simulated s per wall-clock s")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main, prog="benchmarks.chain_speed"))
