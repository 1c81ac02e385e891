"""The MILP: every formulation and every stage of the solve agree with EOPA; one deadline."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

import dtopt.solvers.milp as milp_module
from dtopt import DtoptError, PlacementProblem, evaluate, load_orlib, solve
from dtopt.solvers.milp import _model
from tests.conftest import random_topology
from tests.test_exact import random_problem

FORMULATIONS = ("benders", "classic", "radius", "tree")


def _stage_off(monkeypatch, stage: str) -> None:
    """Take one stage out of the solve, so the later ones must conclude on their own."""
    if stage == "weak_bound":
        # A few subgradient steps: a weak bound, so the reductions keep most pairs and the
        # model finishes the proof over them.
        monkeypatch.setattr(milp_module, "_LAGRANGIAN_ITERATIONS", 3)
    elif stage == "poor_start":
        # A poor incumbent (the first k nodes, when they cover every node) and a weak
        # bound: the later steps must find the optimum, not only prove it.
        monkeypatch.setattr(milp_module, "_LAGRANGIAN_ITERATIONS", 3)
        incumbent = milp_module._incumbent

        def first_nodes(problem, search, start) -> None:
            search.offer(np.arange(problem.k))
            if search.servers is None:
                incumbent(problem, search, start)

        monkeypatch.setattr(milp_module, "_incumbent", first_nodes)
    elif stage == "model_only":
        # No incumbent, no Lagrangian, no covering shortcut, no LP proof: branch and bound
        # alone finds the optimum or proves infeasibility.
        monkeypatch.setattr(milp_module, "_incumbent", lambda *args: None)
        monkeypatch.setattr(milp_module, "infeasibility_reason", lambda problem: None)
        monkeypatch.setattr(_model, "_relaxation_done", lambda *args: None)
        monkeypatch.setattr(milp_module._classic, "_NEAREST_PAIRS", 10**6)


def _agree(problem: PlacementProblem, formulation: str) -> str:
    exact, found = solve(problem, "eopa"), solve(problem, "milp", formulation=formulation)
    assert found.status == exact.status, (problem, found.status, exact.status)
    if exact.status == "optimal":
        assert found.avg_latency_ms == pytest.approx(exact.avg_latency_ms, rel=1e-9, abs=0), problem
        assert found.bound <= found.avg_latency_ms * (1 + 1e-9)
        assert evaluate(problem, found.servers).avg_latency_ms == pytest.approx(found.avg_latency_ms)
    else:
        assert found.servers == () and found.reason
    return exact.status


@pytest.mark.parametrize("formulation", FORMULATIONS)
@pytest.mark.parametrize("stage", ["all", "weak_bound", "poor_start", "model_only"])
def test_every_formulation_and_stage_agrees_with_eopa(monkeypatch, formulation: str, stage: str) -> None:
    _stage_off(monkeypatch, stage)
    statuses = [_agree(random_problem(seed), formulation) for seed in range(200 if stage == "all" else 80)]
    # Both outcomes, constrained and not (random_problem cycles through eps_max values).
    assert statuses.count("infeasible") >= 4 and statuses.count("optimal") >= 40


@pytest.mark.parametrize("formulation", FORMULATIONS)
def test_larger_networks_agree_with_eopa(monkeypatch, formulation: str) -> None:
    # 20-35 nodes: the classic path prices pairs in (2 nearest per node to start).
    monkeypatch.setattr(milp_module._classic, "_NEAREST_PAIRS", 2)
    monkeypatch.setattr(milp_module, "_LAGRANGIAN_ITERATIONS", 10)
    for seed in range(20):
        rng = np.random.default_rng(20_000 + seed)
        problem = PlacementProblem(
            random_topology(1_000 + seed, n=int(rng.integers(20, 36))),
            int(rng.integers(2, 5)),
            eps_max=(None, 0.05, 0.1)[seed % 3],
        )
        _agree(problem, formulation)


@pytest.mark.parametrize("formulation", [*FORMULATIONS, "auto"])
@pytest.mark.parametrize("name", ["pmed1", "pmed2"])
def test_orlib_optimum(name: str, formulation: str) -> None:
    instance = load_orlib(name)
    result = solve(instance.problem, "milp", formulation=formulation, time_limit_s=120)
    assert result.status == "optimal"
    assert result.avg_latency_ms * instance.problem.n == pytest.approx(instance.optimum, abs=1e-6)


def test_time_limited_solve_returns_the_warm_start_and_a_bound(monkeypatch) -> None:
    # pmed39 (n = 900, p = 10) has an integrality gap of 0.6%: no stage before branch and
    # bound can prove its optimum, and branch and bound takes seconds, so a short limit
    # stops the solve with what it has.
    instance = load_orlib("pmed39")
    started = time.perf_counter()
    result = solve(instance.problem, "milp", time_limit_s=1.5)
    wall_s = time.perf_counter() - started
    assert result.status == "time_limit" and "time_limit_s=1.5" in result.reason
    assert result.servers and result.avg_latency_ms * instance.problem.n >= instance.optimum - 1e-6
    assert 0 < result.bound <= instance.optimum_ms * (1 + 1e-9)
    assert result.gap == pytest.approx((result.avg_latency_ms - result.bound) / result.avg_latency_ms)
    assert result.runtime_s <= wall_s
    greedy = solve(instance.problem, "interchange", n_starts=1)
    assert result.avg_latency_ms <= greedy.avg_latency_ms


def test_a_deadline_during_the_incumbent_still_returns_it(monkeypatch) -> None:
    # The limit passes before the model is built: the greedy + swap placement comes back.
    monkeypatch.setattr(milp_module.Deadline, "expired", lambda self: True)
    monkeypatch.setattr(milp_module.Deadline, "remaining_s", lambda self: 1e-3)
    result = solve(load_orlib("pmed16").problem, "milp", time_limit_s=1000)
    assert result.status == "time_limit" and result.servers and result.bound > 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"time_limit_s": 0}, "time_limit_s"),
        ({"time_limit_s": -1.0}, "time_limit_s"),
        ({"time_limit_s": float("nan")}, "time_limit_s"),
        ({"formulation": "tight"}, "formulation must be one of auto, benders, classic, radius, tree"),
        ({"formulation": "radius", "solver": "cbc"}, "formulation='radius' needs solver='highs'"),
        ({"mip_gap": 1.5}, "mip_gap"),
    ],
)
def test_bad_options(agis, options: dict, message: str) -> None:
    with pytest.raises(DtoptError, match=message):
        solve(PlacementProblem(agis, 2), "milp", **options)


@pytest.mark.parametrize(
    "args", [["--time-limit", "0"], ["-o", "formulation=tight"], ["--formulation", "tight"]]
)
def test_cli_refuses_bad_options_in_one_line(args: list[str]) -> None:
    command = [sys.executable, "-m", "dtopt", "place", "--topology", "Agis", "-k", "2", "--method", "milp"]
    done = subprocess.run(command + args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def _installed(solver: str) -> bool:
    import pyomo.environ as pyo

    return bool(pyo.SolverFactory(solver).available(exception_flag=False))


@pytest.mark.parametrize("solver", ["glpk", "cbc"])
def test_pyomo_solvers_solve_the_classic_model(solver: str, agis) -> None:
    if not _installed(solver):
        pytest.skip(f"{solver} is not installed (Debian: glpk-utils / coinor-cbc)")
    for k, eps_max in ((3, None), (4, 0.05), (1, 0.02)):
        problem = PlacementProblem(agis, k, eps_max=eps_max)
        exact, found = solve(problem, "eopa"), solve(problem, "milp", solver=solver, time_limit_s=600.0)
        assert found.status == exact.status, (solver, k, eps_max, found.reason)
        if exact.status == "optimal":
            assert found.avg_latency_ms == pytest.approx(exact.avg_latency_ms, rel=1e-9)


def test_a_failing_solver_is_a_status_with_its_message(monkeypatch, agis) -> None:
    if not _installed("glpk"):
        pytest.skip("glpk is not installed (Debian: glpk-utils)")
    from pyomo.common.errors import ApplicationError
    from pyomo.solvers.plugins.solvers.GLPK import GLPKSHELL

    def fail(*args, **kwargs):
        raise ApplicationError("glpsol: invalid option '--tmlim 600.0'")

    monkeypatch.setattr(GLPKSHELL, "solve", fail)
    result = solve(PlacementProblem(agis, 3), "milp", solver="glpk")
    assert result.status == "error" and "invalid option '--tmlim 600.0'" in result.reason
    assert result.servers  # the greedy + swap placement is kept


def test_milp_warm_start_and_highs_options(agis) -> None:
    problem = PlacementProblem(agis, 4)
    exact = solve(problem, "eopa")
    for formulation in FORMULATIONS:
        warm = solve(problem, "milp", formulation=formulation, warm_start=exact.servers)
        assert warm.avg_latency_ms == pytest.approx(exact.avg_latency_ms, rel=1e-9)
    tuned = solve(problem, "milp", highs_options={"presolve": "off", "random_seed": 7})
    assert tuned.avg_latency_ms == pytest.approx(exact.avg_latency_ms, rel=1e-9)
    with pytest.raises(DtoptError, match="HiGHS rejected option"):
        solve(problem, "milp", highs_options={"no_such_option": 1})
    with pytest.raises(DtoptError, match="highs_options must be a dict"):
        solve(problem, "milp", highs_options=["presolve"])
    loose = solve(problem, "milp", mip_gap=0.5)
    assert loose.status in ("optimal", "feasible") and loose.bound <= loose.avg_latency_ms * (1 + 1e-9)


@pytest.mark.parametrize("seed", range(10))
def test_the_tree_stops_when_it_stalls_and_runs_out_otherwise(seed: int) -> None:
    from dtopt.solvers.lagrangian import lagrangian_bound
    from dtopt.solvers.milp._deadline import Deadline
    from dtopt.solvers.milp._state import Search
    from dtopt.solvers.milp._tree import lagrangian_tree

    problem = PlacementProblem(random_topology(3_000 + seed, n=30), 4, eps_max=None)
    optimum = solve(problem, "eopa").avg_latency_ms
    worst = np.argsort(problem.cost_ms.sum(axis=0))[-problem.k :]  # a poor incumbent
    outcomes = {}
    for stall in ({"stall_nodes": 0}, {"stall_s": 0.0}, {}):
        search = Search(problem, Deadline.after(None))
        search.offer(worst)
        root = lagrangian_bound(problem.cost_ms, problem.k, upper_bound_ms=search.upper_ms, max_iterations=5)
        finished = lagrangian_tree(problem.cost_ms, problem.k, root, search, None, lambda s: s, **stall)
        assert search.lower_ms <= optimum * (1 + 1e-9)
        outcomes[tuple(stall)] = (finished, search.upper_ms)
    # Stalled at once (no node, or no second): not a single node, the poor incumbent kept.
    assert outcomes[("stall_nodes",)] == (False, evaluate(problem, worst).avg_latency_ms)
    assert outcomes[("stall_s",)] == (False, evaluate(problem, worst).avg_latency_ms)
    # Without the stop the tree runs out, and then its incumbent is the optimum.
    assert outcomes[()][0] and outcomes[()][1] == pytest.approx(optimum, rel=1e-9)
