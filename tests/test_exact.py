"""The problem model and the exact solvers: EOPA, MILP and a brute force agree."""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import pytest

from dtopt import DtoptError, PlacementProblem, evaluate, solve
from dtopt.placement.feasibility import infeasibility_reason, min_feasible_eps_max
from tests.conftest import random_topology

EPS_CHOICES = (None, 0.0, 0.0199, 0.03, 0.05, 0.1)


def random_problem(seed: int) -> PlacementProblem:
    rng = np.random.default_rng(10_000 + seed)
    topo = random_topology(seed)
    k = int(rng.integers(1, min(5, topo.n_nodes) + 1))
    eps_max = EPS_CHOICES[seed % len(EPS_CHOICES)]
    return PlacementProblem(topo, k, eps_max=eps_max, beta=float(rng.choice([0.01, 0.02])))


def brute_force(problem: PlacementProblem) -> float | None:
    """Mean latency of the best feasible placement, from networkx and plain loops."""
    graph = problem.topology.to_networkx()
    names = problem.topology.node_names
    dist = dict(nx.all_pairs_dijkstra_path_length(graph, weight="length_km"))
    # Hops on a shortest path: fewest links among the paths of minimal length.
    hops = {s: {} for s in names}
    for s in names:
        for t in names:
            hops[s][t] = (
                min(len(p) - 1 for p in nx.all_shortest_paths(graph, s, t, weight="length_km"))
                if s != t
                else 0
            )
    best = None
    for servers in itertools.combinations(names, problem.k):
        total = 0.0
        for i in names:
            options = [
                dist[i][j] / problem.rate_km_per_ms
                for j in servers
                if problem.eps_max is None
                or problem.alpha * (1 - (1 - problem.beta) ** hops[i][j]) <= problem.eps_max + 1e-12
            ]
            if not options:
                break
            total += min(options)
        else:
            mean = total / len(names)
            best = mean if best is None else min(best, mean)
    return best


@pytest.mark.parametrize("seed", range(12))
def test_eopa_matches_brute_force(seed: int) -> None:
    problem = random_problem(seed)
    expected = brute_force(problem)
    result = solve(problem, "eopa")
    if expected is None:
        assert result.status == "infeasible"
    else:
        assert result.status == "optimal"
        assert result.avg_latency_ms == pytest.approx(expected, rel=1e-9)


def test_agis_paper_range_eopa_milp(agis) -> None:
    for k in range(1, 6):
        for eps_max in (0.05, None):
            problem = PlacementProblem(agis, k, eps_max=eps_max)
            a, b = solve(problem, "eopa"), solve(problem, "milp")
            assert a.status == b.status == "optimal"
            assert a.avg_latency_ms == pytest.approx(b.avg_latency_ms, rel=1e-9)
            assert a.max_error <= 0.05 + 1e-12 or eps_max is None


def test_eopa_batches_give_the_same_answer(agis) -> None:
    problem = PlacementProblem(agis, 4)
    small = solve(problem, "eopa", batch_elements=500)
    large = solve(problem, "eopa")
    assert small.avg_latency_ms == pytest.approx(large.avg_latency_ms, rel=1e-12)


def test_eopa_refuses_huge_enumerations_and_names_milp() -> None:
    problem = PlacementProblem("topozoo/TataNld", 6)
    with pytest.raises(DtoptError, match=r"C\(143, 6\).*milp"):
        solve(problem, "eopa")
    with pytest.raises(DtoptError, match="max_placements"):
        solve(PlacementProblem("Agis", 2), "eopa", max_placements=0)


def test_evaluate_assigns_lowest_latency_admissible_server() -> None:
    # Path a - b - c - d - e with eps_max allowing one hop and servers at a and d:
    # b is 2 km from d but two hops away, so it must use a, 50 km and one hop away.
    graph = nx.path_graph(["a", "b", "c", "d", "e"])
    lengths = {("a", "b"): 50.0, ("b", "c"): 1.0, ("c", "d"): 1.0, ("d", "e"): 1.0}
    nx.set_edge_attributes(graph, {e: {"dist": v} for e, v in lengths.items()})
    one_hop = 1 - 0.99  # error after one hop with beta = 0.01
    problem = PlacementProblem(graph, 2, eps_max=one_hop)
    ev = evaluate(problem, ["a", "d"])
    assert ev.assignment == {"a": "a", "b": "a", "c": "d", "d": "d", "e": "d"}
    assert ev.feasible and ev.max_error == pytest.approx(one_hop)
    unconstrained = evaluate(problem.with_(eps_max=None), ["a", "d"])
    assert unconstrained.assignment["b"] == "d"
    infeasible = evaluate(problem, ["a", "b"])
    assert not infeasible.feasible and infeasible.avg_latency_ms is None
    assert infeasible.uncovered == ("d", "e") and infeasible.assignment == {"a": "a", "b": "b", "c": "b"}


def test_infeasible_reason_names_nodes_and_smallest_eps(agis) -> None:
    problem = PlacementProblem(agis, 1, eps_max=0.02)
    result = solve(problem, "milp")
    assert result.status == "infeasible" and result.servers == () and result.avg_latency_ms is None
    assert "uncovered" in result.reason and "smallest feasible eps_max" in result.reason
    eps = min_feasible_eps_max(problem)
    assert solve(problem.with_(eps_max=eps), "eopa").status == "optimal"
    smaller = problem.with_(eps_max=float(np.nextafter(eps, 0) - 1e-9))
    assert solve(smaller, "eopa").status == "infeasible"
    assert infeasibility_reason(problem.with_(eps_max=None)) is None


def test_result_json_has_exactly_the_fields(agis) -> None:
    import dataclasses
    import json

    from dtopt import PlacementResult

    result = solve(PlacementProblem(agis, 3), "eopa")
    payload = json.loads(result.to_json())
    assert set(payload) == {f.name for f in dataclasses.fields(PlacementResult)}
    assert all(isinstance(s, str) for s in payload["servers"])
    assert set(payload["assignment"]) == set(agis.node_names)


def test_milp_time_limit_and_gap_options(agis) -> None:
    problem = PlacementProblem(agis, 3)
    loose = solve(problem, "milp", mip_gap=0.5)
    assert loose.status in ("optimal", "feasible")
    assert loose.bound <= loose.avg_latency_ms * (1 + 1e-9)
    for bad in ({"time_limit_s": 0}, {"time_limit_s": -1.0}, {"mip_gap": 1.5}, {"solver": ""}):
        with pytest.raises(DtoptError, match="milp option"):
            solve(problem, "milp", **bad)
    with pytest.raises(DtoptError, match="unknown solver"):
        solve(problem, "milp", solver="definitely-not-a-solver")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0}, "k must be between 1"),
        ({"k": 26}, "k must be between 1"),
        ({"k": 2.5}, "k must be an integer"),
        ({"k": True}, "k must be an integer"),
        ({"alpha": 1.5}, "alpha must be in"),
        ({"beta": -0.1}, "beta must be in"),
        ({"beta": float("nan")}, "beta must be a finite"),
        ({"eps_max": -0.01}, "eps_max must be >= 0"),
        ({"rate_km_per_ms": 0.0}, "rate_km_per_ms must be > 0"),
        ({"rate_km_per_ms": float("inf")}, "rate_km_per_ms must be a finite"),
    ],
)
def test_problem_validation(agis, kwargs, message) -> None:
    params = {"k": 2, **kwargs}
    with pytest.raises(DtoptError, match=message):
        PlacementProblem(agis, **params)


def test_unknown_method_and_option(agis) -> None:
    problem = PlacementProblem(agis, 2)
    with pytest.raises(DtoptError, match="unknown method 'annealing'"):
        solve(problem, "annealing")
    with pytest.raises(DtoptError, match="unknown option"):
        solve(problem, "eopa", temperature=3)
    with pytest.raises(DtoptError, match="servers must be distinct"):
        evaluate(problem, [0, 0])
    with pytest.raises(DtoptError, match="k=2 servers"):
        evaluate(problem, [0, 1, 2])
    with pytest.raises(DtoptError, match="no node named"):
        evaluate(problem, ["Atlantis", "Miami"])


def test_no_nan_or_inf_in_results() -> None:
    for seed in range(40):
        problem = random_problem(seed)
        result = solve(problem, "eopa")
        for value in (
            result.avg_latency_ms,
            result.max_latency_ms,
            result.avg_error,
            result.bound,
            result.gap,
        ):
            assert value is None or math.isfinite(value)
