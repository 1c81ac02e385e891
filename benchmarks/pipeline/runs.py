"""The pipeline benchmark's cases: place the servers, then run their chain under one strategy.

A strategy is a protocol the chain knows, run static from genesis, or ``twin``: the
digital twin choosing among its candidate protocols (by default every protocol the
chain knows), from IBFT at genesis.
Placements are computed once per (network, k, method) in the main process; the
chain cases are deduplicated by their servers (methods that find the same servers
share one run per strategy and seed) and run on the sweep back end.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from typing import Any

from dtopt.consensus import run_chain
from dtopt.consensus.protocols import PROTOCOLS
from dtopt.end_to_end import end_to_end_latency
from dtopt.errors import DtoptError
from dtopt.pipeline import scenario_from_placement, twin_workload
from dtopt.placement import PlacementProblem, PlacementResult
from dtopt.solvers import solve
from dtopt.topology import Topology, load_topology
from dtopt.twin import DigitalTwin

__all__ = ["TWIN", "ChainCase", "place", "run_case", "strategies"]

#: The managed strategy's name: the twin over every protocol the chain knows.
TWIN = "twin"
#: Heuristics are seeded with this (the placement is not what the seeds vary).
PLACEMENT_SEED = 1
_SEEDED = frozenset({"isapa", "kmpa", "rands"})


def strategies() -> tuple[str, ...]:
    """Every protocol the chain knows, static, then the twin over all of them."""
    return (*PROTOCOLS, TWIN)


@functools.cache
def _topology(network: str) -> Topology:
    return load_topology(network)


def place(network: str, k: int, method: str) -> tuple[PlacementProblem, PlacementResult, float]:
    """The placement of ``k`` servers on ``network`` by ``method`` (default error bound),
    with its wall-clock time (s)."""
    problem = PlacementProblem(_topology(network), k=k)
    options = {"seed": PLACEMENT_SEED} if method in _SEEDED else {}
    start = time.perf_counter()
    result = solve(problem, method, **options)
    return problem, result, time.perf_counter() - start


@dataclass(frozen=True)
class ChainCase:
    """One chain run: the placement's servers under one strategy and seed."""

    network: str
    k: int
    result: PlacementResult
    strategy: str
    seed: int
    load_tps: float
    tx_size_mb: float
    conditions: str
    duration_s: float
    replicas: int
    twin_protocols: tuple[str, ...] = tuple(PROTOCOLS)

    @property
    def key(self) -> tuple[Any, ...]:
        """What makes two cases the same run (the placement method does not)."""
        return (self.network, self.k, self.result.servers, tuple(sorted(self.result.assignment.items())),
                self.strategy, self.seed)


def run_case(case: ChainCase) -> dict[str, Any]:
    """Run ``case``'s chain and measure the end-to-end twin latency of its placement."""
    problem = PlacementProblem(_topology(case.network), k=case.k)
    rate = case.load_tps / problem.n  # the same load on every network: spread evenly over its nodes
    scenario = scenario_from_placement(
        case.result, problem, conditions=case.conditions, duration_s=case.duration_s, seed=case.seed,
        update_rate_per_s=rate, tx_size_mb=case.tx_size_mb,
    )
    twin = None
    genesis = case.strategy
    if case.strategy == TWIN:
        logging.getLogger("dtopt.twin").setLevel(logging.ERROR)  # skipped intervals are counted
        twin = DigitalTwin.from_scenario(scenario, protocols=case.twin_protocols, replicas=case.replicas,
                                         seed=case.seed)
        genesis = "IBFT"
    run = run_chain(scenario, genesis, case.duration_s, seed=case.seed, controller=twin)
    try:
        latency = end_to_end_latency(run.view, twin_workload(case.result, problem, rate), problem)
    except DtoptError as err:  # a server none of whose updates became final: reported, not hidden
        return {"ok": False, "why": str(err), "runtime_s": run.runtime_s}
    records = [] if twin is None else twin.records
    return {
        "ok": True,
        "network_ms": latency.network_ms,
        "ledger_s": latency.ledger_s,
        "end_to_end_s": latency.end_to_end_s,
        "max_end_to_end_s": latency.max_end_to_end_s,
        "max_error": latency.max_error,
        "final_tx": latency.final_tx,
        "submitted_tx": latency.submitted_tx,
        "throughput_tps": run.metrics.throughput_tps,
        "safety_violations": run.chain.safety_violations,
        "switches": sum(r.switched for r in records),
        "blocks_per_protocol": run.metrics.blocks_per_protocol,
        "runtime_s": run.runtime_s,
    }
