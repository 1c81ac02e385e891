"""The incremental swap neighbourhood, greedy and local search against brute force."""

from __future__ import annotations

import itertools
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dtopt import PlacementProblem, solve
from dtopt.solvers import _fast_swap
from dtopt.solvers._fast_swap import NearestSites, SwapNeighbourhood, incremental_greedy
from dtopt.solvers._iterated_swap import perturbed_search
from dtopt.solvers._swap import Penalised, local_search


def instance(data: st.DataObject) -> tuple[np.ndarray, np.ndarray, int]:
    """Finite costs (m sites x n clients, integer or real, with ties) and a placement."""
    m = data.draw(st.integers(3, 9))
    n = data.draw(st.integers(1, 9))
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, 6, (m, n)).astype(float) if seed % 2 else rng.random((m, n)) * 10
    k = data.draw(st.integers(2, m - 1))
    return rows, np.ascontiguousarray(rows.T), k


def exact_delta(rows: np.ndarray, servers: np.ndarray, position: int, site: int) -> float:
    after = servers.copy()
    after[position] = site
    return float(rows[after].min(axis=0).sum() - rows[servers].min(axis=0).sum())


def check_arrays(hood: SwapNeighbourhood, rows: np.ndarray) -> None:
    """Every swap's kept delta equals its brute-force change, the best swap is the least of
    them; d1, d2 are the two least costs."""
    servers = hood.servers
    two = np.sort(rows[servers], axis=0)[:2]
    np.testing.assert_allclose(hood.d1, two[0])
    np.testing.assert_allclose(hood.d2, two[1])
    assert (hood.place[servers] == np.arange(len(servers))).all() and (hood.place >= 0).sum() == len(servers)
    delta = hood.loss[:, None] - hood.extra - hood.gain[None, :]
    wanted = []
    for position, site in itertools.product(range(len(servers)), np.flatnonzero(~hood.is_server)):
        want = exact_delta(rows, servers, position, site)
        assert delta[position, site] == pytest.approx(want, abs=1e-9)
        assert hood.swap_delta(position, site) == pytest.approx(want, abs=1e-9)
        wanted.append(want)
    best, position, site = hood.best_swap()
    assert best == pytest.approx(min(wanted), abs=1e-9)
    assert exact_delta(rows, servers, position, site) == pytest.approx(best, abs=1e-9)


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_kept_deltas_equal_brute_force_after_any_swaps(data: st.DataObject) -> None:
    rows, clients, k = instance(data)
    m = rows.shape[0]
    servers = np.array(data.draw(st.permutations(range(m)))[:k])
    # Narrow site lists send clients to their whole rows, and the dense / sparse choices
    # of scoring both run.
    near = NearestSites.of(clients, k, width=data.draw(st.integers(1, m)))
    dense_share = data.draw(st.sampled_from([1, 4, 10**9]))
    with mock.patch.object(_fast_swap, "_DENSE_SHARE", dense_share):
        hood = SwapNeighbourhood(rows, clients, servers, near=near)
        check_arrays(hood, rows)
        for _ in range(data.draw(st.integers(1, 4))):
            position = data.draw(st.integers(0, k - 1))
            site = data.draw(st.sampled_from(np.flatnonzero(~hood.is_server).tolist()))
            hood.swap(position, site)
            check_arrays(hood, rows)
        saved, total = hood.snapshot(), hood.total
        target = np.array(data.draw(st.permutations(range(m)))[:k])
        hood.move_to(target)
        assert set(hood.servers) == set(target)
        check_arrays(hood, rows)
        hood.restore(saved)
        assert hood.total == total
        check_arrays(hood, rows)


def naive_greedy(rows: np.ndarray, k: int) -> list[int]:
    chosen: list[int] = []
    current = np.full(rows.shape[1], np.inf)
    for _ in range(k):
        totals = np.minimum(rows, current).sum(axis=1)
        totals[chosen] = np.inf
        chosen.append(int(np.argmin(totals)))
        current = np.minimum(current, rows[chosen[-1]])
    return chosen


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_greedy_is_the_naive_greedy_and_local_search_a_local_optimum(data: st.DataObject) -> None:
    rows, clients, k = instance(data)
    assert incremental_greedy(rows, clients, k).tolist() == naive_greedy(rows, k)
    if rows.shape[0] != rows.shape[1]:
        return
    cost = Penalised(rows, penalty_ms=100.0)
    state = local_search(cost, incremental_greedy(rows, clients, k))
    for position, site in itertools.product(range(k), np.setdiff1d(np.arange(rows.shape[0]), state.servers)):
        assert exact_delta(rows, state.servers, position, site) >= -1e-9
    hood = perturbed_search(SwapNeighbourhood(rows, clients, state.servers), 5, np.random.default_rng(0))
    assert hood.total <= state.total + 1e-9  # never worse than its start
    check_arrays(hood, rows)


def test_interchange_stops_at_its_time_limit_with_a_placement() -> None:
    problem = PlacementProblem("Agis", k=3, eps_max=None)
    # no cap on searches and no patience: only the time limit can end it (not earlier, not never)
    result = solve(problem, "interchange", n_starts=10**6, patience=10**6, time_limit_s=0.2)
    assert len(result.servers) == 3 and 0.2 <= result.runtime_s < 60


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_perturbed_search_never_worse_than_its_start_deterministic_for_a_seed(data: st.DataObject) -> None:
    n = data.draw(st.integers(6, 30))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    points = rng.random((n, 2))
    rows = np.floor(100 * np.linalg.norm(points[:, None] - points[None], axis=2))
    clients = np.ascontiguousarray(rows.T)
    k = data.draw(st.integers(2, n - 1))
    start = rng.permutation(n)[:k]
    seed = data.draw(st.integers(0, 2**32 - 1))
    rounds = data.draw(st.sampled_from([None, 1, 7]))
    found = []
    for _ in range(2):
        hood = SwapNeighbourhood(rows, clients, start.copy())
        before = hood.total
        hood = perturbed_search(hood, rounds, np.random.default_rng(seed), patience=5)
        assert hood.total <= before + 1e-9
        check_arrays(hood, rows)  # the arrays still describe the placement it returns
        found.append(sorted(hood.servers.tolist()))
    assert found[0] == found[1]


def test_interchange_defaults_reach_the_optimum_of_small_instances_deterministically() -> None:
    rng = np.random.default_rng(7)
    points = rng.random((40, 2))
    cost = np.floor(1000 * np.linalg.norm(points[:, None] - points[None], axis=2))
    problem = PlacementProblem.from_cost_matrix(cost, k=3)
    optimum = min(
        cost[:, list(servers)].min(axis=1).sum() for servers in itertools.combinations(range(40), 3)
    )
    first, again = (solve(problem, "interchange", seed=3, bound_iterations=0) for _ in range(2))
    assert first.avg_latency_ms * 40 == pytest.approx(optimum)
    assert first.servers == again.servers


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_truncated_lists_underestimate_gains_and_stay_consistent(data: st.DataObject) -> None:
    rows, clients, k = instance(data)
    m = rows.shape[0]
    near = NearestSites.of(clients, k, width=data.draw(st.integers(1, m))).truncated()
    hood = SwapNeighbourhood(rows, clients, np.array(data.draw(st.permutations(range(m)))[:k]), near=near)
    for _ in range(data.draw(st.integers(0, 3))):
        site = data.draw(st.sampled_from(np.flatnonzero(~hood.is_server).tolist()))
        hood.swap(data.draw(st.integers(0, k - 1)), site)
    # Kept up to date, the arrays are those built from scratch (ties may pick another
    # nearest server, which then contributes nothing).
    fresh = SwapNeighbourhood(rows, clients, hood.servers.copy(), near=near)
    for name in ("d1", "d2", "gain", "loss", "extra"):
        np.testing.assert_allclose(getattr(hood, name), getattr(fresh, name), atol=1e-9)
    delta = hood.loss[:, None] - hood.extra - hood.gain[None, :]
    for position, site in itertools.product(range(k), np.flatnonzero(~hood.is_server)):
        # Never a false improvement: the estimate is at least the exact change.
        assert delta[position, site] >= exact_delta(rows, hood.servers, position, site) - 1e-9
