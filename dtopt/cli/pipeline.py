"""``dtopt pipeline``: place the twin servers on a network, then run their chain under the twin.

``dtopt pipeline --topology Agis -k 10 --duration 2000 --seed 1 [--no-twin] [--json]``
"""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

from dtopt.cli._report import metrics_summary, run_shown
from dtopt.cli.place import _eps_max, add_problem_arguments, capacity_value, topology_of
from dtopt.pipeline import CONDITIONS, scenario_from_placement
from dtopt.placement.problem import DEFAULT_EPS_MAX, PlacementProblem
from dtopt.solvers import available_methods, solve
from dtopt.twin import DigitalTwin

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``pipeline`` sub-command to the ``dtopt`` parser."""
    parser = subparsers.add_parser(
        "pipeline",
        help="place k twin servers, then run their chain (validators = servers) under the twin",
        description="Place k digital-twin servers on a network, make them the validators of a chain "
        "whose propagation latencies are the network's shortest-path latencies between them, and run "
        "that chain under digital-twin management (or a static protocol with --no-twin).",
    )
    parser.add_argument("-k", type=int, required=True, help="number of servers = validators (at least 4)")
    parser.add_argument(
        "--method", "-m", default="milp", help=f"placement method: {', '.join(available_methods())} "
        "(default milp)"
    )
    parser.add_argument(
        "--eps-max", default=str(DEFAULT_EPS_MAX),
        help=f"twin-error bound, or 'none' (default {DEFAULT_EPS_MAX})",
    )
    add_problem_arguments(parser)
    parser.add_argument(
        "--conditions", choices=CONDITIONS, default="paper",
        help="the chain's regime schedule: a preset's (" + ", ".join(CONDITIONS[:-1]) + ") or one "
        "uniform regime (default: paper)",
    )
    parser.add_argument("--duration", type=float, default=2000.0, help="simulated seconds (default: 2000)")
    parser.add_argument("--seed", type=int, default=1,
                        help="seed of the regimes, the chain and the oracle, an integer >= 0 (default: 1)")
    parser.add_argument("--protocol", default="IBFT", help="protocol at genesis (default: IBFT)")
    parser.add_argument("--replicas", type=int, default=256,
                        help="oracle Monte Carlo replicas (default: 256)")
    parser.add_argument("--no-twin", action="store_true", help="run the genesis protocol throughout")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    problem = PlacementProblem(
        topology_of(args), args.k, eps_max=_eps_max(args.eps_max), alpha=args.alpha, beta=args.beta,
        rate_km_per_ms=args.rate, capacity=capacity_value(args.capacity),
    )
    placement = solve(problem, args.method)
    scenario = scenario_from_placement(
        placement, problem, conditions=args.conditions,
        duration_s=args.duration, seed=args.seed,
    )
    protocol = scenario.rules(args.protocol).name
    twin = None
    if not args.no_twin:
        twin = DigitalTwin.from_scenario(scenario, replicas=args.replicas, seed=args.seed)
        logging.getLogger("dtopt.twin").setLevel(logging.ERROR)  # skipped intervals are counted below
    run = run_shown(scenario, protocol, args.duration, args.seed, controller=twin, desc="pipeline")
    records = [] if twin is None else twin.records
    if args.json:
        print(json.dumps({
            "placement": placement.to_dict(), "conditions": args.conditions, "seed": args.seed,
            "duration_s": args.duration, "propagation_ms": (scenario.propagation_s * 1000.0).tolist(),
            "runtime_s": run.runtime_s, "metrics": run.metrics.to_dict(),
            "decisions": [r.to_dict() for r in records],
        }, allow_nan=False))
        return 0
    print(f"placement: {problem.topology.name}, k={problem.k}, {placement.method} {placement.status}, "
          f"avg latency {placement.avg_latency_ms:.4f} ms, servers {', '.join(placement.servers)}")
    manager = "static" if twin is None else (
        f"managed by the twin ({sum(r.switched for r in records)} switches, "
        f"{sum(r.error is not None for r in records)} skipped intervals)"
    )
    print(f"chain of the {len(placement.servers)} servers: conditions {args.conditions}, "
          f"{args.duration:g} s, seed {args.seed}, genesis {protocol}, {manager}")
    print(metrics_summary(run.metrics, run.runtime_s))
    return 0
