"""The radius (distance-level) formulation of the placement problem, as arrays for HiGHS.

Per node i, the sorted distinct costs of its candidate servers ``D_i1 < ... < D_im``
(only admissible servers are candidates, so eps_max carries over exactly).
Binary ``y_j`` opens j; continuous ``z_ih`` in [0, 1] (h = 2..m) is 1 when node i
pays at least ``D_ih``. With ``z_i1 = 1`` and ``z_i,m+1 = 0`` fixed, the rows

    z_i,h+1 - z_ih + sum_{j: c_ij = D_ih} y_j >= 0        h = 1..m

(Cornuejols, Nemhauser and Wolsey 1980; Elloumi, "A tighter formulation of the
p-median problem", 2010) and ``sum_j y_j = k`` describe the placements, and
node i pays ``D_i1 + sum_h (D_ih - D_i,h-1) z_ih``. Every server appears in one row
per node, so the matrix has one entry per candidate pair plus two per level: no
``x_ij <= y_j`` rows at all. Dropping a node's levels above a cost that no better
placement can reach (the Lagrangian reductions) shortens its chain: its last row
then says that one of its remaining candidates must open.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

__all__ = ["RadiusModel", "radius_model"]

# Costs closer than this fraction of the largest one are one level.
_SAME_LEVEL = 1e-12


@dataclass(frozen=True, eq=False)
class RadiusModel:
    """The radius formulation as sparse arrays.

    Attributes
    ----------
    matrix : CSC, shape ``(rows, m + levels)``: columns ``y`` (m sites) then ``z``.
    row_lower : shape ``(rows,)``; row upper bounds are +inf except the last row
        (``sum y = k``), whose both bounds are k.
    cost : column costs, shape ``(m + levels,)``; offset : the constant ``sum_i D_i1``.
    node_of_level, level_cost : per ``z`` column its node and its ``D_ih``.
    """

    matrix: sparse.csc_matrix
    row_lower: NDArray[np.float64]
    row_upper: NDArray[np.float64]
    cost: NDArray[np.float64]
    offset: float
    node_of_level: NDArray[np.intp]
    level_cost: NDArray[np.float64]

    def start(self, cost: NDArray[np.float64], servers: NDArray[np.intp]) -> NDArray[np.float64]:
        """The column values of placement ``servers`` (each node at its cheapest candidate)."""
        m = cost.shape[1]
        pays = cost[:, servers].min(axis=1)
        values = np.zeros(self.matrix.shape[1])
        values[servers] = 1.0
        values[m:] = self.level_cost <= pays[self.node_of_level]
        return values


def radius_model(cost: NDArray[np.float64], k: int) -> RadiusModel:
    """The radius model of ``cost`` (shape ``(n, m)``, ``cost[i, j]`` of serving node i
    from site j, ``+inf`` where j is no candidate for i; every node needs a candidate)."""
    n, m = cost.shape
    # Candidate pairs only (a few percent of all after the reductions), by node, then cost.
    pair_node, pair_server = np.nonzero(np.isfinite(cost))
    pair_cost = cost[pair_node, pair_server]
    order = np.lexsort((pair_cost, pair_node))
    pair_node, pair_server, pair_cost = pair_node[order], pair_server[order], pair_cost[order]
    # Costs within rounding of each other (sums along different paths) share a level,
    # priced at the smallest: a level costing 1e-18 only troubles the LP.
    tolerance = _SAME_LEVEL * float(pair_cost.max(initial=0.0))
    new_level = np.ones(pair_node.size, dtype=bool)
    new_level[1:] = (pair_node[1:] != pair_node[:-1]) | (pair_cost[1:] - pair_cost[:-1] > tolerance)
    row_of_pair = np.cumsum(new_level) - 1  # rows are numbered node by node, level by level
    levels = np.bincount(pair_node[new_level], minlength=n)  # m_i
    row_start = np.concatenate([[0], np.cumsum(levels)])
    z_start = np.concatenate([[0], np.cumsum(levels - 1)])
    n_rows, n_z = int(row_start[-1]), int(z_start[-1])
    # y_j in the row of its level for node i.
    y_rows, y_cols = row_of_pair, pair_server
    # z_ih (h >= 1, 0-based) enters row h-1 with +1 and row h with -1.
    z_node = np.repeat(np.arange(n), levels - 1)
    z_level = np.arange(n_z) - z_start[z_node] + 1
    z_cols = m + np.arange(n_z)
    z_rows_in = row_start[z_node] + z_level - 1
    z_rows_out = row_start[z_node] + z_level
    count_row = np.full(m, n_rows)
    rows = np.concatenate([y_rows, z_rows_in, z_rows_out, count_row])
    cols = np.concatenate([y_cols, z_cols, z_cols, np.arange(m)])
    values = np.concatenate([np.ones(y_rows.size), np.ones(n_z), -np.ones(n_z), np.ones(m)])
    matrix = sparse.csc_matrix((values, (rows, cols)), shape=(n_rows + 1, m + n_z))

    distinct = pair_cost[new_level]  # node by node, ascending
    is_first = np.zeros(n_rows, dtype=bool)
    is_first[row_start[:-1]] = True
    level_cost = distinct[~is_first]
    below = distinct[np.flatnonzero(~is_first) - 1]
    row_lower = np.zeros(n_rows + 1)
    row_lower[row_start[:-1]] = 1.0
    row_lower[-1] = k
    row_upper = np.full(n_rows + 1, np.inf)
    row_upper[-1] = k
    return RadiusModel(
        matrix=matrix,
        row_lower=row_lower,
        row_upper=row_upper,
        cost=np.concatenate([np.zeros(m), level_cost - below]),
        offset=float(distinct[is_first].sum()),
        node_of_level=z_node,
        level_cost=level_cost,
    )
