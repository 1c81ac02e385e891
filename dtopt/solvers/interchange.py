"""Greedy construction plus swap interchange: the classical p-median heuristic.

Greedy adds servers one at a time, each minimising (uncovered nodes, total
latency) lexicographically (through the penalised cost of
:mod:`dtopt.solvers._swap`, so inadmissible pairs are handled without inf
arithmetic). Swap interchange then applies the best of all ``k (n - k)`` swaps
while one improves the total: every swap is scored at once from nearest /
second-nearest server arrays (Whitaker's fast interchange, in the vectorised
form of Resende and Werneck), so a pass costs O(n (n - k)) array work instead
of Teitz-Bart's O(n^2 k). By default 8 searches run (greedy, then 7 seeded random
starts) and the best local optimum wins: on the Topology Zoo benchmark the greedy
start alone was exactly optimal on 87% of the instances, 8 starts on 99%. The
result is a local optimum for single swaps, and a natural warm start for the
MILP (``solve(p, "milp", warm_start=result.servers)``).
"""

from __future__ import annotations

import itertools

import numpy as np

from dtopt.placement.problem import PlacementProblem
from dtopt.solvers._checks import check_int, check_seed
from dtopt.solvers._swap import Penalised, covering, greedy, local_search, random_placements
from dtopt.solvers._variant_swap import variant_interchange
from dtopt.solvers.method import MethodOutput, register

__all__ = ["interchange"]


@register("interchange", exact=False, summary="heuristic: greedy construction + fast swap interchange")
def interchange(problem: PlacementProblem, *, n_starts: int = 8, seed: int = 0) -> MethodOutput:
    """Greedy placement improved by swaps until none improves.

    Options
    -------
    n_starts : number of local searches; the first starts from the greedy
        placement, the others from random placements (drawn with ``seed``). The
        best result is kept. >= 1. When every search ends with nodes lacking an
        admissible server (single swaps are weak at tight covering constraints), one
        more starts from a covering placement (see ``_swap.covering``).
    seed : seed of the random starts (unused when ``n_starts`` is 1).

    Capacitated and reliable problems are searched by :mod:`dtopt.solvers._variant_swap`.
    """
    n_starts = check_int("interchange", "n_starts", n_starts, minimum=1)
    seed = check_seed("interchange", seed)
    if problem.variant is not None:  # capacities or failures: whole-placement scoring
        return MethodOutput(variant_interchange(problem, n_starts, seed), "feasible")
    cost = Penalised.of(problem)
    rng = np.random.default_rng(seed)
    # Starts are drawn one at a time, so memory does not grow with n_starts.
    starts = itertools.chain(
        [greedy(cost, problem.k)],
        (random_placements(rng, problem.n_sites, problem.k, 1, cost.fixed)[0] for _ in range(n_starts - 1)),
    )
    best = min((local_search(cost, start) for start in starts), key=lambda state: state.total)
    if best.d1.max() >= cost.penalty_ms:  # stuck with nodes uncovered: restart from a covering placement
        best = local_search(cost, covering(problem, cost, best.servers).servers)
    return MethodOutput(np.sort(best.servers), "feasible")
