"""``dtopt chain``: run the message-level chain simulator on a scenario.

``dtopt chain run --scenario paper --protocol IBFT --duration 1000 --seed 1 [--block-mb MB]
[--interval-s S] [--timeout-s S] [--json] [--out DIR]``
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from dtopt.cli._report import add_configuration_arguments, configured, metrics_summary, run_shown, write_run
from dtopt.consensus.loading import load_scenario
from dtopt.consensus.presets import SCENARIOS
from dtopt.twin.configure import configuration_of

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``chain`` sub-command (with its ``run`` action) to the ``dtopt`` parser."""
    parser = subparsers.add_parser(
        "chain", help="simulate the permissioned chain (IBFT / BigFoot) message by message"
    )
    actions = parser.add_subparsers(dest="action", required=True)
    run = actions.add_parser("run", help="run one scenario under one protocol and print its metrics")
    run.add_argument(
        "--scenario", default="paper",
        help=f"preset ({', '.join(SCENARIOS)}) or a .toml/.json/.yaml scenario file (default: paper)",
    )
    run.add_argument("--protocol", default="IBFT", help="IBFT, BigFoot or DPoS (default: IBFT)")
    run.add_argument("--duration", type=float, default=1000.0, help="simulated seconds (default: 1000)")
    run.add_argument("--seed", type=int, default=1, help="random seed, an integer >= 0 (default: 1)")
    add_configuration_arguments(run)
    run.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    run.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    scenario = configured(load_scenario(args.scenario, duration_s=args.duration, seed=args.seed), args)
    protocol = scenario.rules(args.protocol).name
    if args.out:
        from dtopt.cli._out import output_dir

        output_dir(args.out)  # refused before the run, not after it
    result = run_shown(scenario, protocol, args.duration, args.seed, desc=f"chain {protocol}")
    m = result.metrics
    out = {"scenario": args.scenario, "protocol": protocol, "seed": args.seed,
           "duration_s": args.duration, "runtime_s": result.runtime_s,
           "configuration": {**configuration_of(scenario.config, timer=True).to_dict(), "protocol": protocol},
           **m.to_dict()}
    if args.out:
        write_run(args.out, out, result, f"chain run: {args.scenario}, {protocol}, seed {args.seed}")
    if args.json:
        print(json.dumps(out, allow_nan=False))
        return 0
    print(f"chain run: scenario {args.scenario}, protocol {protocol}, {scenario.round_timer} round timer, "
          f"{args.duration:g} s, seed {args.seed}")
    print(metrics_summary(m, result.runtime_s))
    return 0

