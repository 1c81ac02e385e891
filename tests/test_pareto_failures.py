"""The exact Pareto front, and single-failure evaluation against networkx."""

from __future__ import annotations

import json
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dtopt
from dtopt import DtoptError, PlacementProblem, evaluate, solve
from dtopt.cli.pareto import parse_k_range
from dtopt.placement.problem import error_of_hops
from tests.conftest import random_topology


def _dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """``a`` is no worse than ``b`` in every objective and differs from it."""
    return all(x <= y + 1e-12 for x, y in zip(a, b, strict=True)) and a != b


def _brute_front(topology: dtopt.Topology, ks: list[int]) -> set[tuple[int, float, float]]:
    """Every epsilon-constraint optimum by enumeration (EOPA) at every distinct bound, then
    the non-dominated ones, as rounded (k, max error, latency) triples."""
    errors = np.unique(error_of_hops(np.unique(topology.hops), 1.0, 0.01))
    points = []
    for k in ks:
        for eps in errors:
            result = solve(PlacementProblem(topology, k, eps_max=float(eps)), "eopa")
            if result.feasible:
                points.append((k, result.max_error, result.avg_latency_ms))
    front = {p for p in points if not any(_dominates(q, p) for q in points)}
    return {(k, round(e, 9), round(lat, 9)) for k, e, lat in front}


@pytest.mark.parametrize("seed", range(30))
def test_front_is_exact_non_dominated_and_proven(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over the 30 seeds 159 epsilon-constraint problems, every one solved by the MILP."""
    monkeypatch.setattr("dtopt.solvers.pareto.ENUMERATE_AT_MOST", 0)
    topology = random_topology(500 + seed, n=10)
    front = dtopt.pareto(topology, range(1, 5))
    assert all(p.method == "milp" for p in front.points)
    triples = [(p.k, p.max_error, p.avg_latency_ms) for p in front.points]
    for i, a in enumerate(triples):
        for j, b in enumerate(triples):
            if i != j:
                assert not _dominates(a, b), (a, b)
    for point in front.points:
        assert point.status == "optimal"
        assert point.max_error <= point.eps_max + 1e-12
        check = solve(PlacementProblem(topology, point.k, eps_max=point.eps_max), "eopa")
        assert point.avg_latency_ms == pytest.approx(check.avg_latency_ms, rel=1e-9)
    assert {(k, round(e, 9), round(lat, 9)) for k, e, lat in triples} == _brute_front(topology, [1, 2, 3, 4])
    assert sum(p.knee for p in front.points) <= len({p.k for p in front.points})


def test_empty_k_range_and_cli_errors() -> None:
    with pytest.raises(DtoptError, match="empty"):
        dtopt.pareto("Agis", [])
    for args in (
        ["pareto", "-t", "Agis", "-k", "5..3"],
        ["place", "-t", "Agis", "-k", "4", "--capacity", "0"],
        ["place", "-t", "Agis", "-k", "4", "--failure-prob", "1"],
        ["place", "-t", "Agis", "-k", "4", "--capacity", "9", "--failure-prob", "0.1"],
    ):
        proc = subprocess.run([sys.executable, "-m", "dtopt", *args], capture_output=True, text=True)
        assert proc.returncode == 2, args
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def _nx_latencies(graph: nx.Graph, servers: list[str], rate: float) -> np.ndarray:
    """Each node's latency to its nearest reachable server (ms); inf if none."""
    dist = nx.multi_source_dijkstra_path_length(graph, servers, weight="length_km") if servers else {}
    return np.array([dist.get(v, np.inf) / rate for v in graph.nodes])


@pytest.mark.parametrize("seed", range(12))
def test_single_failures_match_networkx(seed: int) -> None:
    topology = random_topology(700 + seed)
    problem = PlacementProblem(topology, min(3, topology.n_nodes - 1), eps_max=None)
    servers = solve(problem, "interchange").servers
    report = evaluate(problem, topology.indices(servers), failures="single").failures
    graph = topology.to_networkx()
    order = list(topology.node_names)
    scenarios = iter(report.scenarios)
    for failed in servers:
        scenario = next(scenarios)
        assert scenario.kind == "server" and scenario.element == (failed,)
        lat = _nx_latencies(graph, [s for s in servers if s != failed], problem.rate_km_per_ms)
        assert scenario.avg_latency_ms == pytest.approx(lat.mean(), rel=1e-9)
        assert scenario.max_latency_ms == pytest.approx(lat.max(), rel=1e-9)
    for u, v in topology.edges:
        scenario = next(scenarios)
        cut = graph.copy()
        cut.remove_edge(order[u], order[v])
        lat = _nx_latencies(cut, list(servers), problem.rate_km_per_ms)
        served = np.isfinite(lat)
        assert scenario.kind == "link" and scenario.lost == int((~served).sum())
        assert scenario.avg_latency_ms == pytest.approx(lat[served].mean(), rel=1e-9)
        assert scenario.max_latency_ms == pytest.approx(lat[served].max(), rel=1e-9)


def test_failures_option_is_validated() -> None:
    problem = PlacementProblem("Agis", 3)
    with pytest.raises(DtoptError, match="failures"):
        evaluate(problem, [0, 1, 2], failures="double")
    with pytest.raises(DtoptError, match="capacitated"):
        evaluate(problem.with_(capacity=20), [0, 1, 2], failures="single")


def test_pareto_cli_writes_table_json_and_figure(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dtopt", "pareto", "-t", "Eenet", "-k", "1..3", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "| k | eps bound |" in proc.stdout
    front = json.loads((tmp_path / "front.json").read_text())
    assert front["points"] and all(p["status"] == "optimal" for p in front["points"])
    assert (tmp_path / "pareto.png").stat().st_size > 0


@settings(max_examples=80, deadline=None)
@given(st.integers(-3, 30), st.integers(-3, 30))
def test_k_range_parser(lo: int, hi: int) -> None:
    if lo <= hi:
        assert parse_k_range(f"{lo}..{hi}") == list(range(lo, hi + 1))
    else:
        with pytest.raises(DtoptError, match="empty"):
            parse_k_range(f"{lo}..{hi}")
