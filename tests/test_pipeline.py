"""From placement to chain: the placed servers as validators, their chain under the twin."""

from __future__ import annotations

import dataclasses
import json

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dtopt
from dtopt.cli import main as cli_main
from dtopt.consensus import run_chain
from dtopt.errors import DtoptError
from dtopt.placement import PlacementProblem, PlacementResult
from dtopt.twin import DigitalTwin


@pytest.fixture(scope="module")
def agis() -> tuple[PlacementProblem, PlacementResult]:
    problem = PlacementProblem(dtopt.load_topology("Agis"), k=10)
    return problem, dtopt.solve(problem, "milp")


def test_validators_are_the_servers_and_propagation_the_shortest_paths(agis) -> None:
    problem, result = agis
    scenario = dtopt.scenario_from_placement(result, problem, duration_s=300.0, seed=2)
    assert scenario.producers == scenario.nodes == result.servers
    # shortest paths computed independently, by networkx over the links (km -> ms -> s)
    graph = problem.topology.to_networkx()
    for i, a in enumerate(result.servers):
        length_km = nx.single_source_dijkstra_path_length(graph, a, weight="length_km")
        expected_s = [length_km[b] / problem.rate_km_per_ms / 1000.0 for b in result.servers]
        np.testing.assert_allclose(scenario.propagation_s[i], expected_s, rtol=1e-9, atol=1e-12)
    index = problem.topology.indices(result.servers)
    np.testing.assert_array_equal(scenario.propagation_s, problem.latency_ms[np.ix_(index, index)] / 1000.0)
    assert scenario.propagation_s.max() > 0.01  # Agis spans the US: tens of ms
    # the paper's conditions over the servers: the last fifth fails in odd regimes
    assert scenario.faulty == result.servers[-2:]
    assert [r.offline for r in scenario.regimes] == [(), scenario.faulty, ()]


def test_chain_and_twin_run_on_the_placed_servers(agis) -> None:
    problem, result = agis
    scenario = dtopt.scenario_from_placement(result, problem, duration_s=150.0, seed=3)
    twin = DigitalTwin.from_scenario(scenario, replicas=32, seed=3)
    run = run_chain(scenario, "IBFT", 150.0, seed=3, controller=twin)
    assert run.chain.safety_violations == 0 and run.metrics.n_blocks > 10
    assert {b.proposer for b in run.view.blocks} <= set(result.servers)
    assert len(twin.records) == 5 and all(r.error is None for r in twin.records)


def test_uniform_conditions_and_configuration_fields(agis) -> None:
    problem, result = agis
    uniform = dtopt.scenario_from_placement(
        result, problem, conditions="uniform", update_rate_per_s=0.8, bandwidth_mbps=2.0
    )
    (regime,) = uniform.regimes
    assert regime.tx_rate_per_s == pytest.approx(20.0) and regime.bandwidth_mbps == (2.0,) * 10
    assert run_chain(uniform, "BigFoot", 60.0, seed=1).metrics.n_blocks > 0
    tuned = dtopt.scenario_from_placement(result, problem, round_timeout_s=6.0, max_block_mb=2.0)
    assert (tuned.round_timeout_s, tuned.max_block_mb) == (6.0, 2.0)


def test_bad_input_is_one_clear_error(agis) -> None:
    problem, result = agis
    none = dataclasses.replace(result, status="infeasible", servers=(), assignment={}, reason="eps too tight")
    with pytest.raises(DtoptError, match="has no placement to run a chain on: eps too tight"):
        dtopt.scenario_from_placement(none, problem)
    with pytest.raises(DtoptError, match=r"not a placement of this problem \(Agis, k=4\)"):
        dtopt.scenario_from_placement(result, problem.with_(k=4))
    small = problem.with_(k=3)
    with pytest.raises(DtoptError, match="at least 4 validators"):
        dtopt.scenario_from_placement(dtopt.solve(small, "milp"), small)
    with pytest.raises(DtoptError, match="unknown conditions 'calm'"):
        dtopt.scenario_from_placement(result, problem, conditions="calm")
    with pytest.raises(DtoptError, match=r"\['tx_rate_per_s'\] come from the twins' updates"):
        dtopt.scenario_from_placement(result, problem, tx_rate_per_s=5.0)
    with pytest.raises(DtoptError, match=r"unknown scenario field\(s\) \['bandwidth_mbps'\]"):
        dtopt.scenario_from_placement(result, problem, bandwidth_mbps=5.0)
    with pytest.raises(DtoptError, match="update rate must be a finite number of updates/s > 0"):
        dtopt.scenario_from_placement(result, problem, update_rate_per_s=0.0)
    with pytest.raises(DtoptError, match="must name every node of the network"):
        dtopt.scenario_from_placement(result, problem, update_rate_per_s={"Miami": 1.0})
    with pytest.raises(DtoptError, match="result must be a PlacementResult"):
        dtopt.scenario_from_placement(result.to_dict(), problem)
    with pytest.raises(DtoptError, match="problem must be a PlacementProblem"):
        dtopt.scenario_from_placement(result, "Agis")


@st.composite
def placements(draw: st.DrawFn) -> tuple[PlacementProblem, PlacementResult, np.ndarray]:
    n = draw(st.integers(2, 9))
    cells = draw(st.lists(st.floats(0.0, 500.0), min_size=n * n, max_size=n * n))
    latency_ms = np.array(cells).reshape(n, n)
    np.fill_diagonal(latency_ms, 0.0)
    k = draw(st.integers(1, n))
    problem = PlacementProblem.from_cost_matrix(latency_ms, k, node_names=[f"n{i}" for i in range(n)])
    names = draw(st.lists(st.sampled_from([*problem.topology.node_names, "stranger"]), unique=True,
                          min_size=0, max_size=n))
    nearest = {
        node: min(names, key=lambda s: latency_ms[i, problem.topology.node_names.index(s)])
        for i, node in enumerate(problem.topology.node_names)
    } if names and "stranger" not in names else {}
    result = PlacementResult(
        method="test", status="feasible", servers=tuple(names), assignment=nearest, avg_latency_ms=1.0,
        max_latency_ms=1.0, avg_error=None, max_error=None, bound=None, gap=None, runtime_s=0.0,
    )
    return problem, result, latency_ms


@settings(max_examples=80, deadline=None)
@given(case=placements(), conditions=st.sampled_from(["paper", "uniform"]))
def test_validator_accepts_exactly_the_placements_a_chain_can_run(case, conditions: str) -> None:
    problem, result, latency_ms = case
    valid = (
        len(result.servers) == problem.k >= 4
        and set(result.servers) <= set(problem.topology.node_names)
    )
    if not valid:
        with pytest.raises(DtoptError) as err:
            dtopt.scenario_from_placement(result, problem, conditions=conditions, duration_s=200.0)
        assert "\n" not in str(err.value)
        return
    scenario = dtopt.scenario_from_placement(result, problem, conditions=conditions, duration_s=200.0)
    index = [int(name[1:]) for name in result.servers]
    assert scenario.producers == result.servers
    np.testing.assert_array_equal(scenario.propagation_s, latency_ms[np.ix_(index, index)] / 1000.0)
    assert np.all(np.isfinite(scenario.propagation_s))


def test_cli_runs_the_pipeline_end_to_end(agis, capsys: pytest.CaptureFixture[str]) -> None:
    _, result = agis
    argv = ["pipeline", "--topology", "Agis", "-k", "10", "--duration", "60", "--replicas", "32"]
    assert cli_main([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert tuple(out["placement"]["servers"]) == result.servers and len(out["decisions"]) == 2
    assert out["metrics"]["n_blocks"] > 0 and len(out["propagation_ms"]) == 10
    assert cli_main([*argv, "--no-twin"]) == 0
    text = capsys.readouterr().out
    assert "placement: Agis, k=10, milp optimal" in text and "genesis IBFT, static" in text
    assert cli_main(["pipeline", "--topology", "Agis", "-k", "3", "--duration", "60"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "at least 4 validators" in err
