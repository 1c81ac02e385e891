"""The oracle-fidelity and decision-speed benchmarks run end to end and refuse bad input with exit 2."""

from __future__ import annotations

import json

import pytest

from benchmarks import decision_speed, oracle_fidelity
from benchmarks.common.output import run_main


def test_oracle_fidelity_runs_and_writes(tmp_path, capsys) -> None:
    argv = ["--validators", "4", "7", "--duration", "200", "--replicas", "64", "--out", str(tmp_path)]
    assert oracle_fidelity.main(argv) == 0
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert {r["validators"] for r in rows} == {4, 7}
    assert {r["kind"] for r in rows} == {"steady", "faulty"}
    assert all(r["measured_s"] > 0 and r["predicted_tps"] > 0 for r in rows)
    assert "| validators |" in capsys.readouterr().out


def test_decision_speed_runs_and_writes(tmp_path, capsys) -> None:
    assert decision_speed.main(["--repeats", "2", "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert [r["case"].split(":")[0] for r in rows] == ["steady", "faulty"]
    assert all(r["budget"] <= 0.25 and r["median_ms"] > 0 for r in rows)
    assert "| case |" in capsys.readouterr().out


def test_bad_input_is_exit_2(capsys) -> None:
    for module, bad in ((oracle_fidelity, ["--validators", "3"]), (oracle_fidelity, ["--duration", "-1"]),
                        (decision_speed, ["--repeats", "0"]), (decision_speed, ["--eta", "1"])):
        assert run_main(module.main, bad, prog="bench") == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as exit_info:  # a usage error: argparse's one line
        decision_speed.main(["--eta", "x"])
    assert exit_info.value.code == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1
