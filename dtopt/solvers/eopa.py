"""EOPA: exact placement by enumerating every set of k servers (Wu et al., 2024).

Two enumerations, with the same answer; the one with less array work for (n, k)
is used:

- *by levels* (k up to about n / 2): placements are generated in colexicographic
  order, so those of size l + 1 whose largest server is j extend the first
  C(j, l) placements of size l. Each level is built from the previous one with
  one vectorised minimum per candidate server, so a placement costs O(n) work
  instead of O(n k). While the largest level to store would exceed the memory
  budget, the search fixes the largest servers one at a time (depth first, with
  an explicit stack, so k near n cannot exhaust the recursion limit).
- *by complement* (k close to n): the t = n - k servers left out are enumerated
  instead. A node's cost is then the first of its t + 1 cheapest servers that is
  not left out, so a placement costs O(n t) work, in batches.

Both hold at most about ``batch_elements`` numbers at once (a few times that in
bytes), whatever k is: memory is bounded before anything is allocated.

Fixed servers are not enumerated: every node's cost starts at its cheapest fixed
server, and the search chooses the other servers among the other candidate sites.
Weights and the p-center radius are in the problem's cost matrix already.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numpy.typing import NDArray

from dtopt._validate import MAX_BATCH_ELEMENTS
from dtopt.errors import DtoptError
from dtopt.placement.problem import PlacementProblem
from dtopt.solvers._checks import check_int
from dtopt.solvers.method import MethodOutput, register

__all__ = ["eopa"]

DEFAULT_MAX_PLACEMENTS = 50_000_000


@register("eopa", exact=True, summary="exact: enumerate all C(n, k) placements in vectorised batches")
def eopa(
    problem: PlacementProblem,
    *,
    max_placements: int = DEFAULT_MAX_PLACEMENTS,
    batch_elements: int = 1 << 23,
) -> MethodOutput:
    """Enumerate every placement and keep the best feasible one.

    Options
    -------
    max_placements : refuse when C(n, k) exceeds this (raise it to insist).
    batch_elements : cap on the numbers held in one batch (8 bytes each); peak
        memory is about three times that. At most ``MAX_BATCH_ELEMENTS``.
    """
    max_placements = check_int("eopa", "max_placements", max_placements, minimum=1)
    batch_elements = check_int(
        "eopa", "batch_elements", batch_elements, minimum=1, maximum=MAX_BATCH_ELEMENTS
    )
    fixed = problem.fixed_columns
    free = np.setdiff1d(np.arange(problem.n_sites), fixed)
    m, k = free.size, problem.k - fixed.size  # enumerate k of the m free sites
    total = math.comb(m, k)
    if total > max_placements:
        raise DtoptError(
            f"EOPA would enumerate C({m}, {k}) = {total:,} placements, "
            f"above max_placements={max_placements:,}; "
            f"use method 'milp' (or raise max_placements)"
        )
    rows = np.ascontiguousarray(problem.cost_ms.T)  # rows[j] = cost of every node to a server at j
    base = rows[fixed].min(axis=0) if fixed.size else None  # each node's cheapest fixed server
    if fixed.size:
        rows = rows[free]
    if k == 0:
        best_total, best = float(base.sum()), ()  # type: ignore[union-attr]
    elif _levels_work(m, k) <= _complement_work(m, k):
        best_total, best = _by_levels(rows, k, batch_elements, base)
    else:
        best_total, best = _by_complement(rows, k, batch_elements, base)
    if not np.isfinite(best_total):
        return MethodOutput(None, "infeasible")
    servers = np.concatenate([fixed, free[np.asarray(best, dtype=np.intp)]])
    return MethodOutput(np.sort(servers), "optimal", bound_ms=best_total / problem.n)


def _levels_work(n: int, k: int) -> int:
    """Numbers computed by the level enumeration: every l-subset, l <= k, costs n."""
    return n * sum(math.comb(n, level) for level in range(1, k + 1))


def _complement_work(n: int, k: int) -> int:
    """Numbers computed by the complement enumeration: n (t + 1) per placement, t = n - k."""
    return 2 * n * (n - k + 1) * math.comb(n, k)


def _level_elements(n_candidates: int, r: int, n: int) -> int:
    """Numbers in the largest level stored when choosing ``r`` of ``n_candidates`` servers."""
    return math.comb(n_candidates, min(r - 1, n_candidates // 2)) * (n + r)


def _by_levels(
    rows: NDArray[np.float64], k: int, batch_elements: int, start: NDArray[np.float64] | None = None
) -> tuple[float, tuple[int, ...]]:
    """Best total cost and servers (rows of ``rows``, shape ``(m, n)``), enumerating by
    levels (see the module docstring); ``start``: each node's cost before any is chosen."""
    n = rows.shape[1]
    best_total, best = np.inf, ()
    # A frame fixes the largest servers: [per-node minimum over them (None when none
    # are fixed), the fixed servers, candidates 0..n_cand-1 below them, servers r
    # still to choose, the next largest new server j to try].
    frames: list[list] = []

    def visit(base: NDArray[np.float64] | None, fixed: tuple[int, ...], n_cand: int, r: int) -> None:
        nonlocal best_total, best
        if r > 1 and _level_elements(n_cand, r, n) > batch_elements:
            frames.append([base, fixed, n_cand, r, r - 1])
            return
        total, chosen = _levels(rows, base, n_cand, r)
        if total < best_total:
            best_total, best = total, (*chosen, *fixed)

    visit(start, (), rows.shape[0], k)
    while frames:
        frame = frames[-1]
        base, fixed, n_cand, r, j = frame
        if j == n_cand:
            frames.pop()
            continue
        frame[4] = j + 1
        visit(rows[j] if base is None else np.minimum(base, rows[j]), (j, *fixed), j, r - 1)
    return best_total, best


def _levels(
    rows: NDArray[np.float64], base: NDArray[np.float64] | None, n_candidates: int, r: int
) -> tuple[float, tuple[int, ...]]:
    """Best total and the ``r`` servers among ``0..n_candidates-1`` (merged with ``base``)."""
    n = rows.shape[1]
    # Level l holds, in colex order, every l-subset of the candidates: its members
    # and its per-node minimum cost merged with the fixed servers' (`base`).
    members = np.zeros((1, 0), dtype=np.intp)
    mins = None if base is None else base[None, :]
    for level in range(r - 1):
        size = math.comb(n_candidates, level + 1)
        new_members = np.empty((size, level + 1), dtype=np.intp)
        new_mins = np.empty((size, n))
        for j in range(level, n_candidates):
            # The (level+1)-subsets whose largest server is j follow the C(j, level+1) below j.
            count, at = math.comb(j, level), math.comb(j, level + 1)
            new_members[at : at + count, :level] = members[:count]
            new_members[at : at + count, level] = j
            if mins is None:
                new_mins[at] = rows[j]
            else:
                np.minimum(mins[:count], rows[j], out=new_mins[at : at + count])
        members, mins = new_members, new_mins
    best_total, best_at = np.inf, ()
    for j in range(r - 1, n_candidates):  # the last level is scored, never stored
        count = math.comb(j, r - 1)
        totals = (rows[j][None, :] if mins is None else np.minimum(mins[:count], rows[j])).sum(axis=1)
        at = int(np.argmin(totals))
        if totals[at] < best_total:
            best_total, best_at = float(totals[at]), (*members[at].tolist(), j)
    return best_total, best_at


def _by_complement(
    rows: NDArray[np.float64], k: int, batch_elements: int, start: NDArray[np.float64] | None = None
) -> tuple[float, tuple[int, ...]]:
    """Best total cost and servers (rows of ``rows``, shape ``(m, n)``), enumerating the
    m - k servers left out; ``start``: each node's cost before any is chosen."""
    n = rows.shape[0]
    t = n - k
    cost = rows.T  # (nodes, servers)
    # Each node's t + 1 cheapest servers, cheapest first: t left out cannot cover them all.
    near = np.argsort(cost, axis=1, kind="stable")[:, : t + 1]
    near_cost = np.take_along_axis(cost, near, axis=1)
    batch = max(1, batch_elements // (3 * max(rows.shape)))
    left_out = itertools.chain.from_iterable(itertools.combinations(range(n), t))
    best_total, best_out = np.inf, ()
    while (out := np.fromiter(itertools.islice(left_out, batch * t), dtype=np.intp)).size or t == 0:
        out = out.reshape(-1, t) if t else np.zeros((1, 0), dtype=np.intp)
        # Transposed, (servers, batch), so that gathering a server's flags copies one row.
        is_out = np.zeros((n, len(out)), dtype=bool)
        is_out[out, np.arange(len(out))[:, None]] = True
        # A node's cost is its cheapest server kept: scan its near servers from the last.
        costs = np.repeat(near_cost[:, t : t + 1], len(out), axis=1)  # (nodes, batch)
        for m in range(t - 1, -1, -1):
            np.copyto(costs, near_cost[:, m : m + 1], where=~is_out[near[:, m]])
        if start is not None:
            np.minimum(costs, start[:, None], out=costs)
        totals = costs.sum(axis=0)
        at = int(np.argmin(totals))
        if totals[at] < best_total:
            best_total, best_out = float(totals[at]), tuple(out[at].tolist())
        if t == 0:
            break
    return best_total, tuple(np.setdiff1d(np.arange(n), best_out).tolist())
