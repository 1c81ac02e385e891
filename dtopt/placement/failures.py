"""How a placement fares after a single failure: each server down, each link cut.

After a failure every node re-attaches to its lowest-latency admissible surviving
server; a node left with none goes to its nearest surviving server, beyond
eps_max (counted as ``beyond_eps``); a node that can reach no server at all
(a cut link split the network, or the only server failed) is ``lost``. A
failed server is a failed twin host: the node and its links keep working. A cut
link changes the shortest paths, so latencies and hop counts (hence errors) are
recomputed with :func:`dtopt.topology.paths.shortest_paths`; links on no
shortest path from a server change nothing and are scored from the intact
network.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dtopt.placement.problem import PlacementProblem, error_of_hops
from dtopt.topology.paths import TIE_TOLERANCE_KM, shortest_paths

__all__ = ["FailureScenario", "SingleFailures", "single_failures"]


@dataclass(frozen=True)
class FailureScenario:
    """The placement after one failure.

    Attributes
    ----------
    kind : ``"server"`` or ``"link"``.
    element : the failed server's name, or the cut link's two end names.
    avg_latency_ms, max_latency_ms : over the nodes still served (ms); ``None`` if none is.
    avg_error, max_error : likewise, twin error.
    beyond_eps : nodes served beyond eps_max (no admissible surviving server).
    lost : nodes that reach no surviving server.
    """

    kind: str
    element: tuple[str, ...]
    avg_latency_ms: float | None
    max_latency_ms: float | None
    avg_error: float | None
    max_error: float | None
    beyond_eps: int
    lost: int


@dataclass(frozen=True)
class SingleFailures:
    """Every single server failure and single link failure of a placement.

    Attributes
    ----------
    scenarios : one per server, then one per link (in the topology's link order).
    mean_avg_latency_ms, worst_avg_latency_ms : mean and largest over server
        failures of the mean latency (ms); likewise ``*_link_*`` over link cuts.
    worst_max_latency_ms, worst_max_error : largest over all scenarios.
    worst_beyond_eps, worst_lost : largest node counts over all scenarios.
    """

    scenarios: tuple[FailureScenario, ...]
    mean_avg_latency_ms: float | None
    worst_avg_latency_ms: float | None
    mean_link_avg_latency_ms: float
    worst_link_avg_latency_ms: float
    worst_max_latency_ms: float
    worst_max_error: float
    worst_beyond_eps: int
    worst_lost: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with exactly this dataclass's fields."""
        return asdict(self)

    def to_json(self, **kwargs: Any) -> str:
        """One JSON object with exactly this dataclass's fields."""
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)


def single_failures(problem: PlacementProblem, servers: NDArray[np.intp]) -> SingleFailures:
    """Score ``servers`` (shape ``(k,)``, columns: candidate sites) after each single failure.

    Means over nodes are weighted by the problem's weights, like its objective."""
    names, sites = problem.topology.node_names, problem.site_names
    latency, hops = problem.latency_ms, problem.hops
    scenarios = []
    for position, server in enumerate(servers):
        kept = np.delete(servers, position)
        scenarios.append(_scenario(problem, "server", (sites[server],), latency[:, kept], hops[:, kept]))
    topo = problem.topology
    nodes = problem.sites[servers]  # the servers' node indices (the sites of a network are its nodes)
    affected = _links_on_server_paths(problem, nodes)
    for link, (u, v) in enumerate(topo.edges):
        if affected[link]:
            keep = np.arange(topo.n_links) != link
            distance_km, cut_hops = shortest_paths(problem.n, topo.edges[keep], topo.link_length_km[keep])
            cut_latency = distance_km[:, nodes] / problem.rate_km_per_ms
            cut_hops = cut_hops[:, nodes]
        else:
            cut_latency, cut_hops = latency[:, servers], hops[:, servers]
        scenarios.append(_scenario(problem, "link", (names[u], names[v]), cut_latency, cut_hops))
    return _summarise(tuple(scenarios))


def _links_on_server_paths(problem: PlacementProblem, nodes: NDArray[np.intp]) -> NDArray[np.bool_]:
    """Shape ``(m,)``: links lying on some shortest path from a server node (a superset of
    the links whose loss changes a server's distances or hop counts)."""
    topo = problem.topology
    d = topo.distance_km[nodes]  # (k, n)
    u, v = topo.edges[:, 0], topo.edges[:, 1]
    tolerance_km = 2 * TIE_TOLERANCE_KM * (problem.n + 1)
    slack = np.abs(np.abs(d[:, u] - d[:, v]) - topo.link_length_km)  # (k, m)
    return (slack <= tolerance_km).any(axis=0)


def _scenario(
    problem: PlacementProblem,
    kind: str,
    element: tuple[str, ...],
    latency: NDArray[np.float64],
    hops: NDArray[np.int64],
) -> FailureScenario:
    """Re-attach every node given latencies and hops to the surviving servers, shape ``(n, s)``."""
    n = problem.n
    if latency.shape[1] == 0:
        return FailureScenario(kind, element, None, None, None, None, 0, n)
    reachable = hops >= 0
    error = np.where(reachable, error_of_hops(np.maximum(hops, 0), problem.alpha, problem.beta), np.inf)
    admissible = reachable & (True if problem.eps_max is None else error <= problem.eps_max + 1e-12)
    preferred = np.where(admissible, latency, np.inf)
    fallback = np.where(reachable, latency, np.inf)
    has_admissible = admissible.any(axis=1)
    choice = np.where(has_admissible, np.argmin(preferred, axis=1), np.argmin(fallback, axis=1))
    rows = np.arange(n)
    served = reachable.any(axis=1)
    lost = int(n - served.sum())
    if not served.any():
        return FailureScenario(kind, element, None, None, None, None, 0, lost)
    lat, err = latency[rows, choice][served], error[rows, choice][served]
    weights = problem.demand[served]
    if weights.sum() <= 0:  # only weightless nodes are served: their plain mean
        weights = np.ones_like(weights)
    return FailureScenario(
        kind,
        element,
        float(np.average(lat, weights=weights)),
        float(lat.max()),
        float(np.average(err, weights=weights)),
        float(err.max()),
        int((served & ~has_admissible).sum()),
        lost,
    )


def _summarise(scenarios: tuple[FailureScenario, ...]) -> SingleFailures:
    def avg_of(kind: str) -> list[float]:
        return [s.avg_latency_ms for s in scenarios if s.kind == kind and s.avg_latency_ms is not None]

    server_avg, link_avg = avg_of("server"), avg_of("link")
    scored = [s for s in scenarios if s.max_latency_ms is not None]
    return SingleFailures(
        scenarios=scenarios,
        mean_avg_latency_ms=float(np.mean(server_avg)) if server_avg else None,
        worst_avg_latency_ms=max(server_avg) if server_avg else None,
        mean_link_avg_latency_ms=float(np.mean(link_avg)),
        worst_link_avg_latency_ms=max(link_avg),
        worst_max_latency_ms=max(s.max_latency_ms for s in scored),  # type: ignore[type-var]
        worst_max_error=max(s.max_error for s in scored),  # type: ignore[type-var]
        worst_beyond_eps=max(s.beyond_eps for s in scenarios),
        worst_lost=max(s.lost for s in scenarios),
    )
