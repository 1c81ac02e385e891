"""The TSPLIB reader: distance rules, hand-checked optima, bad files, the shipped instances."""

from __future__ import annotations

import hashlib
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dtopt
from dtopt import DtoptError, solve
from dtopt.topology.tsplib import TSPLIB_DIR, parse_tsplib, published, tsplib_names

RULES = {
    "floor": lambda d: math.floor(d),
    "nint": lambda d: math.floor(d + 0.5),
    "euclid": lambda d: d,
    "tsplib": lambda d: math.floor(d + 0.5),
}


def tsp_text(points: list[tuple[float, float]], *, kind: str = "EUC_2D", ids: list[int] | None = None) -> str:
    ids = ids or list(range(1, len(points) + 1))
    lines = [f"{i} {points[i - 1][0]!r} {points[i - 1][1]!r}" for i in ids]
    return (
        f"NAME : hand\nTYPE: TSP\nDIMENSION :{len(points)}\nEDGE_WEIGHT_TYPE : {kind}\n"
        "NODE_COORD_SECTION\n" + "\n".join(lines) + "\nEOF\n"
    )


# A(0, 0), B(1.2, 1.0), C(3, 4): AB = sqrt(2.44) = 1.562, AC = 5, BC = sqrt(12.24) = 3.499.
# p = 1, by hand: a median at A pays AB + AC, at B AB + BC, at C AC + BC:
#   floor:  A 1 + 5 = 6,  B 1 + 3 = 4,  C 5 + 3 = 8   -> optimum 4 (at B)
#   nint:   A 2 + 5 = 7,  B 2 + 3 = 5,  C 5 + 3 = 8   -> optimum 5 (at B)
#   euclid: A 6.562,      B 5.061,      C 8.499       -> optimum 5.0606 (at B)
HAND = [(0.0, 0.0), (1.2, 1.0), (3.0, 4.0)]


@pytest.mark.parametrize(
    ("distance", "optimum"),
    [("floor", 4.0), ("nint", 5.0), ("euclid", math.sqrt(2.44) + math.sqrt(12.24))],
)
def test_the_three_rules_give_the_hand_checked_optima(distance: str, optimum: float) -> None:
    instance = parse_tsplib(tsp_text(HAND), distance=distance)
    problem = instance.problem(1)
    result = solve(problem, "eopa")
    assert result.servers == ("1",)  # B, node ids from 0
    assert result.avg_latency_ms * problem.n == pytest.approx(optimum, rel=1e-12)


def test_att_and_geo_follow_tsplib_rules_checked_by_hand() -> None:
    # ATT: sqrt((10^2 + 0^2) / 10) = 3.162, nearest integer 3 < 3.162, so 4.
    att = parse_tsplib(tsp_text([(0.0, 0.0), (10.0, 0.0)], kind="ATT"), distance="tsplib")
    assert att.cost_matrix[0, 1] == 4.0
    # GEO: one degree of longitude on the equator: 6378.388 * (3.141592 / 180) = 111.32 km, + 1, truncated.
    geo = parse_tsplib(tsp_text([(0.0, 0.0), (0.0, 1.0)], kind="GEO"), distance="tsplib")
    np.testing.assert_array_equal(geo.cost_matrix, [[0.0, 112.0], [112.0, 0.0]])
    with pytest.raises(DtoptError, match="pass distance='tsplib'"):
        parse_tsplib(tsp_text([(0.0, 0.0), (10.0, 0.0)], kind="ATT"))


coordinate = st.one_of(st.integers(-1000, 1000).map(float), st.floats(-1e4, 1e4, allow_nan=False).map(float))


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_distances_and_optima_follow_each_rule(data: st.DataObject) -> None:
    n = data.draw(st.integers(2, 7))
    points = [(data.draw(coordinate), data.draw(coordinate)) for _ in range(n)]
    ids = data.draw(st.permutations(range(1, n + 1)))
    distance = data.draw(st.sampled_from(sorted(RULES)))
    instance = parse_tsplib(tsp_text(points, ids=list(ids)), distance=distance)
    want = np.array([[RULES[distance](math.dist(a, b)) for b in points] for a in points])
    np.testing.assert_allclose(instance.cost_matrix, want, rtol=1e-12, atol=1e-9)
    p = data.draw(st.integers(1, n))
    best = min(want[:, list(s)].min(axis=1).sum() for s in itertools.combinations(range(n), p))
    result = solve(instance.problem(p), "eopa")
    assert result.avg_latency_ms * n == pytest.approx(best, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no DIMENSION line"),
        ("DIMENSION : x\n", "DIMENSION must be a whole number"),
        ("DIMENSION : 1\n", "DIMENSION must be between 2 and"),
        ("DIMENSION : 2\nEDGE_WEIGHT_TYPE : EXPLICIT\n", "EDGE_WEIGHT_TYPE must be one of"),
        ("DIMENSION : 2\nEDGE_WEIGHT_TYPE : EUC_2D\nTYPE : ATSP\nNODE_COORD_SECTION\n", "TYPE must be TSP"),
        ("DIMENSION : 2\nEDGE_WEIGHT_TYPE : EUC_2D\n", "no NODE_COORD_SECTION"),
        ("DIMENSION : 2\nEDGE_WEIGHT_SECTION\n1 2\n", "only NODE_COORD_SECTION is read"),
        ("DIMENSION 2\n", "expected 'KEY : value'"),
        ("DIMENSION : 2\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n", "has 1 node lines"),
        ("DIMENSION : 2\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 1\n", "must be 'i x y'"),
        ("DIMENSION : 2\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 1 z\n", "must hold numbers"),
        ("DIMENSION : 2\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 1 nan\n", "finite"),
        ("DIMENSION : 2\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n1 1 1\n", "1..2, each once"),
        ("DIMENSION : 2\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 1 1\nDISPLAY", "only NODE_"),
    ],
)
def test_bad_files_are_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(DtoptError, match=message):
        parse_tsplib(text, "bad")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789 .-:\nEUC_2DIMNSODRTYPEx", max_size=80))
def test_any_text_is_an_instance_or_one_clear_line(text: str) -> None:
    try:
        instance = parse_tsplib(text, "fuzz")
    except DtoptError as err:
        assert "\n" not in str(err) and str(err).startswith("fuzz: ")
    else:
        assert np.isfinite(instance.cost_matrix).all()


def test_shipped_files_match_their_pins_and_carry_the_published_optima() -> None:
    sums = dict(reversed(line.split()) for line in (TSPLIB_DIR / "SHA256SUMS").read_text().splitlines())
    assert set(sums) == {f"{name}.tsp" for name in tsplib_names()} | {"optima.json"}
    for filename, digest in sums.items():
        assert hashlib.sha256((TSPLIB_DIR / filename).read_bytes()).hexdigest() == digest
    rl1304 = dtopt.load_tsplib("rl1304")
    assert (rl1304.n, rl1304.edge_weight_type, rl1304.optima[5]) == (1304, "EUC_2D", 3099073)
    assert 500 not in dtopt.load_tsplib("fl1400").optima  # the published run hit its limit there
    assert published("fl1400")[500]["proven"] is False
    assert dtopt.load_tsplib("rl1304", distance="nint").optima == {}  # the optima are floor's


def test_a_path_is_read_and_a_missing_one_refused(tmp_path: Path) -> None:
    path = tmp_path / "three.tsp"
    path.write_text(tsp_text(HAND))
    instance = dtopt.load_tsplib(path, distance="nint")
    assert (instance.name, instance.n, instance.cost_matrix[0, 1]) == ("hand", 3, 2.0)
    with pytest.raises(DtoptError, match="no TSPLIB file"):
        dtopt.load_tsplib(tmp_path / "missing.tsp")
    with pytest.raises(DtoptError, match="distance must be one of"):
        dtopt.load_tsplib(path, distance="round")
