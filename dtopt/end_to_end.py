"""End-to-end twin latency: a twin update from its node to finality on the ledger.

A node's twin sends an update to its assigned server (the placement's network
latency), the server submits it as a transaction, and the update is done when that
transaction is final. :func:`end_to_end_latency` measures this on a chain run of
:func:`~dtopt.scenario_from_placement`'s scenario:

    end_to_end_s(node) = network_ms(node, server) / 1000 + ledger_s(server)

``ledger_s(server)`` is the mean, over the transactions submitted at that server
that became final in the run, of finality time minus submission (gossip to the
other pools included). A node's updates are a random share of its server's
submissions (the server's stream is the superposition of its nodes' Poisson
streams), so the server's mean is the node's. Overall figures weight the nodes by
their update rates: the mean over updates.

Units: ms for network latency (as the placement reports it), s for the chain.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from dtopt.consensus.view import ChainView
from dtopt.errors import DtoptError
from dtopt.pipeline import TwinWorkload
from dtopt.placement.problem import PlacementProblem, error_of_hops

__all__ = ["EndToEndLatency", "NodeLatency", "end_to_end_latency"]


@dataclass(frozen=True)
class NodeLatency:
    """One node's twin updates, end to end.

    Attributes
    ----------
    node, server : the node and its assigned server.
    update_rate_per_s : its twin's update rate (updates/s).
    network_ms : latency from the node to its server (ms; 0 for a server's own twin).
    error : its twin error at that server (``None`` when hop counts are unknown).
    ledger_s : mean time from submission at the server to finality (s).
    end_to_end_s : ``network_ms / 1000 + ledger_s`` (s).
    """

    node: str
    server: str
    update_rate_per_s: float
    network_ms: float
    error: float | None
    ledger_s: float
    end_to_end_s: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with exactly this dataclass's fields."""
        return asdict(self)


@dataclass(frozen=True)
class EndToEndLatency:
    """End-to-end twin latency of one run, per node and overall.

    Attributes
    ----------
    nodes : one :class:`NodeLatency` per node of the network, in its order.
    network_ms : update-rate-weighted mean network latency (ms).
    ledger_s : update-rate-weighted mean ledger latency (s).
    end_to_end_s : update-rate-weighted mean end-to-end latency (s) = network + ledger.
    max_end_to_end_s : the slowest node's mean end-to-end latency (s).
    max_error : the largest twin error of a node at its server (``None`` if unknown).
    eps_max : the placement's error bound (``None``: unconstrained).
    submitted_tx : transactions submitted in the run; final_tx : those final by its end.
    """

    nodes: tuple[NodeLatency, ...]
    network_ms: float
    ledger_s: float
    end_to_end_s: float
    max_end_to_end_s: float
    max_error: float | None
    eps_max: float | None
    submitted_tx: int
    final_tx: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with exactly this dataclass's fields."""
        return {**asdict(self), "nodes": [n.to_dict() for n in self.nodes]}


def end_to_end_latency(view: ChainView, workload: TwinWorkload, problem: PlacementProblem) -> EndToEndLatency:
    """End-to-end twin latency from a run's view (:meth:`Chain.view` of the whole run).

    ``view`` must come from a chain of ``scenario_from_placement(result, problem, ...)``
    with this ``workload`` (its validators are the workload's servers, in order).
    DtoptError when they do not match, or when no transaction submitted at some
    server became final in the run (run longer).
    """
    if tuple(view.validators) != workload.servers:
        raise DtoptError("the run's validators are not the workload's servers; run the scenario "
                         "scenario_from_placement made for this placement")
    if len(view.tx_entry) and np.any(view.tx_entry < 0):
        raise DtoptError("the run's transactions have no entry servers; run the scenario "
                         "scenario_from_placement made for this placement")
    k = len(workload.servers)
    ledger_sum = np.zeros(k)
    final = np.zeros(k, dtype=np.int64)
    first_id = int(view.tx_ids[0]) if len(view.tx_ids) else 0
    for block in view.blocks:
        index = block.tx_ids - first_id
        index = index[(index >= 0) & (index < len(view.tx_ids))]
        entry = view.tx_entry[index]
        ledger_sum += np.bincount(entry, weights=block.committed_s - view.tx_submitted_s[index], minlength=k)
        final += np.bincount(entry, minlength=k)
    if np.any(final == 0):
        empty = workload.servers[int(np.argmin(final))]
        raise DtoptError(f"no transaction submitted at server {empty!r} became final in the run; run longer")
    ledger_s = ledger_sum / final  # per server
    index = problem.topology.indices(workload.nodes)
    served = problem.topology.indices(workload.servers)[workload.server_of]
    # node to node: the problem's own matrices cover its candidate sites only
    network_ms = problem.topology.latency_ms(problem.rate_km_per_ms)[index, served]
    error = (error_of_hops(problem.topology.hops[index, served], problem.alpha, problem.beta)
             if problem.topology.has_hops else None)
    node_ledger_s = ledger_s[workload.server_of]
    node_total_s = network_ms / 1000.0 + node_ledger_s
    rate = workload.update_rate_per_s
    nodes = tuple(
        NodeLatency(
            node=name, server=workload.servers[workload.server_of[i]], update_rate_per_s=float(rate[i]),
            network_ms=float(network_ms[i]), error=None if error is None else float(error[i]),
            ledger_s=float(node_ledger_s[i]), end_to_end_s=float(node_total_s[i]),
        )
        for i, name in enumerate(workload.nodes)
    )
    weight = rate / rate.sum()
    return EndToEndLatency(
        nodes=nodes,
        network_ms=float(weight @ network_ms),
        ledger_s=float(weight @ node_ledger_s),
        end_to_end_s=float(weight @ node_total_s),
        max_end_to_end_s=float(node_total_s.max()),
        max_error=None if error is None else float(error.max()),
        eps_max=problem.eps_max,
        submitted_tx=len(view.tx_ids),
        final_tx=int(final.sum()),
    )
