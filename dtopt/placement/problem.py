"""The digital-twin placement problem (Wu et al., 2024, eq. 3)."""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from functools import cached_property

import networkx as nx
import numpy as np
from numpy.typing import ArrayLike, NDArray

from dtopt._validate import check_choice
from dtopt.errors import DtoptError
from dtopt.placement.covering import least_radius
from dtopt.placement.inputs import check_fixed, check_variant, real, site_indices, weights_array
from dtopt.topology import DEFAULT_RATE_KM_PER_MS, Topology, load_topology

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_BETA",
    "DEFAULT_EPS_MAX",
    "OBJECTIVES",
    "PlacementProblem",
    "error_of_hops",
]

DEFAULT_ALPHA = 1.0
DEFAULT_BETA = 0.01  # per-hop loss probability
DEFAULT_EPS_MAX = 0.05  # with the defaults above: at most 5 hops between a node and its twin
# Errors are computed in floating point; a pair sitting exactly on the bound stays admissible.
_EPS_TOLERANCE = 1e-12
OBJECTIVES = ("mean", "max")


@dataclass(frozen=True, eq=False)
class PlacementProblem:
    """Place ``k`` digital-twin servers on a network.

    Choose a set S of k sites and assign every node i to a server j in S whose
    twin error ``eps(i, j) = alpha * (1 - (1 - beta) ** h(i, j))`` is at most
    ``eps_max``, minimising the mean latency ``L(i, j) = d(i, j) / rate`` (weighted
    by ``weights``), or with ``objective="max"`` the worst latency, then the mean.
    The sites are the nodes, or a rectangular matrix's columns
    (:meth:`from_cost_matrix`), limited to ``candidates``.

    Parameters
    ----------
    topology : a :class:`~dtopt.topology.Topology`, or anything
        :func:`~dtopt.load_topology` accepts (name, key, path, networkx graph).
    k : number of servers, an integer in ``1..n``.
    eps_max : bound on each node's twin error, >= 0; ``None`` for no bound (the
        plain p-median problem).
    alpha : error scale in ``[0, 1]``.
    beta : per-hop loss probability in ``[0, 1]``.
    rate_km_per_ms : propagation rate (km/ms), > 0; 200 is light in fibre.
    capacity : twins a server hosts at most (their total weight, with ``weights``): a
        positive integer, or one per site (per node for a network); ``None`` for
        unlimited. Then each node's twin goes to exactly one admissible server with
        room (see docs/placement.md, variants).
    failure_prob : probability q in ``[0, 1)`` that a server fails, independently;
        ``None`` for the paper's model. Then every node has a primary and ordered
        backup servers and the objective is the expected mean latency (the
        reliable p-median). Cannot be combined with ``capacity``.
    weights : demand of each node, shape ``(n,)``, finite, >= 0, with a positive sum;
        ``None`` for equal weights. The mean latency becomes
        ``sum_i w_i L_i / sum_i w_i`` (so scaling every weight changes nothing), and
        a capacity counts the weight of the twins a server hosts.
    candidates : the sites that may host a server (names, or site indices: node
        indices for a network); ``None`` for every site.
    fixed : sites that host a server in every placement (existing servers), among
        the candidates and at most k of them; ``None`` for none.
    objective : ``"mean"`` (the paper's) or ``"max"`` (p-center: minimise the worst
        latency of any node, then, among the placements that reach it, the mean).
    """

    topology: Topology
    k: int
    eps_max: float | None = DEFAULT_EPS_MAX
    alpha: float = DEFAULT_ALPHA
    beta: float = DEFAULT_BETA
    rate_km_per_ms: float = DEFAULT_RATE_KM_PER_MS
    capacity: int | Sequence[int] | None = None
    failure_prob: float | None = None
    weights: ArrayLike | None = None
    candidates: Iterable[str | int] | None = None
    fixed: Iterable[str | int] | None = None
    objective: str = "mean"

    def __post_init__(self) -> None:
        if isinstance(self.topology, str | os.PathLike | nx.Graph):
            object.__setattr__(self, "topology", load_topology(self.topology))
        elif not isinstance(self.topology, Topology):
            raise DtoptError(
                f"topology must be a Topology, a name, a path or a networkx graph, not {self.topology!r}"
            )
        if isinstance(self.k, bool) or not isinstance(self.k, numbers.Integral):
            raise DtoptError(f"k must be an integer number of servers, got {self.k!r}")
        object.__setattr__(self, "candidates", site_indices(self.topology, self.candidates, "candidates"))
        object.__setattr__(self, "fixed", site_indices(self.topology, self.fixed, "fixed"))
        m = self.n_sites
        what = (
            "candidate sites"
            if self.candidates is not None
            else "nodes" if self.topology.site_names is None else "sites"
        )
        if not 1 <= self.k <= m:
            raise DtoptError(f"k must be between 1 and the number of {what} ({m}), got {self.k}")
        object.__setattr__(self, "k", int(self.k))
        check_fixed(self)
        object.__setattr__(self, "weights", weights_array(self.weights, self.n))
        object.__setattr__(self, "objective", check_choice("objective", self.objective, OBJECTIVES))
        for name in ("alpha", "beta"):
            value = real(getattr(self, name), name)
            if not 0.0 <= value <= 1.0:
                raise DtoptError(f"{name} must be in [0, 1], got {value}")
            object.__setattr__(self, name, value)
        if self.eps_max is not None:
            if not self.topology.has_hops:
                raise DtoptError(
                    f"eps_max needs hop counts, which {self.topology.name!r} lacks (a cost matrix given "
                    "without hops): pass hops= or eps_max=None"
                )
            eps_max = real(self.eps_max, "eps_max")
            if eps_max < 0:
                raise DtoptError(f"eps_max must be >= 0 (or None for no bound), got {eps_max}")
            object.__setattr__(self, "eps_max", eps_max)
        rate = real(self.rate_km_per_ms, "rate_km_per_ms")
        if rate <= 0:
            raise DtoptError(f"rate_km_per_ms must be > 0, got {rate}")
        object.__setattr__(self, "rate_km_per_ms", rate)
        check_variant(self)

    @classmethod
    def from_cost_matrix(
        cls,
        latency_ms: ArrayLike,
        k: int,
        hops: ArrayLike | None = None,
        eps_max: float | None = None,
        *,
        alpha: float = DEFAULT_ALPHA,
        beta: float = DEFAULT_BETA,
        name: str = "cost matrix",
        node_names: Iterable[str] | None = None,
        site_names: Iterable[str] | None = None,
        layout: str = "nodes x sites",
        **options: object,
    ) -> PlacementProblem:
        """A problem given by its latency matrix, for callers with no graph.

        Parameters
        ----------
        latency_ms : shape ``(n, m)``, ``latency_ms[i, j]`` from node (client) i to a
            server at site j (ms), finite and >= 0; it need not be symmetric. Square
            without ``site_names``: the sites are the nodes (zero diagonal). Rectangular
            (or with ``site_names``): m candidate sites apart from the n nodes.
        k : number of servers.
        hops : shape ``(n, m)``, hop counts behind those latencies (for the twin error),
            or ``None``. Without them no error can be computed: ``eps_max`` must be
            ``None`` and results report no error (``avg_error`` is ``None``).
        eps_max, alpha, beta : as in the constructor.
        name : the network's name in results.
        node_names : n distinct node names; ``"0" .. "n-1"`` by default.
        site_names : m distinct site names; ``"s0" .. "s<m-1>"`` for a rectangular matrix.
        layout : ``"nodes x sites"`` (default, as above and as spopt's ``PMedian``), or
            ``"sites x nodes"``: ``latency_ms`` and ``hops`` are given with one row per site
            (as pbp-pmedian's facilities x clients matrix) and are transposed.
        **options : ``weights``, ``candidates``, ``fixed``, ``objective``, ``capacity``,
            ``failure_prob``, as in the constructor.

        The latencies are used exactly as given (the problem's rate is 1 km/ms and its
        topology holds the matrix as distances, with no links).
        """
        if check_choice("layout", layout, ("nodes x sites", "sites x nodes")) == "sites x nodes":
            latency_ms = np.asarray(latency_ms).T
            hops = None if hops is None else np.asarray(hops).T
        topology = Topology.from_matrix(
            latency_ms, hops=hops, name=name, node_names=node_names, site_names=site_names, what="latency_ms"
        )
        return cls(topology, k, eps_max, alpha=alpha, beta=beta, rate_km_per_ms=1.0, **options)  # type: ignore[arg-type]

    @property
    def n(self) -> int:
        """Number of nodes (clients: each needs a server)."""
        return self.topology.n_nodes

    @cached_property
    def sites(self) -> NDArray[np.intp]:
        """Site indices (columns of the topology's matrices) a server may use, ascending,
        shape ``(m,)``: the candidates, or every site. Column j of :attr:`latency_ms`,
        :attr:`cost_ms`... is site ``sites[j]``, and solvers name servers by that column."""
        if self.candidates is None:
            return np.arange(self.topology.n_sites, dtype=np.intp)
        return np.asarray(self.candidates, dtype=np.intp)

    @property
    def n_sites(self) -> int:
        """Number of sites a server may use (m)."""
        return self.topology.n_sites if self.candidates is None else len(self.candidates)

    @cached_property
    def site_names(self) -> tuple[str, ...]:
        """Names of the m sites, in column order."""
        names = self.topology.sites
        return names if self.candidates is None else tuple(names[j] for j in self.sites)

    @cached_property
    def fixed_columns(self) -> NDArray[np.intp]:
        """Columns of the fixed servers, ascending, shape ``(f,)`` (empty for none)."""
        if self.fixed is None:
            return np.zeros(0, dtype=np.intp)
        return np.searchsorted(self.sites, np.asarray(self.fixed, dtype=np.intp)).astype(np.intp)

    @cached_property
    def demand(self) -> NDArray[np.float64]:
        """Each node's weight as given (ones without weights), shape ``(n,)``: what a
        capacity counts."""
        return np.ones(self.n) if self.weights is None else np.asarray(self.weights, dtype=float)

    @cached_property
    def node_weights(self) -> NDArray[np.float64] | None:
        """The weights rescaled to mean 1, shape ``(n,)``, or ``None`` without weights:
        a placement's total of :attr:`cost_ms` divided by n is then its weighted mean."""
        if self.weights is None:
            return None
        return self.demand * (self.n / self.demand.sum())

    @property
    def variant(self) -> str | None:
        """``"capacitated"``, ``"reliable"`` or ``None`` (the paper's model)."""
        if self.capacity is not None:
            return "capacitated"
        return None if self.failure_prob is None else "reliable"

    @cached_property
    def capacities(self) -> NDArray[np.float64]:
        """Weight each site could host as a server, shape ``(m,)`` (the total demand when
        unlimited)."""
        if self.capacity is None:
            return np.full(self.n_sites, self.demand.sum())
        every = np.broadcast_to(np.asarray(self.capacity, dtype=float), (self.topology.n_sites,))
        return every[self.sites]

    def _columns(self, matrix: NDArray) -> NDArray:
        return matrix if self.candidates is None else matrix[:, self.sites]

    @cached_property
    def latency_ms(self) -> NDArray[np.float64]:
        """``L[i, j]``: latency from node i to a server at site ``sites[j]`` (ms), shape ``(n, m)``."""
        return self._columns(self.topology.latency_ms(self.rate_km_per_ms))

    @cached_property
    def hops(self) -> NDArray[np.int64]:
        """Hop counts from node i to site ``sites[j]``, shape ``(n, m)`` (an error without hops)."""
        return self._columns(self.topology.hops)

    @cached_property
    def error(self) -> NDArray[np.float64] | None:
        """``eps[i, j]``: twin error of node i served at site ``sites[j]``, shape ``(n, m)``;
        ``None`` when the hop counts are unknown (:meth:`from_cost_matrix` without ``hops``)."""
        if not self.topology.has_hops:
            return None
        return error_of_hops(self.hops, self.alpha, self.beta)

    @cached_property
    def within_bound(self) -> NDArray[np.bool_]:
        """Whether a server at site ``sites[j]`` keeps node i within eps_max, shape ``(n, m)``:
        the pairs any placement is scored over."""
        if self.eps_max is None:
            return np.ones((self.n, self.n_sites), dtype=bool)
        return self.error <= self.eps_max + _EPS_TOLERANCE

    @cached_property
    def radius_ms(self) -> float | None:
        """p-center (``objective="max"``): the least worst latency (ms) any placement
        reaches, computed exactly by covering programs; ``None`` for the mean objective
        or when no placement is feasible."""
        if self.objective != "max":
            return None
        return least_radius(self.latency_ms, self.within_bound, self.k, self.fixed_columns)

    @cached_property
    def admissible(self) -> NDArray[np.bool_]:
        """``A[i, j]``: the pairs a solver may use, shape ``(n, m)``: within eps_max, and for
        ``objective="max"`` within :attr:`radius_ms`, so that every placement a solver
        finds reaches the least worst latency and the mean decides among them."""
        if self.radius_ms is None:
            return self.within_bound
        return self.within_bound & (self.latency_ms <= self.radius_ms)

    @cached_property
    def weighted_latency_ms(self) -> NDArray[np.float64]:
        """:attr:`latency_ms` times each node's :attr:`node_weights`, shape ``(n, m)`` (the
        latency itself without weights): what a placement's total sums."""
        return self.latency_ms if self.node_weights is None else self.latency_ms * self.node_weights[:, None]

    @cached_property
    def cost_ms(self) -> NDArray[np.float64]:
        """What every solver minimises the sum of, shape ``(n, m)``: the latency (ms) of
        each admissible pair times its node's :attr:`node_weights`, +inf elsewhere.

        A placement's total over its nodes divided by n is its (weighted) mean latency;
        the error bound, the weights and the p-center radius are enforced in this one place.
        """
        return np.where(self.admissible, self.weighted_latency_ms, np.inf)

    def with_(self, **changes: object) -> PlacementProblem:
        """A copy with some parameters changed (validated again)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise DtoptError(f"unknown problem parameter(s): {', '.join(sorted(unknown))}")
        return replace(self, **changes)  # __post_init__ validates again

    def __repr__(self) -> str:
        return (
            f"PlacementProblem({self.topology.name!r}, k={self.k}, eps_max={self.eps_max}, "
            f"alpha={self.alpha}, beta={self.beta}, rate_km_per_ms={self.rate_km_per_ms}"
            + (f", capacity={self.capacity}" if self.capacity is not None else "")
            + (f", failure_prob={self.failure_prob}" if self.failure_prob is not None else "")
            + (", weights=..." if self.weights is not None else "")
            + (f", candidates={self.candidates}" if self.candidates is not None else "")
            + (f", fixed={self.fixed}" if self.fixed is not None else "")
            + (f", objective={self.objective!r}" if self.objective != "mean" else "")
            + ")"
        )


def error_of_hops(hops: NDArray[np.integer], alpha: float, beta: float) -> NDArray[np.float64]:
    """Twin error after ``hops`` lossy hops: ``alpha * (1 - (1 - beta) ** hops)``."""
    return (
        alpha * -np.expm1(np.asarray(hops, dtype=float) * np.log1p(-beta))
        if beta < 1
        else np.where(np.asarray(hops) > 0, alpha, 0.0)
    )
