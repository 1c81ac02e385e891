"""Twin updates from a placement, their entry at the servers and the end-to-end twin latency."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dtopt
from dtopt.cli import main as cli_main
from dtopt.consensus import preset_scenario, run_chain, uniform_scenario
from dtopt.consensus.arrivals import Arrivals
from dtopt.consensus.loading import scenario_from_dict
from dtopt.end_to_end import end_to_end_latency
from dtopt.errors import DtoptError
from dtopt.pipeline import twin_workload
from dtopt.placement import PlacementProblem, PlacementResult

# a line a - b - c - d - e (km); servers a, b, c, d; e is served by d
LINKS_KM = (("a", "b", 200.0), ("b", "c", 400.0), ("c", "d", 600.0), ("d", "e", 100.0))
RATES = {"a": 1.0, "b": 2.0, "c": 3.0, "d": 0.5, "e": 1.5}


def _result(servers: tuple[str, ...], assignment: dict[str, str]) -> PlacementResult:
    return PlacementResult(
        method="hand", status="feasible", servers=servers, assignment=assignment, avg_latency_ms=0.1,
        max_latency_ms=0.5, avg_error=None, max_error=None, bound=None, gap=None, runtime_s=0.0,
    )


@pytest.fixture(scope="module")
def line() -> tuple[PlacementProblem, PlacementResult]:
    graph = nx.Graph()
    graph.add_weighted_edges_from(LINKS_KM, weight="length_km")
    problem = PlacementProblem(dtopt.load_topology(graph), k=4)
    servers = ("a", "b", "c", "d")
    return problem, _result(servers, {**{s: s for s in servers}, "e": "d"})


def test_updates_enter_at_their_servers_and_are_gossiped_by_the_delay_rule(line) -> None:
    problem, result = line
    scenario = dtopt.scenario_from_placement(result, problem, conditions="uniform", update_rate_per_s=RATES)
    # server rates: a 1, b 2, c 3, d 0.5 + 1.5 (from e) = 2; 8 tx/s in all
    assert scenario.regimes[0].tx_rate_per_s == 8.0
    np.testing.assert_allclose(scenario.tx_entry_share, np.array([1.0, 2.0, 3.0, 2.0]) / 8.0)
    run = run_chain(scenario, "IBFT", 120.0, seed=4)
    view = run.view
    # by hand: 5 KB at 1 MB/s (5 ms) + the longest propagation from the entry (200 km/ms)
    hand_s = 0.005 + np.array([1200.0, 1000.0, 600.0, 1200.0]) / 200.0 / 1000.0
    np.testing.assert_allclose(view.tx_arrival_s - view.tx_submitted_s, hand_s[view.tx_entry], atol=1e-12)
    assert np.all(np.diff(view.tx_arrival_s) >= 0) and set(view.tx_entry.tolist()) == {0, 1, 2, 3}


def test_end_to_end_latency_is_network_plus_ledger_by_hand(line) -> None:
    problem, result = line
    scenario = dtopt.scenario_from_placement(result, problem, conditions="uniform", update_rate_per_s=RATES)
    run = run_chain(scenario, "BigFoot", 120.0, seed=5)
    latency = end_to_end_latency(run.view, twin_workload(result, problem, RATES), problem)
    # the ledger part, counted independently: finality minus submission, per entry server
    view, waits = run.view, {s: [] for s in range(4)}
    for block in view.blocks:
        for tx in block.tx_ids:
            waits[int(view.tx_entry[tx])].append(block.committed_s - float(view.tx_submitted_s[tx]))
    ledger_s = {server: float(np.mean(waits[s])) for s, server in enumerate(result.servers)}
    network_ms = {"a": 0.0, "b": 0.0, "c": 0.0, "d": 0.0, "e": 0.5}  # 100 km at 200 km/ms
    for node in latency.nodes:
        assert node.server == result.assignment[node.node]
        assert node.network_ms == pytest.approx(network_ms[node.node], abs=1e-12)
        assert node.ledger_s == pytest.approx(ledger_s[node.server], rel=1e-12)
        assert node.end_to_end_s == pytest.approx(network_ms[node.node] / 1000.0 + ledger_s[node.server],
                                                  rel=1e-12)
    weights = np.array([RATES[n.node] for n in latency.nodes]) / sum(RATES.values())
    total = sum(w * (network_ms[n.node] / 1000.0 + ledger_s[n.server])
                for w, n in zip(weights, latency.nodes, strict=True))
    assert latency.end_to_end_s == pytest.approx(total, rel=1e-12)
    assert latency.end_to_end_s == pytest.approx(latency.network_ms / 1000.0 + latency.ledger_s, rel=1e-12)
    assert latency.network_ms == pytest.approx(1.5 / 8.0 * 0.5) and latency.max_error == pytest.approx(0.01)
    assert latency.final_tx == sum(len(w) for w in waits.values()) <= latency.submitted_tx
    json.dumps(latency.to_dict(), allow_nan=False)


def test_the_stream_is_the_same_however_far_ahead_it_is_drawn(line) -> None:
    problem, result = line
    scenario = dtopt.scenario_from_placement(result, problem, duration_s=1000.0, update_rate_per_s=RATES)
    whole, steps = (Arrivals(scenario, np.random.default_rng(9)) for _ in range(2))
    whole.ensure(1000.0)
    for t in (10.0, 390.0, 401.0, 1000.0):
        steps.ensure(t)
    for name in ("arrival_s", "submitted_s", "entry"):
        np.testing.assert_array_equal(getattr(whole, name), getattr(steps, name))
    assert np.all(np.diff(whole.arrival_s) >= 0)
    # each server's stream carries its share of the 8 tx/s (Poisson counts, 5 sigma)
    span_s = whole.submitted_s.max()
    counts = np.bincount(whole.entry, minlength=4)
    expected = np.array([1.0, 2.0, 3.0, 2.0]) * span_s
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))


@st.composite
def assigned(draw: st.DrawFn) -> tuple[PlacementProblem, PlacementResult, dict[str, float]]:
    n = draw(st.integers(4, 10))
    cells = draw(st.lists(st.floats(0.0, 300.0), min_size=n * n, max_size=n * n))
    latency_ms = np.array(cells).reshape(n, n)
    np.fill_diagonal(latency_ms, 0.0)
    names = [f"n{i}" for i in range(n)]
    problem = PlacementProblem.from_cost_matrix(latency_ms, draw(st.integers(4, n)), node_names=names)
    servers = tuple(sorted(draw(st.permutations(names))[: problem.k], key=names.index))
    assignment = {node: draw(st.sampled_from(servers)) for node in names}
    assignment.update({s: s for s in servers})
    rates = {node: draw(st.floats(0.01, 100.0)) for node in names}
    return problem, _result(servers, assignment), rates


@settings(max_examples=60, deadline=None)
@given(case=assigned(), conditions=st.sampled_from(["paper", "uniform"]))
def test_per_validator_arrival_rates_sum_to_the_update_rates(case, conditions: str) -> None:
    problem, result, rates = case
    workload = twin_workload(result, problem, rates)
    scenario = dtopt.scenario_from_placement(
        result, problem, conditions=conditions, duration_s=200.0, update_rate_per_s=rates
    )
    per_validator = np.array(scenario.tx_entry_share) * scenario.regimes[0].tx_rate_per_s
    by_hand = [sum(r for node, r in rates.items() if result.assignment[node] == s) for s in result.servers]
    np.testing.assert_allclose(per_validator, by_hand, rtol=1e-9)
    np.testing.assert_allclose(workload.server_rate_per_s, by_hand, rtol=1e-12)
    assert all(r.tx_rate_per_s == pytest.approx(sum(rates.values()), rel=1e-12) for r in scenario.regimes)


def test_bad_workloads_are_one_clear_error(line) -> None:
    problem, result = line
    with pytest.raises(DtoptError, match="assigns no server to 1 node"):
        twin_workload(_result(result.servers, {s: s for s in result.servers}), problem)
    with pytest.raises(DtoptError, match="must name every node of the network and no other: unknown"):
        twin_workload(result, problem, {**RATES, "z": 1.0})
    with pytest.raises(DtoptError, match="update rate must be"):
        twin_workload(result, problem, float("nan"))
    scenario = dtopt.scenario_from_placement(result, problem, conditions="uniform")
    with pytest.raises(DtoptError, match="tx_entry_share has 2 weights for 4 producers"):
        scenario.with_(tx_entry_share=(1.0, 1.0))
    with pytest.raises(DtoptError, match="must give some producer a positive weight"):
        scenario.with_(tx_entry_share=(0.0,) * 4)
    plain = run_chain(uniform_scenario(4, tx_rate_per_s=5.0, names=result.servers), "IBFT", 30.0)
    with pytest.raises(DtoptError, match="no entry servers"):
        end_to_end_latency(plain.view, twin_workload(result, problem), problem)


def test_cli_prints_end_to_end_latency_per_node_and_overall(tmp_path, capsys) -> None:
    graph = nx.Graph()
    for i in range(6):
        graph.add_node(f"city{i}", Longitude=float(i), Latitude=45.0, rate=float(i + 1))
    graph.add_edges_from((f"city{i}", f"city{i + 1}") for i in range(5))
    path = tmp_path / "line.gml"
    nx.write_gml(graph, path)
    argv = ["pipeline", "--topology", str(path), "-k", "4", "--duration", "60", "--no-twin"]
    assert cli_main([*argv, "--update-rate", "rate", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["workload"]["total_rate_per_s"] == 21.0
    assert [n["update_rate_per_s"] for n in out["end_to_end"]["nodes"]] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert cli_main([*argv, "--protocol", "BigFoot"]) == 0
    text = capsys.readouterr().out
    assert "end-to-end twin latency (error bound 0.05" in text and "\noverall " in text
    assert text.count("city") >= 6
    assert cli_main([*argv, "--update-rate", "population"]) == 2
    err = capsys.readouterr().err
    assert "--update-rate 'population' is neither a number nor an attribute of every node" in err
    assert cli_main([*argv, "--protocol", "Raft"]) == 2
    assert "unknown protocol 'Raft'" in capsys.readouterr().err


def test_a_swinging_preset_keeps_its_shape_around_the_twins_total(line) -> None:
    problem, result = line
    scenario = dtopt.scenario_from_placement(result, problem, conditions="load-swing", duration_s=1000.0,
                                             seed=3, update_rate_per_s=RATES)
    preset = preset_scenario("load-swing", 1000.0, 3, validators=result.servers)
    rates = np.array([r.tx_rate_per_s for r in scenario.regimes])
    original = np.array([r.tx_rate_per_s for r in preset.regimes])
    assert len(set(original.round(6))) > 2  # it does swing
    np.testing.assert_allclose(rates / original, rates[0] / original[0], rtol=1e-12)
    starts = np.array([r.start_s for r in scenario.regimes])
    span_s = np.diff(np.append(starts, 1000.0))
    assert rates @ span_s / 1000.0 == pytest.approx(8.0, rel=1e-12)


def test_a_scenario_file_may_give_entry_points() -> None:
    scenario = scenario_from_dict({
        "nodes": ["a", "b", "c", "d"], "tx_entry_share": [1, 0, 0, 3],
        "regimes": [{"start_s": 0, "bandwidth_mbps": 1, "tx_rate_per_s": 10}],
    })
    assert scenario.tx_entry_share == (0.25, 0.0, 0.0, 0.75)
    view = run_chain(scenario, "IBFT", 60.0, seed=2).view
    assert set(view.tx_entry.tolist()) == {0, 3} and np.all(view.tx_arrival_s > view.tx_submitted_s)
