"""The TSPLIB benchmark: case parsing, the side-by-side table, a small real run."""

from __future__ import annotations

import json

import pytest

from benchmarks import tsplib
from benchmarks.common.output import BenchmarkError


def test_cases_default_to_the_documented_fifteen_and_parse_instance_and_p() -> None:
    assert len(tsplib.parse_cases(None)) == 15
    assert tsplib.parse_cases(["rl1304:5,10", "fl1400:200", "rl1304:10"]) == [
        ("rl1304", 5),
        ("rl1304", 10),
        ("fl1400", 200),
    ]
    assert tsplib.parse_cases(["fl1400"])[-1] == ("fl1400", 200)


@pytest.mark.parametrize(
    ("words", "message"),
    [(["pr2392:5"], "unknown instance"), (["rl1304:7"], "published"), (["rl1304:x"], "instance:p")],
)
def test_bad_cases_are_one_line(words: list[str], message: str) -> None:
    with pytest.raises(BenchmarkError, match=message):
        tsplib.parse_cases(words)


def test_side_by_side_ratios() -> None:
    base = {"instance": "rl1304", "p": 10, "optimum": 100.0, "published_s": 2.0, "proven": True}
    rows = [
        base | {"method": "milp", "runtime_s": 4.0, "found": 100.0},
        base | {"method": "interchange", "runtime_s": 0.5, "found": 100.1, "proven": False},
        base | {"method": "pbp-pmedian", "runtime_s": 8.0, "found": 100.0},
    ]
    (line,) = tsplib.side_by_side(rows)
    assert line["milp/published"] == 2.0 and line["interchange/milp"] == 0.125
    assert line["interchange gap %"] == pytest.approx(0.1) and line["pbp-pmedian/milp"] == 2.0


def test_a_small_real_run_checks_against_the_published_optimum(tmp_path, capsys) -> None:
    argv = ["--cases", "rl1304:500", "--methods", "interchange", "--no-pbp", "--serial", "--check"]
    assert tsplib.main([*argv, "--out", str(tmp_path)]) == 0
    (row,) = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert row["found"] >= 97024 and row["published_s"] == 0.4
    assert "check passed" in capsys.readouterr().out
