"""The capacitated model's Lagrangian bound and site fixing against enumeration."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dtopt import PlacementProblem
from dtopt.placement.variants import capacitated_assignment
from dtopt.solvers.milp._capacitated import lagrangian_fixing
from tests.conftest import random_topology


def _problem(seed: int) -> PlacementProblem:
    """A small capacitated problem, sometimes with weights, a fixed server and an error bound."""
    rng = np.random.default_rng(seed)
    topology = random_topology(seed, n=int(rng.integers(5, 9)))
    n, k = topology.n_nodes, int(rng.integers(2, 4))
    weights = np.round(rng.random(n) * 3 + 0.1, 1) if rng.random() < 0.5 else None
    demand = np.ones(n) if weights is None else weights
    capacity = math.ceil(float(demand.sum()) / k + float(demand.max()) * rng.random())
    fixed = [topology.sites[int(rng.integers(n))]] if rng.random() < 0.3 else None
    eps_max = float(rng.choice([0.03, 0.05])) if rng.random() < 0.3 else None
    return PlacementProblem(topology, k, eps_max=eps_max, capacity=capacity, weights=weights, fixed=fixed)


def _totals(problem: PlacementProblem) -> dict[tuple[int, ...], float]:
    """Every feasible placement's optimal total (cost summed over nodes), by enumeration."""
    fixed = set(problem.fixed_columns.tolist())
    totals = {}
    for servers in itertools.combinations(range(problem.n_sites), problem.k):
        if fixed <= set(servers):
            assignment, total = capacitated_assignment(problem, np.array(servers))
            if (assignment >= 0).all():
                totals[servers] = total
    return totals


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6), above=st.sampled_from([0.0, 0.01, 0.2]))
def test_bound_stays_below_the_optimum_and_fixing_keeps_every_good_placement(seed: int, above: float) -> None:
    problem = _problem(seed)
    totals = _totals(problem)
    if not totals:
        return
    optimum = min(totals.values())
    upper = optimum * (1 + above)
    bound, closed, opened = lagrangian_fixing(problem, upper)
    assert bound <= optimum * (1 + 1e-9) + 1e-9
    for servers, total in totals.items():
        if total <= upper:
            assert not closed[list(servers)].any(), (servers, np.flatnonzero(closed))
            assert opened[np.setdiff1d(np.arange(problem.n_sites), servers)].sum() == 0


def test_fixing_does_close_sites_at_the_optimum() -> None:
    # Fixing that never fires would pass the test above: at the optimum it must fire somewhere.
    fired = 0
    for seed in range(10):
        problem = _problem(seed)
        totals = _totals(problem)
        if totals:
            _, closed, opened = lagrangian_fixing(problem, min(totals.values()))
            fired += bool(closed.any() or opened.any())
    assert fired >= 5
