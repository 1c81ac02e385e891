"""The configuration-search benchmark runs end to end and refuses bad input with exit status 2."""

from __future__ import annotations

import json

from benchmarks import config_search
from benchmarks.common.output import run_main

FIXED_COSTS = ["--oracle-call-ms", "1", "--oracle-replica-ms", "0.01"]  # no oracle calibration


def test_runs_and_writes(tmp_path, capsys) -> None:
    argv = ["--seeds", "2", "--replicas", "64", "--eta", "4", *FIXED_COSTS, "--check", "--out", str(tmp_path)]
    assert config_search.main(argv) == 0
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert [r["case"] for r in rows] == ["exhaustive, R=64", "halving eta=4, budget 0.25, R=64"]
    assert rows[1]["budget_max"] <= 0.25 and rows[1]["calls"] == 4
    assert rows[1]["oracle_ms"] == rows[1]["calls"] * 1 + rows[1]["budget_max"] * 128 * 64 * 0.01
    assert (tmp_path / "summary.md").exists() and "| case |" in capsys.readouterr().out


def test_bad_input_is_exit_2(capsys) -> None:
    for bad in (["--seeds", "0"], ["--eta", "two"], ["--eta", "1"]):
        assert run_main(config_search.main, [*bad, *FIXED_COSTS], prog="benchmarks.config_search") == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
