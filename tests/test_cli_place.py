"""`dtopt place` and `dtopt topologies` from the command line."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dtopt import PlacementResult
from dtopt.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_place_json_milp_and_eopa_agree(capsys) -> None:
    results = {}
    for method in ("milp", "eopa"):
        code, out, _ = run(capsys, "place", "--topology", "Agis", "-k", "4", "--method", method, "--json")
        assert code == 0
        payload = json.loads(out)
        assert set(payload) == {f.name for f in dataclasses.fields(PlacementResult)}
        results[method] = payload
    assert results["milp"]["avg_latency_ms"] == pytest.approx(results["eopa"]["avg_latency_ms"], rel=1e-9)
    assert results["milp"]["status"] == results["eopa"]["status"] == "optimal"
    # Names, not indices: the Agis optimum for k = 4 under the default eps_max.
    assert set(results["milp"]["servers"]) == {"St Louis", "Santa Clara", "Pittsburg", "Philadelphia"}


def test_place_human_summary(capsys) -> None:
    code, out, _ = run(
        capsys, "place", "--topology", "Agis", "-k", "2", "--method", "eopa", "--eps-max", "none"
    )
    assert code == 0
    assert "Agis: 25 nodes, 30 links; k=2, eps_max=none" in out
    assert "eopa: optimal" in out and "avg latency" in out


def test_place_infeasible_is_a_status_not_an_error(capsys) -> None:
    code, out, _ = run(capsys, "place", "-t", "Agis", "-k", "1", "--eps-max", "0.01", "--json")
    payload = json.loads(out)
    assert code == 0 and payload["status"] == "infeasible"
    assert "smallest feasible eps_max" in payload["reason"]


def test_topologies_lists_counts(capsys) -> None:
    code, out, _ = run(capsys, "topologies", "--group", "topozoo", "--json")
    rows = {row["key"]: row for row in json.loads(out)}
    assert code == 0 and rows["topozoo/Agis"] == {"key": "topozoo/Agis", "n_nodes": 25, "n_links": 30}


@pytest.mark.parametrize(
    "argv",
    [
        ["place", "-t", "Agiss", "-k", "2"],
        ["place", "-t", "tests/data/malformed.gml", "-k", "2"],
        ["place", "-t", "tests/data/zoo_raw.graphml", "-k", "2"],
        ["place", "-t", "Agis", "-k", "0"],
        ["place", "-t", "Agis", "-k", "99"],
        ["place", "-t", "Agis", "-k", "2", "--alpha", "3"],
        ["place", "-t", "Agis", "-k", "2", "--beta", "-1"],
        ["place", "-t", "Agis", "-k", "2", "--eps-max", "-0.1"],
        ["place", "-t", "Agis", "-k", "2", "--eps-max", "lots"],
        ["place", "-t", "Agis", "-k", "2", "--rate", "0"],
        ["place", "-t", "Agis", "-k", "2", "--method", "magic"],
        ["place", "-t", "Agis", "-k", "2", "--solver", "no-such-solver"],
        ["place", "-t", "Agis", "-k", "2", "--solver", "cplex"],  # known to Pyomo, rarely installed
        ["place", "-t", "Agis", "-k", "2", "-o", "nonsense"],
        ["place", "-t", "Agis", "-k", "2", "--missing-coordinates", "maybe"],
        ["topologies", "--group", "zoo"],
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, argv) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("dtopt: error: ")


@pytest.mark.parametrize(
    "argv", [["place", "-t", "Agis", "-k", "2.5"], ["place", "-k", "2"], ["nosuchcommand"]]
)
def test_usage_errors_exit_2_with_one_line(capsys, argv) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert len(err.strip().splitlines()) == 1 and "error:" in err


def test_console_entry_point_has_no_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dtopt", "place", "-t", "Agis", "-k", "77"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip() == "dtopt: error: k must be between 1 and the number of nodes (25), got 77"


def test_json_output_is_only_json_in_a_fresh_process() -> None:
    # a fresh process: HiGHS 1.16 prints a banner at its first solver instance
    proc = subprocess.run(
        [sys.executable, "-m", "dtopt", "place", "-t", "Agis", "-k", "4", "--method", "milp", "--json"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["servers"] == ["St Louis", "Santa Clara", "Pittsburg", "Philadelphia"]


def _graph_file(tmp_path) -> str:
    import networkx as nx

    graph = nx.path_graph(["a", "b", "c", "d", "e"])
    for u, v in graph.edges:
        graph.edges[u, v]["dist"] = 100.0
    for node, pop in zip(graph.nodes, [1, 1, 1, 1, 20], strict=True):
        graph.nodes[node]["pop"] = pop
    path = tmp_path / "line.graphml"
    nx.write_graphml(graph, path)
    return str(path)


def test_place_takes_weights_candidates_fixed_and_objective(capsys, tmp_path) -> None:
    graph = _graph_file(tmp_path)
    base = ("place", "-t", graph, "-k", "1", "--eps-max", "none", "--method", "eopa", "--json")
    code, out, _ = run(capsys, *base)
    assert code == 0 and json.loads(out)["servers"] == ["c"]
    code, out, _ = run(capsys, *base, "--weights", "pop")  # the heavy end pulls the server
    assert code == 0 and json.loads(out)["servers"] == ["e"]
    weights = tmp_path / "weights.csv"
    weights.write_text("node,weight\na,20\nb,1\nc,1\nd,1\ne,1\n")
    code, out, _ = run(capsys, *base, "--weights", str(weights))
    assert code == 0 and json.loads(out)["servers"] == ["a"]
    code, out, _ = run(capsys, *base, "--candidates", "a,b", "--objective", "max")
    assert code == 0 and json.loads(out)["servers"] == ["b"]
    code, out, _ = run(capsys, *base[:4], "2", *base[5:], "--fixed", "a")
    payload = json.loads(out)
    assert code == 0 and "a" in payload["servers"] and payload["status"] == "optimal"
    code, out, _ = run(capsys, *base[:-1], "--objective", "max", "--weights", "pop", "--fixed", "e")
    assert code == 0 and "objective=max (p-center)" in out and "1 fixed" in out and "weighted" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--weights", "population"), "neither a file nor an attribute"),
        (("--objective", "median"), "invalid choice"),
        (("--candidates", "a,zz"), "no node named 'zz'"),
        (("--candidates", "a,b", "--fixed", "c"), "not among the candidates"),
        (("--fixed", ","), "--fixed names no node"),
    ],
)
def test_place_refuses_bad_modelling_values_in_one_line(capsys, tmp_path, extra, message) -> None:
    try:
        code = main(["place", "-t", _graph_file(tmp_path), "-k", "1", *extra])
    except SystemExit as stop:  # argparse's own refusal (a bad choice)
        code = stop.code
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and message in err
    assert err.count("\n") == 1


def test_place_refuses_a_bad_weights_file_in_one_line(capsys, tmp_path) -> None:
    weights = tmp_path / "w.txt"
    weights.write_text("1\n2\nx\n4\n5\n")
    code, _, err = run(capsys, "place", "-t", _graph_file(tmp_path), "-k", "1", "--weights", str(weights))
    assert code == 2 and "weights must be numbers, got 'x'" in err and err.count("\n") == 1
    weights.write_text("1\n2\n")
    code, _, err = run(capsys, "place", "-t", _graph_file(tmp_path), "-k", "1", "--weights", str(weights))
    assert code == 2 and "holds 2 values for 5 nodes" in err


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.floats(0, 1e9, allow_nan=False, allow_infinity=False), min_size=4, max_size=4),
    by_name=st.booleans(),
    header=st.booleans(),
)
def test_weights_files_read_back_exactly(values: list[float], by_name: bool, header: bool) -> None:
    import tempfile
    from pathlib import Path

    from dtopt import Topology
    from dtopt.cli.place import weights_value

    names = ["a", "b c", "d", "e"]  # a name with a space
    topology = Topology.from_matrix(1.0 - np.eye(4), node_names=names)
    order = [3, 1, 0, 2] if by_name else [0, 1, 2, 3]  # lines by name may come in any order
    lines = [f"{names[i]},{values[i]!r}" if by_name else repr(values[i]) for i in order]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "weights.csv"
        path.write_text("\n".join((["node,weight"] if header and by_name else []) + lines) + "\n")
        np.testing.assert_array_equal(weights_value(str(path), "unused", topology), values)
