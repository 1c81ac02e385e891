"""The OR-Library benchmark: --check catches wrong answers, instance ranges, a tiny real run."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

import dtopt
from benchmarks import orlib
from benchmarks.common.output import BenchmarkError


def _row(status: str = "optimal", found: float | None = 100.0, bound: float | None = 100.0, **extra):
    return {
        "instance": "pmedX",
        "method": "m",
        "optimum": 100.0,
        "status": status,
        "found": found,
        "bound": bound,
        "reason": None,
        **extra,
    }


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (_row(found=99.0, bound=99.0), "below the optimum"),
        (_row(found=101.0, bound=None), "'optimal' objective 101.0 is not the optimum"),
        (_row(status="feasible", found=101.0, bound=100.5), "bound 100.500000 above the optimum"),
        (_row(status="time_limit", found=None, bound=90.0), "time_limit result without a placement"),
        (_row(status="error", found=None, bound=None, reason="boom"), "error: boom"),
    ],
)
def test_check_flags_each_kind_of_wrong_answer(row, message) -> None:
    problems = orlib.check_rows([_row(), row])
    assert len(problems) == 1 and message in problems[0]


def test_check_accepts_right_answers_within_rounding() -> None:
    rows = [
        _row(found=100.0 * (1 + 1e-12), bound=100.0),
        _row(status="feasible", found=104.0, bound=97.0),
        _row(status="time_limit", found=104.0, bound=None),
        _row(status="skipped", found=None, bound=None),
    ]
    assert orlib.check_rows(rows) == []


def test_a_tiny_real_run_passes_and_a_wrong_optimum_fails(monkeypatch, tmp_path, capsys) -> None:
    argv = ["--instances", "pmed1", "--methods", "interchange,lagrangian", "--serial", "--check"]
    assert orlib.main([*argv, "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert {r["method"] for r in rows} == {"interchange", "lagrangian"}
    assert all(r["found"] == pytest.approx(5819) and r["bound"] <= 5819 + 1e-6 for r in rows)
    assert "| pmed1 | 100 | 5 | interchange | 5819 | 5819 |" in capsys.readouterr().out

    real = dtopt.load_orlib
    monkeypatch.setattr(dtopt, "load_orlib", lambda name: replace(real(name), optimum=5820.0))
    assert orlib.main(argv) == 1
    assert "objective 5819.000000 below the optimum 5820" in capsys.readouterr().err


def test_instance_ranges() -> None:
    assert orlib.parse_instances("pmed1-3") == ["pmed1", "pmed2", "pmed3"]
    assert orlib.parse_instances("2-3,pmed7,3") == ["pmed2", "pmed3", "pmed7"]
    assert len(orlib.parse_instances("all")) == 40 and orlib.parse_instances("") == []
    for bad in ("pmed0", "pmed41", "pmed5-2", "p1", "1-x"):
        with pytest.raises(BenchmarkError):
            orlib.parse_instances(bad)
