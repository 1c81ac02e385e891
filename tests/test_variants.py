"""Capacitated and reliable placement: exact models against enumeration, heuristics, evaluation."""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dtopt
from dtopt import DtoptError, PlacementProblem, evaluate, solve
from dtopt.placement.variants import capacitated_assignment
from tests.conftest import random_topology

EPS_CHOICES = (None, 0.02, 0.03, 0.04)
N_INSTANCES = 100


def brute_force(problem: PlacementProblem) -> float | None:
    """The best objective over every placement (scored by evaluate), ``None`` if none is feasible."""
    best = None
    for servers in itertools.combinations(range(problem.n), problem.k):
        ev = evaluate(problem, list(servers))
        if ev.feasible and (best is None or ev.objective_ms < best):
            best = ev.objective_ms
    return best


def _instance(seed: int, **variant: object) -> PlacementProblem:
    rng = np.random.default_rng(seed)
    topo = random_topology(seed, n=int(rng.integers(5, 11)))
    k = int(rng.integers(1, 4))
    eps = EPS_CHOICES[int(rng.integers(len(EPS_CHOICES)))]
    if variant.get("capacity") == "random":
        variant["capacity"] = math.ceil(topo.n_nodes / k) + int(rng.integers(0, 3))
    if variant.get("failure_prob") == "random":
        variant["failure_prob"] = float(rng.choice([0.0, 0.05, 0.2, 0.5]))
    return PlacementProblem(topo, k, eps_max=eps, **variant)  # type: ignore[arg-type]


def _agrees(problem: PlacementProblem) -> bool:
    """The MILP's answer equals enumeration's; returns whether the instance is feasible."""
    expected = brute_force(problem)
    result = solve(problem, "milp")
    if expected is None:
        assert result.status == "infeasible" and result.reason, problem
        return False
    assert result.status == "optimal", (problem, result.reason)
    objective = result.expected_latency_ms if problem.failure_prob is not None else result.avg_latency_ms
    assert objective == pytest.approx(expected, rel=1e-7, abs=1e-9), problem
    heuristic = solve(problem, "interchange")
    if heuristic.feasible:
        found = (
            heuristic.expected_latency_ms if problem.failure_prob is not None else heuristic.avg_latency_ms
        )
        assert found >= expected - 1e-9
    return True


def test_capacitated_milp_matches_enumeration() -> None:
    feasible = [_agrees(_instance(seed, capacity="random")) for seed in range(N_INSTANCES)]
    assert 0 < sum(feasible) < len(feasible)  # infeasible instances are exercised too
    # Infeasible by capacity alone (covering is possible): see the star test below.
    assert [_agrees(_star(leaves, leaves - 2)) for leaves in (5, 6, 7)] == [False] * 3


def test_reliable_milp_matches_enumeration() -> None:
    feasible = [_agrees(_instance(1000 + seed, failure_prob="random")) for seed in range(N_INSTANCES)]
    assert 0 < sum(feasible) < len(feasible)


def test_capacity_n_and_q_zero_reproduce_the_uncapacitated_optimum() -> None:
    for seed in range(20):
        plain = _instance(2000 + seed)
        reference = solve(plain, "milp")
        for variant in ({"capacity": plain.n}, {"failure_prob": 0.0}):
            result = solve(plain.with_(**variant), "milp")
            assert result.status == reference.status
            if reference.feasible:
                assert result.avg_latency_ms == pytest.approx(reference.avg_latency_ms, rel=1e-9)
                objective = result.expected_latency_ms or result.avg_latency_ms
                assert objective == pytest.approx(reference.avg_latency_ms, rel=1e-9)


def test_capacitated_assignment_is_the_best_assignment() -> None:
    """Against every assignment of every node to a server (small instances)."""
    for seed in range(30):
        problem = _instance(3000 + seed, capacity="random")
        servers = np.sort(np.random.default_rng(seed).choice(problem.n, problem.k, replace=False))
        if problem.k**problem.n > 50_000:
            continue
        best = math.inf
        for choice in itertools.product(range(problem.k), repeat=problem.n):
            counts = np.bincount(choice, minlength=problem.k)
            chosen = servers[list(choice)]
            if (counts > problem.capacities[servers]).any() or not problem.admissible[
                np.arange(problem.n), chosen
            ].all():
                continue
            best = min(best, float(problem.latency_ms[np.arange(problem.n), chosen].sum()))
        assignment, _ = capacitated_assignment(problem, servers)
        ev = evaluate(problem, servers)
        if math.isinf(best):
            assert not ev.feasible and (assignment < 0).any()
        else:
            assert ev.feasible
            assert ev.avg_latency_ms * problem.n == pytest.approx(best, rel=1e-9)
            assert (
                np.bincount(np.searchsorted(servers, assignment), minlength=problem.k) <= problem.capacity
            ).all()


def test_expected_latency_matches_failure_enumeration() -> None:
    """The expected mean latency against all 2^k up/down patterns of the servers."""
    for seed in range(30):
        problem = _instance(4000 + seed, failure_prob="random")
        q = problem.failure_prob
        servers = np.sort(np.random.default_rng(seed).choice(problem.n, problem.k, replace=False))
        ev = evaluate(problem, servers)
        if not ev.feasible:
            continue
        latency = problem.latency_ms[:, servers]
        primary = np.argmin(problem.cost_ms[:, servers], axis=1)
        total = 0.0
        for up in itertools.product([True, False], repeat=problem.k):
            up = np.array(up)
            if not up.any():
                continue
            p = q ** (~up).sum() * (1 - q) ** up.sum()
            backup = np.where(up[None, :], latency, np.inf).min(axis=1)
            served = np.where(up[primary], latency[np.arange(problem.n), primary], backup)
            total += p * served.mean()
        assert ev.expected_latency_ms == pytest.approx(total / (1 - q**problem.k), rel=1e-9)


def test_heuristic_on_reference_networks_stays_close() -> None:
    agis = dtopt.load_topology("Agis")
    problem = PlacementProblem(agis, 4, capacity=math.ceil(1.2 * agis.n_nodes / 4))
    exact, heuristic = solve(problem, "milp"), solve(problem, "interchange")
    assert exact.status == "optimal" and heuristic.status == "feasible"
    assert heuristic.avg_latency_ms <= exact.avg_latency_ms * 1.01


def _star(leaves: int, capacity: int) -> PlacementProblem:
    """A star, every node within one hop of the centre, k = 2: {centre, leaf} covers every
    node, but the centre must then host every other leaf."""
    graph = nx.star_graph(leaves)
    nx.set_edge_attributes(graph, 100.0, "dist")
    graph.graph["name"] = f"star-{leaves}"
    return PlacementProblem(dtopt.load_topology(graph), 2, eps_max=0.01, capacity=capacity)


def test_capacitated_infeasibility_names_the_nodes_without_room() -> None:
    for leaves in (5, 6, 7):
        problem = _star(leaves, leaves - 2)
        assert brute_force(problem) is None
        result = solve(problem, "milp")
        assert result.status == "infeasible" and "full" in result.reason
        assert solve(problem.with_(capacity=leaves - 1), "milp").status == "optimal"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"capacity": 0}, "positive integer"),
        ({"capacity": -3}, "positive integer"),
        ({"capacity": 2.5}, "positive integer"),
        ({"capacity": True}, "positive integer"),
        ({"capacity": "5"}, "positive integer"),
        ({"capacity": [5, 5]}, "one value per node"),
        ({"capacity": 5}, "total capacity"),
        ({"failure_prob": 1.0}, r"\[0, 1\)"),
        ({"failure_prob": -0.1}, r"\[0, 1\)"),
        ({"failure_prob": float("nan")}, "finite"),
        ({"capacity": 10, "failure_prob": 0.1}, "cannot be combined"),
    ],
)
def test_bad_variant_options_are_one_line_errors(changes: dict, message: str) -> None:
    with pytest.raises(DtoptError, match=message):
        PlacementProblem("Agis", 4, **changes)


def test_methods_without_variants_refuse() -> None:
    problem = PlacementProblem("Agis", 4, capacity=10)
    with pytest.raises(DtoptError, match="does not solve capacitated"):
        solve(problem, "eopa")


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.integers(-5, 40), st.lists(st.integers(-2, 30), min_size=25, max_size=25)))
def test_capacity_validator_accepts_exactly_positive_integers_with_room(capacity: object) -> None:
    agis = dtopt.load_topology("Agis")
    values = np.atleast_1d(np.asarray(capacity))
    ok = (values > 0).all() and np.sort(np.broadcast_to(values, (25,)))[::-1][:4].sum() >= 25
    if ok:
        assert (PlacementProblem(agis, 4, capacity=capacity).capacities > 0).all()
    else:
        with pytest.raises(DtoptError):
            PlacementProblem(agis, 4, capacity=capacity)


def test_reliable_heuristic_on_agis_stays_close() -> None:
    problem = PlacementProblem("Agis", 5, failure_prob=0.05)
    exact, heuristic = solve(problem, "milp"), solve(problem, "interchange")
    assert exact.status == "optimal" and exact.gap == 0.0
    assert heuristic.expected_latency_ms <= exact.expected_latency_ms * 1.01
