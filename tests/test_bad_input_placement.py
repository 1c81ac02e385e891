"""Bad input to the placement library and to `dtopt place`: one clear line, never a traceback.

Library: a :class:`DtoptError` with a one-line message naming what is wrong. CLI: exit
status 2, nothing on stdout, exactly one line on stderr.
"""

from __future__ import annotations

import math

import pytest

from dtopt import DtoptError, PlacementProblem, evaluate, solve
from dtopt._validate import MAX_BATCH_ELEMENTS
from dtopt.cli import main

NAN, INF = float("nan"), float("inf")


@pytest.fixture(scope="module")
def problem(agis) -> PlacementProblem:
    return PlacementProblem(agis, 3)


# (what the problem is built with, message it must raise)
PROBLEMS = [
    ({"k": 0}, "k must be between 1"),
    ({"k": 26}, "k must be between 1"),
    ({"k": 2.5}, "k must be an integer"),
    ({"k": True}, "k must be an integer"),
    ({"k": "3"}, "k must be an integer"),
    ({"k": 3, "eps_max": -0.1}, "eps_max must be >= 0"),
    ({"k": 3, "eps_max": NAN}, "eps_max must be a finite number"),
    ({"k": 3, "eps_max": INF}, "eps_max must be a finite number"),
    ({"k": 3, "eps_max": "0.05"}, "eps_max must be a finite number"),
    ({"k": 3, "alpha": 1.5}, r"alpha must be in \[0, 1\]"),
    ({"k": 3, "alpha": NAN}, "alpha must be a finite number"),
    ({"k": 3, "beta": -0.01}, r"beta must be in \[0, 1\]"),
    ({"k": 3, "beta": INF}, "beta must be a finite number"),
    ({"k": 3, "rate_km_per_ms": 0}, "rate_km_per_ms must be > 0"),
    ({"k": 3, "rate_km_per_ms": -200}, "rate_km_per_ms must be > 0"),
    ({"k": 3, "rate_km_per_ms": NAN}, "rate_km_per_ms must be a finite number"),
]


@pytest.mark.parametrize(("kwargs", "message"), PROBLEMS, ids=[str(p[0]) for p in PROBLEMS])
def test_bad_problem_parameters(agis, kwargs, message) -> None:
    with pytest.raises(DtoptError, match=message) as info:
        PlacementProblem(agis, **kwargs)
    assert "\n" not in str(info.value)


# (method, options, message)
SOLVES = [
    ("isapa", {"optimum_ms": 0.0}, "optimum_ms must be a finite number of ms > 0"),
    ("isapa", {"optimum_ms": -1.0}, "optimum_ms must be a finite number of ms > 0"),
    ("rands", {"optimum_ms": NAN}, "optimum_ms must be a finite number of ms > 0"),
    ("kmpa", {"optimum_ms": INF}, "optimum_ms must be a finite number of ms > 0"),
    ("interchange", {"optimum_ms": "1.2"}, "optimum_ms must be a finite number of ms > 0"),
    *[(m, {"seed": -1}, "seed must be an integer >= 0") for m in ("isapa", "kmpa", "rands", "interchange")],
    *[(m, {"seed": 2.0}, "seed must be an integer >= 0") for m in ("isapa", "kmpa", "rands", "interchange")],
    *[(m, {"seed": None}, "seed must be an integer >= 0") for m in ("isapa", "kmpa", "rands", "interchange")],
    ("kmpa", {"seed": 2**32}, "seed must be an integer <= 4,294,967,295"),
    ("rands", {"n_samples": 0}, "n_samples must be an integer >= 1"),
    ("rands", {"n_samples": 1e6}, "n_samples must be an integer >= 1"),
    ("rands", {"batch_elements": 0}, "batch_elements must be an integer >= 1"),
    ("rands", {"batch_elements": 2**62}, f"batch_elements must be an integer <= {MAX_BATCH_ELEMENTS:,}"),
    ("interchange", {"n_starts": 0}, "n_starts must be an integer >= 1"),
    ("interchange", {"n_starts": True}, "n_starts must be an integer >= 1"),
    ("interchange", {"patience": 0}, "patience must be an integer >= 1"),
    ("interchange", {"patience": 2.5}, "patience must be an integer >= 1"),
    ("interchange", {"time_limit_s": 0}, "time_limit_s must be > 0"),
    ("eopa", {"max_placements": -5}, "max_placements must be an integer >= 1"),
    ("eopa", {"batch_elements": 2**40}, f"batch_elements must be an integer <= {MAX_BATCH_ELEMENTS:,}"),
    ("isapa", {"T0": NAN}, "T0 must be a positive"),
    ("isapa", {"T0": INF}, "T0 must be a positive"),
    ("isapa", {"T_final": 0.0}, "T_final must be positive"),
    ("isapa", {"rho": -0.5}, r"rho must be in \(0, 1\)"),
    ("isapa", {"num_max": -1}, "num_max must be an integer >= 1"),
    ("isapa", {"steps_per_level": 1.5}, "steps_per_level must be an integer >= 1"),
    ("isapa", {"p_neighbour": -0.1}, r"p_neighbour must be in \[0, 1\]"),
    ("isapa", {"verbose": 1}, "verbose must be true or false"),
    ("kmpa", {"init": 3}, "init must be one of"),
    ("kmpa", {"max_iter": 0}, "max_iter must be an integer >= 1"),
    ("annealing", {}, "unknown method 'annealing'"),
    ("rands", {"samples": 10}, "unknown option"),
]


@pytest.mark.parametrize(("method", "options", "message"), SOLVES, ids=[f"{m}-{o}" for m, o, _ in SOLVES])
def test_bad_solve_arguments(problem, method, options, message) -> None:
    with pytest.raises(DtoptError, match=message) as info:
        solve(problem, method, **options)
    assert "\n" not in str(info.value)


def test_solve_needs_a_problem() -> None:
    with pytest.raises(DtoptError, match="solve\\(\\) takes a PlacementProblem"):
        solve("Agis", "isapa")


EVALUATIONS = [
    ([0, 0, 1], "servers must be distinct"),
    ([0, 1], "a placement has k=3 servers"),
    ([0, 1, 25], "server indices must be in 0..24"),
    ([0, 1, -1], "server indices must be in 0..24"),
    (["Atlantis", "Miami", "Boston"], "no node named"),
    ([0, "Miami", 2], "all node names or all node indices"),
    ([0.0, 1.0, 2.0], "all node names or all node indices"),
    ([True, False, 2], "all node names or all node indices"),
]


@pytest.mark.parametrize(("servers", "message"), EVALUATIONS, ids=[str(e[0]) for e in EVALUATIONS])
def test_bad_placements_to_evaluate(problem, servers, message) -> None:
    with pytest.raises(DtoptError, match=message) as info:
        evaluate(problem, servers)
    assert "\n" not in str(info.value)


PLACE = ["place", "-t", "Agis"]
CLI = [
    [*PLACE, "-k", "0"],
    [*PLACE, "-k", "-3"],
    [*PLACE, "-k", "26"],
    [*PLACE, "-k", "3", "--eps-max", "nan"],
    [*PLACE, "-k", "3", "--eps-max", "-1"],
    [*PLACE, "-k", "3", "--eps-max", "inf0"],
    [*PLACE, "-k", "3", "--alpha", "nan"],
    [*PLACE, "-k", "3", "--alpha", "2"],
    [*PLACE, "-k", "3", "--beta", "inf"],
    [*PLACE, "-k", "3", "--rate", "-200"],
    [*PLACE, "-k", "3", "--rate", "nan"],
    [*PLACE, "-k", "3", "-m", "isapa", "--seed", "-1"],
    [*PLACE, "-k", "3", "-m", "rands", "--seed", "-7"],
    [*PLACE, "-k", "3", "-m", "kmpa", "--seed", "-2"],
    [*PLACE, "-k", "3", "-m", "interchange", "--seed", "-4"],
    [*PLACE, "-k", "3", "-m", "rands", "-o", "n_samples=0"],
    [*PLACE, "-k", "3", "-m", "rands", "-o", "n_samples=1e9"],
    [*PLACE, "-k", "3", "-m", "rands", "-o", f"batch_elements={2**50}"],
    [*PLACE, "-k", "3", "-m", "eopa", "-o", f"batch_elements={2**50}"],
    [*PLACE, "-k", "3", "-m", "eopa", "-o", "max_placements=0"],
    [*PLACE, "-k", "3", "-m", "interchange", "-o", "n_starts=-1"],
    [*PLACE, "-k", "3", "-m", "isapa", "-o", "T0=-1"],
    [*PLACE, "-k", "3", "-m", "isapa", "-o", "rho=NaN"],
    [*PLACE, "-k", "3", "-m", "isapa", "-o", "steps_per_level=0"],
    [*PLACE, "-k", "3", "-m", "isapa", "-o", "init=clever"],
    [*PLACE, "-k", "3", "-m", "kmpa", "-o", "max_iter=0"],
]


@pytest.mark.parametrize("argv", CLI, ids=[" ".join(a[3:]) for a in CLI])
def test_bad_cli_input_exits_2_with_one_line(capsys, argv) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2, err
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "error:" in lines[0] and "Traceback" not in err


def test_heuristic_gap_needs_a_positive_optimum(problem) -> None:
    # A result's gap is a finite number or None, never a stand-in for an undefined ratio.
    result = solve(problem, "interchange", optimum_ms=solve(problem, "eopa").avg_latency_ms)
    assert result.gap is not None and math.isfinite(result.gap) and abs(result.gap) < 1e-9
