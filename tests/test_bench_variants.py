"""The placement-variants benchmark runs, writes its layout, checks, and refuses bad input."""

from __future__ import annotations

import json

from benchmarks import placement_variants
from benchmarks.common.output import run_main


def test_cases_run_and_check(tmp_path, capsys) -> None:
    argv = ["--topology", "Eenet", "--k", "3", "--serial", "--check", "--out", str(tmp_path)]
    assert placement_variants.main(argv) == 0
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert {r["variant"] for r in rows} == {"capacitated", "reliable"}
    assert all(r["milp_status"] == "optimal" and r["gap"] >= -1e-9 for r in rows)
    assert "check passed" in capsys.readouterr().out


def test_bad_input_is_one_line(capsys) -> None:
    for argv in (
        ["--topology", "Eenet", "--slack", "0.5"],
        ["--topology", "Eenet", "--failure-prob", "1"],
        [],
    ):
        assert run_main(placement_variants.main, argv, prog="bench") == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
