"""Speed of the message-level chain simulator: simulated seconds per wall-clock second.

    python -m benchmarks.chain_speed [--scenario paper] [--duration 1000] [--repeats 5] [--seed 1]
                                     [--protocols IBFT BigFoot DPoS] [--against REV]

Runs the scenario (default: the paper preset, 10 nodes) under each protocol (default: IBFT, BigFoot, DPoS),
``--repeats`` times each on one core, and prints a Markdown table with the median
wall-clock time and the median simulated-seconds-per-second (per wall-clock second,
and per CPU second, the steadier figure on a loaded machine). The bar set for the
simulator is 300 simulated s per wall-clock s.

``--against REV`` also times git revision ``REV``'s simulator side by side: every
repeat runs the working tree and ``REV`` alternately, each in a fresh
interpreter, and the table adds ``REV``'s median and the ratio of the medians
(working tree / REV, wall and CPU time; above 1 = slower). Pin the process to
one core (``taskset -c 1``) for comparable numbers; on a loaded machine the CPU
time ratio is the steadier one.
"""


from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.common.output import BenchmarkError, BenchmarkParser, progress
from benchmarks.speed.revision import CURRENT, export_revision, run_snippet
from dtopt.consensus import Chain, get_protocol, load_scenario

BAR_SIM_S_PER_S = 300.0


def _one_run(scenario_name: str, protocol: str, duration_s: float, seed: int
             ) -> tuple[float, int, int, float]:
    """Wall-clock seconds of one run (construction included), blocks, consensus messages, CPU seconds."""
    scenario = load_scenario(scenario_name, duration_s=duration_s, seed=seed)
    start, cpu = time.perf_counter(), time.process_time()
    chain = Chain(scenario, protocol, seed=seed)
    chain.run_until(duration_s)
    wall_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    return wall_s, len(chain.view(0.0, duration_s).blocks), sum(chain.messages_sent.values()), cpu_s


_SNIPPET = """
import json, time
from dtopt.consensus import Chain, load_scenario
scenario = load_scenario({scenario!r}, duration_s={duration!r}, seed={seed!r})
start, cpu = time.perf_counter(), time.process_time()
chain = Chain(scenario, {protocol!r}, seed={seed!r})
chain.run_until({duration!r})
wall_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu
blocks = len(chain.view(0.0, {duration!r}).blocks)
print(json.dumps([wall_s, blocks, sum(chain.messages_sent.values()), cpu_s]))
"""


def _compare(args: argparse.Namespace) -> int:
    """Working tree vs ``args.against``, alternating fresh interpreters."""
    print(f"scenario `{args.scenario}`, {args.duration:g} simulated s, median of {args.repeats} runs, "
          f"seed {args.seed}; working tree vs `{args.against}`, alternating")
    print()
    print("| protocol | blocks | median wall s | median wall s at REV | wall ratio (tree / REV) "
          "| CPU ratio (tree / REV) | same blocks+messages |")
    print("|---|---:|---:|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        old_tree = export_revision(args.against, Path(tmp))
        for protocol in args.protocols:
            code = _SNIPPET.format(scenario=args.scenario, duration=args.duration, seed=args.seed,
                                   protocol=protocol)
            new, old = [], []
            for _ in range(args.repeats):
                new.append(run_snippet(CURRENT, code))
                old.append(run_snippet(old_tree, code))
            new_s = statistics.median(r[0] for r in new)
            old_s = statistics.median(r[0] for r in old)
            cpu_ratio = statistics.median(r[3] for r in new) / statistics.median(r[3] for r in old)
            same = json.dumps(new[0][1:3]) == json.dumps(old[0][1:3])
            print(f"| {protocol} | {new[0][1]} | {new_s:.3f} | {old_s:.3f} | {new_s / old_s:.3f} | "
                  f"{cpu_ratio:.3f} | {same} |")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = BenchmarkParser(prog="python -m benchmarks.chain_speed", description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="paper")
    parser.add_argument("--duration", type=float, default=1000.0, help="simulated seconds (>= 1000)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--protocols", nargs="+", default=["IBFT", "BigFoot", "DPoS"],
                        help="protocols to time (default: IBFT BigFoot DPoS; REV must know them)")
    parser.add_argument("--against", default=None, metavar="REV",
                        help="also time git revision REV side by side (e.g. main)")
    args = parser.parse_args(argv)
    if args.duration < 1000 or args.repeats < 1:
        raise BenchmarkError("--duration must be >= 1000 and --repeats >= 1")
    load_scenario(args.scenario, duration_s=args.duration, seed=args.seed)  # bad input: refused now
    args.protocols = list(dict.fromkeys(get_protocol(p).name for p in args.protocols))
    if args.against:
        return _compare(args)

    print(f"scenario `{args.scenario}`, {args.duration:g} simulated s, "
          f"median of {args.repeats} runs, seed {args.seed}")
    print()
    print("| protocol | blocks | messages | median wall s | simulated s per wall s | messages per wall s "
          "| simulated s per CPU s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    bar = progress(len(args.protocols) * args.repeats, "chain runs")
    for protocol in args.protocols:
        runs = []
        for _ in range(args.repeats):
            runs.append(_one_run(args.scenario, protocol, args.duration, args.seed))
            bar.update()
        wall_s = statistics.median(r[0] for r in runs)
        cpu_s = statistics.median(r[3] for r in runs)
        _, blocks, messages, _ = runs[0]
        print(f"| {protocol} | {blocks} | {messages} | {wall_s:.3f} | {args.duration / wall_s:,.0f} | "
              f"{messages / wall_s:,.0f} | {args.duration / cpu_s:,.0f} |")
    bar.close()
    print()
    print(f"bar: {BAR_SIM_S_PER_S:.0f} simulated s per wall-clock s")
    return 0
