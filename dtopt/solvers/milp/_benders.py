"""The radius formulation projected onto the servers, solved with Benders cuts.

Duran-Mateluna, Ales and Elloumi, "An efficient Benders decomposition for the
p-median problem" (European Journal of Operational Research, 2023): keep binary
``y_j`` and one continuous ``theta_i`` per node (its latency, ms), and replace the
node's chain of distance levels (:mod:`._radius`) by the cuts

    theta_i + sum_{j: c_ij < D} (D - c_ij) y_j >= D          for any latency D,

each valid because a node pays the latency of its nearest open server. For a
fractional ``y`` the most violated cut of node i is at the first latency D by which
its servers, in order of latency, add up to one server; finding it is a sort and a
cumulative sum, no LP. The LP relaxation (the radius model's bound) is reached by
a few rounds of cuts over a few thousand rows, where the radius model holds one
row per level (OR-Library pmed39: 1.4 s over 3,005 cuts, against a root LP of
19,520 rows that dual simplex did not finish in 117 s).

Branch and bound then runs on the master holding the cuts found. An integer
solution it improves to is checked against the placement's true latency: one that
undercuts it (a cut is missing) stops HiGHS, its cuts are added and the search
restarts, cut off at the incumbent. The master with every cut is the radius model,
so an optimum HiGHS proves over a master whose solution it checked is the optimum.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from dtopt.placement.problem import PlacementProblem
from dtopt.solvers.method import MethodOutput
from dtopt.solvers.milp._highs import new_highs, pass_arrays, run
from dtopt.solvers.milp._model import answer, finish_mip, no_solution, start_from
from dtopt.solvers.milp._state import Search

__all__ = ["BendersCuts", "solve_benders"]

# A cut is added when it is violated by more than this, relative to its latency.
_VIOLATION = 1e-7
# y values summing to this count as one whole server.
_WHOLE = 1 - 1e-9
# Rounds of cuts on the LP relaxation at most, before branch and bound takes over.
_MAX_ROUNDS = 200
# Once the LP is reached, each node also gets the cuts at this many latencies above its
# LP one: integer solutions often move a node there, and a missing cut costs a restart.
# Measured (OR-Library, time_limit_s=120): with 0, pmed36 took 96 s and 3 restarts,
# pmed39 41 s; with 2, 72 and 19 s; with 4, 41 and 20 s and no restart; with 8, 69 s and
# pmed38 28 s against 18 s (the rows grow denser).
_DEEPER = 4
# Separation first reads this many of each node's servers in order of latency.
_FIRST_WIDTH = 64


class BendersCuts:
    """Each node's admissible allowed servers in order of latency, and their cuts.

    ``latency``: shape ``(n, m)``, ms, ``+inf`` where a pair is inadmissible;
    ``allowed``: shape ``(m,)``, the servers the master may open. The master's
    columns are the m ``y`` then the n ``theta``.

    A node's cuts involve only its servers cheaper than the cut's latency, a prefix of
    its order: separation reads the first ``width`` columns of the sorted arrays
    (doubled when a node's whole server lies beyond them), not all m.
    """

    def __init__(self, latency: NDArray[np.float64], allowed: NDArray[np.bool_]) -> None:
        self.n, self.m = latency.shape
        servers = np.flatnonzero(allowed)
        columns = latency if servers.size == self.m else latency[:, servers]  # a copy: 0.05 s at n = 1,304
        by_latency = np.argsort(columns, axis=1, kind="stable")
        self.order = servers[by_latency]  # (n, w) server indices
        self.sorted = np.take_along_axis(columns, by_latency, axis=1)  # (n, w) ms
        self.reachable = np.isfinite(self.sorted)
        self.count = self.reachable.sum(axis=1)  # admissible allowed servers per node
        self.width = min(self.order.shape[1], _FIRST_WIDTH)

    @property
    def cheapest(self) -> NDArray[np.float64]:
        """Shape ``(n,)``: each node's least latency (ms), a lower bound on ``theta``."""
        return self.sorted[:, 0]

    def violated(
        self, y: NDArray[np.float64], theta: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], sparse.csr_matrix]:
        """The most violated cut of every node whose ``theta`` is below it: their right-hand
        sides ``D`` (shape ``(r,)``) and rows over the columns ``(y, theta)``, CSR
        shape ``(r, m + n)``."""
        level, spread = self._levels(y)
        latency = self.sorted[np.arange(self.n), level]
        coefficient = np.maximum(latency[:, None] - self.sorted[:, : spread.shape[1]], 0.0)
        needed = latency - (coefficient * spread).sum(axis=1)
        nodes = np.flatnonzero(needed > theta + _VIOLATION * np.maximum(latency, 1.0))
        return latency[nodes], self.rows(nodes, latency[nodes])

    def whole(self, y: NDArray[np.float64]) -> NDArray[np.float64]:
        """Shape ``(n,)``: per node, the least latency (ms) within which ``y`` opens one
        whole server (its largest latency if none)."""
        return self.sorted[np.arange(self.n), self._levels(y)[0]]

    def _levels(self, y: NDArray[np.float64]) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """Per node, the position in its order of the server by which ``y`` adds up to one
        whole server (its last if none), shape ``(n,)``; and ``y`` of each node's first
        ``width`` servers in order of latency (0 past its last), shape ``(n, width)``."""
        while True:
            width = self.width
            spread = np.where(self.reachable[:, :width], y[self.order[:, :width]], 0.0)
            below = (np.cumsum(spread, axis=1) < _WHOLE).sum(axis=1)
            short = (below == width) & (self.count > width)  # its whole server lies further on
            if not short.any():
                return np.minimum(below, self.count - 1), spread
            self.width = min(self.order.shape[1], 2 * width)

    def _cheaper(
        self, nodes: NDArray[np.intp], latency: NDArray[np.float64], *, inclusive: bool = False
    ) -> NDArray[np.intp]:
        """Shape ``(r,)``: how many of each node's servers cost less than its ``latency``
        (ms; at most that, if ``inclusive``)."""
        compare = np.less_equal if inclusive else np.less
        count = compare(self.sorted[nodes, : self.width], latency[:, None]).sum(axis=1)
        longer = np.flatnonzero(count == self.width) if self.width < self.order.shape[1] else count[:0]
        if longer.size:
            count[longer] = compare(self.sorted[nodes[longer]], latency[longer, None]).sum(axis=1)
        return count

    def next_levels(self, latency: NDArray[np.float64]) -> NDArray[np.float64]:
        """Shape ``(n,)``: each node's next latency above ``latency`` (its largest if none)."""
        nodes = np.arange(self.n)
        above = np.minimum(self._cheaper(nodes, latency, inclusive=True), self.count - 1)
        return self.sorted[nodes, above]

    def rows(self, nodes: NDArray[np.intp], latency: NDArray[np.float64]) -> sparse.csr_matrix:
        """The cuts of ``nodes`` at ``latency`` (ms, one each), CSR shape ``(r, m + n)``."""
        count = self._cheaper(nodes, latency)
        width = int(count.max(initial=0))
        below = np.arange(width) < count[:, None]  # a prefix of each node's order
        row = np.repeat(np.arange(nodes.size), count)
        values = (latency[:, None] - self.sorted[nodes, :width])[below]
        return sparse.csr_matrix(
            (
                np.concatenate([values, np.ones(nodes.size)]),
                (
                    np.concatenate([row, np.arange(nodes.size)]),
                    np.concatenate([self.order[nodes, :width][below], self.m + nodes]),
                ),
            ),
            shape=(nodes.size, self.m + self.n),
        )

    def covering(self) -> sparse.csr_matrix:
        """Rows ``sum_j y_j >= 1`` over a node's admissible allowed servers, for the nodes
        that cannot reach every allowed server (only there can a cut miss that a
        placement leaves the node unserved); CSR shape ``(r, m + n)``."""
        nodes = np.flatnonzero(self.count < self.order.shape[1])
        reach = self.reachable[nodes]
        row = np.repeat(np.arange(nodes.size), reach.sum(axis=1))
        return sparse.csr_matrix(
            (np.ones(row.size), (row, self.order[nodes][reach])), shape=(nodes.size, self.m + self.n)
        )


def solve_benders(
    problem: PlacementProblem,
    allowed: NDArray[np.bool_],
    cap_ms: float,
    search: Search,
    mip_gap: float,
    options: dict[str, Any],
    verbose: bool,
    polish: Callable[[NDArray[np.intp]], NDArray[np.intp]] | None = None,
) -> MethodOutput:
    """The Benders master over the ``allowed`` servers (shape ``(m,)``): cutting planes
    to its LP bound, then branch and bound with the cuts checked at integer solutions.

    ``polish`` turns a placement into a better one (a local search): at the LP bound it
    is handed the k servers the LP opens most, often the optimum already, and the
    servers whose reduced cost lifts the LP bound above the incumbent are closed."""
    import highspy

    n, m = problem.n, problem.n_sites
    latency = problem.cost_ms  # totals: well-scaled numbers
    cuts = BendersCuts(latency, allowed)
    if (cuts.count == 0).any():
        return MethodOutput(None, "infeasible")  # a node without an admissible server
    highs = new_highs(verbose, mip_gap, options)
    count_row = sparse.csc_matrix((np.ones(m), (np.zeros(m, dtype=int), np.arange(m))), shape=(1, m + n))
    y_lower = np.zeros(m)
    y_lower[problem.fixed_columns] = 1.0  # fixed servers stay open
    pass_arrays(
        highs,
        count_row,
        np.concatenate([np.zeros(m), np.ones(n)]),
        0.0,
        (np.concatenate([y_lower, np.zeros(n)]), np.concatenate([allowed.astype(float), np.full(n, np.inf)])),
        (np.array([problem.k], dtype=float), np.array([problem.k], dtype=float)),
        np.zeros(m + n, dtype=bool),
    )
    highs.changeColsBounds(n, np.arange(m, m + n, dtype=np.int32), cuts.cheapest, np.full(n, np.inf))
    covering = cuts.covering()
    _add_rows(highs, np.ones(covering.shape[0]), covering)
    start = None if search.servers is None else _column_values(latency, search.servers)
    if start is not None:
        _add_rows(highs, *cuts.violated(start[:m], cuts.cheapest))

    # Cutting planes on the LP relaxation.
    for rounds in range(1, _MAX_ROUNDS + 1):
        status = run(highs, search.deadline, relaxation=True)
        if status == highspy.HighsModelStatus.kInfeasible:
            return no_solution(search, cap_ms, mip_gap)
        if status != highspy.HighsModelStatus.kOptimal or search.deadline.expired():
            break
        values = np.asarray(highs.getSolution().col_value)
        if _add_rows(highs, *cuts.violated(values[:m], values[m:])) == 0:
            lp_total = highs.getInfo().objective_function_value
            search.raise_bound(min(lp_total / n, cap_ms))
            if polish is not None:  # the servers the LP opens most, polished by swaps
                search.offer(polish(np.argsort(-values[:m], kind="stable")[: problem.k]))
            fixed = _fix_by_reduced_cost(highs, m, lp_total, search.upper_ms * n)
            search.note(f"Benders LP ({rounds} rounds, {highs.getNumRow()} rows, {fixed} fixed)")
            level_ms = cuts.whole(values[:m])
            for _ in range(_DEEPER):
                higher = cuts.next_levels(level_ms)
                nodes = np.flatnonzero(higher > level_ms)  # a node at its largest has no more
                _add_rows(highs, higher[nodes], cuts.rows(nodes, higher[nodes]))
                level_ms = higher
            break
    if search.proven(mip_gap) or search.deadline.expired():
        return answer(search, mip_gap)

    # Branch and bound, restarted whenever an integer solution undercuts its true latency.
    kinds = np.full(m, int(highspy.HighsVarType.kInteger), dtype=np.uint8)
    highs.changeColsIntegrality(m, np.arange(m, dtype=np.int32), kinds)
    undercut: list[NDArray[np.float64]] = []

    def on_improving(event: Any) -> None:
        values = np.asarray(event.data_out.mip_solution)
        servers = np.flatnonzero(values[:m] > 0.5)
        paid = float(latency[:, servers].min(axis=1).sum()) if servers.size else np.inf
        if paid > values[m:].sum() + _VIOLATION * max(paid, 1.0):
            undercut.append(values.copy())
        else:
            search.offer(servers)

    highs.cbMipImprovingSolution.subscribe(on_improving)
    restarts = 0
    while True:
        start_from(
            highs, search, None if search.servers is None else _column_values(latency, search.servers), n
        )
        status = run(highs, search.deadline, relaxation=False, stop=lambda: bool(undercut))
        if not undercut or search.deadline.expired():
            break
        added = sum(_add_rows(highs, *cuts.violated(values[:m], values[m:])) for values in undercut)
        undercut.clear()
        if added == 0:  # nothing to add: HiGHS's tolerances, not a missing cut
            break
        restarts += 1
    highs.cbMipImprovingSolution.unsubscribe(on_improving)
    if status == highspy.HighsModelStatus.kInterrupt:
        status = highspy.HighsModelStatus.kTimeLimit  # cut short by the deadline after an undercut
    step = f"Benders branch and bound ({restarts} restarts)"
    return finish_mip(highs, status, np.arange(m), cap_ms, search, mip_gap, scale=n, step=step)


def _fix_by_reduced_cost(highs: Any, m: int, lp_total: float, upper_total: float) -> int:
    """Close every server (the first ``m`` columns) whose opening would lift the LP bound
    ``lp_total`` (the master's objective: total latency) past ``upper_total``, the
    incumbent's: no better placement opens it. Returns how many were closed."""
    solution = highs.getSolution()
    y = np.asarray(solution.col_value[:m])
    reduced = np.asarray(solution.col_dual[:m])
    slack = upper_total - lp_total
    # Only servers at 0 in the LP: opening one costs at least its reduced cost.
    closed = np.flatnonzero((y < 1e-9) & (reduced > slack + _VIOLATION * max(abs(upper_total), 1.0)))
    if closed.size:
        highs.changeColsBounds(
            closed.size, closed.astype(np.int32), np.zeros(closed.size), np.zeros(closed.size)
        )
    return int(closed.size)


def _column_values(latency: NDArray[np.float64], servers: NDArray[np.intp]) -> NDArray[np.float64]:
    """The master's columns ``(y, theta)`` of a placement, ``theta`` its true latencies (ms)."""
    n, m = latency.shape
    values = np.zeros(m + n)
    values[servers] = 1.0
    values[m:] = latency[:, servers].min(axis=1)
    return values


def _add_rows(highs: Any, lower: NDArray[np.float64], rows: sparse.csr_matrix) -> int:
    """Append ``lower <= rows @ x`` to ``highs``; the number of rows added."""
    if rows.shape[0] == 0:
        return 0
    highs.addRows(
        rows.shape[0],
        np.asarray(lower, dtype=float),
        np.full(rows.shape[0], np.inf),
        rows.nnz,
        rows.indptr[:-1].astype(np.int32),
        rows.indices.astype(np.int32),
        rows.data.astype(float),
    )
    return int(rows.shape[0])
