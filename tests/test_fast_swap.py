"""The incremental swap neighbourhood, greedy and local search against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dtopt import PlacementProblem, solve
from dtopt.solvers._fast_swap import SwapNeighbourhood, incremental_greedy, perturbed_search
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
    """Every swap's kept delta equals its brute-force change; d1, d2 are the two least costs."""
    servers = hood.servers
    two = np.sort(rows[servers], axis=0)[:2]
    np.testing.assert_allclose(hood.d1, two[0])
    np.testing.assert_allclose(hood.d2, two[1])
    delta = hood.loss[:, None] - hood.extra - hood.gain[None, :]
    for position, site in itertools.product(range(len(servers)), np.flatnonzero(~hood.is_server)):
        want = exact_delta(rows, servers, position, site)
        assert delta[position, site] == pytest.approx(want, abs=1e-9)
        assert hood.swap_delta(position, site) == pytest.approx(want, abs=1e-9)


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_kept_deltas_equal_brute_force_after_any_swaps(data: st.DataObject) -> None:
    rows, clients, k = instance(data)
    m = rows.shape[0]
    servers = np.array(data.draw(st.permutations(range(m)))[:k])
    hood = SwapNeighbourhood(rows, clients, servers)
    check_arrays(hood, rows)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, k - 1))
        site = data.draw(st.sampled_from(np.flatnonzero(~hood.is_server).tolist()))
        hood.swap(position, site)
        check_arrays(hood, rows)
    target = np.array(data.draw(st.permutations(range(m)))[:k])
    hood.move_to(target)
    assert set(hood.servers) == set(target)
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
    result = solve(problem, "interchange", n_starts=10**6, time_limit_s=0.2)
    assert len(result.servers) == 3 and result.runtime_s < 60
