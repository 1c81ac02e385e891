"""The OR-Library p-median reader, the shipped instances and their pins."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dtopt
from dtopt import DtoptError, evaluate, solve
from dtopt.topology.orlib import ORLIB_DIR, orlib_names, parse_orlib


def test_last_duplicate_edge_wins_not_the_shortest() -> None:
    # 1-2 is listed as 2, then 9 (reversed), so it costs 9 (keeping the shortest would give 2).
    problem = parse_orlib("3 4 1\n1 2 2\n2 3 100\n1 3 50\n2 1 9\n", "dup")
    assert problem.latency_ms[0, 1] == 9.0
    assert problem.latency_ms[1, 2] == 59.0  # 2-1-3 beats the 100 link
    assert "last occurrence" in problem.topology.notes[0]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_distances_are_shortest_paths_over_the_last_occurrences(data: st.DataObject) -> None:
    n = data.draw(st.integers(2, 8))
    chain = [(i, i + 1, data.draw(st.integers(0, 50))) for i in range(1, n)]  # keeps it connected
    extra = data.draw(
        st.lists(st.tuples(st.integers(1, n), st.integers(1, n), st.integers(0, 50)), max_size=12)
    )
    lines = data.draw(st.permutations(chain + extra))
    p = data.draw(st.integers(1, n))
    text = f"{n} {len(lines)} {p}\n" + "".join(f"{i} {j} {c}\n" for i, j, c in lines)
    problem = parse_orlib(text, "random")
    graph = nx.Graph()
    graph.add_nodes_from(range(1, n + 1))
    for i, j, c in lines:  # plain dict semantics: the last assignment stays
        if i != j:
            graph.add_edge(i, j, cost=c)
    expected = dict(nx.all_pairs_dijkstra_path_length(graph, weight="cost"))
    want = np.array([[expected[i][j] for j in range(1, n + 1)] for i in range(1, n + 1)], dtype=float)
    np.testing.assert_allclose(problem.latency_ms, want, atol=1e-9)
    assert problem.k == p and problem.eps_max is None


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789 .-\nxe", max_size=60))
def test_any_text_is_a_problem_or_one_clear_line(text: str) -> None:
    try:
        problem = parse_orlib(text, "fuzz")
    except DtoptError as err:
        assert "\n" not in str(err) and str(err).startswith("fuzz: ")
    else:
        assert np.isfinite(problem.latency_ms).all()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "starts with 'n m p'"),
        ("3 2 1\n1 2 5\n", "header says m=2 edges, the file has 1 edge lines"),
        ("3 1 1\n1 2 5\n2 3 4\n", "header says m=1 edges, the file has 2 edge lines"),
        ("3 2 1\n1 2 5\n2 4 4\n", "edge line 2 \\(2 4\\) names a node outside 1..3"),
        ("3 2 1\n0 2 5\n2 3 4\n", "edge line 1 \\(0 2\\) names a node outside 1..3"),
        ("3 2 4\n1 2 5\n2 3 4\n", "p must be between 1 and n=3"),
        ("3 2 1.5\n1 2 5\n2 3 4\n", "p in the header must be a whole number"),
        ("3 2 1\n1 2 -5\n2 3 4\n", "negative cost"),
        ("3 2 1\n1 2 x\n2 3 4\n", "must hold numbers"),
        ("4 2 1\n1 2 5\n2 3 4\n", "not connected"),
    ],
)
def test_bad_files_are_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(DtoptError, match=message):
        parse_orlib(text, "bad")


def test_shipped_files_match_their_pins() -> None:
    sums = dict(
        reversed(line.split()) for line in (ORLIB_DIR / "SHA256SUMS").read_text().splitlines() if line
    )
    assert set(sums) == {f"{name}.txt" for name in orlib_names()} | {"pmedopt.txt"}
    for filename, digest in sums.items():
        assert hashlib.sha256((ORLIB_DIR / filename).read_bytes()).hexdigest() == digest


def test_a_file_differing_from_its_pin_is_refused(tmp_path: Path) -> None:
    for filename in ("SHA256SUMS", "pmedopt.txt", "pmed2.txt"):
        shutil.copy(ORLIB_DIR / filename, tmp_path / filename)
    assert dtopt.load_orlib("pmed2", tmp_path).optimum == 4093
    with (tmp_path / "pmed2.txt").open("a") as f:
        f.write("\n")
    with pytest.raises(DtoptError, match="differs from its pin"):
        dtopt.load_orlib("pmed2", tmp_path)
    with pytest.raises(DtoptError, match="unknown OR-Library instance"):
        dtopt.load_orlib("pmed41")


def test_pmed1_published_optimum_is_reached_and_proven() -> None:
    instance = dtopt.load_orlib("pmed1")
    problem = instance.problem
    assert (problem.n, problem.k, instance.optimum) == (100, 5, 5819)
    result = solve(problem, "milp")
    assert result.status == "optimal"
    assert result.avg_latency_ms * problem.n == pytest.approx(instance.optimum, rel=1e-12)
    # The same objective by an independent scoring of its servers.
    assert evaluate(problem, list(result.servers)).avg_latency_ms == pytest.approx(instance.optimum_ms)


def test_instance_sizes_match_the_library() -> None:
    sizes = {name: dtopt.load_orlib(name).problem for name in ("pmed5", "pmed40")}
    assert (sizes["pmed5"].n, sizes["pmed5"].k) == (100, 33)
    assert (sizes["pmed40"].n, sizes["pmed40"].k) == (900, 90)
