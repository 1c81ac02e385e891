"""Incremental swap local search and greedy for the p-median (penalised) cost.

The swap neighbourhood of Whitaker ("A fast algorithm for the greedy interchange for
large-scale clustering and median location problems", 1983) kept up to date as in
Resende and Werneck ("A fast swap-based local search procedure for location problems",
2007). With every client's nearest and second-nearest server (costs ``d1``, ``d2``), the
change of the total when site j enters and the server r leaves is

    delta(r, j) = loss[r] - gain[j] - extra[r, j]

    gain[j]     = sum_i max(d1_i - c_ij, 0)                      (j opens, all stay)
    loss[r]     = sum_{i: nearest r} (d2_i - d1_i)                (r closes, nothing opens)
    extra[r, j] = sum_{i: nearest r} max(d2_i - max(c_ij, d1_i), 0)   (the two overlap)

Each client contributes to the three arrays through its own ``d1``, ``d2`` and nearest
server only, so after a swap only the clients whose two nearest servers changed (those
served first or second by the leaving server, and those the entering site is closer to
than their second) are taken out with their old values and put back with the new ones:
no full re-evaluation per swap. The best swap is then one arg-min over the ``(k, m)``
array of ``delta``. Greedy construction keeps ``gain`` the same way.

Costs are the rows of :class:`~dtopt.solvers._swap.Penalised`: ``rows[j, i]`` is client
i served at site j, finite (an inadmissible pair costs the penalty), so the error bound is
respected exactly as in every other heuristic.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

__all__ = ["SwapNeighbourhood", "descend", "incremental_greedy", "perturbed_search"]

# Swaps must improve the total by more than this fraction of it (guards against
# cycling on floating-point noise).
RELATIVE_TOLERANCE = 1e-12
# Perturbations: at most this many random swaps at once, and the sites near a server a
# local swap may open: this multiple of the mean cluster size n / k (at least _NEAR_MIN).
_MAX_KICK = 8
_NEAR_FACTOR = 3
_NEAR_MIN = 8
# Clients handled per block when contributions are (re)computed: bounds the
# temporaries to about _BLOCK * m floats each.
_BLOCK = 256


class SwapNeighbourhood:
    """A placement with the arrays that score all its swaps (see the module docstring).

    Parameters
    ----------
    rows : shape ``(m, n)``, ``rows[j, i]`` the finite cost of client i served at site j.
    clients : shape ``(n, m)``, the same costs client-major (``rows.T``, C-contiguous).
    servers : shape ``(k,)`` with 2 <= k < m, distinct site indices.
    locked : shape ``(k,)``, the positions in ``servers`` never swapped out (fixed
        servers), or ``None``.
    """

    def __init__(
        self,
        rows: NDArray[np.float64],
        clients: NDArray[np.float64],
        servers: NDArray[np.intp],
        locked: NDArray[np.bool_] | None = None,
    ) -> None:
        self.rows, self.clients = rows, clients
        self.locked = None if locked is None or not locked.any() else np.array(locked, dtype=bool)
        m, n = rows.shape
        self.servers = np.array(servers, dtype=np.intp)
        k = len(self.servers)
        self.is_server = np.zeros(m, dtype=bool)
        self.is_server[self.servers] = True
        self.nearest = np.empty(n, dtype=np.intp)
        self.second = np.empty(n, dtype=np.intp)
        self.d1, self.d2 = np.empty(n), np.empty(n)
        self.gain, self.loss, self.extra = np.zeros(m), np.zeros(k), np.zeros((k, m))
        everyone = np.arange(n)
        self._assign(everyone)
        self._contribute(everyone, 1.0)

    @property
    def total(self) -> float:
        """Total cost of the placement."""
        return float(self.d1.sum())

    def best_swap(self) -> tuple[float, int, int]:
        """The best swap: (its estimated change of the total, position in ``servers``, site added)."""
        delta = self.loss[:, None] - self.extra
        delta -= self.gain[None, :]
        delta[:, self.is_server] = np.inf
        if self.locked is not None:
            delta[self.locked] = np.inf
        position, site = np.unravel_index(int(np.argmin(delta)), delta.shape)
        return float(delta[position, site]), int(position), int(site)

    def swap_delta(self, position: int, site: int) -> float:
        """The exact change of the total when ``site`` replaces ``servers[position]``; O(n)."""
        kept = np.where(self.nearest == position, self.d2, self.d1)
        return float(np.minimum(self.rows[site], kept).sum() - self.d1.sum())

    def swap(self, position: int, site: int) -> None:
        """Replace ``servers[position]`` by ``site``, updating the arrays of the clients it affects."""
        affected = np.flatnonzero(
            (self.nearest == position) | (self.second == position) | (self.rows[site] < self.d2)
        )
        self._contribute(affected, -1.0)
        self.is_server[self.servers[position]] = False
        self.is_server[site] = True
        self.servers[position] = site
        self._assign(affected)
        self._contribute(affected, 1.0)

    def move_to(self, servers: NDArray[np.intp]) -> None:
        """Swap servers in and out until the placement is ``servers`` (as a set)."""
        target = np.zeros_like(self.is_server)
        target[servers] = True
        leaving = np.flatnonzero(self.is_server & ~target)
        entering = np.flatnonzero(target & ~self.is_server)
        for old, new in zip(leaving, entering, strict=True):
            self.swap(int(np.flatnonzero(self.servers == old)[0]), int(new))

    def _assign(self, clients: NDArray[np.intp]) -> None:
        """Nearest and second-nearest servers of ``clients`` from scratch; O(|clients| k)."""
        for block in _blocks(clients):
            costs = self.clients[np.ix_(block, self.servers)]  # (b, k)
            two = np.argpartition(costs, 1, axis=1)[:, :2]
            pair = np.take_along_axis(costs, two, axis=1)
            swap = pair[:, 1] < pair[:, 0]
            two[swap] = two[swap, ::-1]
            pair[swap] = pair[swap, ::-1]
            self.nearest[block], self.second[block] = two[:, 0], two[:, 1]
            self.d1[block], self.d2[block] = pair[:, 0], pair[:, 1]

    def _contribute(self, clients: NDArray[np.intp], sign: float) -> None:
        """Add (``sign`` = 1) or take out (-1) the terms of ``clients`` in gain, loss and extra."""
        self.loss += sign * np.bincount(
            self.nearest[clients], weights=self.d2[clients] - self.d1[clients], minlength=len(self.servers)
        )
        m = self.rows.shape[0]
        for block in _blocks(clients):
            costs = self.clients[block]  # (b, m)
            # Only sites cheaper than a client's second nearest server add to its terms.
            row, site = np.nonzero(costs < self.d2[block, None])
            cost = costs[row, site]
            d1, d2 = self.d1[block][row], self.d2[block][row]
            self.gain += sign * np.bincount(site, weights=np.maximum(d1 - cost, 0.0), minlength=m)
            np.add.at(self.extra, (self.nearest[block][row], site), sign * (d2 - np.maximum(cost, d1)))


def incremental_greedy(
    rows: NDArray[np.float64], clients: NDArray[np.float64], k: int, start: list[int] | None = None
) -> NDArray[np.intp]:
    """Add sites one at a time, each lowering the total most; ties to the lowest index.

    ``rows``, ``clients`` as in :class:`SwapNeighbourhood`; ``start``: distinct sites
    already chosen, completed up to ``k``. The gain of every site is kept up to date from
    the clients the last opened site serves better (instead of re-summing all ``m n``
    costs per step).
    """
    chosen = list(start) if start else [int(np.argmin(rows.sum(axis=1)))]
    current = rows[chosen].min(axis=0)
    gain = np.zeros(rows.shape[0])
    for block in _blocks(np.arange(rows.shape[1])):
        gain += np.maximum(current[block, None] - clients[block], 0.0).sum(axis=0)
    while len(chosen) < k:
        gain[chosen] = -np.inf
        # Ties (to rounding in the kept sums) go to the lowest index.
        site = int(np.argmax(gain >= gain.max() - RELATIVE_TOLERANCE * current.sum()))
        chosen.append(site)
        better = np.flatnonzero(rows[site] < current)
        for block in _blocks(better):
            costs = clients[block]
            gain -= np.maximum(current[block, None] - costs, 0.0).sum(axis=0)
            current[block] = rows[site, block]
            gain += np.maximum(current[block, None] - costs, 0.0).sum(axis=0)
    return np.asarray(chosen[:k], dtype=np.intp)


def descend(hood: SwapNeighbourhood, penalty: float | None = None) -> SwapNeighbourhood:
    """Best-improvement swaps until none improves (or, given ``penalty``, until every
    client costs less than it); the neighbourhood, rebuilt if rounding made it stale.

    The chosen swap's change is checked exactly in O(n) before it is made, so rounding
    in the kept sums can neither fake an improvement nor cycle.
    """
    rebuilt = False
    while not (penalty is not None and hood.d1.max() < penalty):
        delta, position, site = hood.best_swap()
        tolerance = RELATIVE_TOLERANCE * hood.total
        if delta >= -tolerance:
            break
        if hood.swap_delta(position, site) >= -tolerance:
            if rebuilt:  # exact sums disagree with the kept ones only by rounding
                break
            hood, rebuilt = SwapNeighbourhood(hood.rows, hood.clients, hood.servers, hood.locked), True
            continue
        hood.swap(position, site)
        rebuilt = False
    return hood


def perturbed_search(
    hood: SwapNeighbourhood, rounds: int, rng: np.random.Generator, stop: Callable[[], bool] | None = None
) -> SwapNeighbourhood:
    """Iterated local search from the local optimum ``hood``: each round makes t random
    swaps and descends again, keeping the result if it is better, else going back.

    t grows by one after a round that did not improve (up to 8 or k) and falls back to 1
    after one that did (the shaking of variable neighbourhood search, Hansen and
    Mladenovic, "Variable neighborhood search for the p-median", 1997). A swap is, at even
    odds, a random server moved to a random site near it (among the ``3 m / k`` nearest to
    a random node it serves) or a random site opened with the server whose removal costs
    least; fixed servers never move. ``rounds`` rounds at most, fewer if ``stop()`` turns
    true; returns the best local optimum found.
    """
    k, m = len(hood.servers), hood.rows.shape[0]
    free = k if hood.locked is None else int((~hood.locked).sum())
    if k >= m or free == 0:
        return hood
    best, best_total = hood.servers.copy(), hood.total
    near = min(m, max(_NEAR_MIN, _NEAR_FACTOR * m // k))
    size, largest = 1, min(_MAX_KICK, free, m - k)
    for _ in range(rounds):
        if stop is not None and stop():
            break
        for _ in range(size):
            _kick(hood, rng, near)
        hood = descend(hood)
        if hood.total < best_total * (1 - RELATIVE_TOLERANCE):
            best, best_total, size = hood.servers.copy(), hood.total, 1
        else:
            hood.move_to(best)
            size = size % largest + 1
    hood.move_to(best)
    return hood


def _kick(hood: SwapNeighbourhood, rng: np.random.Generator, near: int) -> None:
    """One random swap of the perturbation (see :func:`perturbed_search`)."""
    free = np.flatnonzero(~hood.is_server)
    movable = np.arange(len(hood.servers)) if hood.locked is None else np.flatnonzero(~hood.locked)
    if rng.random() < 0.5:
        position = int(rng.choice(movable))
        # Sites near the server: those nearest to a random client it serves.
        served = np.flatnonzero(hood.nearest == position)
        client = int(rng.choice(served)) if served.size else int(rng.integers(hood.clients.shape[0]))
        nearby = np.argpartition(hood.clients[client], near - 1)[:near]
        nearby = nearby[~hood.is_server[nearby]]
        site = int(rng.choice(nearby)) if nearby.size else int(rng.choice(free))
    else:
        site = int(rng.choice(free))
        position = int(movable[np.argmin((hood.loss - hood.extra[:, site])[movable])])
    hood.swap(position, site)


def _blocks(indices: NDArray[np.intp]) -> list[NDArray[np.intp]]:
    return [indices[i : i + _BLOCK] for i in range(0, indices.size, _BLOCK)]
