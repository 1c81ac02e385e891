"""``dtopt pipeline``: place the twin servers on a network, run the chain of their twins' updates
under the twin, and report the end-to-end twin latency per node and overall.

``dtopt pipeline --topology Agis -k 10 --duration 2000 --seed 1 [--protocol DPoS] [--no-twin] [--json]``
"""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

from dtopt.cli._report import metrics_summary, run_shown, table
from dtopt.cli.place import _eps_max, add_problem_arguments, capacity_value, model_options, topology_of
from dtopt.consensus.protocols import PROTOCOLS
from dtopt.end_to_end import EndToEndLatency, end_to_end_latency
from dtopt.errors import DtoptError
from dtopt.pipeline import CONDITIONS, DEFAULT_UPDATE_RATE_PER_S, scenario_from_placement, twin_workload
from dtopt.placement.problem import DEFAULT_EPS_MAX, PlacementProblem
from dtopt.solvers import available_methods, solve
from dtopt.topology import Topology, node_attribute
from dtopt.twin import DigitalTwin

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``pipeline`` sub-command to the ``dtopt`` parser."""
    parser = subparsers.add_parser(
        "pipeline",
        help="place k twin servers, run the chain of their twins' updates, report end-to-end latency",
        description="Place k digital-twin servers on a network, make them the validators of a chain "
        "whose propagation latencies are the network's shortest-path latencies between them and whose "
        "transactions are the twins' updates (each node's twin sends updates to its server, which "
        "submits them), run that chain under digital-twin management (or a static protocol with "
        "--no-twin), and print the end-to-end twin latency (network to the server + time to "
        "finality) per node and overall.",
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
    parser.add_argument("--protocol", default="IBFT",
                        help=f"protocol at genesis: {', '.join(PROTOCOLS)} (default: IBFT)")
    parser.add_argument(
        "--update-rate", default=str(DEFAULT_UPDATE_RATE_PER_S), metavar="RATE|ATTRIBUTE",
        help="updates per second every node's twin sends, or the name of a node attribute of the "
        f"network holding each node's rate (default {DEFAULT_UPDATE_RATE_PER_S:g})",
    )
    parser.add_argument("--tx-size", type=float, default=0.005, metavar="MB",
                        help="size of one update transaction in MB (default: 0.005)")
    parser.add_argument("--replicas", type=int, default=256,
                        help="oracle Monte Carlo replicas (default: 256)")
    parser.add_argument("--no-twin", action="store_true", help="run the genesis protocol throughout")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    topology = topology_of(args)
    problem = PlacementProblem(
        topology, args.k, eps_max=_eps_max(args.eps_max), alpha=args.alpha, beta=args.beta,
        rate_km_per_ms=args.rate, capacity=capacity_value(args.capacity), **model_options(args, topology),
    )
    placement = solve(problem, args.method)
    rates = _update_rates(args.update_rate, args.topology, problem.topology)
    scenario = scenario_from_placement(
        placement, problem, conditions=args.conditions,
        duration_s=args.duration, seed=args.seed, update_rate_per_s=rates, tx_size_mb=args.tx_size,
    )
    protocol = scenario.rules(args.protocol).name
    twin = None
    if not args.no_twin:
        twin = DigitalTwin.from_scenario(scenario, replicas=args.replicas, seed=args.seed)
        logging.getLogger("dtopt.twin").setLevel(logging.ERROR)  # skipped intervals are counted below
    run = run_shown(scenario, protocol, args.duration, args.seed, controller=twin, desc="pipeline")
    records = [] if twin is None else twin.records
    workload = twin_workload(placement, problem, rates)
    latency = end_to_end_latency(run.view, workload, problem)
    if args.json:
        print(json.dumps({
            "placement": placement.to_dict(), "conditions": args.conditions, "seed": args.seed,
            "duration_s": args.duration, "propagation_ms": (scenario.propagation_s * 1000.0).tolist(),
            "runtime_s": run.runtime_s, "metrics": run.metrics.to_dict(),
            "workload": workload.to_dict(), "end_to_end": latency.to_dict(),
            "decisions": [r.to_dict() for r in records],
        }, allow_nan=False))
        return 0
    print(f"placement: {problem.topology.name}, k={problem.k}, {placement.method} {placement.status}, "
          f"avg latency {placement.avg_latency_ms:.4f} ms, servers {', '.join(placement.servers)}")
    manager = "static" if twin is None else (
        f"managed by the twin over {', '.join(twin.protocols)} ({sum(r.switched for r in records)} switches, "
        f"{sum(r.error is not None for r in records)} skipped intervals)"
    )
    print(f"chain of the {len(placement.servers)} servers: conditions {args.conditions}, "
          f"{args.duration:g} s, seed {args.seed}, genesis {protocol}, {manager}")
    print(metrics_summary(run.metrics, run.runtime_s))
    print(f"twin updates: {workload.total_rate_per_s:g} updates/s of {args.tx_size:g} MB from "
          f"{len(workload.nodes)} nodes")
    print(_latency_table(latency))
    return 0


def _update_rates(text: str, source: str, topology: Topology) -> float | dict[str, object]:
    """``--update-rate``: a number of updates/s, else a node attribute of the network."""
    try:
        return float(text)
    except ValueError:
        pass
    values = node_attribute(source, text)
    missing = [name for name in topology.node_names if name not in values]
    if missing:
        raise DtoptError(f"--update-rate {text!r} is neither a number nor an attribute of every node "
                         f"({len(missing)} node(s) lack it, e.g. {missing[0]!r})")
    rates = {name: values[name] for name in topology.node_names}
    for name, value in rates.items():
        if isinstance(value, str):
            try:
                rates[name] = float(value)
            except ValueError:
                raise DtoptError(f"node {name!r}: attribute {text!r} is {value!r}, not a number of "
                                 "updates/s") from None
    return rates


def _latency_table(latency: EndToEndLatency) -> str:
    """End-to-end twin latency per node, then overall (update-rate-weighted)."""
    rows = [
        [n.node, n.server, f"{n.update_rate_per_s:g}", f"{n.network_ms:.3f}", _error(n.error),
         f"{n.ledger_s:.3f}", f"{n.end_to_end_s:.3f}"]
        for n in latency.nodes
    ]
    rows.append(["overall", "", "", f"{latency.network_ms:.3f}", _error(latency.max_error),
                 f"{latency.ledger_s:.3f}", f"{latency.end_to_end_s:.3f}"])
    bound = "none" if latency.eps_max is None else f"{latency.eps_max:g}"
    headers = ["node", "server", "updates/s", "network ms", "error", "ledger s", "end-to-end s"]
    return (f"end-to-end twin latency (error bound {bound}; {latency.final_tx} of "
            f"{latency.submitted_tx} updates final):\n"
            + table(headers, rows, [False, False, True, True, True, True, True]))


def _error(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
