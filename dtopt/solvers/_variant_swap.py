"""Swap interchange for the capacitated and reliable variants.

The paper's problem scores a swap from nearest / second-nearest arrays
(:mod:`dtopt.solvers._swap`); the variants' costs do not decompose that way, so
here each candidate placement is scored whole by the variant's own evaluation,
through the same penalised cost (an inadmissible or unhosted node costs more than
``n`` times the largest latency, so fewer such nodes always win):

- reliable: :func:`~dtopt.placement.variants.expected_totals`, every swap of the
  neighbourhood in one vectorised batch;
- capacitated: one transportation problem per candidate
  (:func:`~dtopt.placement.variants.capacitated_assignment`), so only the
  ``_CANDIDATES`` swaps that look best without capacities (their uncapacitated
  penalised totals, one vectorised batch) are scored exactly.

Starts: the paper's interchange local optimum (greedy then fast swaps, which
ignore the variant), then ``n_starts - 1`` seeded random placements improved the
same way first (duplicates dropped); best-improvement descent from each, best
result kept.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from dtopt.placement.problem import PlacementProblem
from dtopt.placement.variants import capacitated_assignment, expected_totals, level_weights
from dtopt.solvers._swap import Penalised, greedy, local_search, random_placements

__all__ = ["variant_interchange"]

# Capacitated neighbourhood: swaps scored exactly per step (each solves an assignment).
_CANDIDATES = 160
# Reliable scoring: placements per batch (about 3 * batch * k * n floats).
_BATCH = 512
_RELATIVE_TOLERANCE = 1e-12

Score = Callable[[NDArray[np.intp]], NDArray[np.float64]]


def variant_interchange(problem: PlacementProblem, n_starts: int, seed: int) -> NDArray[np.intp]:
    """The best local optimum over the starts; server indices, ascending."""
    cost = Penalised.of(problem)
    k = problem.k
    starts = [greedy(cost, k)]
    if n_starts > 1:
        starts += list(
            random_placements(np.random.default_rng(seed), problem.n_sites, k, n_starts - 1, cost.fixed)
        )
    score, moves = _reliable(problem, cost) if problem.variant == "reliable" else _capacitated(problem, cost)
    improved = {tuple(np.sort(local_search(cost, start).servers)) for start in starts}
    results = [_descent(score, moves, np.array(start, dtype=np.intp)) for start in sorted(improved)]
    best = min(results, key=lambda pair: pair[0])[1]
    return np.sort(best)


def _descent(
    score: Score, moves: Callable[[NDArray[np.intp]], NDArray[np.intp]], servers: NDArray[np.intp]
) -> tuple[float, NDArray[np.intp]]:
    """Best-improvement swaps until none improves; (penalised total, servers)."""
    current = float(score(servers[None, :])[0])
    while True:
        candidates = moves(servers)
        if len(candidates) == 0:
            return current, servers
        totals = score(candidates)
        best = int(np.argmin(totals))
        if totals[best] >= current - _RELATIVE_TOLERANCE * abs(current):
            return current, servers
        servers, current = candidates[best], float(totals[best])


def _swaps(servers: NDArray[np.intp], added: NDArray[np.intp]) -> NDArray[np.intp]:
    """Placements with ``servers[p]`` replaced by ``added[p, c]``, shape ``(k * c, k)``."""
    k, c = added.shape
    out = np.repeat(servers[None, :], k * c, axis=0)
    out[np.arange(k * c), np.repeat(np.arange(k), c)] = added.ravel()
    return out


def _reliable(problem: PlacementProblem, cost: Penalised) -> tuple[Score, Callable[..., NDArray[np.intp]]]:
    weights = level_weights(problem.failure_prob, problem.k)  # type: ignore[arg-type]
    latency_rows = np.ascontiguousarray(problem.weighted_latency_ms.T)

    def score(placements: NDArray[np.intp]) -> NDArray[np.float64]:
        return np.concatenate(
            [
                expected_totals(cost.rows, latency_rows, placements[i : i + _BATCH], weights)
                for i in range(0, len(placements), _BATCH)
            ]
        )

    return score, lambda servers: _all_swaps(problem.n_sites, servers, cost.fixed)


def _all_swaps(m: int, servers: NDArray[np.intp], fixed: NDArray[np.intp]) -> NDArray[np.intp]:
    """Every placement one swap away that keeps the ``fixed`` servers, shape ``(k' (m - k), k)``."""
    others = np.setdiff1d(np.arange(m), servers)
    swaps = _swaps(servers, np.tile(others, (len(servers), 1)))
    if fixed.size:  # drop the rows that replaced a fixed server
        swaps = swaps[np.repeat(~np.isin(servers, fixed), others.size)]
    return swaps


def _capacitated(problem: PlacementProblem, cost: Penalised) -> tuple[Score, Callable[..., NDArray[np.intp]]]:
    def score(placements: NDArray[np.intp]) -> NDArray[np.float64]:
        return np.array([capacitated_assignment(problem, np.sort(p))[1] for p in placements])

    def moves(servers: NDArray[np.intp]) -> NDArray[np.intp]:
        swaps = _all_swaps(problem.n_sites, servers, cost.fixed)
        if len(swaps) <= _CANDIDATES:
            return swaps
        ranked = np.argpartition(cost.totals(swaps), _CANDIDATES - 1)[:_CANDIDATES]
        return swaps[ranked]

    return score, moves
