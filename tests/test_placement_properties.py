"""Property tests: on random problems and options, every placement method either answers
with finite numbers and a placement that ``evaluate`` confirms, or refuses with a
``DtoptError``; heuristics never beat EOPA's optimum, and only exact methods claim
infeasibility."""

from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dtopt import DtoptError, PlacementProblem, evaluate, solve
from dtopt.placement.result import STATUSES
from tests.conftest import random_topology

HEURISTICS = ("isapa", "kmpa", "rands", "interchange")
NUMERIC_FIELDS = ("avg_latency_ms", "max_latency_ms", "avg_error", "max_error", "bound", "gap", "runtime_s")


@st.composite
def problems(draw: st.DrawFn) -> PlacementProblem:
    topology = random_topology(draw(st.integers(0, 10_000)), n=draw(st.integers(3, 9)))
    k = draw(st.integers(1, topology.n_nodes))
    eps_max = draw(st.sampled_from([None, 0.0, 0.01, 0.0199, 0.03, 0.05, 0.2]))
    beta = draw(st.sampled_from([0.0, 0.01, 0.02, 0.5, 1.0]))
    return PlacementProblem(topology, k, eps_max=eps_max, beta=beta)


# Option values in and out of range: each method must take them or refuse them cleanly.
SEEDS = st.one_of(st.integers(-3, 2**64), st.floats(allow_nan=True), st.none())
OPTIONS = {
    "isapa": st.fixed_dictionaries(
        {"seed": SEEDS},
        optional={
            "rho": st.floats(allow_nan=True, allow_infinity=True),
            "num_max": st.integers(-1, 40),
            "steps_per_level": st.integers(-1, 30),
            "p_neighbour": st.floats(-0.5, 1.5),
            "init": st.sampled_from(["greedy", "random", "other"]),
            "polish": st.sampled_from([True, False, 0]),
        },
    ),
    "kmpa": st.fixed_dictionaries(
        {"seed": SEEDS},
        optional={
            "algorithm": st.sampled_from(["pam", "alternate", "clara"]),
            "max_iter": st.integers(-1, 50),
        },
    ),
    "rands": st.fixed_dictionaries(
        {"seed": SEEDS},
        optional={"n_samples": st.integers(-1, 300), "batch_elements": st.integers(-1, 2**40)},
    ),
    "interchange": st.fixed_dictionaries({"seed": SEEDS}, optional={"n_starts": st.integers(-1, 6)}),
    "eopa": st.fixed_dictionaries(
        {}, optional={"batch_elements": st.integers(-1, 2**40), "max_placements": st.integers(-1, 10**6)}
    ),
    "milp": st.just({}),
}


def _check_result(problem: PlacementProblem, result) -> None:
    assert result.status in STATUSES
    for name in NUMERIC_FIELDS:
        value = getattr(result, name)
        assert value is None or math.isfinite(value), (name, value)
    json.loads(result.to_json())  # allow_nan=False: would raise on NaN or infinity
    if result.feasible:
        ev = evaluate(problem, result.servers)
        assert ev.feasible and ev.servers == result.servers and ev.assignment == result.assignment
        assert ev.avg_latency_ms == result.avg_latency_ms and ev.max_error == result.max_error
        if problem.eps_max is not None:
            assert ev.max_error <= problem.eps_max + 1e-12
    else:
        assert result.servers == () and result.assignment == {} and result.reason


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=problems(), method=st.sampled_from(sorted(OPTIONS)), data=st.data())
def test_every_method_answers_or_refuses(problem: PlacementProblem, method: str, data) -> None:
    options = data.draw(OPTIONS[method])
    try:
        result = solve(problem, method, **options)
    except DtoptError as err:
        assert str(err) and "\n" not in str(err)
        return
    _check_result(problem, result)
    exact = solve(problem, "eopa")
    if method in HEURISTICS:
        # A heuristic proves nothing: it finds a placement or says it found none.
        assert result.status in ("feasible", "no_solution_found")
        if exact.status == "infeasible":
            assert result.status == "no_solution_found"
        elif result.feasible:
            assert result.avg_latency_ms >= exact.avg_latency_ms * (1 - 1e-12)
    elif method == "milp":
        assert result.status == exact.status
        if exact.feasible:
            assert math.isclose(result.avg_latency_ms, exact.avg_latency_ms, rel_tol=1e-9)


@settings(max_examples=30, deadline=None)
@given(problem=problems(), method=st.sampled_from(HEURISTICS), seed=st.integers(0, 2**32 - 1))
def test_heuristics_with_valid_seeds_always_answer(problem: PlacementProblem, method: str, seed: int) -> None:
    result = solve(problem, method, seed=seed)
    _check_result(problem, result)
    exact = solve(problem, "eopa")
    if method != "rands":  # the search methods repair to feasibility whenever a placement exists
        assert result.feasible == exact.feasible
    if exact.feasible and result.feasible:
        gap = solve(problem, method, seed=seed, optimum_ms=exact.avg_latency_ms or None).gap
        assert gap is None or gap >= -1e-12
