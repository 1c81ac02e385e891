"""From placement to chain: the placed twin servers run the chain of their twins' updates.

:func:`scenario_from_placement` turns a placement result into a chain scenario
whose validators are the result's servers, whose propagation latencies are the
network's shortest-path latencies between them, and whose transactions are the
twins' updates (:class:`TwinWorkload`): every node's twin sends updates to its
assigned server, which submits them to the chain. So the two halves of dtopt run
as one pipeline, and :func:`dtopt.end_to_end.end_to_end_latency` measures a
twin update from the node to finality::

    problem = dtopt.PlacementProblem(dtopt.load_topology("Agis"), k=10)
    result = dtopt.solve(problem, "milp")
    scenario = dtopt.scenario_from_placement(result, problem, duration_s=2000, seed=1)
    run = run_chain(scenario, "IBFT", 2000, seed=1, controller=DigitalTwin.from_scenario(scenario))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from dtopt.consensus.config import ChainConfig
from dtopt.consensus.presets import DEFAULT_DURATION_S, PRESET_KINDS, check_fault_tolerant, preset_scenario
from dtopt.consensus.scenario import Regime, Scenario, uniform_scenario
from dtopt.errors import DtoptError
from dtopt.placement.problem import PlacementProblem
from dtopt.placement.result import PlacementResult

__all__ = [
    "CONDITIONS", "DEFAULT_UPDATE_RATE_PER_S", "TwinWorkload", "scenario_from_placement", "twin_workload",
]

#: Updates per second every node's twin sends when no per-node rates are given: 2/s, so
#: the 25 nodes of Agis load the chain with the paper's 50 tx/s.
DEFAULT_UPDATE_RATE_PER_S: Final = 2.0

#: The conditions a placed chain can run under: a preset's regime schedule, or one uniform regime.
CONDITIONS: Final = (*PRESET_KINDS, "uniform")
# Fields a preset's scenario may have replaced (the chain's configuration and the twin's periods).
_PRESET_FIELDS: Final = (
    frozenset(f.name for f in dataclasses.fields(ChainConfig)) - {"validators", "nodes", "propagation_s"}
) | {"state_period_s", "twin_interval_s"}


@dataclass(frozen=True, eq=False)
class TwinWorkload:
    """The twins' updates under a placement: who sends how often to which server.

    Attributes
    ----------
    nodes : every node of the network, in its order, shape ``(n,)``.
    servers : the placement's servers (the chain's validators, in this order), shape ``(k,)``.
    server_of : position in ``servers`` of each node's assigned server, shape ``(n,)``.
    update_rate_per_s : each node's update rate (updates/s = tx/s), shape ``(n,)``, > 0.
    """

    nodes: tuple[str, ...]
    servers: tuple[str, ...]
    server_of: NDArray[np.intp]
    update_rate_per_s: NDArray[np.float64]

    @property
    def server_rate_per_s(self) -> NDArray[np.float64]:
        """Transactions each server submits per second, shape ``(k,)``: the sum of its nodes' rates."""
        return np.bincount(self.server_of, weights=self.update_rate_per_s, minlength=len(self.servers))

    @property
    def total_rate_per_s(self) -> float:
        """The chain's arrival rate (tx/s): every node's updates."""
        return float(self.update_rate_per_s.sum())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict: per node its server and rate, and the servers' rates."""
        return {
            "nodes": list(self.nodes), "servers": list(self.servers),
            "server": [self.servers[s] for s in self.server_of],
            "update_rate_per_s": self.update_rate_per_s.tolist(),
            "server_rate_per_s": self.server_rate_per_s.tolist(),
            "total_rate_per_s": self.total_rate_per_s,
        }


def twin_workload(
    result: PlacementResult,
    problem: PlacementProblem,
    update_rate_per_s: float | Mapping[str, float] = DEFAULT_UPDATE_RATE_PER_S,
) -> TwinWorkload:
    """The twins' updates under ``result``: every node sends to its assigned server.

    ``update_rate_per_s`` is one rate for every node (updates/s) or a mapping from
    every node name to its own rate (e.g. read from a node attribute of the network
    with :func:`dtopt.topology.node_attribute`). Rates must be finite and > 0.
    """
    servers = _checked_servers(result, problem)
    nodes = problem.topology.node_names
    missing = sorted(set(nodes) - set(result.assignment))
    if missing:
        raise DtoptError(f"the {result.method} result assigns no server to {len(missing)} node(s), "
                         f"e.g. {missing[:3]}")
    position = {name: s for s, name in enumerate(servers)}
    server_of = np.array([position[result.assignment[name]] for name in nodes], dtype=np.intp)
    if isinstance(update_rate_per_s, Mapping):
        unknown = sorted(set(update_rate_per_s) - set(nodes))
        absent = [name for name in nodes if name not in update_rate_per_s]
        if unknown or absent:
            raise DtoptError(
                "update rates must name every node of the network and no other: "
                + (f"missing {absent[:3]}" if absent else f"unknown {unknown[:3]}")
            )
        rates = [update_rate_per_s[name] for name in nodes]
    else:
        rates = [update_rate_per_s] * len(nodes)
    checked = np.array([_rate(r) for r in rates])
    return TwinWorkload(nodes=nodes, servers=servers, server_of=server_of, update_rate_per_s=checked)


def _rate(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating) \
            or not np.isfinite(value) or value <= 0:
        raise DtoptError(f"an update rate must be a finite number of updates/s > 0, got {value!r}")
    return float(value)


def scenario_from_placement(
    result: PlacementResult,
    problem: PlacementProblem,
    *,
    conditions: str = "paper",
    duration_s: float = DEFAULT_DURATION_S,
    seed: int = 0,
    update_rate_per_s: float | Mapping[str, float] = DEFAULT_UPDATE_RATE_PER_S,
    **fields: Any,
) -> Scenario:
    """A chain scenario whose validators are the servers of a placement and whose
    transactions are the twins' updates.

    The validators are ``result.servers`` (in node order, named as in the network);
    the other nodes of the network are not simulated. ``propagation_s[i, j]`` is
    the shortest-path latency between servers i and j in ``problem`` (its
    ``latency_ms`` at its ``rate_km_per_ms``), converted from ms to s.

    The workload is :func:`twin_workload`'s: every regime's arrival rate is the sum
    of the nodes' update rates, and ``tx_entry_share`` sends each server's share
    (its nodes' rates) in at that server, from where it is gossiped to the other
    pools (:meth:`~dtopt.consensus.ChainConfig.tx_pool_delay_s`). The update size is
    the chain's ``tx_size_mb`` (5 KB unless given).

    Parameters
    ----------
    result : a placement of ``problem`` with at least 4 servers (a BFT chain of
        3f + 1 validators with f >= 1).
    problem : the :class:`~dtopt.PlacementProblem` the result was solved for.
    conditions : a preset kind (``"paper"``, ``"steady"``, ``"faulty"``, ``"random"``,
        ``"load-swing"``...): that preset's regime schedule (for the paper's kinds,
        bandwidths redrawn in [0.7, 2] MB/s every 100 s and the last fifth of the
        servers offline in faulty regimes; see
        :func:`~dtopt.consensus.presets.preset_scenario`), its arrival rates scaled to
        average the twins' total rate over ``duration_s`` (a constant load becomes
        exactly the total; a swinging one keeps its shape); or ``"uniform"``: one
        regime as :func:`~dtopt.consensus.uniform_scenario` makes it.
    duration_s : how far a preset's regime schedule reaches (s); ignored for ``"uniform"``.
    seed : seeds a preset's bandwidth draws and outages; ignored for ``"uniform"``.
    update_rate_per_s : every node's twin update rate (updates/s), one number or a
        mapping from every node name to its rate (default 2/s each).
    fields : for a preset, chain configuration fields (``round_timeout_s``,
        ``max_block_mb``, ``protocol``...) and ``state_period_s``/``twin_interval_s``;
        for ``"uniform"``, :func:`~dtopt.consensus.uniform_scenario`'s options
        (``bandwidth_mbps`` MB/s, ``jitter_s`` s, ``offline``, configuration
        fields...) with its defaults. The arrival rate is the workload's, never a field.

    Raises
    ------
    DtoptError : a result without a placement, servers that are not the problem's,
        fewer than 4 servers, unknown conditions or fields, bad update rates.
    """
    workload = twin_workload(result, problem, update_rate_per_s)
    servers = workload.servers
    if conditions not in CONDITIONS:
        raise DtoptError(f"unknown conditions {conditions!r}; choose one of {', '.join(CONDITIONS)}")
    fixed = sorted({"tx_rate_per_s", "regimes", "tx_entry_share"} & set(fields))
    if fixed:
        raise DtoptError(f"{fixed} come from the twins' updates; set update_rate_per_s (per node) instead")
    index = problem.topology.indices(servers)
    # Node to node: the problem's own matrix covers its candidate sites only.
    propagation_s = problem.topology.latency_ms(problem.rate_km_per_ms)[np.ix_(index, index)] / 1000.0
    share = tuple(workload.server_rate_per_s.tolist())
    if conditions == "uniform":
        return uniform_scenario(
            len(servers), names=servers, propagation_s=propagation_s,
            tx_rate_per_s=workload.total_rate_per_s, tx_entry_share=share, **fields,
        )
    unknown = sorted(set(fields) - _PRESET_FIELDS)
    if unknown:
        raise DtoptError(
            f"unknown scenario field(s) {unknown} for conditions {conditions!r}; allowed: "
            f"{sorted(_PRESET_FIELDS)}"
        )
    scenario = preset_scenario(
        conditions, duration_s, seed, validators=servers, propagation_s=propagation_s
    )
    regimes = _scaled_load(scenario.regimes, workload.total_rate_per_s, duration_s)
    return scenario.with_(regimes=regimes, tx_entry_share=share, **fields)


def _scaled_load(regimes: tuple[Regime, ...], total_per_s: float, duration_s: float) -> tuple[Regime, ...]:
    """The preset's regimes with their arrival rates scaled so that their time average over
    ``[0, duration_s]`` is the twins' total rate: a constant preset then carries exactly the
    total, and a swinging load keeps its shape around it."""
    starts = np.array([r.start_s for r in regimes])
    ends = np.append(starts[1:], max(duration_s, starts[-1]))
    rates = np.array([r.tx_rate_per_s for r in regimes])
    span_s = np.clip(ends, None, duration_s) - np.clip(starts, None, duration_s)
    mean = float(rates @ span_s / span_s.sum()) if span_s.sum() > 0 else float(rates[0])
    if mean <= 0:  # no load to shape: the total throughout
        return tuple(dataclasses.replace(r, tx_rate_per_s=total_per_s) for r in regimes)
    return tuple(dataclasses.replace(r, tx_rate_per_s=r.tx_rate_per_s * total_per_s / mean) for r in regimes)


def _checked_servers(result: PlacementResult, problem: PlacementProblem) -> tuple[str, ...]:
    """The result's servers, checked against ``problem`` and the chain's fault tolerance."""
    if not isinstance(problem, PlacementProblem):
        raise DtoptError(f"problem must be a PlacementProblem, got {type(problem).__name__}")
    if not isinstance(result, PlacementResult):
        raise DtoptError(f"result must be a PlacementResult, got {type(result).__name__}")
    if not result.servers:
        why = f": {result.reason}" if result.reason else ""
        raise DtoptError(
            f"the {result.method} result (status {result.status}) has no placement to run a chain on{why}"
        )
    unknown = sorted(set(result.servers) - set(problem.topology.node_names))
    if unknown or len(result.servers) != problem.k:
        raise DtoptError(
            f"the result's {len(result.servers)} servers are not a placement of this problem "
            f"({problem.topology.name}, k={problem.k})"
            + (f": {unknown[:5]} are not its nodes" if unknown else "")
        )
    check_fault_tolerant(len(result.servers), "a chain of placed servers")
    return tuple(result.servers)
