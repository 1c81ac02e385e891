"""Loading networks from topohub, GML/GraphML files or networkx graphs.

Raw Topology Zoo files are messy: parallel links, nodes without coordinates,
several components. Each mess has a policy the caller chooses; the defaults are
stated in :func:`load_topology` and every change made is recorded in
``Topology.notes`` and ``Topology.dropped_nodes``.
"""

from __future__ import annotations

import difflib
import importlib.resources
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import networkx as nx
import numpy as np
import topohub

from dtopt.errors import DtoptError
from dtopt.topology.attributes import check_degrees, link_lengths_km, node_names, node_positions
from dtopt.topology.files import FILE_SUFFIXES, read_graph_file
from dtopt.topology.geo import great_circle_km
from dtopt.topology.model import Topology

__all__ = ["TopologyInfo", "list_topologies", "load_topology", "node_attribute"]

MissingCoordinates = Literal["refuse", "impute", "drop"] | float
Components = Literal["largest", "refuse"]


def load_topology(
    source: str | os.PathLike[str] | nx.Graph,
    *,
    missing_coordinates: MissingCoordinates = "refuse",
    components: Components = "largest",
    length_attribute: str | None = None,
) -> Topology:
    """Load a network and compute its distance and hop matrices.

    Parameters
    ----------
    source : a topohub key (``"topozoo/Agis"``, ``"gabriel/300/0"``,
        ``"sndlib/germany50"``), a bare Topology Zoo name (``"Agis"``), the path of a
        GML or GraphML file, or a ``networkx`` graph (multi-graphs too).
    missing_coordinates : what to do with a link whose length is not given and one of
        whose endpoints has no coordinates:

        - ``"refuse"`` (default): raise, naming the nodes; never guess silently.
        - ``"impute"``: place such a node at the mean position of its located
          neighbours (repeated outwards until every node is placed).
        - ``"drop"``: remove such nodes and their links.
        - a number: give every such link this length in km.

        Only nodes that the ``components`` policy keeps count.
    components : ``"largest"`` (default) keeps the largest connected component and
        records the rest in ``dropped_nodes``; ``"refuse"`` raises instead.
    length_attribute : link attribute holding the length in km; by default ``dist``
        (topohub) or ``length_km`` when present, else the great-circle distance
        between the endpoints' ``Latitude``/``Longitude`` (Topology Zoo) or
        ``pos = (lon, lat)`` (topohub). A named attribute that no link has is an
        error; links without it fall back to the great-circle distance.

    Parallel links always collapse to the shortest, self-loops are dropped, and a
    directed graph is read as undirected; each is recorded in ``Topology.notes``.
    Coordinates must be finite degrees in range and lengths finite km >= 0.
    """
    _check_policies(missing_coordinates, components)
    graph, name, origin = _read_source(source)
    return _build(graph, name, origin, missing_coordinates, components, length_attribute)


@dataclass(frozen=True)
class TopologyInfo:
    """One entry of :func:`list_topologies`: a topohub key and its size."""

    key: str
    n_nodes: int
    n_links: int


def list_topologies(group: str | None = None) -> list[TopologyInfo]:
    """Every topology topohub ships (optionally one group: ``topozoo``, ``sndlib``...)."""
    keys = _topohub_keys()
    if group is not None:
        groups = sorted({k.split("/", 1)[0] for k in keys})
        if group not in groups:
            raise DtoptError(f"unknown topology group {group!r}; choose one of: {', '.join(groups)}")
        keys = [k for k in keys if k.startswith(group + "/")]
    out = []
    for key in keys:
        stats = _topohub_stats(key)
        out.append(TopologyInfo(key, int(stats["nodes"]), int(stats["links"])))
    return out


# --- reading -------------------------------------------------------------------------


def _check_policies(missing_coordinates: object, components: object) -> None:
    if isinstance(missing_coordinates, str):
        if missing_coordinates not in ("refuse", "impute", "drop"):
            raise DtoptError(
                f"missing_coordinates must be 'refuse', 'impute', 'drop' or a length in km, "
                f"got {missing_coordinates!r}"
            )
    elif (
        isinstance(missing_coordinates, bool)
        or not isinstance(missing_coordinates, int | float)
        or not np.isfinite(missing_coordinates)
        or (missing_coordinates < 0)
    ):
        raise DtoptError(
            f"a default link length must be a finite number of km >= 0, got {missing_coordinates!r}"
        )
    if components not in ("largest", "refuse"):
        raise DtoptError(f"components must be 'largest' or 'refuse', got {components!r}")


def _read_source(source: object) -> tuple[nx.Graph, str, str]:
    if isinstance(source, nx.Graph):
        return source, str(source.graph.get("name") or "").strip() or "graph", "networkx.Graph"
    if not isinstance(source, str | os.PathLike):
        raise DtoptError(
            f"a topology source is a name, a file path or a networkx graph, not {type(source).__name__}"
        )
    text = os.fsdecode(source)
    if not text.strip():
        raise DtoptError("the topology name is empty; give a topohub key, a Topology Zoo name or a file path")
    path = Path(text)
    if path.suffix.lower() in FILE_SUFFIXES or path.exists():
        return read_graph_file(path), path.stem, str(path)
    key = _resolve_key(text)
    data = topohub.get(key)
    graph = nx.node_link_graph(data, edges="edges")
    return graph, key.rsplit("/", 1)[-1] if key.startswith("topozoo/") else key, key


def node_attribute(source: str | os.PathLike[str] | nx.Graph, attribute: str) -> dict[str, object]:
    """Node name -> value of the node attribute ``attribute`` in ``source`` (anything
    :func:`load_topology` reads), for the nodes that have it; names as in the
    :class:`Topology` loaded from it."""
    graph, _, _ = _read_source(source)
    nodes = list(graph.nodes)
    names = node_names([graph.nodes[node] for node in nodes], nodes)
    return {
        name: graph.nodes[node][attribute]
        for name, node in zip(names, nodes, strict=True)
        if attribute in graph.nodes[node]
    }


@cache
def _topohub_keys() -> list[str]:
    root = importlib.resources.files(topohub) / "data"

    def walk(folder: importlib.resources.abc.Traversable, prefix: str) -> Iterator[str]:
        for entry in folder.iterdir():
            if entry.is_dir():
                yield from walk(entry, f"{prefix}{entry.name}/")
            elif entry.name.endswith(".json"):
                yield prefix + entry.name[: -len(".json")]

    def order(key: str) -> list[object]:
        return [int(p) if p.isdigit() else p.lower() for p in key.split("/")]

    return sorted(walk(root, ""), key=order)


@cache
def _topohub_stats(key: str) -> dict[str, float]:
    return topohub.get(key)["graph"]["stats"]


def _resolve_key(text: str) -> str:
    keys = _topohub_keys()
    lowered = {k.lower(): k for k in keys}
    for candidate in (text, f"topozoo/{text}"):
        if candidate.lower() in lowered:
            return lowered[candidate.lower()]
    names = keys + [k.split("/", 1)[1] for k in keys if k.startswith("topozoo/")]
    close = difflib.get_close_matches(text, names, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else "; see `dtopt topologies`"
    raise DtoptError(f"unknown topology {text!r} (not a file, not a topohub key){hint}")


# --- building ------------------------------------------------------------------------


def _build(
    graph: nx.Graph,
    name: str,
    origin: str,
    missing_coordinates: MissingCoordinates,
    components: Components,
    length_attribute: str | None,
) -> Topology:
    nodes = list(graph.nodes)
    if len(nodes) == 0:
        raise DtoptError(f"topology {name!r} has no nodes")
    index = {node: i for i, node in enumerate(nodes)}
    attributes = [graph.nodes[node] for node in nodes]
    names = node_names(attributes, nodes)
    positions = node_positions(attributes, names, name)

    notes: list[str] = []
    if graph.is_directed():
        notes.append("read a directed graph as undirected (a link in either direction is one link)")
    all_links = list(graph.edges(data=True))
    links = [(index[u], index[v], data) for u, v, data in all_links if u != v]
    if len(links) < len(all_links):
        notes.append(f"dropped {len(all_links) - len(links)} self-loop(s)")
    if not links:
        raise DtoptError(f"topology {name!r} has no links (a placement needs a connected network)")
    src = np.array([u for u, _, _ in links], dtype=np.intp)
    dst = np.array([v for _, v, _ in links], dtype=np.intp)
    given = link_lengths_km([data for _, _, data in links], length_attribute, name)

    # Nodes that have no coordinates and a link without a length.
    unknown = np.isnan(given)
    unlocated = np.isnan(positions).any(axis=1)
    needy = np.zeros(len(nodes), dtype=bool)
    needy[src[unknown & unlocated[src]]] = needy[dst[unknown & unlocated[dst]]] = True
    keep = np.ones(len(nodes), dtype=bool)
    if missing_coordinates == "drop" and needy.any():
        keep &= ~needy
        notes.append(f"dropped {int(needy.sum())} node(s) without coordinates: {_listed(names, needy)}")
        if not keep.any():
            raise DtoptError(f"topology {name!r}: every node lacks coordinates, and dropping them leaves "
                             "none; use missing_coordinates='impute' or a link length in km")
    # Components first, so that the coordinate policy only applies to nodes that stay.
    live = keep[src] & keep[dst]
    keep &= _component_mask(
        len(nodes), np.column_stack([src[live], dst[live]]), keep, components, name, notes
    )
    needy &= keep
    if needy.any():
        listed = _listed(names, needy)
        if missing_coordinates == "refuse":
            raise DtoptError(
                f"topology {name!r}: {int(needy.sum())} node(s) without coordinates on links without a "
                f"length ({listed}); choose missing_coordinates='impute', 'drop' or a default length in km"
            )
        if missing_coordinates == "impute":
            live = keep[src] & keep[dst]
            positions = _impute_positions(positions, src[live], dst[live], keep, name, names)
            imputed = keep & unlocated
            notes.append(
                f"imputed coordinates of {int(imputed.sum())} node(s) from their neighbours: "
                f"{_listed(names, imputed)}"
            )
        else:
            notes.append(
                f"links at {int(needy.sum())} node(s) without coordinates set to {missing_coordinates} km"
            )

    live = keep[src] & keep[dst]
    src, dst, length = src[live], dst[live], given[live]
    need = np.isnan(length) & ~np.isnan(positions[src]).any(axis=1) & ~np.isnan(positions[dst]).any(axis=1)
    ends = np.unique(np.concatenate([src[need], dst[need]]))
    check_degrees(positions[ends], [names[i] for i in ends], name)
    length[need] = great_circle_km(
        positions[src[need], 1], positions[src[need], 0], positions[dst[need], 1], positions[dst[need], 0]
    )
    if isinstance(missing_coordinates, int | float):  # the other policies leave no length unknown
        length[np.isnan(length)] = float(missing_coordinates)
    edges, length, n_parallel = _collapse_parallel(src, dst, length)
    if n_parallel:
        notes.append(f"collapsed {n_parallel} parallel link(s) to the shortest")
    return _restrict(name, origin, names, positions, edges, length, keep, notes)


def _listed(names: list[str], mask: np.ndarray) -> str:
    chosen = np.flatnonzero(mask)
    return ", ".join(repr(names[i]) for i in chosen[:5]) + (", ..." if chosen.size > 5 else "")


def _impute_positions(
    positions: np.ndarray, src: np.ndarray, dst: np.ndarray, keep: np.ndarray, name: str, names: list[str]
) -> np.ndarray:
    positions = positions.copy()
    n = len(positions)
    adjacency = np.zeros((n, n), dtype=bool)
    adjacency[src, dst] = adjacency[dst, src] = True
    # Each pass places the kept nodes that touch an already placed one, so positions
    # spread outwards from the located part of the network.
    while True:
        located = ~np.isnan(positions).any(axis=1)
        missing = keep & ~located
        if not missing.any():
            return positions
        counts = adjacency[missing][:, located].sum(axis=1)
        sums = adjacency[missing][:, located].astype(float) @ positions[located]
        ready = counts > 0
        if not ready.any():
            raise DtoptError(
                f"topology {name!r}: cannot impute coordinates of {_listed(names, missing)} (no located "
                f"node in their component); use missing_coordinates='drop' or a default length in km"
            )
        target = np.flatnonzero(missing)[ready]
        positions[target] = sums[ready] / counts[ready, None]


def _collapse_parallel(
    src: np.ndarray, dst: np.ndarray, length: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    pairs = np.sort(np.column_stack([src, dst]), axis=1)
    # Sort by pair then length, and keep each pair's first (shortest) link.
    order = np.lexsort((length, pairs[:, 1], pairs[:, 0]))
    pairs, length = pairs[order], length[order]
    first = np.ones(len(pairs), dtype=bool)
    first[1:] = np.any(pairs[1:] != pairs[:-1], axis=1)
    return pairs[first], length[first], int((~first).sum())


def _component_mask(
    n: int, edges: np.ndarray, keep: np.ndarray, policy: Components, name: str, notes: list[str]
) -> np.ndarray:
    graph = nx.Graph()
    graph.add_nodes_from(np.flatnonzero(keep).tolist())
    graph.add_edges_from(edges.tolist())
    parts = sorted(nx.connected_components(graph), key=lambda c: (-len(c), min(c)))
    mask = np.zeros(n, dtype=bool)
    if len(parts) > 1:
        if policy == "refuse":
            raise DtoptError(
                f"topology {name!r} has {len(parts)} components "
                f"(sizes {', '.join(str(len(p)) for p in parts[:5])}); "
                f"use components='largest' to keep the largest"
            )
        notes.append(
            f"kept the largest of {len(parts)} components ({len(parts[0])} of {int(keep.sum())} nodes)"
        )
    mask[list(parts[0])] = True
    return mask


def _restrict(
    name: str,
    origin: str,
    names: list[str],
    positions: np.ndarray,
    edges: np.ndarray,
    length: np.ndarray,
    keep: np.ndarray,
    notes: list[str],
) -> Topology:
    new_index = np.full(len(names), -1, dtype=np.intp)
    new_index[keep] = np.arange(int(keep.sum()))
    live = keep[edges[:, 0]] & keep[edges[:, 1]]
    return Topology(
        name=name,
        source=origin,
        node_names=tuple(n for n, k in zip(names, keep, strict=True) if k),
        positions=positions[keep],
        edges=new_index[edges[live]],
        link_length_km=length[live],
        dropped_nodes=tuple(n for n, k in zip(names, keep, strict=True) if not k),
        notes=tuple(notes),
    )
