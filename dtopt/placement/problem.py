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

from dtopt._validate import check_real
from dtopt.errors import DtoptError
from dtopt.topology import DEFAULT_RATE_KM_PER_MS, Topology, load_topology

__all__ = ["DEFAULT_ALPHA", "DEFAULT_BETA", "DEFAULT_EPS_MAX", "PlacementProblem", "error_of_hops"]

DEFAULT_ALPHA = 1.0
DEFAULT_BETA = 0.01  # per-hop loss probability
DEFAULT_EPS_MAX = 0.05  # with the defaults above: at most 5 hops between a node and its twin
# Errors are computed in floating point; a pair sitting exactly on the bound stays admissible.
_EPS_TOLERANCE = 1e-12


@dataclass(frozen=True, eq=False)
class PlacementProblem:
    """Place ``k`` digital-twin servers on a network.

    Choose a set S of k nodes and assign every node i to a server j in S whose
    twin error ``eps(i, j) = alpha * (1 - (1 - beta) ** h(i, j))`` is at most
    ``eps_max``, minimising the mean latency ``L(i, j) = d(i, j) / rate``.

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
    capacity : twins a server hosts at most: a positive integer, or one per node
        (shape ``(n,)``); ``None`` for unlimited. Then each node's twin goes to
        exactly one admissible server with room (see docs/placement.md, variants).
    failure_prob : probability q in ``[0, 1)`` that a server fails, independently;
        ``None`` for the paper's model. Then every node has a primary and ordered
        backup servers and the objective is the expected mean latency (the
        reliable p-median). Cannot be combined with ``capacity``.
    """

    topology: Topology
    k: int
    eps_max: float | None = DEFAULT_EPS_MAX
    alpha: float = DEFAULT_ALPHA
    beta: float = DEFAULT_BETA
    rate_km_per_ms: float = DEFAULT_RATE_KM_PER_MS
    capacity: int | Sequence[int] | None = None
    failure_prob: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.topology, str | os.PathLike | nx.Graph):
            object.__setattr__(self, "topology", load_topology(self.topology))
        elif not isinstance(self.topology, Topology):
            raise DtoptError(
                f"topology must be a Topology, a name, a path or a networkx graph, not {self.topology!r}"
            )
        n = self.topology.n_nodes
        if isinstance(self.k, bool) or not isinstance(self.k, numbers.Integral):
            raise DtoptError(f"k must be an integer number of servers, got {self.k!r}")
        if not 1 <= self.k <= n:
            raise DtoptError(f"k must be between 1 and the number of nodes ({n}), got {self.k}")
        object.__setattr__(self, "k", int(self.k))
        for name in ("alpha", "beta"):
            value = _real(getattr(self, name), name)
            if not 0.0 <= value <= 1.0:
                raise DtoptError(f"{name} must be in [0, 1], got {value}")
            object.__setattr__(self, name, value)
        if self.eps_max is not None:
            if not self.topology.has_hops:
                raise DtoptError(
                    f"eps_max needs hop counts, which {self.topology.name!r} lacks (a cost matrix given "
                    "without hops): pass hops= or eps_max=None"
                )
            eps_max = _real(self.eps_max, "eps_max")
            if eps_max < 0:
                raise DtoptError(f"eps_max must be >= 0 (or None for no bound), got {eps_max}")
            object.__setattr__(self, "eps_max", eps_max)
        rate = _real(self.rate_km_per_ms, "rate_km_per_ms")
        if rate <= 0:
            raise DtoptError(f"rate_km_per_ms must be > 0, got {rate}")
        object.__setattr__(self, "rate_km_per_ms", rate)
        _check_variant(self)

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
    ) -> PlacementProblem:
        """A problem given by its latency matrix, for callers with no graph.

        Parameters
        ----------
        latency_ms : shape ``(n, n)``, ``latency_ms[i, j]`` from node i to a server at j
            (ms): finite, >= 0, zero on the diagonal; it need not be symmetric.
        k : number of servers.
        hops : shape ``(n, n)``, hop counts behind those latencies (for the twin error),
            or ``None``. Without them no error can be computed: ``eps_max`` must be
            ``None`` and results report no error (``avg_error`` is ``None``).
        eps_max, alpha, beta : as in the constructor.
        name : the network's name in results.
        node_names : n distinct node names; ``"0" .. "n-1"`` by default.

        The latencies are used exactly as given (the problem's rate is 1 km/ms and its
        topology holds the matrix as distances, with no links).
        """
        topology = Topology.from_matrix(
            latency_ms, hops=hops, name=name, node_names=node_names, what="latency_ms"
        )
        return cls(topology, k, eps_max, alpha=alpha, beta=beta, rate_km_per_ms=1.0)

    @property
    def n(self) -> int:
        """Number of nodes."""
        return self.topology.n_nodes

    @property
    def variant(self) -> str | None:
        """``"capacitated"``, ``"reliable"`` or ``None`` (the paper's model)."""
        if self.capacity is not None:
            return "capacitated"
        return None if self.failure_prob is None else "reliable"

    @cached_property
    def capacities(self) -> NDArray[np.int64]:
        """Twins each node could host as a server, shape ``(n,)`` (``n`` when unlimited)."""
        if self.capacity is None:
            return np.full(self.n, self.n, dtype=np.int64)
        return np.broadcast_to(np.asarray(self.capacity, dtype=np.int64), (self.n,)).copy()

    @cached_property
    def latency_ms(self) -> NDArray[np.float64]:
        """``L[i, j]``: latency from node i to a server at j (ms), shape ``(n, n)``."""
        return self.topology.latency_ms(self.rate_km_per_ms)

    @cached_property
    def error(self) -> NDArray[np.float64] | None:
        """``eps[i, j]``: twin error of node i served at j, shape ``(n, n)``; ``None``
        when the hop counts are unknown (:meth:`from_cost_matrix` without ``hops``)."""
        if not self.topology.has_hops:
            return None
        return error_of_hops(self.topology.hops, self.alpha, self.beta)

    @cached_property
    def admissible(self) -> NDArray[np.bool_]:
        """``A[i, j]``: whether a server at j may serve node i, shape ``(n, n)``."""
        if self.eps_max is None:
            return np.ones((self.n, self.n), dtype=bool)
        return self.error <= self.eps_max + _EPS_TOLERANCE

    @cached_property
    def cost_ms(self) -> NDArray[np.float64]:
        """Latency where admissible, +inf where not, shape ``(n, n)``.

        Every solver minimises over this matrix, so the error bound is enforced in one place.
        """
        return np.where(self.admissible, self.latency_ms, np.inf)

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
            + ")"
        )


def error_of_hops(hops: NDArray[np.integer], alpha: float, beta: float) -> NDArray[np.float64]:
    """Twin error after ``hops`` lossy hops: ``alpha * (1 - (1 - beta) ** hops)``."""
    return (
        alpha * -np.expm1(np.asarray(hops, dtype=float) * np.log1p(-beta))
        if beta < 1
        else np.where(np.asarray(hops) > 0, alpha, 0.0)
    )


def _check_variant(problem: PlacementProblem) -> None:
    """Validate (and normalise) ``capacity`` and ``failure_prob``."""
    if problem.capacity is not None and problem.failure_prob is not None:
        raise DtoptError("capacity and failure_prob cannot be combined: the reliable model has no capacities")
    if problem.failure_prob is not None:
        q = _real(problem.failure_prob, "failure_prob")
        if not 0.0 <= q < 1.0:
            raise DtoptError(f"failure_prob must be in [0, 1), got {q}")
        object.__setattr__(problem, "failure_prob", q)
    if problem.capacity is None:
        return
    capacity = problem.capacity
    uniform = isinstance(capacity, numbers.Integral)
    scalar = uniform or isinstance(capacity, str | numbers.Number)
    values = [capacity] if scalar else list(np.ravel(np.asarray(capacity, dtype=object)))
    positive = [isinstance(c, numbers.Integral) and not isinstance(c, bool) and c > 0 for c in values]
    if not values or not all(positive):
        raise DtoptError(
            f"capacity must be a positive integer number of twins per server (or one per node), "
            f"got {capacity!r}"
        )
    if not uniform and len(values) != problem.n:
        raise DtoptError(f"capacity needs one value per node ({problem.n}), got {len(values)}")
    normalised = int(values[0]) if uniform else tuple(int(c) for c in values)
    object.__setattr__(problem, "capacity", normalised)
    largest = int(np.sort(problem.capacities)[::-1][: problem.k].sum())
    if largest < problem.n:
        raise DtoptError(
            f"total capacity {largest} of the {problem.k} largest servers is below the "
            f"{problem.n} twins to host: raise capacity or k"
        )


def _real(value: object, name: str) -> float:
    return check_real(name, value, lambda _: True, "a finite number")
