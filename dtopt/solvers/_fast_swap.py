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
no full re-evaluation per swap. Only sites cheaper than a client's second server enter
its terms: each client keeps its cheapest sites sorted (:class:`NearestSites`, about
``2 m / k`` of them), so re-scoring it reads that prefix of its list, not its whole row.
The best swap is one arg-min over the ``(k, m)`` array of ``delta``, or, with many
servers, over the pairs where ``extra`` may be nonzero plus the pair of least loss and
most gain (every other pair is no better than that one). Read as truncated
(:meth:`NearestSites.truncated`), the lists restrict the terms to the listed sites, as
Resende and Werneck suggest for large instances: the kept change of a swap is then at
least its true change (never a false improvement), and cheaper to keep; a search ends
with the complete lists. Greedy construction keeps ``gain`` the same way.

Costs are the rows of :class:`~dtopt.solvers._swap.Penalised`: ``rows[j, i]`` is client
i served at site j, finite (an inadmissible pair costs the penalty), so the error bound is
respected exactly as in every other heuristic.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["NearestSites", "SwapNeighbourhood", "descend", "incremental_greedy"]

# Swaps must improve the total by more than this fraction of it (guards against
# cycling on floating-point noise).
RELATIVE_TOLERANCE = 1e-12
# Width of the clients' sorted site lists: _NEAR_RANKS mean cluster sizes m / k, plus _NEAR_MIN.
_NEAR_RANKS = 2
_NEAR_MIN = 8
# A block of clients is scored from whole rows when at least 1 / _DENSE_SHARE of its
# (client, site) pairs count.
_DENSE_SHARE = 4
# Pairs are added to extra one by one while they number under 1 / _SCATTER_SHARE of its
# entries, else by one bincount over all of it.
_SCATTER_SHARE = 8
# The best swap is read from the whole k x m table while it has at most _SPARSE_SHARE times
# as many entries as the clients' site lists (a table entry costs less than a listed pair).
_SPARSE_SHARE = 4
# Clients handled per block when contributions are (re)computed: bounds the
# temporaries to about _BLOCK * m floats each.
_BLOCK = 256


class NearestSites:
    """Each client's cheapest sites in order of cost: the first ``width`` of its row.

    Attributes
    ----------
    sites : shape ``(n, width)``, ``sites[i, r]`` the site of rank r for client i.
    costs : shape ``(n, width)``, their costs (ascending along each row).
    """

    def __init__(self, sites: NDArray[np.intp], costs: NDArray[np.float64], complete: bool = True) -> None:
        self.sites, self.costs, self.complete = sites, costs, complete

    def truncated(self) -> NearestSites:
        """The same lists, read as all there is: gains and extras count only the listed sites."""
        return NearestSites(self.sites, self.costs, complete=False)

    @classmethod
    def of(cls, clients: NDArray[np.float64], k: int, width: int | None = None) -> NearestSites:
        """The lists of ``clients`` (shape ``(n, m)``) for placements of ``k`` servers: by
        default ``_NEAR_RANKS`` times the mean cluster size ``m / k`` wide, enough for most
        clients' second nearest server (a client reaching past it is read in full)."""
        m = clients.shape[1]
        if width is None:
            width = _NEAR_RANKS * -(-m // max(k, 1)) + _NEAR_MIN
        width = max(1, min(m, width))
        if width < m:
            sites = np.argpartition(clients, width - 1, axis=1)[:, :width]
        else:
            sites = np.broadcast_to(np.arange(m), clients.shape)
        costs = np.take_along_axis(clients, sites, axis=1)
        order = np.argsort(costs, axis=1, kind="stable")
        return cls(np.take_along_axis(sites, order, axis=1), np.take_along_axis(costs, order, axis=1))


class SwapNeighbourhood:
    """A placement with the arrays that score all its swaps (see the module docstring).

    Parameters
    ----------
    rows : shape ``(m, n)``, ``rows[j, i]`` the finite cost of client i served at site j.
    clients : shape ``(n, m)``, the same costs client-major (``rows.T``, C-contiguous).
    servers : shape ``(k,)`` with 2 <= k < m, distinct site indices.
    locked : shape ``(k,)``, the positions in ``servers`` never swapped out (fixed
        servers), or ``None``.
    near : each client's cheapest sites (:class:`NearestSites`), shared by the
        neighbourhoods of one search; by default built for k servers.
    """

    def __init__(
        self,
        rows: NDArray[np.float64],
        clients: NDArray[np.float64],
        servers: NDArray[np.intp],
        locked: NDArray[np.bool_] | None = None,
        near: NearestSites | None = None,
    ) -> None:
        self.rows, self.clients = rows, clients
        self.near = NearestSites.of(clients, len(servers)) if near is None else near
        self.locked = None if locked is None or not locked.any() else np.array(locked, dtype=bool)
        m, n = rows.shape
        self.servers = np.array(servers, dtype=np.intp)
        k = len(self.servers)
        self.is_server = np.zeros(m, dtype=bool)
        self.is_server[self.servers] = True
        self.place = np.full(m, -1, dtype=np.intp)  # position in servers of each site, -1 if none
        self.place[self.servers] = np.arange(k)
        self.nearest = np.empty(n, dtype=np.intp)
        self.second = np.empty(n, dtype=np.intp)
        self.d1, self.d2 = np.empty(n), np.empty(n)
        self.gain, self.loss, self.extra = np.empty(m), np.empty(k), np.empty((k, m))
        self._rebuild()

    @property
    def total(self) -> float:
        """Total cost of the placement."""
        return float(self.d1.sum())

    def best_swap(self) -> tuple[float, int, int]:
        """The best swap: (its estimated change of the total, position in ``servers``, site added)."""
        k, m = self.extra.shape
        if k * m <= _SPARSE_SHARE * self.near.costs.size:
            delta = self.loss[:, None] - self.extra
            delta -= self.gain[None, :]
            delta[:, self.is_server] = np.inf
            if self.locked is not None:
                delta[self.locked] = np.inf
            position, site = np.unravel_index(int(np.argmin(delta)), delta.shape)
            return float(delta[position, site]), int(position), int(site)
        # Many servers: extra[r, j] is 0 but where a client of r has site j cheaper than its
        # second server, and every pair with extra 0 is no better than the pair of the least
        # loss and the most gain; so those pairs and that one are all the candidates.
        loss = self.loss if self.locked is None else np.where(self.locked, np.inf, self.loss)
        gain = np.where(self.is_server, -np.inf, self.gain)
        positions, sites = self._extra_pairs()
        positions = np.append(positions, np.argmin(loss))
        sites = np.append(sites, np.argmax(gain))
        delta = loss[positions] - gain[sites] - self.extra[positions, sites]
        best = int(np.argmin(delta))
        return float(delta[best]), int(positions[best]), int(sites[best])

    def _extra_pairs(self) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """(position, site) of every pair with possibly nonzero ``extra`` (repeats allowed)."""
        listed = self._listed(slice(None))
        row, rank = np.nonzero((self.near.costs < self.d2[:, None]) & listed[:, None])
        positions, sites = [self.nearest[row]], [self.near.sites[row, rank]]
        for block in _blocks(np.flatnonzero(~listed)):
            row, site = np.nonzero(self.clients[block] < self.d2[block, None])
            positions.append(self.nearest[block[row]])
            sites.append(site)
        return np.concatenate(positions), np.concatenate(sites)

    def swap_delta(self, position: int, site: int) -> float:
        """The exact change of the total when ``site`` replaces ``servers[position]``; O(n)."""
        kept = np.where(self.nearest == position, self.d2, self.d1)
        return float(np.minimum(self.rows[site], kept).sum() - self.d1.sum())

    def swap(self, position: int, site: int) -> None:
        """Replace ``servers[position]`` by ``site``, updating the arrays of the clients it affects."""
        self._replace(np.array([position]), np.array([site]))

    def move_to(self, servers: NDArray[np.intp]) -> None:
        """Swap servers in and out until the placement is ``servers`` (as a set), updating
        the clients affected by any of the swaps once."""
        target = np.zeros_like(self.is_server)
        target[servers] = True
        leaving = np.flatnonzero(self.is_server & ~target)
        if leaving.size:
            self._replace(self.place[leaving], np.flatnonzero(target & ~self.is_server))

    def _replace(self, positions: NDArray[np.intp], sites: NDArray[np.intp]) -> None:
        """Put ``sites`` at ``positions`` of ``servers``: the clients whose two nearest
        servers change (one of them leaves, or a new site is cheaper than the second) are
        taken out of the arrays with their old values and put back with the new ones."""
        moved = np.zeros(len(self.servers), dtype=bool)
        moved[positions] = True
        entering = self.rows[sites[0]] if sites.size == 1 else self.rows[sites].min(axis=0)
        affected = np.flatnonzero(moved[self.nearest] | moved[self.second] | (entering < self.d2))
        rebuild = 2 * affected.size > self.d1.size  # then adding all back beats taking out and adding
        if not rebuild:
            self._contribute(affected, -1.0)
        self.is_server[self.servers[positions]] = False
        self.place[self.servers[positions]] = -1
        self.is_server[sites] = True
        self.place[sites] = positions
        self.servers[positions] = sites
        if rebuild:
            self._rebuild()
        else:
            self._assign(affected)
            self._contribute(affected, 1.0)

    def _rebuild(self) -> None:
        """Every client's arrays from scratch for the current servers."""
        self.gain[:], self.loss[:], self.extra[...] = 0.0, 0.0, 0.0
        everyone = np.arange(self.d1.size)
        self._assign(everyone)
        self._contribute(everyone, 1.0)

    def snapshot(self) -> tuple[NDArray, ...]:
        """Copies of the arrays that :meth:`restore` puts back (cheaper than swapping back)."""
        return tuple(a.copy() for a in self._state())

    def restore(self, snapshot: tuple[NDArray, ...]) -> None:
        """Go back to the placement of a :meth:`snapshot` of this neighbourhood."""
        for mine, saved in zip(self._state(), snapshot, strict=True):
            mine[...] = saved

    def _state(self) -> tuple[NDArray, ...]:
        return (self.servers, self.is_server, self.place, self.nearest, self.second,
                self.d1, self.d2, self.gain, self.loss, self.extra)  # fmt: skip

    def _assign(self, clients: NDArray[np.intp]) -> None:
        """Nearest and second-nearest servers of ``clients`` from scratch: the first two
        servers of their sorted sites, else from their whole rows in O(|clients| k)."""
        ranks = self.place[self.near.sites[clients]]  # (c, width): position, -1 if no server
        opened = ranks >= 0
        listed = np.count_nonzero(opened, axis=1) >= 2
        first = np.argmax(opened, axis=1)
        opened[np.arange(len(clients)), first] = False
        second = np.argmax(opened, axis=1)
        rows = np.flatnonzero(listed)
        done = clients[rows]
        self.nearest[done] = ranks[rows, first[rows]]
        self.second[done] = ranks[rows, second[rows]]
        self.d1[done] = self.near.costs[done, first[rows]]
        self.d2[done] = self.near.costs[done, second[rows]]
        for block in _blocks(clients[~listed]):
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
        # Only sites cheaper than a client's second nearest server add to its terms: a prefix
        # of its sorted sites when that prefix reaches past d2, else found in its whole row.
        listed = self._listed(clients)
        for block, sites in [(b, self.near.sites) for b in _blocks(clients[listed])] + [
            (b, None) for b in _blocks(clients[~listed])
        ]:
            costs = self.near.costs[block] if sites is not None else self.clients[block]
            below = costs < self.d2[block, None]
            dense = np.count_nonzero(below) * _DENSE_SHARE >= below.shape[0] * self.rows.shape[0]
            if dense and self.near.complete:
                self._add_dense(block, sign)  # most sites count: whole rows beat scattering pairs
                continue
            row, col = np.nonzero(below)
            site = col if sites is None else sites[block[row], col]
            self._add_pairs(block, row, site, costs[row, col], sign)

    def _listed(self, clients: NDArray[np.intp] | slice) -> NDArray[np.bool_]:
        """Which of ``clients`` have every site cheaper than their second server listed (all,
        when the lists are truncated)."""
        if not self.near.complete:
            return np.ones(self.d2[clients].shape, dtype=bool)
        return self.near.costs[clients, -1] >= self.d2[clients]

    def _add_dense(self, block: NDArray[np.intp], sign: float) -> None:
        """The terms of the clients ``block`` in gain and extra, from their whole rows."""
        block = block[np.argsort(self.nearest[block], kind="stable")]  # grouped by nearest server
        nearest = self.nearest[block]
        starts = np.flatnonzero(np.r_[True, nearest[1:] != nearest[:-1]])
        costs = self.clients[block]  # (b, m)
        d1, d2 = self.d1[block, None], self.d2[block, None]
        terms = np.subtract(d1, costs)
        self.gain += sign * np.maximum(terms, 0.0, out=terms).sum(axis=0)
        np.maximum(costs, d1, out=terms)
        np.subtract(d2, terms, out=terms)
        np.maximum(terms, 0.0, out=terms)
        self.extra[nearest[starts]] += sign * np.add.reduceat(terms, starts, axis=0)

    def _add_pairs(
        self,
        block: NDArray[np.intp],
        row: NDArray[np.intp],
        site: NDArray[np.intp],
        cost: NDArray[np.float64],
        sign: float,
    ) -> None:
        """The terms of the pairs (``block[row]``, ``site``) of cost ``cost`` in gain and extra."""
        m = self.rows.shape[0]
        d1, d2 = self.d1[block][row], self.d2[block][row]
        self.gain += sign * np.bincount(site, weights=np.maximum(d1 - cost, 0.0), minlength=m)
        terms = sign * (d2 - np.maximum(cost, d1))
        k = len(self.servers)
        if terms.size * _SCATTER_SHARE < k * m:
            np.add.at(self.extra, (self.nearest[block][row], site), terms)
        else:  # many pairs: one pass over extra beats scattering them one by one
            flat = self.nearest[block][row] * m + site
            self.extra += np.bincount(flat, weights=terms, minlength=k * m).reshape(k, m)


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
            hood = SwapNeighbourhood(hood.rows, hood.clients, hood.servers, hood.locked, hood.near)
            rebuilt = True
            continue
        hood.swap(position, site)
        rebuilt = False
    return hood


def _blocks(indices: NDArray[np.intp]) -> list[NDArray[np.intp]]:
    return [indices[i : i + _BLOCK] for i in range(0, indices.size, _BLOCK)]
