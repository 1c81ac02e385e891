"""From placement to chain: the placed twin servers run the chain the twin manages.

:func:`scenario_from_placement` turns a placement result into a chain scenario
whose validators are the result's servers and whose propagation latencies are
the network's shortest-path latencies between them, so the two halves of dtopt
run as one pipeline::

    problem = dtopt.PlacementProblem(dtopt.load_topology("Agis"), k=10)
    result = dtopt.solve(problem, "milp")
    scenario = dtopt.scenario_from_placement(result, problem, duration_s=2000, seed=1)
    run = run_chain(scenario, "IBFT", 2000, seed=1, controller=DigitalTwin.from_scenario(scenario))
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

import numpy as np

from dtopt.consensus.config import ChainConfig
from dtopt.consensus.presets import DEFAULT_DURATION_S, PRESET_KINDS, check_fault_tolerant, preset_scenario
from dtopt.consensus.scenario import Scenario, uniform_scenario
from dtopt.errors import DtoptError
from dtopt.placement.problem import PlacementProblem
from dtopt.placement.result import PlacementResult

__all__ = ["CONDITIONS", "scenario_from_placement"]

#: The conditions a placed chain can run under: a preset's regime schedule, or one uniform regime.
CONDITIONS: Final = (*PRESET_KINDS, "uniform")
# Fields a preset's scenario may have replaced (the chain's configuration and the twin's periods).
_PRESET_FIELDS: Final = (
    frozenset(f.name for f in dataclasses.fields(ChainConfig)) - {"validators", "nodes", "propagation_s"}
) | {"state_period_s", "twin_interval_s"}


def scenario_from_placement(
    result: PlacementResult,
    problem: PlacementProblem,
    *,
    conditions: str = "paper",
    duration_s: float = DEFAULT_DURATION_S,
    seed: int = 0,
    **fields: Any,
) -> Scenario:
    """A chain scenario whose validators are the servers of a placement.

    The validators are ``result.servers`` (in node order, named as in the network);
    the other nodes of the network are not simulated. ``propagation_s[i, j]`` is
    the shortest-path latency between servers i and j in ``problem`` (its
    ``latency_ms`` at its ``rate_km_per_ms``), converted from ms to s.

    Parameters
    ----------
    result : a placement of ``problem`` with at least 4 servers (a BFT chain of
        3f + 1 validators with f >= 1).
    problem : the :class:`~dtopt.PlacementProblem` the result was solved for.
    conditions : ``"paper"``, ``"steady"``, ``"faulty"`` or ``"random"``: that preset's
        regime schedule (bandwidths redrawn in [0.7, 2] MB/s every 100 s, the last
        fifth of the servers offline in faulty regimes, 50 tx/s; see
        :func:`~dtopt.consensus.presets.preset_scenario`); ``"load-swing"``,
        ``"bandwidth-drop"``, ``"churn"`` or ``"mixed"``: changing load, bandwidth and
        validators (:mod:`dtopt.consensus.changing`); or ``"uniform"``: one
        regime as :func:`~dtopt.consensus.uniform_scenario` makes it.
    duration_s : how far a preset's regime schedule reaches (s); ignored for ``"uniform"``.
    seed : seeds a preset's bandwidth draws and outages; ignored for ``"uniform"``.
    fields : for a preset, chain configuration fields (``round_timeout_s``,
        ``max_block_mb``, ``protocol``...) and ``state_period_s``/``twin_interval_s``;
        for ``"uniform"``, :func:`~dtopt.consensus.uniform_scenario`'s options
        (``bandwidth_mbps`` MB/s, ``tx_rate_per_s`` tx/s, ``jitter_s`` s, ``offline``,
        ``regimes``...) with its defaults.

    Raises
    ------
    DtoptError : a result without a placement, servers that are not the problem's,
        fewer than 4 servers, unknown conditions or fields.
    """
    if not isinstance(problem, PlacementProblem):
        raise DtoptError(f"problem must be a PlacementProblem, got {type(problem).__name__}")
    servers = _checked_servers(result, problem)
    if conditions not in CONDITIONS:
        raise DtoptError(f"unknown conditions {conditions!r}; choose one of {', '.join(CONDITIONS)}")
    index = problem.topology.indices(servers)
    propagation_s = problem.latency_ms[np.ix_(index, index)] / 1000.0
    if conditions == "uniform":
        return uniform_scenario(len(servers), names=servers, propagation_s=propagation_s, **fields)
    unknown = sorted(set(fields) - _PRESET_FIELDS)
    if unknown:
        raise DtoptError(
            f"unknown scenario field(s) {unknown} for conditions {conditions!r}; allowed: "
            f"{sorted(_PRESET_FIELDS)}"
        )
    scenario = preset_scenario(
        conditions, duration_s, seed, validators=servers, propagation_s=propagation_s
    )
    return scenario.with_(**fields) if fields else scenario


def _checked_servers(result: PlacementResult, problem: PlacementProblem) -> tuple[str, ...]:
    """The result's servers, checked against ``problem`` and the chain's fault tolerance."""
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
