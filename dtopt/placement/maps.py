"""A placement on the map: a PNG of the network and a GeoJSON file a GIS tool reads.

Nodes stand at their coordinates (``Topology.positions``: longitude and latitude in
degrees for geographic networks, planar coordinates for synthetic ones), servers are
marked, and every node is joined to the server that hosts its twin. Where the problem
has capacities, each server shows its load against its capacity; with single-failure
scores, each server shows the mean latency the network falls to when it fails, and the
links whose cut leaves a node cut off or beyond the error bound are drawn in red.

GeoJSON (RFC 7946) holds one ``Point`` per node (``role`` ``"server"`` or ``"node"``;
``geometry`` ``null`` where the node has no coordinates), one ``LineString`` per
node-to-server assignment (``kind`` ``"assignment"``) and one per network link
(``kind`` ``"link"``), with latencies in ms and lengths in km. A node without an
admissible server (an infeasible placement) has ``server`` ``null`` and no assignment line.

Both take the placement as its servers and score it with :func:`~dtopt.placement.evaluate.score`,
the one assignment rule every method is scored by.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dtopt.errors import DtoptError
from dtopt.placement.evaluate import Scores, score
from dtopt.placement.failures import SingleFailures
from dtopt.placement.problem import PlacementProblem

__all__ = ["placement_geojson", "plot_placement"]


def _point(xy: NDArray[np.float64]) -> dict[str, Any] | None:
    return None if np.isnan(xy).any() else {"type": "Point", "coordinates": [float(xy[0]), float(xy[1])]}


def _line(a: NDArray[np.float64], b: NDArray[np.float64]) -> dict[str, Any] | None:
    if np.isnan(a).any() or np.isnan(b).any():
        return None
    return {"type": "LineString", "coordinates": [[float(a[0]), float(a[1])], [float(b[0]), float(b[1])]]}


def _scored(problem: PlacementProblem, servers: Any, failures: bool) -> Scores:
    if servers is None or len(servers) == 0:
        raise DtoptError("no placement to draw: no servers given")
    if problem.topology.site_names is not None:
        raise DtoptError("no map of a matrix whose sites are apart from its nodes: they have no places")
    return score(problem, servers, failures="single" if failures else None)


def _server_notes(problem: PlacementProblem, scored: Scores) -> dict[int, dict[str, Any]]:
    """Per server (by column): its load (twins hosted), its capacity (capacitated problems)
    and the mean latency when it fails (with failure scores)."""
    hosts = scored.assignment[scored.assignment >= 0]
    load = np.bincount(hosts, minlength=problem.n_sites)
    notes: dict[int, dict[str, Any]] = {int(j): {"load": int(load[j])} for j in scored.servers}
    if problem.capacity is not None:
        for j in scored.servers:
            notes[int(j)]["capacity"] = int(problem.capacities[j])
    if scored.failures is not None:
        names = problem.site_names
        down = {s.element[0]: s.avg_latency_ms for s in scored.failures.scenarios if s.kind == "server"}
        for j in scored.servers:
            notes[int(j)]["avg_latency_if_down_ms"] = down.get(names[j])
    return notes


def _critical_links(failures: SingleFailures | None) -> set[frozenset[str]]:
    """Links whose cut leaves some node cut off or beyond the error bound."""
    if failures is None:
        return set()
    return {frozenset(s.element) for s in failures.scenarios if s.kind == "link" and (s.lost or s.beyond_eps)}


def placement_geojson(
    problem: PlacementProblem, servers: Any, *, method: str = "", failures: bool = False
) -> dict[str, Any]:
    """The placement ``servers`` (node names or indices) of ``problem`` as a GeoJSON
    ``FeatureCollection`` (a dict); ``failures=True`` adds the single-failure scores."""
    topo = problem.topology
    scored = _scored(problem, servers, failures)
    columns = scored.assignment  # the problem's columns: its candidate sites
    nodes = np.arange(problem.n)
    served = columns >= 0
    latency = np.where(served, problem.latency_ms[nodes, np.maximum(columns, 0)], 0.0)
    error = None if problem.error is None else problem.error[nodes, np.maximum(columns, 0)]
    hosts = np.where(served, problem.sites[np.maximum(columns, 0)], -1)  # node indices
    notes = {int(problem.sites[j]): note for j, note in _server_notes(problem, scored).items()}
    names, pos = topo.node_names, topo.positions
    features: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        props = {"name": name, "role": "server" if i in notes else "node",
                 "server": names[hosts[i]] if served[i] else None,
                 "latency_ms": float(latency[i]) if served[i] else None,
                 "error": float(error[i]) if served[i] and error is not None else None, **notes.get(i, {})}
        features.append({"type": "Feature", "geometry": _point(pos[i]), "properties": props})
    for i in np.flatnonzero(served & (hosts != nodes)):
        props = {"kind": "assignment", "node": names[i], "server": names[hosts[i]],
                 "latency_ms": float(latency[i])}
        features.append({"type": "Feature", "geometry": _line(pos[i], pos[hosts[i]]), "properties": props})
    critical = _critical_links(scored.failures)
    for (a, b), length in zip(topo.edges, topo.link_length_km, strict=True):
        props = {"kind": "link", "nodes": [names[a], names[b]], "length_km": float(length)}
        if scored.failures is not None:
            props["critical"] = frozenset((names[a], names[b])) in critical
        features.append({"type": "Feature", "geometry": _line(pos[a], pos[b]), "properties": props})
    return {"type": "FeatureCollection", "name": topo.name, "properties": {
        "method": method, "k": problem.k, "servers": [problem.site_names[j] for j in scored.servers],
        "feasible": scored.feasible, "avg_latency_ms": scored.avg_latency_ms,
        "max_latency_ms": scored.max_latency_ms}, "features": features}


def _layout(problem: PlacementProblem) -> tuple[NDArray[np.float64], str]:
    """Coordinates to draw at: the nodes' own, or a seeded spring layout when none has any."""
    pos = problem.topology.positions
    if not np.isnan(pos).all():
        return pos, ""
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(range(problem.n))
    graph.add_edges_from(map(tuple, problem.topology.edges))
    drawn = nx.spring_layout(graph, seed=0)
    return np.array([drawn[i] for i in range(problem.n)]), " (no coordinates: spring layout)"


def plot_placement(
    problem: PlacementProblem, servers: Any, path: str | Path, *, method: str = "", failures: bool = False
) -> Path:
    """Draw the placement ``servers`` of ``problem`` as a PNG map at ``path`` (see the module
    docstring); ``failures=True`` marks each server's failure and the critical links. The path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    topo = problem.topology
    scored = _scored(problem, servers, failures)
    hosts = scored.assignment
    pos, how = _layout(problem)
    notes = _server_notes(problem, scored)
    critical = _critical_links(scored.failures)
    fig, ax = plt.subplots(figsize=(8.0, 6.5))
    for a, b in topo.edges:
        red = frozenset((topo.node_names[a], topo.node_names[b])) in critical
        ax.plot(pos[[a, b], 0], pos[[a, b], 1], color="tab:red" if red else "0.75",
                lw=1.6 if red else 0.8, ls="--" if red else "-", zorder=1)
    palette = plt.cm.tab10.colors if problem.k <= 10 else plt.cm.tab20.colors
    colour = {int(j): palette[c % len(palette)] for c, j in enumerate(scored.servers)}
    grey = (0.6, 0.6, 0.6, 1.0)
    node_of = problem.sites  # column -> node index
    for i in np.flatnonzero(hosts >= 0):
        j = int(hosts[i])
        ends = [i, node_of[j]]
        ax.plot(pos[ends, 0], pos[ends, 1], color=colour[j], lw=0.9, alpha=0.8, zorder=2)
    ax.scatter(pos[:, 0], pos[:, 1], s=18, c=[colour.get(int(j), grey) for j in hosts], edgecolors="k",
               linewidths=0.3, zorder=3)
    at = pos[node_of[scored.servers]]
    ax.scatter(at[:, 0], at[:, 1], s=160, marker="*",
               c=[colour[int(j)] for j in scored.servers], edgecolors="k", linewidths=0.8, zorder=4)
    for j in scored.servers:
        note = notes[int(j)]
        text = [problem.site_names[j]]
        if "capacity" in note:
            text.append(f"{note['load']}/{note['capacity']} twins")
        if note.get("avg_latency_if_down_ms") is not None:
            text.append(f"if down: {note['avg_latency_if_down_ms']:.2f} ms")
        ax.annotate("\n".join(text), pos[node_of[j]], xytext=(5, 5), textcoords="offset points",
                    fontsize=7, zorder=5)
    missing = int(np.isnan(pos).any(axis=1).sum())
    quality = (f"mean latency {scored.avg_latency_ms:.3f} ms" if scored.feasible
               else f"{len(scored.uncovered)} node(s) without an admissible server (grey)")
    ax.set_title(
        f"{topo.name}: {method + ', ' if method else ''}k = {problem.k}, {quality}{how}"
        + (f"; {missing} node(s) without coordinates not drawn" if missing else "")
        + ("; red dashed: links whose cut strands a node" if critical else ""),
        fontsize=9,
    )
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
