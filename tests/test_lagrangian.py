"""The Lagrangian lower bound: valid, deterministic, tight on p-median, and in every result."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dtopt
from dtopt import DtoptError, PlacementProblem, evaluate, solve
from dtopt.solvers.lagrangian import ServerValues, lagrangian_bound
from tests.test_exact import random_problem

SEEDS = range(240)  # test_exact.random_problem cycles eps_max over None and five bounds


@pytest.fixture(scope="module")
def solved() -> list[tuple[PlacementProblem, dtopt.PlacementResult]]:
    problems = [random_problem(seed) for seed in SEEDS]
    return [(p, solve(p, "eopa")) for p in problems]


def test_bound_never_exceeds_the_optimum_and_fixing_keeps_the_optimum(solved) -> None:
    constrained = unconstrained = 0
    for problem, exact in solved:
        if exact.status != "optimal":
            continue
        constrained += problem.eps_max is not None and not problem.admissible.all()
        unconstrained += problem.eps_max is None
        optimum = exact.avg_latency_ms
        run = lagrangian_bound(problem.cost_ms, problem.k, max_iterations=300)
        assert run.bound_ms <= optimum * (1 + 1e-12) + 1e-12, problem
        assert np.isfinite(run.bound_ms)
        if run.servers is not None:  # the heuristic's placement is a real one, scored alike
            assert run.placement_ms == pytest.approx(evaluate(problem, run.servers).avg_latency_ms)
            assert run.placement_ms >= optimum - 1e-12
        # Every placement better than optimum + 1% is the optimum's kind: fixings must keep it.
        closed, opened = run.fixed_servers(optimum * 1.01 + 1e-9)
        best = problem.topology.indices(exact.servers)
        assert not set(closed) & set(best) and set(opened) <= set(best), problem
        # Pair bounds: every pair the optimum uses is bounded by the optimum.
        assignment = problem.topology.indices(exact.assignment[name] for name in problem.topology.node_names)
        pairs = run.pair_bounds_ms(problem.cost_ms)[np.arange(problem.n), assignment]
        assert pairs.max() <= optimum * (1 + 1e-12) + 1e-12, problem
    assert constrained >= 60 and unconstrained >= 30


def test_bound_is_deterministic() -> None:
    problem = random_problem(5)
    a = lagrangian_bound(problem.cost_ms, problem.k)
    b = lagrangian_bound(problem.cost_ms, problem.k)
    assert a.bound_ms == b.bound_ms and a.iterations == b.iterations
    np.testing.assert_array_equal(a.multipliers_ms, b.multipliers_ms)
    assert a.to_json() == b.to_json().replace(f'"runtime_s": {b.runtime_s}', f'"runtime_s": {a.runtime_s}')


@pytest.mark.parametrize(("name", "max_gap"), [("pmed1", 1e-9), ("pmed2", 2e-3), ("pmed5", 1e-3)])
def test_bound_is_close_on_orlib_instances(name: str, max_gap: float) -> None:
    # The Lagrangian dual equals the LP relaxation: pmed2's LP bound is 4088.5 (0.11% below).
    instance = dtopt.load_orlib(name)
    run = lagrangian_bound(instance.problem.cost_ms, instance.problem.k, upper_bound_ms=instance.optimum_ms)
    assert instance.optimum_ms * (1 - max_gap) <= run.bound_ms <= instance.optimum_ms * (1 + 1e-12)


def test_fixing_on_pmed1_settles_the_optimal_servers() -> None:
    instance = dtopt.load_orlib("pmed1")
    run = lagrangian_bound(instance.problem.cost_ms, instance.problem.k)
    closed, opened = run.fixed_servers(instance.optimum_ms * (1 + 1e-6))
    assert len(closed) > 0.5 * instance.problem.n  # most servers are ruled out
    assert set(opened).isdisjoint(closed) and len(opened) <= instance.problem.k
    best = instance.problem.topology.indices(solve(instance.problem, "interchange").servers)
    assert not set(closed) & set(best) and set(opened) <= set(best)  # interchange finds the optimum


@pytest.mark.parametrize(
    ("cost", "k", "message"),
    [
        (np.zeros(3), 1, "matrix of nodes x sites"),
        (np.array([[0.0, np.nan], [1.0, 0.0]]), 1, "latencies >= 0"),
        (np.array([[0.0, -1.0], [1.0, 0.0]]), 1, "latencies >= 0"),
        (np.array([[np.inf, np.inf], [1.0, 0.0]]), 1, "no admissible server"),
        (np.zeros((2, 2)), 3, "at most the number of sites 2"),
        (np.zeros((2, 2)), 0, "k must be an integer >= 1"),
    ],
)
def test_bad_input_is_one_clear_line(cost, k, message) -> None:
    with pytest.raises(DtoptError, match=message):
        lagrangian_bound(cost, k)


def test_every_method_reports_a_valid_bound_and_the_same_gap(solved) -> None:
    for problem, exact in solved[:24]:
        if exact.status != "optimal":
            continue
        for method in ("interchange", "isapa", "kmpa", "rands", "lagrangian", "milp", "eopa"):
            result = solve(problem, method)
            assert result.bound is not None and result.bound <= exact.avg_latency_ms * (1 + 1e-12)
            avg = result.avg_latency_ms
            assert result.gap == pytest.approx((avg - result.bound) / avg if avg > 0 else 0.0, abs=1e-15)
        assert solve(problem, "rands", bound_iterations=0).bound is None  # the bound can be skipped
        assert solve(problem, "rands", bound_time_s=0).bound is None
    with pytest.raises(DtoptError, match="bound_time_s must be a number >= 0"):
        solve(problem, "rands", bound_time_s=-1)
    with pytest.raises(DtoptError, match="bound_iterations must be an integer >= 0"):
        solve(problem, "rands", bound_iterations=-1)


def test_the_attached_bound_depends_on_the_input_alone() -> None:
    """An iteration cap, not a clock, ends the bound of a heuristic's result: two calls
    agree to the bit, and so do calls with any time budget the cap binds before."""
    problem = dtopt.load_orlib("pmed5").problem
    runs = [
        solve(problem, "interchange", bound_iterations=iterations, bound_time_s=time_s).bound
        for iterations, time_s in ((20, None), (20, None), (20, 1e-3 + 60.0), (20, 3600.0), (100, None))
    ]
    assert runs[0] == runs[1] == runs[2] == runs[3]
    assert runs[0] < runs[4]  # the cap of 20 binds: more iterations raise the bound


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_server_values_from_sorted_prefixes_equal_the_whole_sum(data: st.DataObject) -> None:
    n, m = data.draw(st.integers(1, 40)), data.draw(st.integers(1, 40))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    cost = rng.integers(0, 8, (n, m)).astype(float)
    cost[rng.random((n, m)) < 0.2] = np.inf
    prices = ServerValues(cost)
    # Multipliers that grow (the prefix widens), shrink, and reach past most rows.
    for scale in data.draw(st.lists(st.sampled_from([0.5, 2.0, 5.0, 9.0]), min_size=1, max_size=5)):
        u = rng.random(n) * scale
        np.testing.assert_allclose(prices(u), np.minimum(cost - u[:, None], 0.0).sum(axis=0), atol=1e-9)
