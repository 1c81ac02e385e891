"""Swap moves for the placement heuristics: nearest / second-nearest server arrays.

Shared by ``isapa`` (one random swap at a time), ``interchange`` (best swap of the
whole neighbourhood) and ``kmpa`` (its repair step).

Every heuristic works on a *penalised* cost matrix: ``cost_ms`` with each
inadmissible pair (+inf) replaced by a finite penalty ``M > n * max latency``.
A placement's total penalised cost is then ``total latency + M * uncovered``, and
``M`` is large enough that ordering placements by it is the lexicographic order
on (uncovered nodes, total latency): fewer uncovered nodes always win, and among
feasible placements the total latency decides. Finite numbers keep deltas exact
(no ``inf - inf``).

Servers are columns of the problem's matrices (its candidate sites); weights and the
p-center radius are in ``cost_ms`` already. Fixed servers start every placement and
are never swapped out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from dtopt.placement.covering import max_coverage
from dtopt.placement.problem import PlacementProblem
from dtopt.solvers._fast_swap import RELATIVE_TOLERANCE, SwapNeighbourhood, descend, incremental_greedy

__all__ = ["Penalised", "Servers", "covering", "greedy", "local_search", "random_placements"]


@dataclass(frozen=True, eq=False)
class Penalised:
    """The penalised cost of a problem.

    Attributes
    ----------
    rows : shape ``(m, n)``, ``rows[j, i]`` = cost (ms) of node i served at site
        column j: the transpose of ``cost_ms``, C-contiguous so a server's column is
        one row.
    penalty_ms : the cost standing for an inadmissible pair: by default
        > n * max latency (the lexicographic order above).
    fixed : columns of the servers every placement keeps (never swapped out).
    """

    rows: NDArray[np.float64]
    penalty_ms: float
    fixed: NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, dtype=np.intp))

    @classmethod
    def of(cls, problem: PlacementProblem, *, soft: bool = False) -> Penalised:
        """The penalised cost of ``problem``.

        ``soft`` sets the penalty to twice the largest latency instead: still
        above every admissible cost (so a node's cheapest option is an admissible
        server whenever it has one, and ``d1 < penalty_ms`` still means covered),
        but small enough that a search may cross infeasible placements.
        """
        cost = problem.cost_ms
        finite = np.isfinite(cost)
        everywhere = bool(finite.all())
        largest_ms = float(np.max(cost, where=finite, initial=0.0))
        if soft:
            penalty_ms = 2 * largest_ms if largest_ms > 0 else 1.0
        else:
            penalty_ms = problem.n * largest_ms + 1.0
        clients = cost if everywhere else np.where(finite, cost, penalty_ms)
        penalised = cls(np.ascontiguousarray(clients.T), penalty_ms, problem.fixed_columns)
        penalised.__dict__["clients"] = clients  # the cached property, already at hand
        return penalised

    @property
    def n(self) -> int:
        """Number of nodes."""
        return self.rows.shape[1]

    @property
    def n_sites(self) -> int:
        """Number of sites (columns) a server may use."""
        return self.rows.shape[0]

    @cached_property
    def clients(self) -> NDArray[np.float64]:
        """The same costs client-major: ``clients[i, j]`` = ``rows[j, i]``, C-contiguous."""
        return np.ascontiguousarray(self.rows.T)

    def locked(self, servers: NDArray[np.intp]) -> NDArray[np.bool_] | None:
        """Shape ``(k,)``: which of ``servers`` are fixed; ``None`` when none is."""
        return np.isin(servers, self.fixed) if self.fixed.size else None

    def totals(self, placements: NDArray[np.intp]) -> NDArray[np.float64]:
        """Total penalised cost of placements of shape ``(B, k)``, shape ``(B,)``."""
        return self.rows[placements].min(axis=1).sum(axis=1)


@dataclass(frozen=True, eq=False)
class Servers:
    """A placement with every node's nearest and second-nearest server.

    Attributes
    ----------
    servers : shape ``(k,)``, server node indices.
    nearest : shape ``(n,)``, position in ``servers`` of each node's cheapest server.
    d1, d2 : shape ``(n,)``, penalised cost (ms) to the cheapest and the second
        cheapest server (``d2`` is +inf when k = 1).
    """

    servers: NDArray[np.intp]
    nearest: NDArray[np.intp]
    d1: NDArray[np.float64]
    d2: NDArray[np.float64]

    @classmethod
    def of(cls, cost: Penalised, servers: NDArray[np.intp]) -> Servers:
        """Build the arrays for ``servers`` in O(n k)."""
        servers = np.asarray(servers, dtype=np.intp)
        sub = cost.rows[servers]  # (k, n)
        nearest = np.argmin(sub, axis=0)
        cols = np.arange(sub.shape[1])
        d1 = sub[nearest, cols]
        if len(servers) == 1:
            return cls(servers, nearest, d1, np.full_like(d1, np.inf))
        sub = sub.copy()
        sub[nearest, cols] = np.inf
        return cls(servers, nearest, d1, sub.min(axis=0))

    @property
    def total(self) -> float:
        """Total penalised cost (ms summed over nodes)."""
        return float(self.d1.sum())

    def swap_costs(self, cost: Penalised, position: int, add: int) -> NDArray[np.float64]:
        """Each node's cost after replacing ``servers[position]`` by node ``add``; O(n)."""
        kept = np.where(self.nearest == position, self.d2, self.d1)
        return np.minimum(cost.rows[add], kept)

    def best_removal(self, cost: Penalised, add: int) -> tuple[int, NDArray[np.float64]]:
        """Adding node ``add``: the position of the server whose removal costs least, and
        each node's cost after that swap, shape ``(n,)``; O(n) (Whitaker's fast interchange
        for one entering node).

        A node's cost becomes ``min(c_add, d1)``, or ``min(c_add, d2)`` when its nearest
        server is the one removed; the difference, summed per server, is what removing
        that server loses.
        """
        row = cost.rows[add]
        kept = np.minimum(row, self.d1)
        extra = np.minimum(row, self.d2) - kept  # >= 0; finite, as the penalised row is
        loss = np.bincount(self.nearest, weights=extra, minlength=len(self.servers))
        locked = cost.locked(self.servers)
        if locked is not None:
            loss[locked] = np.inf
        position = int(loss.argmin())
        return position, np.add(kept, extra, out=kept, where=self.nearest == position)

    def swapped(self, position: int, add: int) -> NDArray[np.intp]:
        """The server indices after replacing ``servers[position]`` by ``add``."""
        servers = self.servers.copy()
        servers[position] = add
        return servers


def greedy(cost: Penalised, k: int, start: NDArray[np.intp] | None = None) -> NDArray[np.intp]:
    """Add servers one at a time, each minimising the total penalised cost.

    The penalty makes each step minimise (uncovered nodes, total latency)
    lexicographically. Ties go to the lowest index. ``start``: distinct servers
    already chosen, completed up to ``k`` (default: the fixed servers). Gains are kept
    incrementally (:func:`~dtopt.solvers._fast_swap.incremental_greedy`).
    """
    chosen = [int(j) for j in (cost.fixed if start is None else start)]
    return incremental_greedy(cost.rows, cost.clients, k, chosen or None)


def local_search(cost: Penalised, servers: NDArray[np.intp], *, until_covered: bool = False) -> Servers:
    """Best-improvement swaps from ``servers`` until no swap improves.

    Every swap is scored from arrays kept up to date incrementally
    (:func:`~dtopt.solvers._fast_swap.descend`). With ``until_covered`` stop as soon as
    every node has an admissible server (a repair step rather than a full local search).
    """
    servers = np.asarray(servers, dtype=np.intp)
    locked = cost.locked(servers)
    if len(servers) == cost.n_sites or (locked is not None and locked.all()):
        return Servers.of(cost, servers)  # no swap exists
    if len(servers) == 1:  # every swap is a whole placement: take the best one
        totals = cost.rows.sum(axis=1)
        best = int(np.argmin(totals))
        better = totals[best] < (1 - RELATIVE_TOLERANCE) * totals[servers[0]]
        return Servers.of(cost, np.array([best if better else servers[0]], dtype=np.intp))
    hood = SwapNeighbourhood(cost.rows, cost.clients, servers, locked)
    hood = descend(hood, cost.penalty_ms if until_covered else None)
    return Servers(hood.servers, hood.nearest, hood.d1, hood.d2)


def covering(problem: PlacementProblem, cost: Penalised, servers: NDArray[np.intp]) -> Servers:
    """``servers`` repaired to cover every node, where some placement can.

    Swaps first (:func:`local_search` until covered); when they get stuck with
    nodes uncovered (single swaps are a poor tool for tight covering
    constraints), the k servers covering the most nodes, from the small covering
    integer program of :func:`dtopt.placement.feasibility.max_coverage`. The
    result covers every node unless no placement of k servers does.
    """
    state = local_search(cost, servers, until_covered=True)
    if state.d1.max() < cost.penalty_ms:
        return state
    best, _ = max_coverage(problem.admissible, problem.k, problem.fixed_columns)
    return Servers.of(cost, best)


def random_placements(
    rng: np.random.Generator, n: int, k: int, count: int, fixed: NDArray[np.intp] | None = None
) -> NDArray[np.intp]:
    """``count`` placements of k distinct sites among ``0..n-1``, shape ``(count, k)``: the
    ``fixed`` ones, and the rest uniform over the subsets of the others."""
    if fixed is not None and fixed.size:
        free = np.setdiff1d(np.arange(n), fixed)
        drawn = free[random_placements(rng, free.size, k - fixed.size, count)]
        return np.hstack([np.broadcast_to(fixed, (count, fixed.size)), drawn])
    if k == 0:
        return np.zeros((count, 0), dtype=np.intp)
    # The k smallest of n i.i.d. uniforms are a uniform random k-subset.
    return np.argpartition(rng.random((count, n)), k - 1, axis=1)[:, :k]
