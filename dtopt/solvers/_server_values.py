"""The server values of the Lagrangian relaxation of the p-median, from sorted row prefixes."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["ServerValues"]

# The sorted prefix is widened when more than 1 / _WIDEN_SHARE of the rows reach past it.
_WIDEN_SHARE = 10


class ServerValues:
    """``V_j(u) = sum_i min(0, c_ij - u_i)`` for every j, from each row's cheapest servers.

    Only pairs with ``c_ij < u_i`` contribute, and those are a prefix of row i sorted by
    cost. Only the first ``width`` sites of each row are sorted (by partition, then a sort
    of that prefix: sorting whole rows of a large matrix costs more than the iterations),
    wide enough for most rows; a row whose ``u_i`` reaches past its prefix is summed in
    full, and the prefix is widened when more than a tenth of the rows do. Every
    contributing pair is always counted: the values are exact, not approximated.
    """

    def __init__(self, cost: NDArray[np.float64]) -> None:
        self.cost = cost
        self.n_sites = cost.shape[1]
        self.order = np.zeros((cost.shape[0], 0), dtype=np.intp)
        self.sorted = np.zeros((cost.shape[0], 0))
        self._buffer = self.sorted

    def __call__(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        m = self.n_sites
        beyond = self._beyond(u)
        if _WIDEN_SHARE * np.count_nonzero(beyond) > beyond.size:
            self._widen(u)
            beyond = self._beyond(u)
        # One buffer for every call: a fresh array this large costs page faults each time.
        contribution = np.subtract(self.sorted, u[:, None], out=self._buffer)
        np.minimum(contribution, 0.0, out=contribution)
        contribution[beyond] = 0.0
        values = np.bincount(self.order.ravel(), weights=contribution.ravel(), minlength=m)
        rows = np.flatnonzero(beyond)
        if rows.size:
            values += np.minimum(self.cost[rows] - u[rows, None], 0.0).sum(axis=0)
        return values

    def _beyond(self, u: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Shape ``(n,)``: the rows whose sorted prefix may miss a site cheaper than ``u_i``."""
        if self.sorted.shape[1] == self.n_sites:
            return np.zeros(u.shape, dtype=bool)
        if self.sorted.shape[1] == 0:
            return np.ones(u.shape, dtype=bool)
        return self.sorted[:, -1] < u

    def _widen(self, u: NDArray[np.float64]) -> None:
        """Sort a prefix of every row wide enough for nine rows in ten at ``u``, with room
        for ``u`` to grow (every site when that is most of them)."""
        needed = np.quantile((self.cost < u[:, None]).sum(axis=1), 1 - 1 / _WIDEN_SHARE)
        width = max(self.sorted.shape[1], int(needed) + int(needed) // 2 + 8)
        if 2 * width >= self.n_sites:
            self.order = np.argsort(self.cost, axis=1, kind="stable")
        else:
            part = np.argpartition(self.cost, width - 1, axis=1)[:, :width]
            by_cost = np.argsort(np.take_along_axis(self.cost, part, axis=1), axis=1, kind="stable")
            self.order = np.take_along_axis(part, by_cost, axis=1)
        self.sorted = np.take_along_axis(self.cost, self.order, axis=1)
        self._buffer = np.empty_like(self.sorted)
