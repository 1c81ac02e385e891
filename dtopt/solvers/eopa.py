"""EOPA: exact placement by enumerating every set of k servers (seed 001)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from dtopt.errors import DtoptError
from dtopt.placement.problem import PlacementProblem
from dtopt.solvers._checks import check_int
from dtopt.solvers.registry import MethodOutput, register

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
    batch_elements : cap on the floats held at once (8 bytes each), bounding memory.

    Placements are generated in colexicographic order, so those of size l + 1 whose
    largest server is j extend the first C(j, l) placements of size l: each level is
    built from the previous one with one vectorised minimum per candidate server,
    and every placement costs O(n) work instead of O(n k).
    """
    max_placements = check_int("eopa", "max_placements", max_placements, minimum=1)
    batch_elements = check_int("eopa", "batch_elements", batch_elements, minimum=1)
    n, k = problem.n, problem.k
    total = math.comb(n, k)
    if total > max_placements:
        raise DtoptError(
            f"EOPA would enumerate C({n}, {k}) = {total:,} placements, "
            f"above max_placements={max_placements:,}; "
            f"use method 'milp' (or raise max_placements)"
        )
    rows = np.ascontiguousarray(problem.cost_ms.T)  # rows[j] = cost of every node to a server at j
    best_total, best = _search(rows, None, (), n, k, batch_elements)
    if not np.isfinite(best_total):
        return MethodOutput(None, "infeasible")
    return MethodOutput(np.asarray(best, dtype=np.intp), "optimal", bound_ms=best_total / n)


def _search(
    rows: NDArray[np.float64],
    base: NDArray[np.float64] | None,
    fixed: tuple[int, ...],
    n_candidates: int,
    r: int,
    batch_elements: int,
) -> tuple[float, tuple[int, ...]]:
    """Best total cost and servers completing ``fixed`` with ``r`` of ``0..n_candidates-1``.

    ``base`` is the per-node minimum cost over the ``fixed`` servers (``None`` when
    there are none). Splits on the largest new server while the largest level to
    store would exceed ``batch_elements`` floats.
    """
    n = rows.shape[1]
    if math.comb(n_candidates, r - 1) * n > batch_elements and r > 1:
        best: tuple[float, tuple[int, ...]] = (np.inf, ())
        for j in range(r - 1, n_candidates):
            cand = _search(rows, _merge(base, rows[j]), (j, *fixed), j, r - 1, batch_elements)
            if cand[0] < best[0]:
                best = cand
        return best
    return _levels(rows, base, fixed, n_candidates, r)


def _merge(base: NDArray[np.float64] | None, row: NDArray[np.float64]) -> NDArray[np.float64]:
    return row if base is None else np.minimum(base, row)


def _levels(
    rows: NDArray[np.float64],
    base: NDArray[np.float64] | None,
    fixed: tuple[int, ...],
    n_candidates: int,
    r: int,
) -> tuple[float, tuple[int, ...]]:
    # Level l holds, in colex order, every l-subset of the candidates: its members
    # and its per-node minimum cost merged with the fixed servers' (`base`).
    members = np.zeros((1, 0), dtype=np.intp)
    mins = None if base is None else base[None, :]
    for level in range(r):
        last = level == r - 1
        new_members, new_mins, best_total, best_at = [], [], np.inf, None
        for j in range(level, n_candidates):
            count = math.comb(j, level)
            block = rows[j][None, :] if mins is None else np.minimum(mins[:count], rows[j])
            if last:
                totals = block.sum(axis=1)
                at = int(np.argmin(totals))
                if totals[at] < best_total:
                    best_total, best_at = float(totals[at]), (*members[at].tolist(), j)
            else:
                new_members.append(np.column_stack([members[:count], np.full(count, j)]))
                new_mins.append(block)
        if last:
            return best_total, (*best_at, *fixed) if best_at is not None else ()
        members, mins = np.concatenate(new_members), np.concatenate(new_mins)
    raise AssertionError("unreachable: r >= 1")
