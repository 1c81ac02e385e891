"""Problems given as a latency matrix (no graph): construction, bad input, every method."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dtopt import DtoptError, PlacementProblem, evaluate, solve
from tests.conftest import random_topology


def test_matrix_is_used_exactly_and_names_default_to_indices() -> None:
    latency = np.array([[0.0, 1.1, 7.3], [2.2, 0.0, 0.3], [5.0, 0.1, 0.0]])  # asymmetric on purpose
    problem = PlacementProblem.from_cost_matrix(latency, 1)
    np.testing.assert_array_equal(problem.latency_ms, latency)
    assert problem.topology.node_names == ("0", "1", "2")
    assert problem.eps_max is None and problem.error is None
    ev = evaluate(problem, [1])
    assert ev.avg_latency_ms == pytest.approx((1.1 + 0.0 + 0.1) / 3)  # row i: from node i to server 1
    assert ev.avg_error is None and ev.max_error is None


@pytest.mark.parametrize("method", ["eopa", "milp", "interchange", "kmpa", "isapa", "rands"])
def test_every_method_solves_a_matrix_problem_like_the_graph_problem(method: str) -> None:
    graph_problem = PlacementProblem(random_topology(3, n=12), 3, eps_max=None)
    matrix_problem = PlacementProblem.from_cost_matrix(graph_problem.latency_ms, 3)
    optimum = solve(graph_problem, "eopa").avg_latency_ms
    result = solve(matrix_problem, method)
    assert result.feasible and result.avg_error is None
    assert result.avg_latency_ms >= optimum - 1e-12
    if method in ("eopa", "milp"):
        assert result.status == "optimal" and result.avg_latency_ms == pytest.approx(optimum, rel=1e-12)
    result.to_json()  # no NaN anywhere


def test_hops_carry_the_error_bound_like_the_graph_problem() -> None:
    graph_problem = PlacementProblem(random_topology(7, n=11), 2, eps_max=0.03)
    matrix_problem = PlacementProblem.from_cost_matrix(
        graph_problem.latency_ms, 2, hops=graph_problem.topology.hops, eps_max=0.03
    )
    np.testing.assert_array_equal(matrix_problem.admissible, graph_problem.admissible)
    a, b = solve(graph_problem, "eopa"), solve(matrix_problem, "eopa")
    assert (a.status, a.avg_latency_ms, a.max_error) == (b.status, b.avg_latency_ms, b.max_error)


def test_an_error_bound_without_hops_is_refused() -> None:
    problem = PlacementProblem.from_cost_matrix(np.array([[0, 1], [1, 0]]), 1)
    with pytest.raises(DtoptError, match="eps_max needs hop counts"):
        PlacementProblem.from_cost_matrix(np.array([[0, 1], [1, 0]]), 1, eps_max=0.05)
    with pytest.raises(DtoptError, match="eps_max needs hop counts"):
        problem.with_(eps_max=0.05)
    assert problem.with_(k=2).latency_ms[0, 1] == 1.0  # the matrix survives a copy


@pytest.mark.parametrize(
    ("latency", "hops", "message"),
    [
        ([0, 1, 2], None, "square matrix"),
        ([[0.0]], None, "square matrix"),
        ([[0, -1], [1, 0]], None, "finite numbers >= 0"),
        ([[0, np.nan], [1, 0]], None, "finite numbers >= 0"),
        ([[0, np.inf], [1, 0]], None, "finite numbers >= 0"),
        ([[0, 1], [1, 2]], None, "zero on the diagonal"),
        ([[0, "a"], [1, 0]], None, "matrix of numbers"),
        ([[0, 1], [1, 0]], [[0, 1, 1], [1, 0, 1], [1, 1, 0]], "hops must have shape"),
        ([[0, 1], [1, 0]], [[0, 1.5], [1, 0]], "whole numbers"),
        ([[0, 1], [1, 0]], [[0, -1], [1, 0]], "hops must hold finite"),
    ],
)
def test_bad_matrices_are_one_clear_line(latency: object, hops: object, message: str) -> None:
    with pytest.raises(DtoptError, match=message) as err:
        PlacementProblem.from_cost_matrix(latency, 1, hops=hops)
    assert "\n" not in str(err.value)


def test_node_names_must_match_the_matrix() -> None:
    problem = PlacementProblem.from_cost_matrix([[0, 1], [1, 0]], 1, node_names=["a", "b"], name="pair")
    assert solve(problem, "eopa").servers in (("a",), ("b",))
    with pytest.raises(DtoptError, match="name the 2 nodes"):
        PlacementProblem.from_cost_matrix([[0, 1], [1, 0]], 1, node_names=["a"])


@settings(max_examples=150, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=5),
        elements=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, 1.0])),
    )
)
def test_any_array_is_a_problem_with_exactly_its_latencies_or_one_clear_line(latency) -> None:
    square = latency.ndim == 2 and latency.shape[0] == latency.shape[1]
    valid = (
        latency.ndim == 2
        and (latency.shape[0] >= 2 if square else min(latency.shape) >= 1)  # n x m: sites apart
        and bool(np.all(np.isfinite(latency)) and np.all(latency >= 0))
        and not (square and np.diagonal(latency).any())
    )
    try:
        problem = PlacementProblem.from_cost_matrix(latency, 1)
    except DtoptError as err:
        assert not valid and "\n" not in str(err)
    else:
        assert valid
        np.testing.assert_array_equal(problem.latency_ms, latency)
