"""A network ready for placement: nodes, links in km, and all-pairs path matrices."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx
import numpy as np
from numpy.typing import ArrayLike, NDArray

from dtopt.errors import DtoptError
from dtopt.topology.paths import shortest_paths

__all__ = ["DEFAULT_RATE_KM_PER_MS", "Topology"]

DEFAULT_RATE_KM_PER_MS = 200.0  # light in fibre, about 2/3 of c


@dataclass(frozen=True, eq=False)
class Topology:
    """An undirected, connected network with link lengths in km.

    Build one with :func:`dtopt.load_topology`; constructing it directly is for
    callers that already hold clean arrays.

    Attributes
    ----------
    name : short name, e.g. ``"Agis"``.
    source : where it was loaded from (topohub key, file path or ``"networkx.Graph"``).
    node_names : shape ``(n,)``, unique node names; index ``i`` everywhere below is
        the node ``node_names[i]``.
    positions : shape ``(n, 2)``, ``(longitude, latitude)`` in degrees for geographic
        networks (planar coordinates for synthetic ones); NaN where unknown.
    edges : shape ``(m, 2)``, links as node-index pairs, each link once.
    link_length_km : shape ``(m,)``, link lengths in km (finite, >= 0).
    dropped_nodes : nodes of the source left out by a loading policy.
    notes : one line per policy that changed the source (collapsed parallel links,
        imputed coordinates, dropped components...).
    given_paths : ``(distance_km, hops)`` given instead of computed from links, for
        networks known only by their distance matrix (:meth:`from_matrix`); ``hops``
        may be ``None`` (unknown). ``None`` for a network built from its links.
    site_names : for a rectangular matrix (:meth:`from_matrix` with sites apart from the
        nodes), the names of its columns, the places a server may go; ``None`` when
        every node is a site (:attr:`sites` is then ``node_names``).
    """

    name: str
    source: str
    node_names: tuple[str, ...]
    positions: NDArray[np.float64]
    edges: NDArray[np.intp]
    link_length_km: NDArray[np.float64]
    dropped_nodes: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())
    given_paths: tuple[NDArray[np.float64], NDArray[np.int64] | None] | None = field(default=None, repr=False)
    site_names: tuple[str, ...] | None = None

    @classmethod
    def from_matrix(
        cls,
        distance_km: ArrayLike,
        *,
        hops: ArrayLike | None = None,
        name: str = "matrix",
        node_names: Iterable[str] | None = None,
        site_names: Iterable[str] | None = None,
        what: str = "distance_km",
    ) -> Topology:
        """Nodes known only by their distances: no links, no coordinates.

        Parameters
        ----------
        distance_km : shape ``(n, m)``, ``distance_km[i, j]`` from node i to site j:
            finite, >= 0 (it need not be symmetric nor metric). Square without
            ``site_names``: the sites are the nodes themselves, so the diagonal must be
            zero; otherwise (rectangular, or ``site_names`` given) the m sites are
            places apart from the n nodes.
        hops : shape ``(n, m)``, hop counts of those paths (integers >= 0), or ``None``
            when unknown (then no twin error can be computed).
        name : the network's name.
        node_names : n distinct names; ``"0" .. "n-1"`` by default.
        site_names : m distinct names of sites apart from the nodes; ``"s0" .. "s<m-1>"``
            by default for a rectangular matrix.
        what : the name of ``distance_km`` in error messages.
        """
        rectangular = site_names is not None or (np.ndim(distance_km) == 2 and (
            np.shape(distance_km)[0] != np.shape(distance_km)[1]
        ))
        distance = _matrix(distance_km, what, square=not rectangular)
        n, m = distance.shape
        hop_matrix = None
        if hops is not None:
            hop_matrix = _matrix(hops, "hops", square=not rectangular, shape=distance.shape)
            if np.any(hop_matrix != np.round(hop_matrix)):
                raise DtoptError("hops must hold whole numbers of hops")
            hop_matrix = hop_matrix.astype(np.int64)
        names = tuple(str(i) for i in range(n)) if node_names is None else tuple(node_names)
        if len(names) != n:
            raise DtoptError(f"node_names must name the {n} nodes of {what}, got {len(names)} names")
        sites = None
        if rectangular:
            sites = tuple(f"s{j}" for j in range(m)) if site_names is None else tuple(site_names)
            if len(sites) != m:
                raise DtoptError(f"site_names must name the {m} sites of {what}, got {len(sites)} names")
        return cls(
            name=name,
            source="matrix",
            node_names=names,
            positions=np.full((n, 2), np.nan),
            edges=np.empty((0, 2), dtype=np.intp),
            link_length_km=np.empty(0),
            given_paths=(distance, hop_matrix),
            site_names=sites,
        )

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise DtoptError(f"a topology needs a non-empty name, got {self.name!r}")
        n = len(self.node_names)
        edges = np.asarray(self.edges)
        if self.site_names is not None:
            if self.given_paths is None or edges.size:
                raise DtoptError(
                    f"topology {self.name!r}: separate sites need a distance matrix and no links"
                )
            if not all(isinstance(site, str) and site for site in self.site_names):
                raise DtoptError(f"topology {self.name!r}: site names must be non-empty strings")
            if len(set(self.site_names)) != len(self.site_names):
                raise DtoptError(f"topology {self.name!r} has duplicate site names")
        elif n < 2 or (edges.size == 0 and self.given_paths is None):
            raise DtoptError(f"topology {self.name!r} has no links (a placement needs a connected network)")
        if not all(isinstance(name, str) and name for name in self.node_names):
            raise DtoptError(f"topology {self.name!r}: node names must be non-empty strings")
        if len(set(self.node_names)) != n:
            raise DtoptError(f"topology {self.name!r} has duplicate node names")
        if np.shape(self.positions) != (n, 2):
            raise DtoptError(f"topology {self.name!r}: positions must have shape ({n}, 2)")
        if edges.ndim != 2 or edges.shape[1] != 2 or not np.issubdtype(edges.dtype, np.integer):
            raise DtoptError(f"topology {self.name!r}: edges must be integer node-index pairs, shape (m, 2)")
        if edges.size and (edges.min() < 0 or edges.max() >= n or np.any(edges[:, 0] == edges[:, 1])):
            raise DtoptError(f"topology {self.name!r}: edges must join two different nodes among 0..{n - 1}")
        try:
            lengths = np.asarray(self.link_length_km, dtype=float)
        except (TypeError, ValueError):
            raise DtoptError(f"topology {self.name!r}: link lengths must be numbers of km") from None
        if lengths.shape != (len(edges),):
            raise DtoptError("link_length_km must have one entry per link")
        if not np.all(np.isfinite(lengths)) or np.any(lengths < 0):
            raise DtoptError(
                f"topology {self.name!r}: link lengths must be finite numbers of km >= 0 "
                f"(found {lengths[~(np.isfinite(lengths) & (lengths >= 0))][0]:g})"
            )
        if np.any(np.isinf(self.distance_km)):
            raise DtoptError(f"topology {self.name!r} is not connected; load it with components='largest'")

    @property
    def n_nodes(self) -> int:
        """Number of nodes n."""
        return len(self.node_names)

    @property
    def sites(self) -> tuple[str, ...]:
        """Names of the places a server may go: the nodes, or a rectangular matrix's sites."""
        return self.node_names if self.site_names is None else self.site_names

    @property
    def n_sites(self) -> int:
        """Number of sites (columns of :attr:`distance_km`): n unless the matrix is rectangular."""
        return len(self.sites)

    @property
    def n_links(self) -> int:
        """Number of links m."""
        return len(self.edges)

    @cached_property
    def _paths(self) -> tuple[NDArray[np.float64], NDArray[np.int64] | None]:
        if self.given_paths is not None:
            return self.given_paths
        return shortest_paths(self.n_nodes, self.edges, self.link_length_km)

    @property
    def has_hops(self) -> bool:
        """Whether hop counts are known (always, unless built from a matrix without them)."""
        return self._paths[1] is not None

    @property
    def distance_km(self) -> NDArray[np.float64]:
        """Shortest-path length from every node to every site (km), shape ``(n, n_sites)``
        (the sites are the nodes unless the matrix is rectangular)."""
        return self._paths[0]

    @property
    def hops(self) -> NDArray[np.int64]:
        """Hops on the latency-shortest path (ties: fewest hops), shape ``(n, n_sites)``.

        Not the minimum hop count: a longer-hop path that is shorter in km wins.
        A one-line error when they are unknown (see :attr:`has_hops`).
        """
        hops = self._paths[1]
        if hops is None:
            raise DtoptError(f"topology {self.name!r} was given as a distance matrix without hop counts")
        return hops

    def latency_ms(self, rate_km_per_ms: float = DEFAULT_RATE_KM_PER_MS) -> NDArray[np.float64]:
        """Propagation latency along shortest paths (ms), shape ``(n, n_sites)``."""
        if (
            isinstance(rate_km_per_ms, bool)
            or not isinstance(rate_km_per_ms, int | float | np.number)
            or not np.isfinite(rate_km_per_ms)
            or rate_km_per_ms <= 0
        ):
            raise DtoptError(f"propagation rate must be a positive number of km/ms, got {rate_km_per_ms!r}")
        return self.distance_km / rate_km_per_ms

    @cached_property
    def _index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.node_names)}

    @cached_property
    def _site_index(self) -> dict[str, int]:
        return self._index if self.site_names is None else {name: j for j, name in enumerate(self.site_names)}

    def indices(self, names: Iterable[str]) -> NDArray[np.intp]:
        """Node indices of ``names``; unknown names are a one-line error."""
        return _lookup(self._index, names, f"topology {self.name!r} has no node named")

    def site_indices(self, names: Iterable[str]) -> NDArray[np.intp]:
        """Site indices (columns of :attr:`distance_km`) of ``names``; unknown names are a one-line error."""
        what = "node" if self.site_names is None else "site"
        return _lookup(self._site_index, names, f"topology {self.name!r} has no {what} named")

    def to_networkx(self) -> nx.Graph:
        """The network as a ``networkx.Graph`` with node names and ``length_km`` on links."""
        graph = nx.Graph(name=self.name)
        for name, (x, y) in zip(self.node_names, self.positions, strict=True):
            graph.add_node(name, pos=(float(x), float(y)))
        for (u, v), length in zip(self.edges, self.link_length_km, strict=True):
            graph.add_edge(self.node_names[u], self.node_names[v], length_km=float(length))
        return graph

    def __repr__(self) -> str:
        return f"Topology({self.name!r}, n_nodes={self.n_nodes}, n_links={self.n_links})"


def _lookup(index: dict[str, int], names: Iterable[str], unknown: str) -> NDArray[np.intp]:
    out = []
    for name in names:
        if name not in index:
            raise DtoptError(f"{unknown} {name!r}")
        out.append(index[name])
    return np.asarray(out, dtype=np.intp)


def _matrix(
    values: ArrayLike, what: str, *, square: bool, shape: tuple[int, ...] | None = None
) -> NDArray[np.float64]:
    """``values`` as a finite float matrix >= 0: square (n >= 2) with a zero diagonal, or
    (not ``square``) any shape of at least one row and one column."""
    kind = "a square matrix" if square else "a matrix"
    try:
        matrix = np.array(values, dtype=float)
    except (TypeError, ValueError):
        raise DtoptError(f"{what} must be {kind} of numbers") from None
    if square and (matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] < 2):
        raise DtoptError(f"{what} must be a square matrix of at least 2 x 2, got shape {matrix.shape}")
    if not square and (matrix.ndim != 2 or min(matrix.shape) < 1):
        raise DtoptError(f"{what} must be a matrix of nodes x sites, got shape {matrix.shape}")
    if shape is not None and matrix.shape != shape:
        raise DtoptError(f"{what} must have shape {shape}, got {matrix.shape}")
    bad = ~np.isfinite(matrix) | (matrix < 0)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise DtoptError(
            f"{what} must hold finite numbers >= 0; {bad.sum()} do not, e.g. [{i}, {j}] = {matrix[i, j]}"
        )
    diagonal = np.flatnonzero(np.diagonal(matrix) != 0) if square else np.zeros(0, dtype=np.intp)
    if diagonal.size:
        i = diagonal[0]
        raise DtoptError(
            f"{what} must be zero on the diagonal; {diagonal.size} entries are not, e.g. [{i}, {i}] = "
            f"{matrix[i, i]}"
        )
    matrix.setflags(write=False)
    return matrix
