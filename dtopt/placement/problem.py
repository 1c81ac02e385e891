"""The digital-twin placement problem (design.md section 1, seed 001 eq. 3)."""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass, fields, replace
from functools import cached_property

import networkx as nx
import numpy as np
from numpy.typing import NDArray

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
    """

    topology: Topology
    k: int
    eps_max: float | None = DEFAULT_EPS_MAX
    alpha: float = DEFAULT_ALPHA
    beta: float = DEFAULT_BETA
    rate_km_per_ms: float = DEFAULT_RATE_KM_PER_MS

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
            eps_max = _real(self.eps_max, "eps_max")
            if eps_max < 0:
                raise DtoptError(f"eps_max must be >= 0 (or None for no bound), got {eps_max}")
            object.__setattr__(self, "eps_max", eps_max)
        rate = _real(self.rate_km_per_ms, "rate_km_per_ms")
        if rate <= 0:
            raise DtoptError(f"rate_km_per_ms must be > 0, got {rate}")
        object.__setattr__(self, "rate_km_per_ms", rate)

    @property
    def n(self) -> int:
        """Number of nodes."""
        return self.topology.n_nodes

    @cached_property
    def latency_ms(self) -> NDArray[np.float64]:
        """``L[i, j]``: latency from node i to a server at j (ms), shape ``(n, n)``."""
        return self.topology.latency_ms(self.rate_km_per_ms)

    @cached_property
    def error(self) -> NDArray[np.float64]:
        """``eps[i, j]``: twin error of node i served at j, shape ``(n, n)``."""
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
            f"alpha={self.alpha}, beta={self.beta}, rate_km_per_ms={self.rate_km_per_ms})"
        )


def error_of_hops(hops: NDArray[np.integer], alpha: float, beta: float) -> NDArray[np.float64]:
    """Twin error after ``hops`` lossy hops: ``alpha * (1 - (1 - beta) ** hops)``."""
    return (
        alpha * -np.expm1(np.asarray(hops, dtype=float) * np.log1p(-beta))
        if beta < 1
        else np.where(np.asarray(hops) > 0, alpha, 0.0)
    )


def _real(value: object, name: str) -> float:
    return check_real(name, value, lambda _: True, "a finite number")
