"""KMPA: k-medoids clustering on the latency matrix, repaired to meet eps_max.

The clustering is scikit-learn-extra's ``KMedoids`` with ``metric="precomputed"``
on the (symmetric) shortest-path latency matrix, seeded through
``random_state``. Clustering ignores the error bound, so its medoids may leave
nodes without an admissible server; the repair step then applies best swaps on
the penalised cost of :mod:`dtopt.solvers._swap` (each swap minimises
(uncovered nodes, total latency) lexicographically) until every node is covered.
If the swaps get stuck, the placement is replaced by the k servers covering the
most nodes (a small covering integer program), so the result is feasible
whenever any placement is. The repair stops as soon as the placement is
feasible: KMPA stays the clustering benchmark of Wu et al. (2024), not a local search.

Candidate sites: each medoid moves to its nearest candidate; fixed servers are kept
and the medoids fill the rest. Clustering has no demand weights and needs the
latencies between nodes, so weights and rectangular matrices are refused.
"""

from __future__ import annotations

import shlex
import sys
import warnings
from typing import Any

import numpy as np

from dtopt.errors import DtoptError
from dtopt.placement.problem import PlacementProblem
from dtopt.solvers._checks import check_choice, check_int
from dtopt.solvers._swap import Penalised, covering, greedy
from dtopt.solvers.method import MethodOutput, register

__all__ = ["kmpa"]

# scikit-learn-extra's published wheels are built against NumPy 1. The rebuild must
# replace the installed copy (--force-reinstall; pip otherwise answers "Requirement
# already satisfied"), compile against this environment's NumPy (no build isolation,
# so Cython, setuptools and wheel must be present) and not reuse a cached wheel.
_PIP = f"{shlex.quote(sys.executable)} -m pip install"
REBUILD = (
    f'{_PIP} "Cython>=3" setuptools wheel && {_PIP} --force-reinstall --no-deps --no-cache-dir '
    "--no-build-isolation --no-binary scikit-learn-extra scikit-learn-extra"
)


@register("kmpa", exact=False, summary="heuristic: k-medoids on latencies, repaired to meet eps_max")
def kmpa(
    problem: PlacementProblem,
    *,
    seed: int = 0,
    algorithm: str = "pam",
    init: str = "k-medoids++",
    max_iter: int = 300,
) -> MethodOutput:
    """Cluster the nodes around k medoids, then repair the medoids for eps_max.

    Options
    -------
    seed : ``random_state`` of the medoid initialisation, in 0..2**32 - 1.
    algorithm : ``"pam"`` (default; BUILD then SWAP) or ``"alternate"`` (the
        k-medians-style iteration: assign, then move each medoid).
    init : medoid initialisation: ``"k-medoids++"``, ``"heuristic"``, ``"random"``
        or ``"build"``.
    max_iter : iteration cap of the clustering; >= 1.
    """
    # scikit-learn seeds a legacy RandomState, which takes 32-bit seeds only.
    seed = check_int("kmpa", "seed", seed, minimum=0, maximum=2**32 - 1)
    algorithm = check_choice("kmpa", "algorithm", algorithm, ("pam", "alternate"))
    init = check_choice("kmpa", "init", init, ("k-medoids++", "heuristic", "random", "build"))
    max_iter = check_int("kmpa", "max_iter", max_iter, minimum=1)
    if problem.weights is not None:
        raise DtoptError(
            "method 'kmpa' does not take weights (k-medoids has no demand weights); use interchange"
        )
    if problem.topology.site_names is not None:
        raise DtoptError(
            "method 'kmpa' does not take a matrix with sites apart from the nodes "
            "(k-medoids needs the latencies between nodes); use interchange"
        )
    kmedoids = _kmedoids_class()(
        n_clusters=problem.k,
        metric="precomputed",
        method=algorithm,
        init=init,
        max_iter=max_iter,
        random_state=seed,
    )
    with warnings.catch_warnings():
        # It warns when a cluster ends up with only its medoid: harmless here.
        warnings.simplefilter("ignore")
        latency = problem.topology.latency_ms(problem.rate_km_per_ms)  # (n, n): every node a site
        medoids = np.asarray(kmedoids.fit(latency).medoid_indices_, dtype=np.intp)
    cost = Penalised.of(problem)
    if problem.candidates is not None:  # each medoid's nearest candidate site
        medoids = np.argmin(problem.latency_ms[medoids], axis=1)
    fixed = problem.fixed_columns
    # Nodes at zero distance from each other can make KMedoids return one medoid twice.
    others = np.setdiff1d(medoids, fixed)[: problem.k - fixed.size]
    medoids = greedy(cost, problem.k, start=np.unique(np.concatenate([fixed, others])))
    repaired = covering(problem, cost, medoids)
    return MethodOutput(np.sort(repaired.servers), "feasible")


def _kmedoids_class() -> Any:
    try:
        from sklearn_extra.cluster import KMedoids
    # A binary built against another NumPy fails with any of these.
    except (ImportError, ValueError, AttributeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DtoptError(
            f"kmpa needs scikit-learn-extra, which failed to import ({first}); "
            f"rebuild it against this NumPy: {REBUILD}"
        ) from None
    return KMedoids
