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
from dtopt.topology.geo import great_circle_km
from dtopt.topology.model import Topology

__all__ = ["TopologyInfo", "list_topologies", "load_topology"]

MissingCoordinates = Literal["refuse", "impute", "drop"] | float
Components = Literal["largest", "refuse"]

# Link-length attributes tried in order when the caller names none: topohub's `dist`
# (km), then a plain `length_km`.
_LENGTH_ATTRIBUTES = ("dist", "length_km")
_FILE_SUFFIXES = (".gml", ".graphml", ".xml")


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
    components : ``"largest"`` (default) keeps the largest connected component and
        records the rest in ``dropped_nodes``; ``"refuse"`` raises instead.
    length_attribute : link attribute holding the length in km; by default ``dist``
        (topohub) or ``length_km`` when present, else the great-circle distance
        between the endpoints' ``Latitude``/``Longitude`` (Topology Zoo) or
        ``pos = (lon, lat)`` (topohub).

    Parallel links always collapse to the shortest; self-loops are dropped.
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
        not isinstance(missing_coordinates, int | float)
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
        return source, str(source.graph.get("name") or "graph"), "networkx.Graph"
    if not isinstance(source, str | os.PathLike):
        raise DtoptError(
            f"a topology source is a name, a file path or a networkx graph, not {type(source).__name__}"
        )
    text = os.fspath(source)
    path = Path(text)
    if path.suffix.lower() in _FILE_SUFFIXES or path.exists():
        return _read_file(path), path.stem, str(path)
    key = _resolve_key(text)
    data = topohub.get(key)
    graph = nx.node_link_graph(data, edges="edges")
    return graph, key.rsplit("/", 1)[-1] if key.startswith("topozoo/") else key, key


def _read_file(path: Path) -> nx.Graph:
    if not path.is_file():
        raise DtoptError(f"no such topology file: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".gml":
            # Topology Zoo GML labels are not always unique: key nodes by id.
            graph = nx.read_gml(path, label="id")
        elif suffix in (".graphml", ".xml"):
            graph = nx.read_graphml(path)
        else:
            raise DtoptError(f"cannot read {path}: expected a .gml or .graphml file")
    except DtoptError:
        raise
    except Exception as err:  # networkx raises many types for malformed files
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DtoptError(f"cannot read {path}: malformed {suffix[1:].upper()} ({first_line})") from None
    return graph


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
    names = _node_names(graph, nodes)
    positions = np.array([_position(graph.nodes[node]) for node in nodes], dtype=float).reshape(-1, 2)

    links = [(index[u], index[v], data) for u, v, data in graph.edges(data=True) if u != v]
    if not links:
        raise DtoptError(f"topology {name!r} has no links (a placement needs a connected network)")
    src = np.array([u for u, _, _ in links], dtype=np.intp)
    dst = np.array([v for _, v, _ in links], dtype=np.intp)
    given = np.array([_given_length(data, length_attribute, name) for _, _, data in links], dtype=float)

    notes: list[str] = []
    keep = np.ones(len(nodes), dtype=bool)
    unknown = np.isnan(given)
    unlocated = np.isnan(positions).any(axis=1)
    needy = np.unique(np.concatenate([src[unknown & unlocated[src]], dst[unknown & unlocated[dst]]]))
    if needy.size:
        listed = ", ".join(repr(names[i]) for i in needy[:5]) + (", ..." if needy.size > 5 else "")
        if missing_coordinates == "refuse":
            raise DtoptError(
                f"topology {name!r}: {needy.size} node(s) without coordinates on links without a length "
                f"({listed}); choose missing_coordinates='impute', 'drop' or a default length in km"
            )
        if missing_coordinates == "impute":
            positions = _impute_positions(positions, src, dst, name, names)
            notes.append(f"imputed coordinates of {needy.size} node(s) from their neighbours: {listed}")
        elif missing_coordinates == "drop":
            keep[needy] = False
            notes.append(f"dropped {needy.size} node(s) without coordinates: {listed}")
        else:
            notes.append(f"links at {needy.size} node(s) without coordinates set to {missing_coordinates} km")

    length = given.copy()
    need = np.isnan(length)
    length[need] = great_circle_km(
        positions[src[need], 1], positions[src[need], 0], positions[dst[need], 1], positions[dst[need], 0]
    )
    if isinstance(missing_coordinates, int | float):
        length[np.isnan(length)] = float(missing_coordinates)

    live = keep[src] & keep[dst]
    src, dst, length = src[live], dst[live], length[live]
    edges, length, n_parallel = _collapse_parallel(src, dst, length)
    if n_parallel:
        notes.append(f"collapsed {n_parallel} parallel link(s) to the shortest")

    keep &= _component_mask(len(nodes), edges, keep, components, name, notes)
    return _restrict(name, origin, names, positions, edges, length, keep, notes)


def _node_names(graph: nx.Graph, nodes: list[object]) -> list[str]:
    raw = [str(graph.nodes[n].get("name", graph.nodes[n].get("label", n))) for n in nodes]
    seen: dict[str, int] = {}
    for name in raw:
        seen[name] = seen.get(name, 0) + 1
    # Duplicate labels (common in the Zoo) get the node id appended to stay unique.
    return [f"{name} ({node})" if seen[name] > 1 else name for name, node in zip(raw, nodes, strict=True)]


def _position(data: dict[str, object]) -> tuple[float, float]:
    for lon_key, lat_key in (("Longitude", "Latitude"), ("lon", "lat"), ("longitude", "latitude")):
        if lon_key in data and lat_key in data:
            return _number(data[lon_key]), _number(data[lat_key])
    pos = data.get("pos")
    if isinstance(pos, list | tuple) and len(pos) == 2:
        return _number(pos[0]), _number(pos[1])
    return np.nan, np.nan


def _number(value: object) -> float:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return np.nan
    return out if np.isfinite(out) else np.nan


def _given_length(data: dict[str, object], attribute: str | None, name: str) -> float:
    keys = (attribute,) if attribute else _LENGTH_ATTRIBUTES
    for key in keys:
        if key in data:
            try:
                value = float(data[key])  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise DtoptError(
                    f"topology {name!r}: link length {key}={data[key]!r} is not a number"
                ) from None
            if not np.isfinite(value) or value < 0:
                raise DtoptError(f"topology {name!r}: link length {key}={value} is negative or NaN")
            return value
    return np.nan


def _impute_positions(
    positions: np.ndarray, src: np.ndarray, dst: np.ndarray, name: str, names: list[str]
) -> np.ndarray:
    positions = positions.copy()
    n = len(positions)
    adjacency = np.zeros((n, n), dtype=bool)
    adjacency[src, dst] = adjacency[dst, src] = True
    # Each pass places the nodes that touch an already placed one, so positions
    # spread outwards from the located part of the network.
    while True:
        missing = np.isnan(positions).any(axis=1)
        if not missing.any():
            return positions
        located = ~missing
        counts = adjacency[missing][:, located].sum(axis=1)
        sums = adjacency[missing][:, located].astype(float) @ positions[located]
        ready = counts > 0
        if not ready.any():
            stuck = ", ".join(repr(names[i]) for i in np.flatnonzero(missing)[:5])
            raise DtoptError(
                f"topology {name!r}: cannot impute coordinates of {stuck} (no located neighbour anywhere "
                f"in their component); use missing_coordinates='drop' or a default length in km"
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
