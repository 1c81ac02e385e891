"""RANDS: the best of N random placements (the random benchmark of Wu et al., 2024).

The placements are drawn uniformly over k-subsets and scored as a vectorised
batch (:func:`dtopt.placement.evaluate.batch_total_cost`), in chunks that bound
the memory to about ``batch_elements`` floats.
"""

from __future__ import annotations

import numpy as np

from dtopt._validate import MAX_BATCH_ELEMENTS
from dtopt.placement.evaluate import batch_total_cost
from dtopt.placement.problem import PlacementProblem
from dtopt.solvers._checks import check_int, check_seed
from dtopt.solvers._swap import random_placements
from dtopt.solvers.method import MethodOutput, register

__all__ = ["rands"]


@register("rands", exact=False, summary="heuristic: best of N random placements, scored as one batch")
def rands(
    problem: PlacementProblem, *, n_samples: int = 1000, seed: int = 0, batch_elements: int = 1 << 22
) -> MethodOutput:
    """Draw ``n_samples`` random placements and keep the best feasible one.

    Options
    -------
    n_samples : number of random placements N; >= 1.
    seed : seed of the draws.
    batch_elements : cap on the numbers held at once (8 bytes each); at most
        ``MAX_BATCH_ELEMENTS``. Memory stays bounded for any ``n_samples``.

    No placement meeting eps_max among them gives status ``no_solution_found``.
    """
    n_samples = check_int("rands", "n_samples", n_samples, minimum=1)
    seed = check_seed("rands", seed)
    batch_elements = check_int(
        "rands", "batch_elements", batch_elements, minimum=1, maximum=MAX_BATCH_ELEMENTS
    )
    n, k = problem.n_sites, problem.k
    rng = np.random.default_rng(seed)
    # A sample holds n uniforms, n ranks and k rows of n costs.
    chunk = max(1, batch_elements // (max(n, problem.n) * (k + 2)))
    best_total, best = np.inf, None
    for begin in range(0, n_samples, chunk):
        placements = random_placements(rng, n, k, min(chunk, n_samples - begin), problem.fixed_columns)
        totals = batch_total_cost(problem.cost_ms, placements)
        at = int(np.argmin(totals))
        if totals[at] < best_total:
            best_total, best = float(totals[at]), placements[at]
    if best is None:
        return MethodOutput(None, "no_solution_found")
    return MethodOutput(np.sort(best), "feasible")
