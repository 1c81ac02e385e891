"""``dtopt twin``: run the chain under digital-twin management.

``dtopt twin run --scenario paper --duration 2000 --seed 1 [--json]``
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from dtopt.consensus.chain import run_chain
from dtopt.consensus.scenario import SCENARIOS, load_scenario
from dtopt.twin import ANTICIPATION, DigitalTwin

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``twin`` sub-command (with its ``run`` action) to the ``dtopt`` parser."""
    parser = subparsers.add_parser("twin", help="dynamic consensus selection by the digital twin (MAPE-K)")
    actions = parser.add_subparsers(dest="action", required=True)
    run = actions.add_parser("run", help="run a scenario under twin management; print decisions and metrics")
    run.add_argument(
        "--scenario", default="paper",
        help=f"preset ({', '.join(SCENARIOS)}) or a .toml/.json scenario file (default: paper)",
    )
    run.add_argument("--duration", type=float, default=2000.0, help="simulated seconds (default: 2000)")
    run.add_argument("--seed", type=int, default=1, help="seed of the chain and the oracle (default: 1)")
    run.add_argument("--protocol", default="IBFT", help="protocol at genesis (default: IBFT)")
    run.add_argument("--replicas", type=int, default=256, help="oracle Monte Carlo replicas (default: 256)")
    run.add_argument("--hysteresis", type=float, default=0.0,
                     help="relative predicted gain needed to switch, in [0, 1) (default: 0)")
    run.add_argument("--anticipate", choices=ANTICIPATION, default="seasonal",
                     help="use the history of inferred states: seasonal (decide for the forecast "
                          "of the next interval once the states repeat periodically) or off "
                          "(reactive) (default: seasonal)")
    run.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    run.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario, duration_s=args.duration, seed=args.seed)
    protocol = scenario.rules(args.protocol).name
    twin = DigitalTwin.from_scenario(
        scenario,
        replicas=args.replicas,
        seed=args.seed,
        hysteresis=args.hysteresis,
        anticipate=args.anticipate,
    )
    result = run_chain(scenario, protocol, duration_s=args.duration, seed=args.seed, controller=twin)
    metrics = result.metrics.as_dict()
    if args.json:
        print(json.dumps({
            "scenario": args.scenario, "seed": args.seed, "duration_s": args.duration,
            "runtime_s": result.runtime_s, "metrics": metrics,
            "decisions": [r.as_dict() for r in twin.records],
        }))
        return 0
    print(f"twin run: scenario {args.scenario}, {args.duration:g} s, seed {args.seed}, "
          f"genesis protocol {protocol}, anticipation {args.anticipate}")
    print(f"{'t (s)':>8}  {'in force':8}  {'chosen':8}  {'switch':6}  {'offline':12}  "
          f"{'decided for':32}  predicted latency (s)")
    for r in twin.records:
        if r.error is not None:
            print(f"{r.t_s:8.0f}  {r.in_force:8}  {r.chosen:8}  {'-':6}  skipped: {r.error}")
            continue
        predicted = ", ".join(f"{k} {v:.2f}" for k, v in r.predicted_latency_s.items())
        basis = " ".join(f"{name} {p:.0%}" if p < 1 else name for name, p in r.basis.items())
        print(f"{r.t_s:8.0f}  {r.in_force:8}  {r.chosen:8}  {'yes' if r.switched else 'no':6}  "
              f"{','.join(r.offline) or '-':12}  {basis:32}  {predicted}")
    per_protocol = ", ".join(f"{k} {v}" for k, v in metrics["blocks_per_protocol"].items())
    print(f"mean tx latency {metrics['mean_tx_latency_s']:.3f} s, mean inter-block "
          f"{metrics['mean_interblock_s']:.3f} s, throughput {metrics['throughput_tps']:.3f} tx/s, "
          f"blocks {metrics['n_blocks']} ({per_protocol}), runtime {result.runtime_s:.2f} s")
    return 0
