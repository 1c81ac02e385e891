"""Weights, candidate sites, fixed servers, p-center and rectangular matrices against brute force.

The reference below enumerates every placement and, with capacities, every assignment,
straight from the raw matrices: it shares no code with dtopt's scoring or solvers.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pytest

from dtopt import DtoptError, PlacementProblem, evaluate, solve

_FORMULATIONS = ("radius", "benders", "classic", "tree")
_FEATURES = ("weights", "candidates", "fixed", "p-center", "rectangular")
_INSTANCES = 400
_BETA = 0.01


def _brute(
    latency: np.ndarray,
    within: np.ndarray,
    k: int,
    demand: np.ndarray,
    sites: list[int],
    fixed: list[int],
    objective: str,
    capacity: np.ndarray | None,
) -> tuple[float, float] | None:
    """(mean, max) of the best placement, or ``None`` when none is feasible."""
    n = latency.shape[0]
    best_key, best = None, None
    for chosen in itertools.combinations(sites, k):
        if not set(fixed) <= set(chosen):
            continue
        cols = list(chosen)
        if capacity is None:
            pays = np.where(within[:, cols], latency[:, cols], np.inf).min(axis=1)
            if not np.isfinite(pays).all():
                continue
        else:
            plans = np.array(list(itertools.product(range(k), repeat=n)))  # every assignment
            ok = within[:, cols][np.arange(n), plans].all(axis=1)
            loads = np.stack([(demand * (plans == p)).sum(axis=1) for p in range(k)], axis=1)
            ok &= (loads <= capacity[cols] + 1e-9).all(axis=1)
            if not ok.any():
                continue
            paid = latency[:, cols][np.arange(n), plans]
            totals = np.where(ok, paid @ demand, np.inf)
            pays = paid[int(np.argmin(totals))]
        mean, worst = float(pays @ demand / demand.sum()), float(pays.max())
        key = (worst, mean) if objective == "max" else (mean,)
        if best_key is None or key < best_key:
            best_key, best = key, (mean, worst)
    return best


def _instance(seed: int) -> tuple[PlacementProblem, dict, tuple[float, float] | None, set[str]]:
    """A random small problem with a random subset of the features, and its brute-force optimum."""
    rng = np.random.default_rng(seed)
    on = {f for f in _FEATURES if rng.random() < 0.62}
    n = int(rng.integers(4, 7))
    m = int(rng.integers(3, 6)) if "rectangular" in on else n
    latency = np.round(rng.random((n, m)) * 20, 1)  # ties are common
    hops = rng.integers(0, 5, size=(n, m))
    if m == n and "rectangular" not in on:
        np.fill_diagonal(latency, 0.0)
        np.fill_diagonal(hops, 0)
    sites = list(range(m))
    if "candidates" in on:
        sites = sorted(rng.choice(m, size=int(rng.integers(2, m + 1)), replace=False).tolist())
    k = int(rng.integers(1, min(3, len(sites)) + 1))
    fixed = []
    if "fixed" in on:
        fixed = sorted(rng.choice(sites, size=int(rng.integers(1, k + 1)), replace=False).tolist())
    weights = None
    if "weights" in on:
        weights = np.round(rng.random(n) * 3, 1)
        weights[int(rng.integers(n))] += 0.5  # a positive total
    demand = np.ones(n) if weights is None else weights
    bounded = rng.random() < 0.5
    max_hops = int(rng.integers(1, 4))
    eps_max = 1 - (1 - _BETA) ** max_hops if bounded else None
    within = hops <= max_hops if bounded else np.ones((n, m), dtype=bool)
    objective = "max" if "p-center" in on else "mean"
    capacity = None
    if objective == "mean" and rng.random() < 0.4:
        capacity = math.ceil(1.3 * demand.sum() / k + float(demand.max()) * rng.random())
    options = dict(
        weights=weights,
        candidates=sites if "candidates" in on else None,
        fixed=fixed or None,
        objective=objective,
        capacity=capacity,
    )
    try:
        problem = PlacementProblem.from_cost_matrix(
            latency,
            k,
            hops=hops,
            eps_max=eps_max,
            beta=_BETA,
            site_names=[f"s{j}" for j in range(m)] if "rectangular" in on else None,
            **options,
        )
    except DtoptError as err:  # too little capacity for the demand: refused, not solved
        assert "total capacity" in str(err)
        problem = PlacementProblem.from_cost_matrix(
            latency, k, hops=hops, eps_max=eps_max, beta=_BETA, **{**options, "capacity": None}
        )
        capacity = None
    caps = None if capacity is None else np.full(m, float(capacity))
    optimum = _brute(latency, within, k, demand, sites, fixed, objective, caps)
    return problem, {"capacity": capacity, "seed": seed}, optimum, on


def _check(result, optimum: tuple[float, float] | None, objective: str, exact: bool) -> None:
    if optimum is None:
        assert not result.feasible
        assert result.status == ("infeasible" if exact else "no_solution_found")
        return
    mean, worst = optimum
    if exact:
        assert result.status == "optimal", result.reason
        assert result.avg_latency_ms == pytest.approx(mean, rel=1e-9, abs=1e-9)
        assert result.max_latency_ms == pytest.approx(worst, rel=1e-9, abs=1e-9) or objective == "mean"
    elif result.feasible:
        if objective == "max":  # the radius is exact for every method
            assert result.max_latency_ms == pytest.approx(worst, abs=1e-9)
        assert result.avg_latency_ms >= mean - 1e-9 or (objective == "max" and result.max_latency_ms > worst)
    if result.feasible:
        objective_value = result.max_latency_ms if objective == "max" else result.avg_latency_ms
        assert result.bound is None or result.bound <= objective_value + 1e-9


def test_every_feature_agrees_with_brute_force_on_200_instances() -> None:
    counts: Counter[str] = Counter()
    for seed in range(_INSTANCES):
        problem, info, optimum, on = _instance(seed)
        counts.update(on)
        capacitated = info["capacity"] is not None
        counts.update(["capacity"] if capacitated else [])
        counts.update(["eps_max"] if problem.eps_max is not None else [])
        formulation = _FORMULATIONS[seed % len(_FORMULATIONS)]
        milp_options = {} if capacitated else {"formulation": formulation}
        _check(solve(problem, "milp", **milp_options), optimum, problem.objective, exact=True)
        if not capacitated:
            _check(solve(problem, "eopa"), optimum, problem.objective, exact=True)
        # Capacities: interchange is the one heuristic for them.
        heuristics = ("interchange", "isapa", "rands", "lagrangian")
        heuristic = "interchange" if capacitated else heuristics[seed % 4]
        _check(solve(problem, heuristic), optimum, problem.objective, exact=False)
    for feature in _FEATURES:
        assert counts[feature] >= 200, counts
    assert counts["capacity"] >= 40 and counts["eps_max"] >= 120, counts


def test_p_center_breaks_ties_by_the_mean() -> None:
    # Site a has the least mean but a worst latency of 9; b and c both reach the least
    # worst latency, 5, and c has the smaller mean among them.
    latency = np.array([[0, 5, 1], [0, 5, 1], [0, 5, 5], [9, 5, 5]], dtype=float)
    mean = PlacementProblem.from_cost_matrix(latency, 1, site_names=["a", "b", "c"])
    center = mean.with_(objective="max")
    assert solve(mean, "eopa").servers == ("a",)
    for method in ("eopa", "milp", "interchange", "isapa", "rands", "lagrangian"):
        result = solve(center, method)
        assert result.servers == ("c",), method
        numbers = (result.max_latency_ms, result.avg_latency_ms, result.bound, result.gap)
        assert numbers == (5.0, 3.0, 5.0, 0.0), method
    assert evaluate(center, ["b"]).objective_ms == 5.0 and evaluate(center, ["a"]).objective_ms == 9.0


def test_weights_scale_freely_and_weigh_the_mean() -> None:
    latency = np.array([[0.0, 4.0, 1.0], [4.0, 0.0, 3.0], [1.0, 3.0, 0.0]])
    heavy_first = PlacementProblem.from_cost_matrix(latency, 1, weights=[5, 1, 1])
    assert solve(heavy_first, "eopa").servers == ("0",)
    assert solve(heavy_first.with_(weights=[1, 5, 1]), "eopa").servers == ("1",)
    ev = evaluate(heavy_first, ["0"])
    assert ev.avg_latency_ms == pytest.approx((5 * 0 + 1 * 4 + 1 * 1) / 7)
    scaled = evaluate(heavy_first.with_(weights=[50, 10, 10]), ["0"])
    assert scaled.avg_latency_ms == pytest.approx(ev.avg_latency_ms)


def test_candidates_and_fixed_servers_on_a_network(agis) -> None:
    names = agis.node_names
    problem = PlacementProblem(agis, 3, candidates=names[:12], fixed=[names[3]])
    for method in ("eopa", "milp", "interchange", "kmpa", "isapa", "rands", "lagrangian"):
        result = solve(problem, method)
        assert result.feasible and names[3] in result.servers, method
        assert set(result.servers) <= set(names[:12]), method
        assert set(result.assignment) == set(names)
    exact = solve(problem, "eopa")
    assert solve(problem, "milp").avg_latency_ms == pytest.approx(exact.avg_latency_ms, rel=1e-12)


def test_capacity_counts_weight() -> None:
    latency = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 2.0]])
    # Site 0 hosts weight 3 at most: the heavy third node (weight 2) and node 0 (weight 1)
    # fill it, so node 1 goes to site 1.
    problem = PlacementProblem.from_cost_matrix(
        latency, 2, weights=[1, 1, 2], capacity=[3, 3], site_names=["0", "1"]
    )
    ev = evaluate(problem, ["0", "1"])
    assert ev.assignment == {"0": "0", "1": "1", "2": "0"}
    tight = problem.with_(capacity=[2, 3])
    assert evaluate(tight, ["0", "1"]).assignment == {"0": "1", "1": "1", "2": "0"}
    assert solve(tight, "milp").avg_latency_ms == pytest.approx((1 * 1 + 1 * 0 + 2 * 0.5) / 4)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"weights": [1, 2]}, "one number per node"),
        ({"weights": [1, -1, 1]}, "finite numbers >= 0"),
        ({"weights": [1, float("nan"), 1]}, "finite numbers >= 0"),
        ({"weights": [0, 0, 0]}, "not all be zero"),
        ({"weights": ["a", 1, 1]}, "numbers, one per node"),
        ({"candidates": ["x"]}, "no node named 'x'"),
        ({"candidates": []}, "at least one site"),
        ({"candidates": [0, 0]}, "distinct sites"),
        ({"candidates": [5]}, "in 0..2"),
        ({"candidates": [0, 2], "fixed": [1]}, "not among the candidates"),
        ({"fixed": [0, 1, 2]}, "more than k=2"),
        ({"objective": "median"}, "objective must be one of mean, max"),
        ({"objective": "max", "capacity": 3}, "p-center"),
        ({"candidates": [0]}, "between 1 and the number of candidate sites"),
    ],
)
def test_bad_modelling_inputs_are_one_line(options: dict, message: str) -> None:
    latency = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]])
    with pytest.raises(DtoptError, match=message) as err:
        PlacementProblem.from_cost_matrix(latency, 2, **options)
    assert "\n" not in str(err.value)


def test_placements_must_respect_candidates_and_fixed_servers() -> None:
    latency = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]])
    problem = PlacementProblem.from_cost_matrix(latency, 1, candidates=["0", "1"], fixed=["1"])
    with pytest.raises(DtoptError, match="'2' is not a candidate site"):
        evaluate(problem, ["2"])
    with pytest.raises(DtoptError, match="keeps the fixed server '1'"):
        solve(problem, "milp", warm_start=["0"])
    assert evaluate(problem, [1]).servers == ("1",)  # site indices


def test_kmpa_refuses_what_clustering_cannot_model_by_name() -> None:
    latency = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0]])
    with pytest.raises(DtoptError, match="method 'kmpa' does not take a matrix with sites"):
        solve(PlacementProblem.from_cost_matrix(latency, 1), "kmpa")
    square = np.array([[0.0, 1.0], [1.0, 0.0]])
    with pytest.raises(DtoptError, match="method 'kmpa' does not take weights"):
        solve(PlacementProblem.from_cost_matrix(square, 1, weights=[1, 2]), "kmpa")


def test_a_rectangular_matrix_names_sites_apart_from_nodes() -> None:
    latency = np.array([[3.0, 1.0, 7.0], [2.0, 9.0, 1.0]])  # 2 nodes x 3 sites
    problem = PlacementProblem.from_cost_matrix(latency, 1, node_names=["u", "v"])
    assert (problem.n, problem.n_sites, problem.site_names) == (2, 3, ("s0", "s1", "s2"))
    result = solve(problem, "milp")
    assert result.servers == ("s0",) and result.assignment == {"u": "s0", "v": "s0"}
    flipped = PlacementProblem.from_cost_matrix(latency.T, 1, node_names=["u", "v"], layout="sites x nodes")
    np.testing.assert_array_equal(flipped.latency_ms, problem.latency_ms)
    with pytest.raises(DtoptError, match="layout must be one of"):
        PlacementProblem.from_cost_matrix(latency, 1, layout="clients x sites")
    with pytest.raises(DtoptError, match="site_names must name the 3 sites"):
        PlacementProblem.from_cost_matrix(latency, 1, site_names=["a"])
    with pytest.raises(DtoptError, match="between 1 and the number of sites \\(3\\)"):
        PlacementProblem.from_cost_matrix(latency, 4)


def test_pareto_and_single_failures_keep_to_the_candidates(agis) -> None:
    from dtopt import pareto

    names = agis.node_names
    candidates, fixed = names[:8], [names[2]]
    front = pareto(agis, [2, 3], candidates=candidates, fixed=fixed, weights=np.arange(1, 26))
    assert front.points
    for point in front.points:
        assert set(point.servers) <= set(candidates) and names[2] in point.servers
    problem = PlacementProblem(agis, 3, candidates=candidates, fixed=fixed, eps_max=None)
    result = solve(problem, "eopa")
    failures = evaluate(problem, result.servers, failures="single").failures
    downed = [s.element[0] for s in failures.scenarios if s.kind == "server"]
    assert sorted(downed) == sorted(result.servers)


def _small(seed: int, **options: object) -> PlacementProblem:
    rng = np.random.default_rng(seed)
    latency = np.round(rng.random((6, 5)) * 20, 1)
    weights = np.round(rng.random(6) * 3, 1) + 0.1
    return PlacementProblem.from_cost_matrix(
        latency, 3, weights=weights, candidates=[0, 1, 3, 4], fixed=[1], **options
    )


def test_a_pyomo_solver_takes_the_modelling_options() -> None:
    for seed, objective in ((1, "mean"), (2, "max")):
        problem = _small(seed, objective=objective)
        exact = solve(problem, "eopa")
        result = solve(problem, "milp", solver="appsi_highs")
        assert result.status == "optimal" and result.servers == exact.servers
        assert result.avg_latency_ms == pytest.approx(exact.avg_latency_ms, rel=1e-9)


def test_the_reliable_variant_takes_the_modelling_options() -> None:
    problem = _small(3, failure_prob=0.2)
    scored = [
        evaluate(problem, [problem.sites[j] for j in chosen])
        for chosen in itertools.combinations(range(problem.n_sites), 3)
        if 1 in chosen  # column 1 is the fixed site 1
    ]
    best = min(ev.expected_latency_ms for ev in scored)
    result = solve(problem, "milp")
    assert result.status == "optimal" and "s1" in result.servers
    assert result.expected_latency_ms == pytest.approx(best, rel=1e-7)
    assert solve(problem, "interchange").expected_latency_ms >= best - 1e-9
